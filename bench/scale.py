#!/usr/bin/env python3
"""Scale benchmark for issue 11 ("A thousand flow logs at the API quota"): figures, never asserts.

Usage: python3 bench/scale.py [--count 1000] [--runs 5] [--big-runs 1] [--timeout 1800]
                              [--no-build] [--release-dir DIR] [quota] [region] [small] [fast]

Drives the real `terraform` CLI (dev_overrides to the release build, its own temp dir, CLI
config and HOME, CHECKPOINT_DISABLE=1, environment stripped of TF_*/ALICLOUD_*/ALIBABA_CLOUD_*)
against the local emulator, and reads API calls from its /_emulator/stats counters:

  quota   Emulator with --throttle-qps 100 --activation-delay 1s, COUNT flow logs seeded Inactive
          in cn-hangzhou. `terraform apply -auto-approve -parallelism=100` of COUNT
          alicloud_vpc_flow_log_activation resources: wall time, API calls per resource, share of
          answers throttled. Then the refresh, `terraform plan -parallelism=100` right after
          (stats reset first; -detailed-exitcode, so planned changes are flagged): wall time and
          calls per resource. Both against COUNT terraform_data resources for the ratio.
  region  Same emulator, 5,000 flow logs loaded with POST /_emulator/flow-logs, 20 of them
          (spread over the region) in the configuration: apply them, reset stats, then
          `terraform plan`: API calls of that refresh.
  small   1 resource, emulator with delay 0 and no quota: `terraform plan` of a new resource and
          of one in state (a refresh), `terraform apply` of one activation (fresh emulator per
          run), each against 1 terraform_data; median of --runs alternating runs.
  fast    The quota measurement's apply and refresh against an emulator with no quota and no
          activation delay.

The big runs (quota, region, fast) run --big-runs times (default 1; medians). Every terraform
run is bounded by --timeout seconds (it is killed with its provider processes, and the row says
so); every emulator is killed when its measurement ends. --release-dir points at another
build's target/release to compare builds; it implies --no-build.
"""
import argparse, os, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (shares Workspace, Emulator and the release-dir handling)
from bench import Emulator, TerraformError, Workspace, builtin, flow_log_id, med, ours  # noqa: E402

QUOTA_ARGS = ["--throttle-qps", "100"]
QUOTA_DELAY = "1s"
PAR = "-parallelism=100"


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


class Row:
    def __init__(self, what, ours=None, tfdata=None, calls=None, throttled=None, note=""):
        self.what, self.ours, self.tfdata, self.calls, self.throttled, self.note = what, ours, tfdata, calls, throttled, note


ROWS = []
DETAILS = []  # calls by action, one line per measured run set
BASELINE = {}  # (count, "apply"/"plan") -> terraform_data seconds, measured once per script run


def total_calls(stats):
    return sum(stats.get("calls", {}).values())


def describe_stats(label, stats):
    calls = ", ".join("%s %d" % kv for kv in sorted(stats.get("calls", {}).items())) or "none"
    errors = ", ".join("%s %d" % kv for kv in sorted(stats.get("errors", {}).items())) or "none"
    DETAILS.append("%s: calls %d (%s); throttled %d; errors: %s" % (label, total_calls(stats), calls, stats.get("throttled", 0), errors))


def first_line(e):
    return str(e).strip().splitlines()[0] if str(e).strip() else "failed"


def tfdata_big(count, big_runs):
    """Apply then plan of COUNT terraform_data with -parallelism=100 (medians), cached."""
    if (count, "apply") not in BASELINE:
        log("terraform_data: apply and plan of %d" % count)
        ta, tp = [], []
        w = Workspace(builtin(count))
        try:
            for _ in range(big_runs):
                w.reset_state()
                ta.append(w.run("apply", "-auto-approve", "-input=false", PAR))
                tp.append(w.run("plan", "-input=false", PAR))
        finally:
            w.close()
        BASELINE[(count, "apply")], BASELINE[(count, "plan")] = med(ta), med(tp)
    return BASELINE[(count, "apply")], BASELINE[(count, "plan")]


