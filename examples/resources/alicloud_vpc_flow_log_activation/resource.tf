# Keeps an existing flow log Active. The flow log itself (its VPC/vSwitch/ENI, Log Service
# project and Logstore) is created elsewhere; this resource only switches it on and keeps it on.
resource "alicloud_vpc_flow_log_activation" "example" {
  flow_log_id = "fl-m5e8vhz2t21sel1nq0000"

  # Optional: defaults to the provider's region.
  region_id = "cn-hangzhou"

  # Optional: `terraform destroy` deactivates the flow log (true, the default)
  # or only forgets it (false).
  deactivate_on_destroy = true

  timeouts {
    create = "10m"
    update = "10m"
    delete = "10m"
    read   = "2m"
  }
}

output "flow_log_status" {
  value = alicloud_vpc_flow_log_activation.example.status
}
