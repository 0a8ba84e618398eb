# Two units, one provider build shared through a filesystem mirror (see README.md).
#
#   ./build-mirror.sh                       # once, and after every provider rebuild
#   export TF_CLI_CONFIG_FILE="$PWD/.mirror/terraform.rc"
#   terragrunt stack generate
#   terragrunt stack run plan
#   terragrunt stack run apply

locals {
  region = "cn-hangzhou"
  # Local state kept beside this file, outside the generated .terragrunt-stack directory, so
  # `terragrunt stack clean` cannot lose it. Use a remote backend for real work.
  state_dir = "${get_terragrunt_dir()}/.state"
}

# One unit, used twice with different values.
unit "flow_log_a" {
  source = "./units/flow-log"
  path   = "flow-log-a"

  values = {
    flow_log_id           = "fl-m5e8vhz2t21sel1nq0001"
    region_id             = local.region
    deactivate_on_destroy = true # owned by this stack: destroy deactivates it
    timeout               = "10m"
    state_path            = "${local.state_dir}/flow-log-a.tfstate"
  }
}

unit "flow_log_b" {
  source = "./units/flow-log"
  path   = "flow-log-b"

  values = {
    flow_log_id           = "fl-m5e8vhz2t21sel1nq0002"
    region_id             = local.region
    deactivate_on_destroy = false # someone else's: destroy leaves it running
    timeout               = "5m"
    state_path            = "${local.state_dir}/flow-log-b.tfstate"
  }
}