def big(count, big_runs, delay, args, label):
    """Apply then refresh of COUNT activations; two rows."""
    apply_t, apply_calls, apply_thr, plan_t, plan_calls, plan_thr, notes = [], [], [], [], [], [], []
    failed = None
    for run in range(big_runs):
        log("%s: apply of %d activations (run %d/%d)" % (label, count, run + 1, big_runs))
        emu = Emulator(count, delay, args)
        try:
            w = Workspace(ours(count), extra_env=emu.env())
            try:
                emu.reset_stats()
                try:
                    apply_t.append(w.run("apply", "-auto-approve", "-input=false", PAR))
                finally:
                    st = emu.stats()
                    describe_stats("apply %d, %s" % (count, label), st)
                n = total_calls(st)
                apply_calls.append(n / count)
                apply_thr.append(st.get("throttled", 0) / n if n else 0.0)
                log("%s: refresh (plan) of %d" % (label, count))
                emu.reset_stats()
                try:
                    dt, _, code = w.run_full("plan", "-input=false", "-detailed-exitcode", PAR, ok=(0, 2))
                finally:
                    st = emu.stats()
                    describe_stats("refresh %d, %s" % (count, label), st)
                plan_t.append(dt)
                n = total_calls(st)
                plan_calls.append(n / count)
                plan_thr.append(st.get("throttled", 0) / n if n else 0.0)
                if code == 2:
                    notes.append("plan shows changes")
            finally:
                w.close()
        except TerraformError as e:
            failed = first_line(e)
            print(str(e), file=sys.stderr)
            break
        finally:
            emu.close()
    try:
        tf_apply, tf_plan = tfdata_big(count, big_runs)
    except TerraformError as e:
        print(str(e), file=sys.stderr)
        tf_apply = tf_plan = None
    note = "; ".join(sorted(set(notes)))
    if failed and not apply_t:
        ROWS.append(Row("`apply` %d activations, %s" % (count, label), tfdata=tf_apply, note=failed))
        return
    ROWS.append(Row("`apply` %d activations, %s" % (count, label), med(apply_t), tf_apply, med(apply_calls), med(apply_thr)))
    if failed and not plan_t:
        ROWS.append(Row("`plan` (refresh) of %d, %s" % (count, label), tfdata=tf_plan, note=failed))
        return
    ROWS.append(Row("`plan` (refresh) of %d, %s" % (count, label), med(plan_t), tf_plan, med(plan_calls), med(plan_thr), note))


