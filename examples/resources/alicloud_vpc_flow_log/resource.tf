resource "alicloud_vpc_flow_log" "example" {
  resource_type  = "VPC"
  resource_id    = "vpc-bp1qpo0kug3a20qqe0000"
  traffic_type   = "All"
  project_name   = "flow-project"
  log_store_name = "flow-store"

  flow_log_name        = "vpc-traffic"
  description          = "All traffic of the production VPC"
  aggregation_interval = "10"

  tags = {
    env = "prod"
  }

  timeouts {
    create = "5m"
    update = "5m"
    delete = "5m"
  }
}

output "flow_log_id" {
  value = alicloud_vpc_flow_log.example.id
}
