#!/usr/bin/env python3
"""Benchmarks of the provider with the real terraform CLI; prints figures and ratios.

Usage: python3 bench/bench.py [--runs 5] [--no-build] [--release-dir DIR] [plan] [apply] [startup] [logs]

--release-dir points at another build's target/release (say, an older commit's worktree) to
compare builds with the same script; it implies --no-build.

Every timing is the median of N alternating runs (ours, then the same count of Terraform's
built-in terraform_data, and so on), so machine noise hits both sides alike. Nothing here is
a test: figures are reported, never asserted.
"""
import json, os, shutil, signal, statistics, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = os.path.join(ROOT, "target", "release")
PROVIDER = os.path.join(REL, "terraform-provider-alicloud")
EMULATOR = os.path.join(REL, "alicloud-vpc-emulator")


def use_release_dir(path):
    global REL, PROVIDER, EMULATOR
    REL = os.path.abspath(path)
    PROVIDER = os.path.join(REL, "terraform-provider-alicloud")
    EMULATOR = os.path.join(REL, "alicloud-vpc-emulator")
ADDRESS = "registry.terraform.io/alicloud-rs/alicloud"
COOKIE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
KEY_ID, SECRET = "emulator-access-key-id", "emulator-access-key-secret"

HEADER = """terraform {
  required_providers {
    alicloud = { source = "alicloud-rs/alicloud" }
  }
}
provider "alicloud" {
  region = "cn-hangzhou"
}
"""


def flow_log_id(i):
    return "fl-bench%06d" % i


def ours(n):
    return HEADER + "".join(
        'resource "alicloud_vpc_flow_log_activation" "r%d" {\n  flow_log_id = "%s"\n}\n' % (i, flow_log_id(i))
        for i in range(n))


def builtin(n):
    return HEADER + "".join('resource "terraform_data" "r%d" {\n  input = "%s"\n}\n' % (i, flow_log_id(i)) for i in range(n))


class TerraformError(SystemExit):
    """A terraform run failed or timed out. Uncaught, it exits with the message like before;
    bench/scale.py catches it to report the measurement as failed and go on."""


