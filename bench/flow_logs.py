#!/usr/bin/env python3
"""Create, refresh and destroy COUNT alicloud_vpc_flow_log (issue 17): figures, never asserts.

Usage: python3 bench/flow_logs.py [--count 200] [--runs 1] [--delay 1s] [--parallelism 10]
                                  [--qps N] [--timeout 1800] [--no-build] [--release-dir DIR]

Drives the real `terraform` CLI (dev_overrides to the release build, its own temp dir, CLI
config and HOME, environment stripped of TF_*/ALICLOUD_*/ALIBABA_CLOUD_*) against the local
emulator, started empty with --activation-delay DELAY (and --throttle-qps N with --qps). For
COUNT flow logs, one per VPC, in cn-hangzhou:

  create   `terraform apply -auto-approve`: CreateFlowLog, then the wait until each is Active
  refresh  `terraform plan -detailed-exitcode` right after (a plan with changes is flagged)
  destroy  `terraform destroy -auto-approve`: DeleteFlowLog, then the wait until each is gone

each with -parallelism=N (Terraform's default is 10). API calls come from the emulator's
/_emulator/stats counters, reset before each phase: calls per resource, by action. The same
three commands on COUNT terraform_data resources, in the same run, give the ratio. With
--runs R, both sides run R times in turn (fresh emulator and state each time) and medians are
shown. After destroy the emulator must hold no flow log; the row says so if it does.
"""
import argparse, os, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (Workspace, Emulator, release-dir handling)
from bench import TerraformError, Workspace, med  # noqa: E402

PHASES = ("create", "refresh", "destroy")


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def vpc_id(i):
    return "vpc-bench%06d" % i


def flow_logs_hcl(n):
    return bench.HEADER + "".join(
        'resource "alicloud_vpc_flow_log" "r%d" {\n'
        '  resource_type  = "VPC"\n'
        '  resource_id    = "%s"\n'
        '  traffic_type   = "All"\n'
        '  project_name   = "bench-project"\n'
        '  log_store_name = "bench-logstore"\n'
        '  flow_log_name  = "bench-%d"\n'
        '}\n' % (i, vpc_id(i), i) for i in range(n))


def builtin_hcl(n):
    return bench.HEADER + "".join(
        'resource "terraform_data" "r%d" {\n  input = "%s"\n}\n' % (i, vpc_id(i)) for i in range(n))


def commands(par):
    return {
        "create": (("apply", "-auto-approve", "-input=false", par), (0,)),
        "refresh": (("plan", "-input=false", "-detailed-exitcode", par), (0, 2)),
        "destroy": (("destroy", "-auto-approve", "-input=false", par), (0,)),
    }


def run_ours(count, delay, par, qps):
    """One create/refresh/destroy of COUNT flow logs: {phase: (seconds, stats, note)}."""
    args = ["--throttle-qps", str(qps)] if qps else []
    emu = bench.Emulator(0, delay, args)
    out = {}
    try:
        w = Workspace(flow_logs_hcl(count), extra_env=emu.env())
        try:
            for phase in PHASES:
                cmd, ok = commands(par)[phase]
                log("alicloud_vpc_flow_log: %s of %d" % (phase, count))
                emu.reset_stats()
                try:
                    dt, _, code = w.run_full(*cmd, ok=ok)
                finally:
                    stats = emu.stats()
                note = ""
                if phase == "create":
                    active = [f for f in emu.control("GET", "/flow-logs") if f.get("Status") == "Active"]
                    if len(active) != count:
                        note = "%d of %d Active after apply" % (len(active), count)
                if phase == "refresh" and code == 2:
                    note = "plan shows changes"
                if phase == "destroy":
                    left = emu.control("GET", "/flow-logs")
                    if left:
                        note = "%d flow logs left after destroy" % len(left)
                out[phase] = (dt, stats, note)
        finally:
            w.close()
    finally:
        emu.close()
    return out


def run_builtin(count, par):
    w = Workspace(builtin_hcl(count))
    out = {}
    try:
        for phase in PHASES:
            cmd, ok = commands(par)[phase]
            log("terraform_data: %s of %d" % (phase, count))
            out[phase] = w.run_full(*cmd, ok=ok)[0]
    finally:
        w.close()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--delay", default="1s", help="the emulator's --activation-delay")
    ap.add_argument("--parallelism", type=int, default=10)
    ap.add_argument("--qps", type=float, default=None, help="the emulator's --throttle-qps (off by default)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds before a terraform run is killed")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--release-dir")
    a = ap.parse_args()
    if a.release_dir:
        bench.use_release_dir(a.release_dir)
        a.no_build = True
    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "--bins"], cwd=bench.ROOT, check=True)
    Workspace.timeout = a.timeout
    par = "-parallelism=%d" % a.parallelism

    ours, theirs, failed = [], [], None
    for run in range(a.runs):
        log("run %d/%d" % (run + 1, a.runs))
        try:
            ours.append(run_ours(a.count, a.delay, par, a.qps))
        except TerraformError as e:
            failed = str(e).strip().splitlines()[0] if str(e).strip() else "failed"
            print(str(e), file=sys.stderr)
            break
        theirs.append(run_builtin(a.count, par))

    quota = "%g QPS" % a.qps if a.qps else "no quota"
    print("## %d alicloud_vpc_flow_log vs %d terraform_data, activation delay %s, %s, %s, median of %d run(s)"
          % (a.count, a.count, a.delay, quota, par, len(ours)))
    if failed:
        print("FAILED: %s" % failed)
    if not ours:
        sys.exit(1)
    print("| Phase | alicloud_vpc_flow_log | terraform_data | Ratio | API calls per resource | Calls by action | Note |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for phase in PHASES:
        t_ours = med([r[phase][0] for r in ours])
        t_theirs = med([r[phase] for r in theirs]) if theirs else None
        calls = [sum(r[phase][1].get("calls", {}).values()) / a.count for r in ours]
        last = ours[-1][phase][1]
        by_action = ", ".join("%s %d" % kv for kv in sorted(last.get("calls", {}).items())) or "none"
        errors = last.get("errors", {})
        notes = sorted({r[phase][2] for r in ours if r[phase][2]})
        if errors:
            notes.append("errors: " + ", ".join("%s %d" % kv for kv in sorted(errors.items())))
        ratio = "%.1fx" % (t_ours / t_theirs) if t_theirs else "-"
        print("| %s | %.2f s | %s | %s | %.2f | %s | %s |" % (
            phase, t_ours, "%.2f s" % t_theirs if t_theirs else "-", ratio, med(calls), by_action, "; ".join(notes)))


if __name__ == "__main__":
    main()
