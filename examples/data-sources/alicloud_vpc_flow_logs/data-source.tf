# The inactive flow logs of one VPC whose name starts with "web-".
data "alicloud_vpc_flow_logs" "web_inactive" {
  vpc_id     = "vpc-bp1qpo0kug3a20qqe0000"
  status     = "Inactive"
  name_regex = "^web-"

  # Optional: defaults to the provider's region.
  region_id = "cn-hangzhou"

  # Optional: also write the result to a file, as JSON.
  output_file = "${path.module}/web-inactive-flow-logs.json"
}

output "web_inactive_flow_log_ids" {
  value = data.alicloud_vpc_flow_logs.web_inactive.ids
}

output "web_inactive_flow_logs" {
  value = [for l in data.alicloud_vpc_flow_logs.web_inactive.logs : "${l.id} ${l.flow_log_name} ${l.status}"]
}
