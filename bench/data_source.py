#!/usr/bin/env python3
"""API calls and wall time of the alicloud_vpc_flow_logs data source over N flow logs.

Usage: python3 bench/data_source.py [--flow-logs 500] [--runs 5] [--release]

Starts the emulator (target/debug, or target/release with --release: build it first), loads N
flow logs into one region with POST /_emulator/flow-logs, then times `terraform apply
-auto-approve` and `terraform plan` of a configuration holding only the data source (every
flow log of the region) and an output of how many it found. Calls come from
/_emulator/stats, cleared before each run. Figures only; nothing is asserted.
"""
import argparse, json, os, statistics, subprocess, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDRESS = "registry.terraform.io/alicloud-rs/alicloud"

CONFIG = """terraform {
  required_providers {
    alicloud = { source = "alicloud-rs/alicloud" }
  }
}
provider "alicloud" {}
data "alicloud_vpc_flow_logs" "all" {}
output "found" {
  value = length(data.alicloud_vpc_flow_logs.all.ids)
}
"""


def control(base, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + "/_emulator" + path, data=data, method=method)
    with urllib.request.urlopen(req) as r:
        text = r.read().decode()
        return json.loads(text) if text else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flow-logs", type=int, default=500)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--release", action="store_true")
    args = ap.parse_args()
    bins = os.path.join(ROOT, "target", "release" if args.release else "debug")

    emu = subprocess.Popen(
        [os.path.join(bins, "alicloud-vpc-emulator"), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        base = emu.stdout.readline().strip()
        items = [{"FlowLogId": f"fl-bench{i:05d}", "RegionId": "cn-hangzhou",
                  "FlowLogName": f"bench-{i}", "Status": "Active" if i % 3 else "Inactive",
                  "ResourceType": "VSwitch", "ResourceId": f"vsw-bench{i:05d}",
                  "TrafficType": "All", "ProjectName": "p", "LogStoreName": "s"}
                 for i in range(args.flow_logs)]
        control(base, "POST", "/flow-logs", items)
        with tempfile.TemporaryDirectory() as tmp:
            rc = os.path.join(tmp, "terraform.rc")
            with open(rc, "w") as f:
                f.write('provider_installation {\n  dev_overrides {\n    "%s" = "%s"\n  }\n'
                        '  direct {}\n}\n' % (ADDRESS, bins))
            work = os.path.join(tmp, "work")
            os.mkdir(work)
            with open(os.path.join(work, "main.tf"), "w") as f:
                f.write(CONFIG)
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith(("ALICLOUD_", "ALIBABA_CLOUD_", "TF_"))}
            env.update(TF_CLI_CONFIG_FILE=rc, CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1",
                       ALICLOUD_ACCESS_KEY="emulator-access-key-id",
                       ALICLOUD_SECRET_KEY="emulator-access-key-secret",
                       ALICLOUD_REGION="cn-hangzhou", ALIBABA_CLOUD_ENDPOINT_VPC=base)
            for name, cmd in [("apply", ["terraform", "apply", "-auto-approve", "-input=false"]),
                              ("plan", ["terraform", "plan", "-input=false"])]:
                times, calls = [], []
                for _ in range(args.runs):
                    control(base, "DELETE", "/stats")
                    t0 = time.perf_counter()
                    subprocess.run(cmd + ["-no-color"], cwd=work, env=env, check=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    times.append(time.perf_counter() - t0)
                    calls.append(control(base, "GET", "/stats")["calls"].get("DescribeFlowLogs", 0))
                found = subprocess.run(["terraform", "output", "-raw", "found"], cwd=work,
                                       env=env, capture_output=True, text=True).stdout.strip()
                print(f"terraform {name}: {args.flow_logs} flow logs, found {found}, "
                      f"DescribeFlowLogs calls per run {sorted(set(calls))}, "
                      f"wall time median {statistics.median(times):.3f} s "
                      f"(min {min(times):.3f}, max {max(times):.3f}, {args.runs} runs, "
                      f"{'release' if args.release else 'debug'} build)")
    finally:
        emu.kill()
        emu.wait()


if __name__ == "__main__":
    main()
