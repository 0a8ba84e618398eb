terraform {
  required_version = ">= 1.0"
  required_providers {
    alicloud = {
      # The full address: Terragrunt runs OpenTofu when `tofu` is on PATH, and OpenTofu would
      # read a short "alicloud-rs/alicloud" as an address on its own registry.
      source  = "registry.terraform.io/alicloud-rs/alicloud"
      version = "0.1.0"
    }
  }
}

# Credentials from the environment (ALICLOUD_ACCESS_KEY, ALICLOUD_SECRET_KEY, ...), a profile
# or the ECS instance role; the region comes from the unit.
provider "alicloud" {
  region = var.region_id
}

variable "flow_log_id" {
  type = string
}

variable "region_id" {
  type = string
}

variable "deactivate_on_destroy" {
  description = "false for a flow log someone else owns: keep it running when the unit is destroyed."
  type        = bool
  default     = true
}

variable "timeout" {
  description = "How long create and update may wait for the flow log to become Active."
  type        = string
  default     = "10m"
}

resource "alicloud_vpc_flow_log_activation" "this" {
  flow_log_id           = var.flow_log_id
  deactivate_on_destroy = var.deactivate_on_destroy

  timeouts {
    create = var.timeout
    update = var.timeout
  }
}

output "status" {
  value = alicloud_vpc_flow_log_activation.this.status
}

output "delivers_to" {
  value = "${alicloud_vpc_flow_log_activation.this.project_name}/${alicloud_vpc_flow_log_activation.this.log_store_name}"
}
