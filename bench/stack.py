#!/usr/bin/env python3
"""Shared-quota benchmark for issue 15 (a Terragrunt stack at the API quota): figures, never asserts.

Usage: python3 bench/stack.py [--units 10] [--per-unit 50] [--qps 50] [--every 7] [--count 150]
                              [--timeout 900] [--no-build] [--release-dir DIR] [--emulator PATH]
                              [stack] [every] [floor]

Drives the real `terraform` CLI (dev_overrides to the release build, each workspace in its own
temp dir with its own CLI config and HOME, CHECKPOINT_DISABLE=1, environment stripped of
TF_*/ALICLOUD_*/ALIBABA_CLOUD_*) against the local emulator, and reads API calls from its
/_emulator/stats counters:

  stack   One emulator with --throttle-qps QPS and a 1 s activation, UNITS x PER_UNIT flow logs
          seeded Inactive. UNITS unit directories of PER_UNIT activations each, applied all at
          once (`terraform apply -parallelism=10` each, Terraform's default, as `terragrunt
          stack run apply` runs its units; one provider process per unit; the units share one
          cache directory, as on one machine). Then, against a fresh emulator, the same
          UNITS x PER_UNIT activations as one configuration (`-parallelism=UNITS*10`, the same
          number of operations in flight). Wall time, API calls per resource, share of answers
          throttled, for both, and the ratio of the wall times.
  floor   The same UNITS x PER_UNIT stack and one configuration, of terraform_data resources
          (no provider, no API): Terraform's own cost on this machine, and the ratio of the
          wall times it sets before any API call.
  every   Emulator without a quota, 1 s activation: `terraform apply -parallelism=100` of COUNT
          activations, then the same against an emulator refusing every EVERY-th call with
          Throttling.User (--throttle-every). Wall time, calls per resource (refused ones
          included), throttled share, DescribeFlowLogs calls per resource (batching: listings,
          not a describe per resource), and the ratio of the wall times.

--release-dir points at another build's target/release to compare builds; it implies
--no-build. --emulator PATH takes the emulator from elsewhere (an older build's emulator has
no --throttle-every). Every terraform run is bounded by --timeout seconds (killed with its provider
processes); every emulator is killed when its measurement ends.
"""
import argparse, os, shutil, signal, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
from bench import Emulator, TerraformError, Workspace, flow_log_id, med  # noqa: E402

DELAY = "1s"


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def config(ids):
    return bench.HEADER + "".join(
        'resource "alicloud_vpc_flow_log_activation" "r%d" {\n  flow_log_id = "%s"\n}\n' % (i, flow_log_id(i))
        for i in ids)


def total_calls(stats):
    return sum(stats.get("calls", {}).values())


class Row:
    def __init__(self, what, secs=None, calls=None, throttled=None, describes=None, note=""):
        self.what, self.secs, self.calls, self.throttled, self.describes, self.note = what, secs, calls, throttled, describes, note


ROWS, DETAILS, RATIOS = [], [], []


def measured(label, secs, stats, resources, note=""):
    n = total_calls(stats)
    calls = stats.get("calls", {})
    DETAILS.append("%s: calls %d (%s); throttled %d" % (
        label, n, ", ".join("%s %d" % kv for kv in sorted(calls.items())) or "none", stats.get("throttled", 0)))
    row = Row(label, secs, n / resources, stats.get("throttled", 0) / n if n else 0.0,
              calls.get("DescribeFlowLogs", 0) / resources, note)
    ROWS.append(row)
    return row


def run_together(workspaces, args, timeout):
    """Starts `terraform args` in every workspace at once; wall time until the last ends."""
    # Output goes to files, not pipes: a unit whose pipe is not being read fills it (a plan of
    # 50 resources is more than a pipe holds) and stops until it is, which ran the units one
    # after another.
    outs = [open(os.path.join(w.tmp, "out.txt"), "w+") for w in workspaces]
    t0 = time.perf_counter()
    procs = [subprocess.Popen(["terraform", *args], cwd=w.work, env=w.env, stdout=o, stderr=subprocess.STDOUT,
                              text=True, start_new_session=True) for w, o in zip(workspaces, outs)]
    failed = []
    try:
        for i, p in enumerate(procs):
            left = None if timeout is None else max(1.0, timeout - (time.perf_counter() - t0))
            try:
                p.wait(timeout=left)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                failed.append("unit %d timed out" % i)
                continue
            if p.returncode != 0:
                outs[i].seek(0)
                failed.append("unit %d failed (exit %d): %s" % (i, p.returncode, outs[i].read().strip()[-2000:]))
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        for o in outs:
            o.close()
    return time.perf_counter() - t0, failed


