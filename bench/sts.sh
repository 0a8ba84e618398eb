#!/usr/bin/env bash
# STS figures: AssumeRole calls per provider process in an apply of 100 activations with
# assume_role, and what assume_role adds to a 1-resource apply (median of 7 runs, with vs
# without). Figures only, against the emulator; needs terraform, curl and a release build.
# Usage: bench/sts.sh [RELEASE_DIR]   (default: target/release of this checkout)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(cd "${1:-$ROOT/target/release}" && pwd)
[ -x "$T/terraform-provider-alicloud" ] || { echo "no provider in $T: cargo build --release --bins" >&2; exit 1; }
W=$(mktemp -d /tmp/stsbench.XXXXXX); trap 'rm -rf "$W"' EXIT; mkdir -p "$W/home"
ROLE=acs:ram::1234567890123456:role/ci-deployer
cat > "$W/tfrc" <<RC
provider_installation {
  dev_overrides { "registry.terraform.io/alicloud-rs/alicloud" = "$T" }
  direct {}
}
RC
for v in $(env | grep -oE '^(TF_|ALICLOUD_|ALIBABA_CLOUD_)[A-Z0-9_]*'); do unset "$v"; done
export TF_CLI_CONFIG_FILE="$W/tfrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 HOME="$W/home"
start_emu() { # $1 = activation delay
  rm -f "$W/emu.out"; python3 -c 'import json;print(json.dumps([{"FlowLogId":"fl-fig%05d"%i,"RegionId":"cn-hangzhou","Status":"Inactive"} for i in range(100)]))' > "$W/seed.json"
  "$T/alicloud-vpc-emulator" --listen 127.0.0.1:0 --seed "$W/seed.json" --activation-delay "$1" --sts-role-arn "$ROLE" > "$W/emu.out" 2>/dev/null &
  EMU_PID=$!; for _ in $(seq 50); do [ -s "$W/emu.out" ] && break; sleep 0.1; done
  E=$(head -1 "$W/emu.out"); [ -n "$E" ] || { echo "emulator did not start"; cat "$W/emu.out"; exit 1; }
}
stop_emu() { kill "$EMU_PID"; wait "$EMU_PID" 2>/dev/null || true; }
config() { # $1 = count, $2 = with assume_role (1/0)
  local ar=""; [ "$2" = 1 ] && ar="  assume_role { role_arn = \"$ROLE\" }"
  cat > "$W/ws/main.tf" <<TF
terraform {
  required_providers { alicloud = { source = "alicloud-rs/alicloud" } }
}
provider "alicloud" {
  region = "cn-hangzhou"
  access_key = "emulator-access-key-id"
  secret_key = "emulator-access-key-secret"
  protocol = "HTTP"
  endpoints {
    vpc = "$E"
    sts = "$E"
  }
$ar
}
resource "alicloud_vpc_flow_log_activation" "x" {
  count = $1
  flow_log_id = format("fl-fig%05d", count.index)
}
TF
}

echo "== Figure 1: apply of 100 activations with assume_role"
start_emu 1s; rm -rf "$W/ws"; mkdir "$W/ws"; config 100 1
cd "$W/ws"
TF_LOG=debug terraform apply -auto-approve -input=false -no-color > "$W/apply.log" 2>&1
procs=$(grep -c 'plugin started' "$W/apply.log" || true)
stats=$(curl -s "$E/_emulator/stats")
echo "provider processes started: $procs"
echo "stats: $stats"
cd "$W/ws"; curl -s -X DELETE "$E/_emulator/stats"; TF_LOG=debug terraform apply -auto-approve -input=false -no-color > "$W/apply2.log" 2>&1
echo "second apply (refresh of 100, nothing to change): provider processes $(grep -c "plugin started" "$W/apply2.log"), stats $(curl -s "$E/_emulator/stats")"
stop_emu

echo "== Figure 2: 1-resource apply, median of 7 runs, without vs with assume_role"
for with in 0 1; do
  times=()
  for i in $(seq 7); do
    start_emu 0; rm -rf "$W/ws"; mkdir "$W/ws"; config 1 "$with"; cd "$W/ws"
    s=$(date +%s%N)
    terraform apply -auto-approve -input=false -no-color > "$W/one.log" 2>&1 || { tail -20 "$W/one.log"; exit 1; }
    e=$(date +%s%N)
    times+=($(( (e - s) / 1000000 )))
    ar=$(curl -s "$E/_emulator/stats" | python3 -c 'import json,sys;print(json.load(sys.stdin)["calls"].get("AssumeRole",0))')
    stop_emu
  done
  sorted=$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 4p)
  echo "assume_role=$with: runs(ms) $sorted median ${median} ms (AssumeRole calls in last run: $ar)"
done
