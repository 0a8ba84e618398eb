# The quickstart configuration (`cargo run --release --example quickstart` runs it against the
# local emulator). Nothing here is emulator-specific: the provider block is empty, so the
# endpoint, credentials and region come from the environment. The quickstart sets
#
#   ALIBABA_CLOUD_ENDPOINT_VPC  http://127.0.0.1:PORT (the emulator)
#   ALICLOUD_ACCESS_KEY         emulator-access-key-id
#   ALICLOUD_SECRET_KEY         emulator-access-key-secret
#   ALICLOUD_REGION             cn-hangzhou
#
# Against real Alibaba Cloud, leave ALIBABA_CLOUD_ENDPOINT_VPC unset, export your own keys and
# region, and pass your flow log: terraform apply -var flow_log_id=fl-...

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

variable "flow_log_id" {
  description = "ID of an existing VPC flow log to activate."
  type        = string
  default     = "fl-quickstart0001" # seeded in the emulator by seed.json
}

resource "alicloud_vpc_flow_log_activation" "quickstart" {
  flow_log_id = var.flow_log_id
}

locals {
  fl = alicloud_vpc_flow_log_activation.quickstart
}

output "flow_log" {
  value = {
    id          = local.fl.id
    region_id   = local.fl.region_id
    status      = local.fl.status
    name        = local.fl.flow_log_name
    captures    = "${local.fl.traffic_type} traffic of ${local.fl.resource_type} ${local.fl.resource_id}"
    delivers_to = "Log Service ${local.fl.project_name}/${local.fl.log_store_name}"
  }
}
