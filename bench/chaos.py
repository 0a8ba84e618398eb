#!/usr/bin/env python3
"""Chaos campaign for issue 14 (item 7): kill terraform or the provider mid-apply, with faults on.

Usage: python3 bench/chaos.py [--rounds 20] [--count 150] [--seed S] [--only-round K]
                              [--timeout 600] [--grace 5]
                              [--no-build] [--release-dir DIR] [--keep]

Each round starts its own emulator with COUNT flow logs seeded Inactive in cn-hangzhou, turns
faults on through POST /_emulator/faults (throttling, a 5xx rate, latency, background failures
and deletions; magnitudes drawn from the round's seed), starts `terraform apply` of COUNT
alicloud_vpc_flow_log_activation resources, and at a random moment sends SIGKILL to either
`terraform` or the provider process(es) it started (its children whose executable is the
provider binary). The moment: a random time (0 to 1.5 s) after a random share (0 to 95 %) of
the activations was accepted by the emulator, so kills land anywhere from the refresh to the
last waits, whatever the round's speed. Then:

  (a) State: no instance in terraform.tfstate may say status = "Active" unless the emulator
      (GET /_emulator/flow-logs) says that flow log is Active; each one that does is a false
      claim. A missing, empty or unreadable state file after killing terraform (Terraform's own
      behaviour under SIGKILL) is tolerated and counted as empty_states.
  (c) Orphans: after --grace seconds, no provider process started for the round may be left
      (found in /proc by executable and by a tag in its environment); any left are counted,
      and killed.
  (b) Recovery: faults off (DELETE /_emulator/faults), changes still under way waited out,
      flow logs the faults deleted restored as Inactive (POST /_emulator/flow-logs), a stale
      .terraform.tfstate.lock.info removed (said so; the lock itself dies with terraform, and
      if it is still held the apply is retried with -lock=false, said too), an unreadable
      (torn) state moved aside (said so; an empty one is no state to Terraform), then `terraform
      apply` without faults must converge: it succeeds, every flow log is Active in the
      emulator, and `terraform plan -detailed-exitcode` exits 0. The orphan check is repeated
      after it.

Every choice of a round (activation delay, parallelism, fault magnitudes and seeds, victim,
kill moment) derives from --seed and the round number, so `--seed S --only-round K` re-runs
round K alone (the printed line gives the command). Terraform's and the provider's own timing
still vary from run to run, so a re-run repeats the conditions, not every call. Every terraform
run is bounded by --timeout seconds (its process group is killed on timeout).

One line per round, then exactly one summary line:
  chaos: rounds=N converged=N false_claims=N orphans=N empty_states=N failures=N seed=S
false_claims and orphans count resources and processes over all rounds; a failure is a round
that did not converge, made a false claim, left an orphan or broke the harness. The exit status
is 1 if there was any failure, 2 for bad arguments or a missing build.

Python 3 standard library only; shares bench.py's Workspace and Emulator (dev_overrides to the
release build, its own temp dir, CLI config and HOME, CHECKPOINT_DISABLE=1, environment
stripped of TF_*/ALICLOUD_*/ALIBABA_CLOUD_*). With CARGO_TARGET_DIR set, the release build is
looked for there unless --release-dir says otherwise.
"""
import argparse, json, math, os, random, shutil, signal, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (shares Workspace, Emulator and the release-dir handling)
from bench import Emulator, TerraformError, Workspace, flow_log_id, ours  # noqa: E402

RESOURCE_TYPE = "alicloud_vpc_flow_log_activation"
TAG_VAR = "CHAOS_ROUND_TAG"
TRANSITIONAL = ("Activating", "Deactivating")
DEFAULT_ROUNDS, DEFAULT_COUNT = 20, 150


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


# ---- what a round does, from the seed