def stack(units, per_unit, qps, timeout, runs):
    total = units * per_unit
    qargs = ["--throttle-qps", str(qps)]
    walls_stack, walls_one = [], []
    for run in range(runs):
        log("stack: %d units of %d at %s QPS (run %d/%d)" % (units, per_unit, qps, run + 1, runs))
        emu = Emulator(total, DELAY, qargs)
        cache = tempfile.mkdtemp(prefix="tfstack-cache-")
        ws = []
        try:
            env = dict(emu.env(), XDG_CACHE_HOME=cache)
            ws = [Workspace(config(range(u * per_unit, (u + 1) * per_unit)), extra_env=env) for u in range(units)]
            emu.reset_stats()
            secs, failed = run_together(ws, ["apply", "-auto-approve", "-input=false", "-parallelism=10"], timeout)
            st = emu.stats()
            active = sum(1 for f in emu.control("GET", "/flow-logs") if f.get("Status") == "Active")
            note = "; ".join(failed[:2]) if failed else ""
            if active != total:
                note = (note + "; " if note else "") + "%d of %d Active" % (active, total)
            measured("stack of %d units x %d, %s QPS, 1 s activation" % (units, per_unit, qps), secs, st, total, note)
            walls_stack.append(secs)
        finally:
            for w in ws:
                w.close()
            shutil.rmtree(cache, ignore_errors=True)
            emu.close()

        log("stack: the same %d as one configuration (run %d/%d)" % (total, run + 1, runs))
        emu = Emulator(total, DELAY, qargs)
        w = None
        try:
            w = Workspace(config(range(total)), extra_env=emu.env())
            emu.reset_stats()
            note = ""
            try:
                secs = w.run("apply", "-auto-approve", "-input=false", "-parallelism=%d" % (units * 10))
            except TerraformError as e:
                secs, note = None, str(e).strip().splitlines()[0]
            measured("one configuration of %d, %s QPS, 1 s activation" % (total, qps), secs, emu.stats(), total, note)
            if secs is not None:
                walls_one.append(secs)
        finally:
            if w:
                w.close()
            emu.close()
    if walls_stack and walls_one:
        RATIOS.append("stack / one configuration, wall time: %.2fx (%.2f s / %.2f s%s)" % (
            med(walls_stack) / med(walls_one), med(walls_stack), med(walls_one), ", medians" if runs > 1 else ""))


def floor(units, per_unit, timeout, runs):
    """The same stack and configuration of terraform_data resources: no provider, no API, so
    what Terraform's own processes cost on this machine, and the stack/configuration ratio that
    sets before any API call."""
    total = units * per_unit

    def hcl(ids):
        return "".join('resource "terraform_data" "r%d" {\n  input = "%d"\n}\n' % (i, i) for i in ids)

    walls_stack, walls_one = [], []
    for run in range(runs):
        log("floor: %d units of %d terraform_data, then one configuration (run %d/%d)" % (units, per_unit, run + 1, runs))
        ws = [Workspace(hcl(range(u * per_unit, (u + 1) * per_unit))) for u in range(units)]
        try:
            secs, failed = run_together(ws, ["apply", "-auto-approve", "-input=false", "-parallelism=10"], timeout)
            if not failed:
                walls_stack.append(secs)
        finally:
            for w in ws:
                w.close()
        w = Workspace(hcl(range(total)))
        try:
            walls_one.append(w.run("apply", "-auto-approve", "-input=false", "-parallelism=%d" % (units * 10)))
        finally:
            w.close()
    if walls_stack and walls_one:
        RATIOS.append("terraform_data, Terraform's own floor: stack of %d x %d %.2f s, one configuration of %d %.2f s, "
                      "ratio %.2fx" % (units, per_unit, med(walls_stack), total, med(walls_one),
                                       med(walls_stack) / med(walls_one)))


