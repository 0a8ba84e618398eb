//! The quickstart: `cargo run --release --example quickstart [-- create]`.
//!
//! Runs the real `terraform` CLI with the provider built from this repository against the local
//! VPC emulator, so a newcomer sees a flow log go from `Inactive` to `Active` without an Alibaba
//! Cloud account:
//!
//! 1. checks that `terraform` is on PATH;
//! 2. builds both binaries (`cargo build --release --bins`);
//! 3. starts `alicloud-vpc-emulator` seeded with `examples/quickstart/seed.json`;
//! 4. in a temporary directory, with its own CLI configuration (`dev_overrides` pointing at the
//!    build), runs `terraform plan` and `terraform apply` on `examples/quickstart/*.tf`;
//! 5. asks the emulator for the flow log's status.
//!
//! With `create`, the second quickstart: the emulator starts empty, the configuration is
//! `examples/quickstart-create/*.tf`, which creates a flow log with `alicloud_vpc_flow_log`;
//! after the apply the quickstart checks the new flow log is `Active`, then runs
//! `terraform destroy` and checks it is gone.
//!
//! Nothing outside the temporary directory is written (no `~/.terraformrc`, no plugin cache),
//! and the emulator is stopped and the directory removed however the run ends, Ctrl-C included.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The address `dev_overrides` replaces; users write `source = "alicloud-rs/alicloud"`.
const PROVIDER_ADDRESS: &str = "registry.terraform.io/alicloud-rs/alicloud";
const PROVIDER_BIN: &str = "terraform-provider-alicloud";
const EMULATOR_BIN: &str = "alicloud-vpc-emulator";
/// The emulator's default credentials and the seed's region.
const ACCESS_KEY: &str = "emulator-access-key-id";
const SECRET_KEY: &str = "emulator-access-key-secret";
const REGION: &str = "cn-hangzhou";
const FLOW_LOG_ID: &str = "fl-quickstart0001";
/// The name `examples/quickstart-create/main.tf` gives the flow log it creates.
const CREATED_NAME: &str = "quickstart-vpc-traffic";

/// Which quickstart: activate the seeded flow log, or create one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Activate,
    Create,
}

impl Mode {
    fn from_args() -> Option<Mode> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        match args
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            [] => Some(Mode::Activate),
            ["create"] => Some(Mode::Create),
            _ => None,
        }
    }

    fn config_dir(self) -> &'static str {
        match self {
            Mode::Activate => "examples/quickstart",
            Mode::Create => "examples/quickstart-create",
        }
    }
}

type Result<T> = std::result::Result<T, String>;

