#!/usr/bin/env bash
# Import an existing flow log by its ID (the region is the provider's region) ...
terraform import alicloud_vpc_flow_log_activation.example fl-m5e8vhz2t21sel1nq0000

# ... or name its region explicitly: REGION:FLOW_LOG_ID.
terraform import alicloud_vpc_flow_log_activation.example cn-hangzhou:fl-m5e8vhz2t21sel1nq0000

# Import never activates the flow log: if it is Inactive, the next plan shows
#   ~ status = "Inactive" -> "Active"
# and `terraform apply` activates it.
