#!/usr/bin/env bash
# Import an existing flow log by its ID (the region is the provider's region) ...
terraform import alicloud_vpc_flow_log.example fl-m5e8vhz2t21sel1nq0000

# ... or name its region explicitly: REGION:FLOW_LOG_ID.
terraform import alicloud_vpc_flow_log.example cn-hangzhou:fl-m5e8vhz2t21sel1nq0000