fn main() -> ExitCode {
    // Everything that needs cleaning up lives inside `run`, so it is dropped (emulator killed,
    // temporary directory removed) before the process exits, whatever `run` returns.
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("\nquickstart: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode> {
    let Some(mode) = Mode::from_args() else {
        eprintln!(
            "usage: cargo run --release --example quickstart [-- create]\n\n\
             Without an argument: activate a flow log seeded in the emulator\n\
             (examples/quickstart). With `create`: create a flow log, then destroy it\n\
             (examples/quickstart-create)."
        );
        return Ok(ExitCode::from(2));
    };
    let _ctrl_c = CtrlC::survive()?;
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));

    // 1. Terraform.
    if find_on_path("terraform").is_none() {
        eprintln!(
            "quickstart: `terraform` was not found on PATH.\n\n\
             Terraform is HashiCorp's infrastructure-as-code command-line tool: it reads .tf\n\
             files and drives providers such as this one. The quickstart runs the real CLI\n\
             against the provider built from this repository.\n\n\
             Install Terraform 1.0 or later (for example 1.11) from\n  \
             https://developer.hashicorp.com/terraform/install\n\
             make sure `terraform version` works in this shell, then run this again."
        );
        return Ok(ExitCode::from(1));
    }

    // 2. The binaries. `cargo run --example` builds the example and the library it links, but
    // never the package's [[bin]] targets (only integration tests and benchmarks get those,
    // through CARGO_BIN_EXE_*). Terraform needs the provider as an executable of its own and
    // the quickstart needs the emulator, so build them here. The outer `cargo run` has released
    // its build lock by now, and the release build of the library is reused: only the two
    // binaries are compiled and linked.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    step("Building the provider and the emulator: cargo build --release --bins");
    let status = Command::new(&cargo)
        .args(["build", "--release", "--bins"])
        .current_dir(manifest_dir)
        .status()
        .map_err(|e| format!("could not run {}: {e}", cargo.to_string_lossy()))?;
    if !status.success() {
        return Err(format!("cargo build --release --bins failed ({status})"));
    }
    let bin_dir = release_dir(manifest_dir)?;

    // A private place for the CLI configuration, the Terraform working directory and logs.
    let tmp = tempfile::Builder::new()
        .prefix("alicloud-quickstart-")
        .tempdir()
        .map_err(|e| format!("could not create a temporary directory: {e}"))?;

    // 3. The emulator: a local stand-in for the VPC flow-log API.
    let seed = (mode == Mode::Activate).then(|| manifest_dir.join("examples/quickstart/seed.json"));
    step(&format!(
        "Starting the emulator: {EMULATOR_BIN}{} --activation-delay 1s",
        if seed.is_some() {
            " --seed examples/quickstart/seed.json"
        } else {
            ""
        }
    ));
    let emulator_log = tmp.path().join("emulator.log");
    let emulator = Emulator::start(&bin_dir.join(EMULATOR_BIN), seed.as_deref(), &emulator_log)?;
    println!("    listening on {}", emulator.base_url);
    match mode {
        Mode::Activate => println!("    {FLOW_LOG_ID}: {}", describe(&emulator.base_url)),
        Mode::Create => println!(
            "    no flow log yet; every well-formed VPC, Log Service project and logstore exists"
        ),
    }

    // 4. Terraform, in its own directory with its own CLI configuration.
    let cli_config = tmp.path().join("terraform.rc");
    write_file(
        &cli_config,
        &format!(
            "# Written by the quickstart: use the provider from this build, the registry for\n\
             # anything else. plan and apply work without `terraform init`.\n\
             provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_ADDRESS}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            hcl_escape(&bin_dir.to_string_lossy())
        ),
    )?;
    let work = tmp.path().join("work");
    copy_tf_files(&manifest_dir.join(mode.config_dir()), &work)?;

    let tf = |args: &[&str]| terraform(args, &work, &cli_config, &emulator.base_url);
    step("terraform version");
    run_terraform(tf(&["version"]))?;
    step("terraform plan -input=false");
    println!(
        "    (Terraform warns that provider development overrides are in effect: that is the\n     \
         quickstart's CLI configuration pointing it at {}.)",
        bin_dir.display()
    );
    let code = run_terraform(tf(&["plan", "-input=false"]))?;
    if code != 0 {
        return Ok(terraform_failed("plan", code, &emulator_log));
    }
    step("terraform apply -auto-approve -input=false");
    let code = run_terraform(tf(&["apply", "-auto-approve", "-input=false"]))?;
    if code != 0 {
        return Ok(terraform_failed("apply", code, &emulator_log));
    }

    // 5. What the emulator says now.
    step("The flow log, as the emulator sees it after the apply");
    let logs = flow_logs(&emulator.base_url)?;
    for fl in &logs {
        println!(
            "    {}  {}  {}  ({})",
            fl["FlowLogId"].as_str().unwrap_or("?"),
            fl["RegionId"].as_str().unwrap_or("?"),
            fl["Status"].as_str().unwrap_or("?"),
            fl["FlowLogName"].as_str().unwrap_or(""),
        );
    }
    if mode == Mode::Create {
        return create_checks(&logs, &emulator.base_url, &tf, &emulator_log);
    }
    let status = logs
        .iter()
        .find(|fl| fl["FlowLogId"] == FLOW_LOG_ID)
        .and_then(|fl| fl["Status"].as_str())
        .unwrap_or("missing");
    if status != "Active" {
        return Err(format!(
            "terraform succeeded but {FLOW_LOG_ID} is {status}, not Active"
        ));
    }
    println!(
        "\nDone: Terraform activated {FLOW_LOG_ID} through the provider built from this \
         repository.\nThe same examples/quickstart/main.tf works against Alibaba Cloud with your \
         own credentials: see README.md, \"Using it against real Alibaba Cloud\"."
    );
    Ok(ExitCode::SUCCESS)
}

/// The second quickstart's end: the created flow log is `Active`; `terraform destroy` deletes it.
fn create_checks(
    logs: &[serde_json::Value],
    base_url: &str,
    tf: &dyn Fn(&[&str]) -> Command,
    emulator_log: &Path,
) -> Result<ExitCode> {
    let created: Vec<&serde_json::Value> = logs
        .iter()
        .filter(|fl| fl["FlowLogName"] == CREATED_NAME)
        .collect();
    let [fl] = created.as_slice() else {
        return Err(format!(
            "terraform succeeded but the emulator holds {} flow logs named {CREATED_NAME}",
            created.len()
        ));
    };
    let id = fl["FlowLogId"].as_str().unwrap_or("?").to_owned();
    let status = fl["Status"].as_str().unwrap_or("missing");
    if status != "Active" {
        return Err(format!(
            "terraform succeeded but {id} is {status}, not Active"
        ));
    }
    step("terraform destroy -auto-approve -input=false");
    let code = run_terraform(tf(&["destroy", "-auto-approve", "-input=false"]))?;
    if code != 0 {
        return Ok(terraform_failed("destroy", code, emulator_log));
    }
    let left = flow_logs(base_url)?;
    if !left.is_empty() {
        return Err(format!(
            "terraform destroy succeeded but the emulator still holds {} flow logs",
            left.len()
        ));
    }
    println!(
        "\nDone: Terraform created {id} (Active) and deleted it again through the provider built \
         from this repository.\nThe same examples/quickstart-create/main.tf works against \
         Alibaba Cloud with your own credentials and a VPC, project and logstore of yours: see \
         README.md, \"Using it against real Alibaba Cloud\"."
    );
    Ok(ExitCode::SUCCESS)
}