class Workspace:
    # Seconds before a terraform run is killed (with its provider processes); None: no bound.
    timeout = None

    def __init__(self, hcl, plugin_dir=None, extra_env=None):
        # Read REL now, not at definition time, so --release-dir reaches the dev_overrides.
        plugin_dir = plugin_dir or REL
        self.tmp = tempfile.mkdtemp(prefix="tfbench-")
        self.work = os.path.join(self.tmp, "work")
        os.makedirs(self.work)
        os.makedirs(os.path.join(self.tmp, "home"))
        rc = os.path.join(self.tmp, "terraform.rc")
        with open(rc, "w") as f:
            f.write('provider_installation {\n  dev_overrides {\n    "%s" = "%s"\n  }\n  direct {}\n}\n' % (ADDRESS, plugin_dir))
        with open(os.path.join(self.work, "main.tf"), "w") as f:
            f.write(hcl)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "ALICLOUD_", "ALIBABA_CLOUD_"))}
        self.env.update(TF_CLI_CONFIG_FILE=rc, CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1",
                        HOME=os.path.join(self.tmp, "home"),
                        # The provider's shared rate-limit bucket (and what it learnt of a
                        # quota) stays within this workspace unless extra_env says otherwise.
                        XDG_CACHE_HOME=os.path.join(self.tmp, "home", ".cache"))
        self.env.update(extra_env or {})

    def run(self, *args):
        return self.run_output(*args)[0]

    def run_output(self, *args, ok=(0,)):
        return self.run_full(*args, ok=ok)[:2]

    def run_full(self, *args, ok=(0,)):
        """(seconds, stderr, exit code); raises TerraformError on another exit code or timeout."""
        t0 = time.perf_counter()
        # Own process group, so a timeout kills terraform and the provider processes it started.
        p = subprocess.Popen(["terraform", *args], cwd=self.work, env=self.env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            out, err = p.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            raise TerraformError("terraform %s: timed out after %s s" % (" ".join(args), self.timeout))
        except BaseException:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            raise
        dt = time.perf_counter() - t0
        if p.returncode not in ok:
            raise TerraformError("terraform %s failed (exit %d):\n%s\n%s" % (" ".join(args), p.returncode, out[-4000:], err[-4000:]))
        return dt, err, p.returncode

    def reset_state(self):
        for f in ("terraform.tfstate", "terraform.tfstate.backup"):
            try:
                os.remove(os.path.join(self.work, f))
            except FileNotFoundError:
                pass

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


class Emulator:
    """The emulator seeded with n Inactive flow logs in cn-hangzhou; `args` adds flags such as
    ["--throttle-qps", "100"]. Always close() it (try/finally): it runs until killed."""

    def __init__(self, n, delay, args=()):
        self.seed = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump([{"FlowLogId": flow_log_id(i), "RegionId": "cn-hangzhou", "Status": "Inactive"} for i in range(n)], self.seed)
        self.seed.close()
        self.proc = subprocess.Popen([EMULATOR, "--seed", self.seed.name, "--activation-delay", delay, *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            self.close()
            sys.exit("%s did not start (exit %s)" % (EMULATOR, self.proc.returncode))

    def env(self):
        return {"ALIBABA_CLOUD_ENDPOINT_VPC": self.url, "ALICLOUD_ACCESS_KEY": KEY_ID, "ALICLOUD_SECRET_KEY": SECRET}

    def control(self, method, path, body=None):
        """A test control under /_emulator/ (unsigned JSON)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + "/_emulator" + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=60) as r:
            text = r.read().decode()
            return json.loads(text) if text else None

    def stats(self):
        return self.control("GET", "/stats")

    def reset_stats(self):
        self.control("DELETE", "/stats")

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        try:
            os.unlink(self.seed.name)
        except FileNotFoundError:
            pass


def med(xs):
    return statistics.median(xs)


def bench_plan(runs):
    print("## terraform plan (new resources), median of %d alternating runs" % runs)
    for n in (1, 100):
        a, b = Workspace(ours(n)), Workspace(builtin(n))
        ta, tb = [], []
        a.run("plan", "-input=false")  # warm the page cache
        b.run("plan", "-input=false")
        for _ in range(runs):
            ta.append(a.run("plan", "-input=false"))
            tb.append(b.run("plan", "-input=false"))
        print("  %3d resources: ours %.3f s, terraform_data %.3f s, ratio %.2fx" % (n, med(ta), med(tb), med(ta) / med(tb)))
        a.close(); b.close()


def bench_apply(runs):
    print("## terraform apply against the emulator (activation delay 0), median of %d alternating runs" % runs)
    for n in (1, 100):
        ta, tb = [], []
        b = Workspace(builtin(n))
        for _ in range(runs):
            emu = Emulator(n, "0")
            a = Workspace(ours(n), extra_env=emu.env())
            ta.append(a.run("apply", "-auto-approve", "-input=false"))
            a.close(); emu.close()
            b.reset_state()
            tb.append(b.run("apply", "-auto-approve", "-input=false"))
        b.close()
        print("  %3d resources: ours %.3f s, terraform_data %.3f s, ratio %.2fx" % (n, med(ta), med(tb), med(ta) / med(tb)))
    print("## one activation with a 3 s activation delay: apply time minus 3 s")
    extra = []
    for _ in range(runs):
        emu = Emulator(1, "3s")
        a = Workspace(ours(1), extra_env=emu.env())
        extra.append(a.run("apply", "-auto-approve", "-input=false") - 3.0)
        a.close(); emu.close()
    print("  median overhead %.3f s (runs: %s)" % (med(extra), ", ".join("%.3f" % x for x in extra)))


def bench_startup(runs):
    print("## process start to handshake line (%d runs)" % (runs * 10))
    env = {"TF_PLUGIN_MAGIC_COOKIE": COOKIE, "PLUGIN_PROTOCOL_VERSIONS": "5", "PLUGIN_MIN_PORT": "10000", "PLUGIN_MAX_PORT": "25000",
           "PLUGIN_CLIENT_CERT": open(os.path.join(ROOT, "bench", "client-cert.pem")).read()}
    ts = []
    for _ in range(runs * 10):
        t0 = time.perf_counter()
        p = subprocess.Popen([PROVIDER], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        p.stdout.readline()
        ts.append(time.perf_counter() - t0)
        p.kill(); p.wait()
    print("  median %.2f ms, min %.2f ms" % (med(ts) * 1000, min(ts) * 1000))
    print("## release binary size: %.2f MiB (%d bytes)" % (os.path.getsize(PROVIDER) / 2**20, os.path.getsize(PROVIDER)))
    # Peak memory of the provider during a 100-resource plan, through a wrapper that runs it
    # under /usr/bin/time.
    wrap = tempfile.mkdtemp(prefix="tfwrap-")
    out = os.path.join(wrap, "maxrss")
    with open(os.path.join(wrap, "terraform-provider-alicloud"), "w") as f:
        f.write('#!/bin/sh\nexec /usr/bin/time -a -o %s -f %%M %s "$@"\n' % (out, PROVIDER))
    os.chmod(os.path.join(wrap, "terraform-provider-alicloud"), 0o755)
    w = Workspace(ours(100), plugin_dir=wrap)
    w.run("plan", "-input=false")
    kb = [int(x) for x in open(out).read().split() if x.isdigit()]
    print("  peak RSS of the provider in a 100-resource plan: %.1f MiB (max over %d provider starts)" % (max(kb) / 1024, len(kb)))
    w.close(); shutil.rmtree(wrap)


# Log lines of dependencies' transport internals (HTTP/2 frames, connection pools, TLS).
TRANSPORT = ("frame=", "inc_window", "encoding SETTINGS", "h2::", "hyper", "rustls", "tonic::", "reqwest::",
             "Connection{", "flow control", "poll_ready", "checkout")


def bench_logs(runs):
    print("## TF_LOG=debug terraform apply of one activation: provider log lines")
    emu = Emulator(1, "0")
    a = Workspace(ours(1), extra_env=dict(emu.env(), TF_LOG="debug"))
    _, err = a.run_output("apply", "-auto-approve", "-input=false")
    a.close(); emu.close()
    lines = [l for l in err.splitlines() if "provider.terraform-provider-alicloud" in l]
    transport = [l for l in lines if any(t in l for t in TRANSPORT)]
    request_ids = [l for l in lines if "request_id=" in l and "request_id=\"\"" not in l and "request_id= " not in l]
    print("  provider lines %d, transport internals %d, lines with a RequestId %d" % (len(lines), len(transport), len(request_ids)))
    for l in request_ids:
        print("    " + l.split("provider.terraform-provider-alicloud: ", 1)[-1][:200])


def main():
    args = sys.argv[1:]
    runs = 5
    if "--runs" in args:
        i = args.index("--runs"); runs = int(args[i + 1]); del args[i:i + 2]
    if "--release-dir" in args:
        i = args.index("--release-dir"); use_release_dir(args[i + 1]); del args[i:i + 2]
        if "--no-build" not in args:
            args.append("--no-build")
    if "--no-build" in args:
        args.remove("--no-build")
    else:
        subprocess.run(["cargo", "build", "--release", "--bins"], cwd=ROOT, check=True)
    todo = args or ["startup", "plan", "apply"]
    for t in todo:
        {"plan": bench_plan, "apply": bench_apply, "startup": bench_startup, "logs": bench_logs}[t](runs)


if __name__ == "__main__":
    main()
