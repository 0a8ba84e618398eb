#!/usr/bin/env bash
# Builds the provider and lays it out as a filesystem mirror that every unit's `terraform init`
# can install from, offline:
#
#   .mirror/registry.terraform.io/alicloud-rs/alicloud/VERSION/OS_ARCH/terraform-provider-alicloud_vVERSION
#   .mirror/terraform.rc       the CLI configuration to export as TF_CLI_CONFIG_FILE
#
# Run it again after changing the provider: it also removes the lock files that recorded the
# previous binary's checksum (same version, different bytes: init would refuse it).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
address=registry.terraform.io/alicloud-rs/alicloud

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/Cargo.toml" | head -n 1)
# Terraform's own name for this machine, e.g. linux_amd64 or darwin_arm64.
platform=$(terraform version -json | sed -n 's/.*"platform": *"\([^"]*\)".*/\1/p')
[[ -n "$version" && -n "$platform" ]] || { echo "cannot tell the version or platform" >&2; exit 1; }

cargo build --release --bin terraform-provider-alicloud --manifest-path "$repo/Cargo.toml"
target_dir=$(cargo metadata --format-version 1 --no-deps --manifest-path "$repo/Cargo.toml" |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')

dest="$here/.mirror/$address/$version/$platform"
mkdir -p "$dest"
cp "$target_dir/release/terraform-provider-alicloud" "$dest/terraform-provider-alicloud_v$version"

cat > "$here/.mirror/terraform.rc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$here/.mirror"
    include = ["$address"]
  }
  direct {
    exclude = ["$address"]
  }
}
RC

find "$here" -name .terraform.lock.hcl -path '*/.terragrunt-*' -delete

echo "Mirror ready: $dest"
echo "Now: export TF_CLI_CONFIG_FILE=$here/.mirror/terraform.rc"