fn step(what: &str) {
    println!("\n==> {what}");
}

/// The directory the release binaries were built into. This example runs from
/// `<target-dir>/<profile>/examples/quickstart`, which also honours `CARGO_TARGET_DIR`.
fn release_dir(manifest_dir: &Path) -> Result<PathBuf> {
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        let examples = exe.parent()?;
        (examples.file_name()? == "examples").then_some(())?;
        Some(examples.parent()?.parent()?.join("release"))
    });
    let candidates = from_exe
        .into_iter()
        .chain([manifest_dir.join("target").join("release")]);
    for dir in candidates {
        if dir.join(PROVIDER_BIN).is_file() && dir.join(EMULATOR_BIN).is_file() {
            return Ok(dir);
        }
    }
    Err(format!(
        "cargo build succeeded but {PROVIDER_BIN} and {EMULATOR_BIN} are not in target/release"
    ))
}

/// The emulator process; killed when dropped.
struct Emulator {
    child: Child,
    base_url: String,
}

impl Emulator {
    fn start(bin: &Path, seed: Option<&Path>, log: &Path) -> Result<Emulator> {
        let log_file = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut cmd = Command::new(bin);
        if let Some(seed) = seed {
            cmd.arg("--seed").arg(seed);
        }
        let mut child = cmd
            .args(["--activation-delay", "1s"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", bin.display()))?;
        // Its first stdout line is the base URL. Read it on a thread, so a stuck emulator cannot
        // hang the quickstart, and keep draining stdout there afterwards.
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = tx.send(reader.read_line(&mut line).map(|_| line));
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let mut emulator = Emulator {
            child,
            base_url: String::new(),
        };
        let line = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => return Err(format!("reading the emulator's stdout: {e}")),
            Err(_) => String::new(),
        };
        let url = line.trim();
        if !url.starts_with("http://") {
            let _ = emulator.child.kill();
            let _ = emulator.child.wait();
            return Err(format!(
                "the emulator did not print its base URL (got {url:?}); its log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            ));
        }
        emulator.base_url = url.trim_end_matches('/').to_owned();
        Ok(emulator)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `terraform` command for the quickstart's working directory and environment.
fn terraform(args: &[&str], work: &Path, cli_config: &Path, endpoint: &str) -> Command {
    let mut cmd = Command::new("terraform");
    cmd.args(args).current_dir(work).stdin(Stdio::null());
    // The developer's own Alibaba Cloud and Terraform settings must not leak in: the run talks
    // to the emulator only, with exactly the settings below.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("ALICLOUD_")
            || key.starts_with("ALIBABA_CLOUD_")
            || key.starts_with("ALIBABACLOUD_")
            || key.starts_with("TF_CLI_ARGS")
            || key.starts_with("TF_VAR_")
            || ["VPC_ENDPOINT", "TF_DATA_DIR", "TF_WORKSPACE"].contains(&&*key)
        {
            cmd.env_remove(&*key);
        }
    }
    // A proxy from the environment must not intercept calls to the emulator on loopback.
    let mut no_proxy = std::env::var("NO_PROXY")
        .or_else(|_| std::env::var("no_proxy"))
        .unwrap_or_default();
    if !no_proxy.is_empty() {
        no_proxy.push(',');
    }
    no_proxy.push_str("127.0.0.1,localhost");
    cmd.env("TF_CLI_CONFIG_FILE", cli_config)
        .env("CHECKPOINT_DISABLE", "1")
        .env("ALIBABA_CLOUD_ENDPOINT_VPC", endpoint)
        .env("ALICLOUD_ACCESS_KEY", ACCESS_KEY)
        .env("ALICLOUD_SECRET_KEY", SECRET_KEY)
        .env("ALICLOUD_REGION", REGION)
        .env("NO_PROXY", &no_proxy)
        .env("no_proxy", &no_proxy);
    cmd
}

/// Runs Terraform with the terminal's stdout and stderr, so its own output is what you see.
fn run_terraform(mut cmd: Command) -> Result<i32> {
    let status = cmd
        .status()
        .map_err(|e| format!("could not run terraform: {e}"))?;
    Ok(status.code().unwrap_or(1))
}

fn terraform_failed(what: &str, code: i32, emulator_log: &Path) -> ExitCode {
    eprintln!("\nquickstart: terraform {what} failed (exit code {code}); see its output above.");
    if let Ok(log) = std::fs::read_to_string(emulator_log)
        && !log.trim().is_empty()
    {
        eprintln!("The emulator's log:\n{log}");
    }
    ExitCode::from(u8::try_from(code).ok().filter(|c| *c != 0).unwrap_or(1))
}

/// Every flow log the emulator holds (`GET /_emulator/flow-logs`).
fn flow_logs(base_url: &str) -> Result<Vec<serde_json::Value>> {
    let body = http_get(base_url, "/_emulator/flow-logs")?;
    match serde_json::from_slice(&body) {
        Ok(serde_json::Value::Array(items)) => Ok(items),
        _ => Err(format!(
            "unexpected answer from the emulator: {}",
            String::from_utf8_lossy(&body)
        )),
    }
}

/// One line about the quickstart's flow log, for the start-up message.
fn describe(base_url: &str) -> String {
    match http_get(base_url, &format!("/_emulator/flow-logs/{FLOW_LOG_ID}"))
        .ok()
        .and_then(|body| serde_json::from_slice::<serde_json::Value>(&body).ok())
    {
        Some(fl) => format!(
            "{} in {}, status {}",
            fl["FlowLogName"].as_str().unwrap_or("?"),
            fl["RegionId"].as_str().unwrap_or("?"),
            fl["Status"].as_str().unwrap_or("?")
        ),
        None => "not found in the emulator".to_owned(),
    }
}

/// A plain HTTP/1.1 GET on loopback: enough for the emulator's control endpoints.
fn http_get(base_url: &str, path: &str) -> Result<Vec<u8>> {
    let authority = base_url
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http:// URL: {base_url}"))?;
    let io = |e: std::io::Error| format!("GET {base_url}{path}: {e}");
    let mut stream = TcpStream::connect(authority).map_err(io)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(io)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )
    .map_err(io)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(io)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("GET {path}: incomplete HTTP answer"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let body = &raw[split + 4..];
    let status_line = head.lines().next().unwrap_or_default();
    if status_line.split_whitespace().nth(1) != Some("200") {
        return Err(format!(
            "GET {path}: {status_line}: {}",
            String::from_utf8_lossy(body)
        ));
    }
    let chunked = head
        .lines()
        .any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked"));
    if chunked {
        dechunk(body).ok_or_else(|| format!("GET {path}: malformed chunked body"))
    } else {
        Ok(body.to_vec())
    }
}

/// Decodes a `Transfer-Encoding: chunked` body.
fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_field = std::str::from_utf8(&rest[..eol]).ok()?;
        let size = usize::from_str_radix(size_field.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size..)?.strip_prefix(b"\r\n")?;
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| {
            [
                dir.join(name),
                dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX)),
            ]
        })
        .find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

fn write_file(path: &Path, content: &str) -> Result<()> {
    std::fs::write(path, content).map_err(|e| format!("{}: {e}", path.display()))
}

/// Copies the `*.tf` files of `from` into a new directory `to`.
fn copy_tf_files(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    let mut copied = 0;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("{}: {e}", from.display()))?
            .path();
        if path.extension().is_some_and(|ext| ext == "tf")
            && let Some(name) = path.file_name()
        {
            std::fs::copy(&path, to.join(name)).map_err(|e| format!("{}: {e}", path.display()))?;
            copied += 1;
        }
    }
    if copied == 0 {
        return Err(format!("no .tf files in {}", from.display()));
    }
    Ok(())
}

/// Escapes a value for a quoted HCL string.
fn hcl_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace("${", "$${")
        .replace("%{", "%%{")
}

/// Ctrl-C reaches the whole foreground process group: Terraform stops gracefully on its own
/// and the emulator exits. This process only has to outlive it to clean up, so while the
/// guard lives SIGINT is handed to tokio's signal driver instead of ending the process.
struct CtrlC {
    #[cfg(unix)]
    _signal: tokio::signal::unix::Signal,
    _runtime: tokio::runtime::Runtime,
}

impl CtrlC {
    fn survive() -> Result<CtrlC> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("could not start a signal handler: {e}"))?;
        #[cfg(unix)]
        let signal = {
            let _enter = runtime.enter();
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                .map_err(|e| format!("could not handle Ctrl-C: {e}"))?
        };
        Ok(CtrlC {
            #[cfg(unix)]
            _signal: signal,
            _runtime: runtime,
        })
    }
}
