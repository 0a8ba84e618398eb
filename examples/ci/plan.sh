#!/usr/bin/env bash
# Non-interactive plan for CI: never prompts, takes credentials from the environment, and turns
# Terraform's -detailed-exitcode into an answer a pipeline can branch on.
#
#   usage: examples/ci/plan.sh [DIR] [extra terraform plan arguments...]
#
#   exit 0  no changes: the infrastructure matches the configuration
#   exit 2  changes present (saved to DIR/tfplan; drift shows as status "Inactive" -> "Active")
#   exit 1  error (configuration, credentials, API)
#
# Credentials: best without long-lived keys: the RRSA/OIDC variables ALIBABA_CLOUD_ROLE_ARN,
# ALIBABA_CLOUD_OIDC_PROVIDER_ARN and ALIBABA_CLOUD_OIDC_TOKEN_FILE (see github-actions-oidc.yml),
# or an ECS instance with ALICLOUD_ECS_ROLE_NAME; else ALICLOUD_ACCESS_KEY / ALICLOUD_SECRET_KEY
# (and ALICLOUD_SECURITY_TOKEN for STS keys) from the CI secret store. ALICLOUD_REGION too. The provider installation (filesystem mirror) comes from the CLI
# configuration in TF_CLI_CONFIG_FILE; see README.md.
set -euo pipefail

dir=${1:-.}
shift || true

export TF_IN_AUTOMATION=1   # shorter output, no "run terraform apply" hints
export TF_INPUT=0           # never prompt, even for a forgotten -input=false
export CHECKPOINT_DISABLE=1 # no version check call

if [[ -z "${ALICLOUD_ACCESS_KEY:-${ALIBABA_CLOUD_ACCESS_KEY_ID:-${ALIBABACLOUD_ACCESS_KEY_ID:-}}}" &&
      -z "${ALICLOUD_PROFILE:-${ALIBABA_CLOUD_PROFILE:-}}" &&
      -z "${ALICLOUD_ECS_ROLE_NAME:-}" &&
      -z "${ALIBABA_CLOUD_OIDC_TOKEN_FILE:-${ALIBABA_CLOUD_OIDC_TOKEN:-}}" &&
      -z "${ALICLOUD_CREDENTIALS_URI:-${ALIBABA_CLOUD_CREDENTIALS_URI:-}}" ]]; then
  echo "plan.sh: note: no access key, profile, ECS role, OIDC token or credentials URI in the environment;" \
       "the provider will try ~/.aliyun/config.json and fail if that has none." >&2
fi

terraform -chdir="$dir" init -input=false

rc=0
terraform -chdir="$dir" plan -input=false -detailed-exitcode -lock-timeout=5m \
  -out=tfplan "$@" || rc=$?

case $rc in
  0) echo "plan.sh: no changes." ;;
  2) echo "plan.sh: changes present; the plan is saved in $dir/tfplan" \
          "(apply it with: terraform -chdir=$dir apply -input=false tfplan)." ;;
  *) echo "plan.sh: terraform plan failed (exit $rc)." >&2; rc=1 ;;
esac
exit "$rc"
