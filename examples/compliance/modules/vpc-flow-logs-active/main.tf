# Warns during plan when a flow log of one VPC is not Active, or when the VPC has none.
terraform {
  required_version = ">= 1.5"
  required_providers {
    alicloud = {
      source = "alicloud-rs/alicloud"
    }
  }
}

variable "vpc_id" {
  description = "The VPC whose flow logs (of the VPC, its vSwitches and its network interfaces) are checked."
  type        = string
}

check "vpc_flow_logs_active" {
  # Scoped to the check: read on every plan, and a failure to read is a warning too.
  data "alicloud_vpc_flow_logs" "this" {
    vpc_id = var.vpc_id
  }

  assert {
    condition     = length(data.alicloud_vpc_flow_logs.this.ids) > 0
    error_message = "VPC ${var.vpc_id} has no flow log."
  }

  assert {
    condition     = alltrue([for l in data.alicloud_vpc_flow_logs.this.logs : l.status == "Active"])
    error_message = "Flow logs of VPC ${var.vpc_id} not Active: ${join(", ", [for l in data.alicloud_vpc_flow_logs.this.logs : "${l.id} (${coalesce(l.flow_log_name, "unnamed")}, ${l.status})" if l.status != "Active"])}."
  }
}