def round_plan(seed, k):
    """Every random choice of round k (1-based), from the campaign seed alone."""
    rng = random.Random("chaos/%s/%d" % (seed, k))
    faults = {
        "throttle_qps": rng.choice([30, 50, 100]),
        "fail_rate": rng.choice([0.02, 0.05, 0.1]),
        "fail_seed": rng.randrange(2 ** 32),
        "latency": rng.choice([2, 10, 30]),
        "background_fail_rate": rng.choice([0.02, 0.05, 0.1]),
        "background_delete_rate": rng.choice([0.01, 0.02, 0.04]),
        "background_seed": rng.randrange(2 ** 32),
    }
    return {
        "delay": rng.choice(["200ms", "500ms", "1s"]),
        "parallelism": rng.choice([10, 30, 100]),
        "faults": faults,
        "victim": rng.choice(["terraform", "provider"]),
        # The kill comes this long after this share of the activations was accepted: anywhere
        # from the refresh (share 0) to the last waits (a share near 1 plus the extra time).
        "kill_share": round(rng.uniform(0, 0.95), 2),
        "kill_extra": round(rng.uniform(0, 1.5), 2),
    }


def describe_plan(p):
    f = p["faults"]
    return "delay=%s par=%d faults=[throttle %g/s, 5xx %g%%, latency %gms, bg-fail %g%%, bg-delete %g%%]" % (
        p["delay"], p["parallelism"], f["throttle_qps"], 100 * f["fail_rate"], f["latency"],
        100 * f["background_fail_rate"], 100 * f["background_delete_rate"])


# ---- processes


def exe_of(pid):
    try:
        return os.path.realpath("/proc/%d/exe" % pid)
    except OSError:
        return None


