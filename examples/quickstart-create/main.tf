# The second quickstart (`cargo run --release --example quickstart -- create` runs it against the
# local emulator): instead of activating a flow log that already exists, it creates one with
# `alicloud_vpc_flow_log`, and the quickstart destroys it at the end. As in the first one, the
# provider block is empty: endpoint, credentials and region come from the environment, which
# the quickstart sets to the emulator's (see ../quickstart/main.tf).
#
# Against real Alibaba Cloud, leave ALIBABA_CLOUD_ENDPOINT_VPC unset, export your own keys and
# region, and pass a VPC and a Log Service project and logstore that exist:
#   terraform apply -var vpc_id=vpc-... -var project_name=... -var log_store_name=...

terraform {
  required_version = ">= 1.0"
  required_providers {
    alicloud = {
      source  = "alicloud-rs/alicloud"
      version = "0.1.0"
    }
  }
}

provider "alicloud" {}

variable "vpc_id" {
  description = "VPC whose traffic the flow log captures."
  type        = string
  default     = "vpc-bp1qs7a8k2m4n6p0r3t5v" # any well-formed ID exists in the emulator
}

variable "project_name" {
  description = "Log Service project the flow log delivers to."
  type        = string
  default     = "quickstart-flow-logs"
}

variable "log_store_name" {
  description = "Logstore of that project."
  type        = string
  default     = "vpc-flow-log"
}

resource "alicloud_vpc_flow_log" "quickstart" {
  resource_type  = "VPC"
  resource_id    = var.vpc_id
  traffic_type   = "All"
  project_name   = var.project_name
  log_store_name = var.log_store_name
  flow_log_name  = "quickstart-vpc-traffic"
  description    = "All traffic of the quickstart VPC, delivered to Log Service"

  tags = {
    created-by = "quickstart"
  }
}

locals {
  fl = alicloud_vpc_flow_log.quickstart
}

output "flow_log" {
  value = {
    id          = local.fl.id
    region_id   = local.fl.region_id
    status      = local.fl.status
    name        = local.fl.flow_log_name
    captures    = "${local.fl.traffic_type} traffic of ${local.fl.resource_type} ${local.fl.resource_id}"
    delivers_to = "Log Service ${local.fl.project_name}/${local.fl.log_store_name}"
    created     = local.fl.create_time
  }
}