def every(count, nth, timeout, runs):
    walls = {}
    for label, args in (("no refusals", []), ("every %dth call throttled" % nth, ["--throttle-every", str(nth)])):
        for run in range(runs):
            log("every: apply of %d, %s (run %d/%d)" % (count, label, run + 1, runs))
            emu = Emulator(count, DELAY, args)
            w = None
            try:
                w = Workspace(config(range(count)), extra_env=emu.env())
                emu.reset_stats()
                note = ""
                try:
                    secs = w.run("apply", "-auto-approve", "-input=false", "-parallelism=100")
                except TerraformError as e:
                    secs, note = None, str(e).strip().splitlines()[0]
                measured("apply of %d, no quota, 1 s activation, %s" % (count, label), secs, emu.stats(), count, note)
                if secs is not None:
                    walls.setdefault(label, []).append(secs)
            finally:
                if w:
                    w.close()
                emu.close()
    if len(walls) == 2:
        a, b = (med(v) for v in walls.values())
        RATIOS.append("every %dth throttled / no refusals, wall time: %.2fx (%.2f s / %.2f s)" % (nth, b / a, b, a))


def secs(x):
    return "-" if x is None else ("%.2f s" % x)


def main():
    ap = argparse.ArgumentParser(description="Issue 15 shared-quota benchmark: a stack of units at the API quota, and "
                                             "refusals that do not depend on the rate. Figures only, nothing asserted.")
    ap.add_argument("what", nargs="*", metavar="WHAT", help="stack, every, floor (default: stack and every)")
    ap.add_argument("--units", type=int, default=10, help="units of the stack (default 10)")
    ap.add_argument("--per-unit", type=int, default=50, help="activations per unit (default 50)")
    ap.add_argument("--qps", type=float, default=50, help="the emulator's quota in stack (default 50)")
    ap.add_argument("--every", type=int, default=7, help="throttle every Nth call in every (default 7)")
    ap.add_argument("--count", type=int, default=150, help="activations in every (default 150)")
    ap.add_argument("--runs", type=int, default=1, help="runs of each measurement (default 1; medians)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds before a terraform run is killed (default 900)")
    ap.add_argument("--no-build", action="store_true", help="do not run cargo build --release --bins first")
    ap.add_argument("--release-dir", metavar="DIR", help="another build's target/release (implies --no-build)")
    ap.add_argument("--emulator", metavar="PATH", help="the emulator binary to use (default: the release dir's); "
                                                        "an older build's emulator has no --throttle-every")
    args = ap.parse_args()
    bad = [w for w in args.what if w not in ("stack", "every", "floor")]
    if bad:
        ap.error("unknown measurement %s (choose from stack, every, floor)" % ", ".join(bad))
    if args.release_dir:
        bench.use_release_dir(args.release_dir)
        args.no_build = True
    if args.emulator:
        bench.EMULATOR = os.path.abspath(args.emulator)
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--bins"], cwd=bench.ROOT, check=True)
    for f in (bench.PROVIDER, bench.EMULATOR):
        if not os.access(f, os.X_OK):
            sys.exit("%s: not found; build with cargo build --release --bins" % f)
    Workspace.timeout = args.timeout
    version = subprocess.run(["terraform", "version"], capture_output=True, text=True,
                             env=dict(os.environ, CHECKPOINT_DISABLE="1")).stdout.split("\n")[0]
    log("release dir %s; %s; %d CPUs" % (bench.REL, version, os.cpu_count()))
    for t in args.what or ["stack", "every"]:
        if t == "stack":
            stack(args.units, args.per_unit, args.qps, args.timeout, args.runs)
        elif t == "floor":
            floor(args.units, args.per_unit, args.timeout, args.runs)
        else:
            every(args.count, args.every, args.timeout, args.runs)
    print("## %s, release dir %s, %d CPUs, %s" % (version, bench.REL, os.cpu_count(), time.strftime("%Y-%m-%d %H:%M")))
    print("| What | Wall | Calls/resource | Throttled | DescribeFlowLogs/resource |")
    print("| --- | --- | --- | --- | --- |")
    for r in ROWS:
        what = r.what + (" (%s)" % r.note if r.note else "")
        print("| %s | %s | %.2f | %.1f %% | %.2f |" % (what, secs(r.secs), r.calls, 100 * r.throttled, r.describes))
    for r in RATIOS:
        print("- " + r)
    print("\nCalls by action (from /_emulator/stats):")
    for d in DETAILS:
        print("- " + d)


if __name__ == "__main__":
    main()
