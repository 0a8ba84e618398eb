# Unit flow-log: activates one flow log with the module beside this file. The stack uses it
# twice; `terragrunt stack generate` copies it into .terragrunt-stack/<path>, with that
# instance's values in
# terragrunt.values.hcl.

terraform {
  # Relative to this file; the module directory is copied along with the unit.
  source = "./module"
}

# Where the state lives (a path chosen by the stack). Terragrunt writes backend.tf into the
# module copy it runs Terraform in.
remote_state {
  backend = "local"
  generate = {
    path      = "backend.tf"
    if_exists = "overwrite_terragrunt"
  }
  config = {
    path = values.state_path
  }
}

inputs = {
  flow_log_id           = values.flow_log_id
  region_id             = values.region_id
  deactivate_on_destroy = values.deactivate_on_destroy
  timeout               = values.timeout
}