def ppid_of(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            # The command may hold spaces and parentheses: fields follow the last ')'.
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def provider_children(parent):
    """Provider processes whose parent is `parent`."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit() and ppid_of(int(name)) == parent and exe_of(int(name)) == PROVIDER_REAL:
            out.append(int(name))
    return out


def has_tag(pid, tag):
    """Whether the process carries the round's tag in its environment; None if it is gone."""
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            return ("%s=%s" % (TAG_VAR, tag)).encode() in f.read().split(b"\0")
    except OSError:
        return None


def tagged_providers(tag):
    """Provider processes (any parent) with the round's tag in their environment."""
    return [int(n) for n in os.listdir("/proc")
            if n.isdigit() and exe_of(int(n)) == PROVIDER_REAL and has_tag(int(n), tag)]


def reap_orphans(tag, grace):
    """Waits up to `grace` s for the round's provider processes to end; kills and returns those
    still there."""
    deadline = time.monotonic() + grace
    while True:
        left = tagged_providers(tag)
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# ---- the round


class Round:
    def __init__(self, k, rounds, seed, plan, rerun):
        self.k, self.rounds, self.seed, self.plan, self.rerun = k, rounds, seed, plan, rerun
        self.notes = []
        self.false_claims = []
        self.claims = 0
        self.instances = 0
        self.empty_state = None
        self.unreadable_state = False
        self.orphans = []
        self.converged = False
        self.error = None
        self.kill = "none"
        self.emulator = ""

    def failed(self):
        return bool(self.error or not self.converged or self.false_claims or self.orphans)

    def line(self, seconds):
        state = "state: %s" % (self.empty_state or "%d instances, %d say Active" % (self.instances, self.claims))
        if self.false_claims:
            shown = ", ".join("%s is %s" % fc for fc in self.false_claims[:5])
            more = " ..." if len(self.false_claims) > 5 else ""
            state += ", %d FALSE CLAIMS (%s%s)" % (len(self.false_claims), shown, more)
        if self.emulator:
            state += "; emulator then: %s" % self.emulator
        parts = [
            "round %d/%d" % (self.k, self.rounds),
            "%s: %s" % ("FAIL" if self.failed() else "ok", describe_plan(self.plan)),
            "kill %s" % self.kill,
            state,
            "orphans %d%s" % (len(self.orphans), " (pids %s)" % self.orphans if self.orphans else ""),
            "recovery %s" % ("converged" if self.converged else "DID NOT CONVERGE"),
        ]
        if self.notes:
            parts.append("; ".join(self.notes))
        if self.error:
            parts.append("error: %s" % self.error)
        parts.append("%.1fs" % seconds)
        parts.append("re-run: " + self.rerun)
        return " | ".join(parts)


def accepted(emu, count):
    """Activations the emulator accepted so far: flow logs no longer Inactive, or gone (one
    that failed in the background and is Inactive again is not counted)."""
    logs = emu.control("GET", "/flow-logs")
    return len(logs) - sum(f["Status"] == "Inactive" for f in logs) + max(0, count - len(logs))


def chaos_apply(r, ws, emu, count, tag, args):
    """Starts the apply, kills the victim at the planned moment; returns terraform's exit code."""
    plan = r.plan
    target = math.ceil(plan["kill_share"] * count)
    out = open(os.path.join(ws.tmp, "chaos-apply.log"), "w")
    t0 = time.monotonic()
    tf = subprocess.Popen(["terraform", "apply", "-auto-approve", "-input=false", "-no-color",
                           "-parallelism=%d" % plan["parallelism"]],
                          cwd=ws.work, env=ws.env, stdout=out, stderr=subprocess.STDOUT,
                          start_new_session=True)
    try:
        kill_at = None
        while tf.poll() is None:
            now = time.monotonic()
            if kill_at is None and accepted(emu, count) >= target:
                kill_at = now + plan["kill_extra"]
            if kill_at is not None and now >= kill_at:
                break
            if now - t0 > args.timeout:
                kill_group(tf)
                tf.wait()
                r.kill = "none (apply timed out after %gs before the kill; process group killed)" % args.timeout
                return tf.returncode
            time.sleep(0.05)
        if tf.poll() is not None:
            r.kill = "none (apply ended by itself at %.2fs, exit %d)" % (time.monotonic() - t0, tf.returncode)
            return tf.returncode
        if plan["victim"] == "terraform":
            os.kill(tf.pid, signal.SIGKILL)  # terraform alone: its providers must go by themselves
            r.kill = "terraform at %.2fs" % (time.monotonic() - t0)
        else:
            # Between two provider processes (terraform starts one per phase) there may be none
            # for a moment: wait for the next.
            pids = []
            while not pids and tf.poll() is None:
                pids = provider_children(tf.pid)
                if not pids:
                    time.sleep(0.02)
            # The orphan check finds the round's providers by a tag in their environment: make
            # sure they carry it, or that check would be blind.
            untagged = [p for p in pids if has_tag(p, tag) is False]
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if untagged:
                r.error = "provider pid %s lacks %s in its environment: the orphan check cannot see it" % (
                    ",".join(map(str, untagged)), TAG_VAR)
            r.kill = ("provider at %.2fs (pid %s)" % (time.monotonic() - t0, ",".join(map(str, pids)))
                      if pids else "none (apply ended at %.2fs before a provider was found)" % (time.monotonic() - t0))
        try:
            tf.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            kill_group(tf)
            tf.wait()
            r.notes.append("apply after the kill timed out after %gs (process group killed)" % args.timeout)
        r.kill += " (%d/%d accepted + %gs), apply exit %d" % (target, count, plan["kill_extra"], tf.returncode)
        return tf.returncode
    except BaseException:
        kill_group(tf)
        tf.wait()
        raise
    finally:
        out.close()


def check_state(r, ws, emu, count):
    """(a): every instance that says Active must be Active in the emulator."""
    path = os.path.join(ws.work, "terraform.tfstate")
    if os.path.exists(path):  # kept for a look at a failed round; the recovery rewrites it
        shutil.copyfile(path, os.path.join(ws.tmp, "terraform.tfstate.after-kill"))
    logs = emu.control("GET", "/flow-logs")
    counts = {}
    for f in logs:
        counts[f["Status"]] = counts.get(f["Status"], 0) + 1
    gone = len({flow_log_id(i) for i in range(count)} - {f["FlowLogId"] for f in logs})
    r.emulator = ", ".join("%d %s" % (n, st) for st, n in sorted(counts.items())) + ", %d gone" % gone
    killed_terraform = r.plan["victim"] == "terraform" and r.kill.startswith("terraform")
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        text = None
    if text is None or not text.strip():
        what = "missing" if text is None else "empty"
        if killed_terraform:
            r.empty_state = "%s terraform.tfstate (terraform killed)" % what
        elif text is not None:
            r.error = "empty terraform.tfstate although terraform was not killed"
        else:  # terraform stopped before it changed anything: no state yet
            r.notes.append("no state file (nothing applied before the kill)")
        return
    try:
        state = json.loads(text)
    except ValueError:
        r.unreadable_state = True
        if killed_terraform:
            r.empty_state = "unreadable terraform.tfstate (%d bytes, terraform killed)" % len(text)
        else:
            r.error = "unreadable terraform.tfstate although terraform was not killed"
        return
    emulated = {f["FlowLogId"]: f["Status"] for f in logs}
    for res in state.get("resources", []):
        if res.get("type") != RESOURCE_TYPE or res.get("mode") != "managed":
            continue
        for inst in res.get("instances", []):
            r.instances += 1
            attrs = inst.get("attributes") or {}
            if attrs.get("status") != "Active":
                continue
            r.claims += 1
            fid = attrs.get("flow_log_id") or attrs.get("id")
            actual = emulated.get(fid, "gone")
            if actual != "Active":
                r.false_claims.append((fid, actual))


def wait_settled(emu, limit):
    """Waits until no flow log is under way (a fault drawn before the faults went off still
    plays out); returns the flow logs."""
    deadline = time.monotonic() + limit
    while True:
        logs = emu.control("GET", "/flow-logs")
        if not any(f["Status"] in TRANSITIONAL for f in logs) or time.monotonic() >= deadline:
            return logs
        time.sleep(0.1)


def recover(r, ws, emu, count, args):
    """(b): faults off, deleted flow logs back, then an apply without faults must converge."""
    emu.control("DELETE", "/faults")
    logs = wait_settled(emu, 30)
    present = {f["FlowLogId"] for f in logs}
    missing = [flow_log_id(i) for i in range(count) if flow_log_id(i) not in present]
    if missing:
        emu.control("POST", "/flow-logs", [{"FlowLogId": i, "RegionId": "cn-hangzhou", "Status": "Inactive"} for i in missing])
        r.notes.append("restored %d deleted flow log(s)" % len(missing))
    lock = os.path.join(ws.work, ".terraform.tfstate.lock.info")
    if os.path.exists(lock):
        os.remove(lock)
        r.notes.append("removed stale .terraform.tfstate.lock.info")
    state = os.path.join(ws.work, "terraform.tfstate")
    # An empty file is no state to Terraform; a torn one would stop every command.
    if r.unreadable_state and os.path.exists(state):
        os.replace(state, state + ".killed")
        r.notes.append("moved the unreadable state aside (terraform.tfstate.killed); recovery applies from scratch")
    par = "-parallelism=%d" % r.plan["parallelism"]
    try:
        _, err, code = ws.run_full("apply", "-auto-approve", "-input=false", "-no-color", par, ok=(0, 1))
        if code != 0 and "Error acquiring the state lock" in err:
            r.notes.append("state still locked: recovery apply with -lock=false")
            _, err, code = ws.run_full("apply", "-auto-approve", "-input=false", "-no-color", "-lock=false", par, ok=(0, 1))
        if code != 0:
            save(ws, "recovery-apply.log", err)
            r.notes.append("recovery apply exit %d: %s" % (code, first_error(err)))
            return
        logs = emu.control("GET", "/flow-logs")
        not_active = sorted("%s is %s" % (f["FlowLogId"], f["Status"]) for f in logs if f["Status"] != "Active")
        if len(logs) != count or not_active:
            r.notes.append("after the recovery apply %d flow logs, not Active: %s" % (len(logs), ", ".join(not_active[:5]) or "none"))
            return
        _, err, code = ws.run_full("plan", "-input=false", "-no-color", "-detailed-exitcode", par, ok=(0, 1, 2))
        if code != 0:
            save(ws, "recovery-plan.log", err)
            r.notes.append("plan after recovery exit %d%s" % (code, ": " + first_error(err) if code == 1 else " (changes)"))
            return
        r.converged = True
    except TerraformError as e:
        r.notes.append(str(e).strip().splitlines()[0])


def first_error(err):
    for line in err.splitlines():
        if "Error:" in line:
            return line.strip(" │")
    return (err.strip().splitlines() or ["?"])[-1][:200]


def save(ws, name, text):
    with open(os.path.join(ws.tmp, name), "w") as f:
        f.write(text)


def run_round(k, rounds, seed, count, args):
    plan = round_plan(seed, k)
    rerun = "--seed %s --only-round %d" % (seed, k)
    if rounds != DEFAULT_ROUNDS:
        rerun = "--rounds %d " % rounds + rerun
    if count != DEFAULT_COUNT:
        rerun = "--count %d " % count + rerun
    r = Round(k, rounds, seed, plan, rerun)
    tag = "%s-%d-%d" % (seed, k, os.getpid())
    t0 = time.monotonic()
    emu = ws = None
    try:
        emu = Emulator(count, plan["delay"])
        ws = Workspace(ours(count), extra_env=dict(emu.env(), **{TAG_VAR: tag}))
        emu.control("POST", "/faults", plan["faults"])
        chaos_apply(r, ws, emu, count, tag, args)
        check_state(r, ws, emu, count)
        r.orphans += reap_orphans(tag, args.grace)
        recover(r, ws, emu, count, args)
        r.orphans += [p for p in reap_orphans(tag, args.grace) if p not in r.orphans]
    except Exception as e:  # the harness itself: reported as a failed round, the campaign goes on
        r.error = "%s: %s" % (type(e).__name__, e)
    finally:
        if emu:
            emu.close()
        if ws:
            if r.failed() or args.keep:
                r.notes.append("kept %s" % ws.tmp)
            else:
                ws.close()
    print(r.line(time.monotonic() - t0), flush=True)
    return r


PROVIDER_REAL = None


def main():
    global PROVIDER_REAL
    ap = argparse.ArgumentParser(
        description="Issue 14 chaos campaign: applies of COUNT activations against the emulator with "
                    "faults on, terraform or the provider killed with SIGKILL at a random moment; checks "
                    "the state never claims Active falsely, that an apply without faults converges and "
                    "that no provider process is left. Seeded: --seed S --only-round K re-runs a round.")
    ap.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="rounds (default %d)" % DEFAULT_ROUNDS)
    ap.add_argument("--count", type=int, default=DEFAULT_COUNT, help="activations per apply (default %d)" % DEFAULT_COUNT)
    ap.add_argument("--seed", type=int, help="campaign seed (default: a random one, printed)")
    ap.add_argument("--only-round", type=int, metavar="K", help="run round K (1-based) of --seed alone")
    ap.add_argument("--timeout", type=float, default=600, help="seconds before a terraform run is killed (default 600)")
    ap.add_argument("--grace", type=float, default=5.0, help="seconds provider processes get to exit (default 5)")
    ap.add_argument("--keep", action="store_true", help="keep every round's directory (failed rounds' are always kept)")
    ap.add_argument("--no-build", action="store_true", help="do not run cargo build --release --bins first")
    ap.add_argument("--release-dir", metavar="DIR", help="the build's target/release (implies --no-build)")
    args = ap.parse_args()
    if args.rounds < 1 or args.count < 1:
        ap.error("--rounds and --count must be at least 1")
    if args.only_round is not None:
        if args.seed is None:
            ap.error("--only-round needs the --seed of the campaign")
        if not 1 <= args.only_round <= args.rounds:
            ap.error("--only-round must be from 1 to --rounds (%d)" % args.rounds)
    if args.release_dir:
        bench.use_release_dir(args.release_dir)
        args.no_build = True
    elif os.environ.get("CARGO_TARGET_DIR"):
        bench.use_release_dir(os.path.join(os.environ["CARGO_TARGET_DIR"], "release"))
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--bins"], cwd=bench.ROOT, check=True)
    for f in (bench.PROVIDER, bench.EMULATOR):
        if not os.access(f, os.X_OK):
            print("%s: not found; build with cargo build --release --bins" % f, file=sys.stderr)
            sys.exit(2)
    if shutil.which("terraform") is None:
        print("terraform is not on PATH", file=sys.stderr)
        sys.exit(2)
    PROVIDER_REAL = os.path.realpath(bench.PROVIDER)
    Workspace.timeout = args.timeout
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 1000000)
    todo = [args.only_round] if args.only_round else list(range(1, args.rounds + 1))
    version = subprocess.run(["terraform", "version"], capture_output=True, text=True,
                             env=dict(os.environ, CHECKPOINT_DISABLE="1")).stdout.split("\n")[0]
    log("seed %d, %d round(s) of %d activations; release dir %s; %s" % (seed, len(todo), args.count, bench.REL, version))
    results = [run_round(k, args.rounds, seed, args.count, args) for k in todo]
    failures = sum(r.failed() for r in results)
    print("chaos: rounds=%d converged=%d false_claims=%d orphans=%d empty_states=%d failures=%d seed=%d" % (
        len(results), sum(r.converged for r in results), sum(len(r.false_claims) for r in results),
        sum(len(r.orphans) for r in results), sum(bool(r.empty_state) for r in results), failures, seed))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
