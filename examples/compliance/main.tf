# CI compliance check: `terraform plan` warns (and still succeeds) when a flow log of one of
# the VPCs below is not Active, or when such a VPC has no flow log at all. It reads only:
# nothing is activated or changed. Needs Terraform 1.5+ (check blocks).
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
  description = "VPCs whose flow logs must all be Active."
  type        = list(string)
}

# One check per VPC: a data block inside a check cannot use for_each, a module can.
module "vpc_flow_logs_active" {
  source   = "./modules/vpc-flow-logs-active"
  for_each = toset(var.vpc_ids)
  vpc_id   = each.value
}