def region(big_runs, size, managed):
    """`managed` activations in a region of `size` flow logs: calls of the refresh."""
    ids = [(k * size) // managed + size // (2 * managed) for k in range(managed)]
    hcl = bench.HEADER + "".join(
        'resource "alicloud_vpc_flow_log_activation" "r%d" {\n  flow_log_id = "%s"\n}\n' % (i, flow_log_id(i)) for i in ids)
    times, calls, thr, notes = [], [], [], []
    failed = None
    for run in range(big_runs):
        log("region: %d managed of %d flow logs (run %d/%d)" % (managed, size, run + 1, big_runs))
        emu = Emulator(0, QUOTA_DELAY, QUOTA_ARGS)
        try:
            created = emu.control("POST", "/flow-logs", [
                {"FlowLogId": flow_log_id(i), "RegionId": "cn-hangzhou", "Status": "Inactive"} for i in range(size)])
            if created.get("created") != size:
                sys.exit("bulk load created %r of %d flow logs" % (created, size))
            w = Workspace(hcl, extra_env=emu.env())
            try:
                w.run("apply", "-auto-approve", "-input=false")
                emu.reset_stats()
                try:
                    dt, _, code = w.run_full("plan", "-input=false", "-detailed-exitcode", ok=(0, 2))
                finally:
                    st = emu.stats()
                    describe_stats("refresh of %d in a region of %d" % (managed, size), st)
                times.append(dt)
                calls.append(total_calls(st))
                thr.append(st.get("throttled", 0) / calls[-1] if calls[-1] else 0.0)
                if code == 2:
                    notes.append("plan shows changes")
            finally:
                w.close()
        except TerraformError as e:
            failed = first_line(e)
            print(str(e), file=sys.stderr)
            break
        finally:
            emu.close()
    what = "`plan` (refresh) of %d in a region of %d, 100 QPS" % (managed, size)
    if not times:
        ROWS.append(Row(what, note=failed or "failed"))
        return
    c = med(calls)
    notes.append("%g API calls in all" % c)
    ROWS.append(Row(what, med(times), None, c / managed, med(thr), "; ".join(sorted(set(notes)))))


def small(runs):
    """1-resource plan (new, and refresh) and apply, median of `runs` alternating runs."""
    try:
        log("small: plan of 1 new resource (%d alternating runs)" % runs)
        a, b = Workspace(ours(1)), Workspace(builtin(1))
        try:
            a.run("plan", "-input=false")  # warm the page cache
            b.run("plan", "-input=false")
            ta, tb = [], []
            for _ in range(runs):
                ta.append(a.run("plan", "-input=false"))
                tb.append(b.run("plan", "-input=false"))
            ROWS.append(Row("`plan`, 1 new resource", med(ta), med(tb)))
        finally:
            a.close(); b.close()

        log("small: plan (refresh) of 1 resource in state (%d alternating runs)" % runs)
        emu = Emulator(1, "0")
        try:
            a, b = Workspace(ours(1), extra_env=emu.env()), Workspace(builtin(1))
            try:
                a.run("apply", "-auto-approve", "-input=false")
                b.run("apply", "-auto-approve", "-input=false")
                a.run("plan", "-input=false")  # warm
                b.run("plan", "-input=false")
                emu.reset_stats()
                ta, tb = [], []
                for _ in range(runs):
                    ta.append(a.run("plan", "-input=false"))
                    tb.append(b.run("plan", "-input=false"))
                st = emu.stats()
                describe_stats("%d refreshes of 1 (delay 0, no quota)" % runs, st)
                ROWS.append(Row("`plan` (refresh) of 1, no quota", med(ta), med(tb), total_calls(st) / runs))
            finally:
                a.close(); b.close()
        finally:
            emu.close()

        log("small: apply of 1 activation, delay 0, no quota (%d alternating runs)" % runs)
        b = Workspace(builtin(1))
        try:
            ta, tb, calls = [], [], []
            for _ in range(runs):
                emu = Emulator(1, "0")
                try:
                    a = Workspace(ours(1), extra_env=emu.env())
                    try:
                        ta.append(a.run("apply", "-auto-approve", "-input=false"))
                    finally:
                        a.close()
                    calls.append(total_calls(emu.stats()))
                finally:
                    emu.close()
                b.reset_state()
                tb.append(b.run("apply", "-auto-approve", "-input=false"))
            ROWS.append(Row("`apply` 1 activation, delay 0, no quota", med(ta), med(tb), med(calls)))
        finally:
            b.close()
    except TerraformError as e:
        print(str(e), file=sys.stderr)
        ROWS.append(Row("small measurements", note=first_line(e)))


def secs(x):
    if x is None:
        return "-"
    return "%.2f s" % x if x >= 1 else "%.3f s" % x


def table():
    out = ["| What | Ours | terraform_data | Ratio | Calls/resource | Throttled |",
           "| --- | --- | --- | --- | --- | --- |"]
    for r in ROWS:
        ratio = "%.2fx" % (r.ours / r.tfdata) if r.ours is not None and r.tfdata else "-"
        calls = "-" if r.calls is None else "%.2f" % r.calls
        thr = "-" if r.throttled is None else "%.1f %%" % (100 * r.throttled)
        what = r.what + (" (%s)" % r.note if r.note else "")
        out.append("| %s | %s | %s | %s | %s | %s |" % (what, secs(r.ours), secs(r.tfdata), ratio, calls, thr))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(
        description="Issue 11 scale benchmark: 1,000 flow-log activations at the API quota, with "
                    "the real terraform CLI against the emulator. Figures only, nothing asserted.")
    ap.add_argument("what", nargs="*", metavar="WHAT",
                    help="measurements to run: quota (apply + refresh of COUNT at 100 QPS, 1 s activation), "
                         "region (refresh of 20 in a region of 5,000), small (1-resource plan and apply), "
                         "fast (apply + refresh of COUNT, no quota, no delay); default: all")
    ap.add_argument("--count", type=int, default=1000, help="resources in quota and fast (default 1000)")
    ap.add_argument("--runs", type=int, default=5, help="alternating runs of the small measurements (default 5)")
    ap.add_argument("--big-runs", type=int, default=1, help="runs of quota, region and fast (default 1; medians)")
    ap.add_argument("--region-size", type=int, default=5000, help="flow logs in the region (default 5000)")
    ap.add_argument("--managed", type=int, default=20, help="of them in the configuration (default 20)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds before a terraform run is killed (default 1800)")
    ap.add_argument("--no-build", action="store_true", help="do not run cargo build --release --bins first")
    ap.add_argument("--release-dir", metavar="DIR", help="another build's target/release to measure (implies --no-build)")
    args = ap.parse_args()
    bad = [w for w in args.what if w not in ("quota", "region", "small", "fast")]
    if bad:
        ap.error("unknown measurement %s (choose from quota, region, small, fast)" % ", ".join(bad))
    if args.release_dir:
        bench.use_release_dir(args.release_dir)
        args.no_build = True
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--bins"], cwd=bench.ROOT, check=True)
    for f in (bench.PROVIDER, bench.EMULATOR):
        if not os.access(f, os.X_OK):
            sys.exit("%s: not found; build with cargo build --release --bins" % f)
    Workspace.timeout = args.timeout
    todo = args.what or ["quota", "region", "small", "fast"]
    version = subprocess.run(["terraform", "version"], capture_output=True, text=True, env=dict(os.environ, CHECKPOINT_DISABLE="1")).stdout.split("\n")[0]
    log("release dir %s; %s; %d CPUs" % (bench.REL, version, os.cpu_count()))
    for t in todo:
        if t == "quota":
            big(args.count, args.big_runs, QUOTA_DELAY, QUOTA_ARGS, "100 QPS, 1 s activation")
        elif t == "region":
            region(args.big_runs, args.region_size, args.managed)
        elif t == "small":
            small(args.runs)
        elif t == "fast":
            big(args.count, args.big_runs, "0", [], "no quota, no delay")
    print("## %s, release dir %s, %d CPUs, %s" % (version, bench.REL, os.cpu_count(), time.strftime("%Y-%m-%d")))
    print(table())
    print("\nCalls by action (from /_emulator/stats):")
    for d in DETAILS:
        print("- " + d)


if __name__ == "__main__":
    main()
