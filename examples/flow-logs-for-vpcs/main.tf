# A flow log for each of several VPCs, created and kept by this provider, and a compliance
# check that warns on every `terraform plan` when one of them is not Active (someone switched
# it off, or its Log Service target became unusable). Needs Terraform 1.5+ (check blocks).
terraform {
  required_version = ">= 1.5"
  required_providers {
    alicloud = {
      source = "alicloud-rs/alicloud"
    }
  }
}

# Credentials and region from the environment (ALICLOUD_ACCESS_KEY, ALICLOUD_SECRET_KEY,
# ALICLOUD_REGION) or the Alibaba Cloud CLI profile.
provider "alicloud" {}

variable "vpc_ids" {
  description = "VPCs whose traffic is captured, one flow log each."
  type        = set(string)
}

variable "project_name" {
  description = "Log Service project the flow logs deliver to (it must exist)."
  type        = string
}

variable "log_store_name" {
  description = "Logstore of that project (it must exist)."
  type        = string
}

variable "tags" {
  description = "Tags of every flow log."
  type        = map(string)
  default     = {}
}

resource "alicloud_vpc_flow_log" "vpc" {
  for_each = var.vpc_ids

  resource_type  = "VPC"
  resource_id    = each.value
  traffic_type   = "All"
  project_name   = var.project_name
  log_store_name = var.log_store_name
  flow_log_name  = "flow-${each.value}"
  description    = "All traffic of ${each.value}"
  tags           = var.tags
}

# Read from the API on every plan, apart from the state: a flow log switched off outside
# Terraform is a warning here (the plan still succeeds). `status` is left unset above, so such a
# change is recorded in state rather than reverted; set `status = "Active"` to have the next
# apply switch it back on.
check "flow_logs_active" {
  data "alicloud_vpc_flow_logs" "these" {
    ids = [for fl in alicloud_vpc_flow_log.vpc : fl.id]
  }

  assert {
    condition     = length(data.alicloud_vpc_flow_logs.these.logs) == length(var.vpc_ids)
    error_message = "Only ${length(data.alicloud_vpc_flow_logs.these.logs)} of the ${length(var.vpc_ids)} flow logs exist."
  }

  assert {
    condition     = alltrue([for l in data.alicloud_vpc_flow_logs.these.logs : l.status == "Active"])
    error_message = "Flow logs not Active: ${join(", ", [for l in data.alicloud_vpc_flow_logs.these.logs : "${l.id} (${l.resource_id}, ${l.status})" if l.status != "Active"])}."
  }
}

output "flow_log_ids" {
  description = "Flow log ID by VPC."
  value       = { for vpc, fl in alicloud_vpc_flow_log.vpc : vpc => fl.id }
}
