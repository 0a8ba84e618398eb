terraform {
  required_version = ">= 1.0"
  required_providers {
    alicloud = {
      source  = "alicloud-rs/alicloud"
      version = "0.1.0"
    }
  }
}

# Every argument is optional. With nothing set, credentials and region come from the
# environment (ALICLOUD_ACCESS_KEY, ALICLOUD_SECRET_KEY, ALICLOUD_REGION, ...), then from the
# Alibaba Cloud CLI profile file (~/.aliyun/config.json), then from the ECS instance RAM role.
provider "alicloud" {
  region = "cn-hangzhou"

  # Prefer the environment or a profile over literal keys in configuration:
  # access_key = var.access_key
  # secret_key = var.secret_key

  # profile                 = "default"
  # shared_credentials_file = "~/.aliyun/config.json"

  # Optional tuning (defaults shown).
  # protocol               = "HTTPS"
  # client_connect_timeout = 30000 # ms
  # client_read_timeout    = 60000 # ms
  # max_retry_timeout      = 60    # s
  # configuration_source   = "github.com/example/infra"

  # Talk to another VPC endpoint, e.g. the local emulator:
  # endpoints {
  #   vpc = "http://127.0.0.1:8080"
  # }
}
