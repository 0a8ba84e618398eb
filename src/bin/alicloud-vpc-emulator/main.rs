//! `alicloud-vpc-emulator`: the local VPC flow-log API emulator, a stand-in for the real
//! gateway that tests, the quickstart and users' offline CI talk to over the same wire format
//! as Alibaba Cloud. It signs and checks with the provider library's own signer.
//!
//! `config` turns the command line into an [`EmulatorConfig`]; `server` owns HTTP and the
//! `/_emulator/` controls; `api` is the gateway's checks and the VPC/STS dispatch; `vpc` is
//! the ten flow-log operations; `sts` is the STS actions and the keys they issue; `store` is
//! the flow logs, their tags and their state machine; `world` is what exists around them
//! (Log Service projects and logstores, VPC resources); `tags` the tag rules; `signature`,
//! `params`, `regions`, `faults` and `xml` are leaves with no knowledge of HTTP. This file:
//! arguments, the error type, exit codes.

fn main() {
    let config = match parse_args(std::env::args_os().skip(1)) {
        Ok(Command::Help) => {
            use std::io::Write as _;
            // A closed stdout is not worth a panic for a help text.
            let _ = writeln!(std::io::stdout(), "{USAGE}");
            return;
        }
        Ok(Command::Run(config)) => *config,
        Err(e) => {
            eprintln!("alicloud-vpc-emulator: {e}\nTry 'alicloud-vpc-emulator --help'.");
            std::process::exit(e.exit_code());
        }
    };
    // Diagnostics go to stderr: stdout carries only the base URL, for whoever started us.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("alicloud-vpc-emulator: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(config)) {
        eprintln!("alicloud-vpc-emulator: {e}");
        std::process::exit(e.exit_code());
    }
}

mod api;
mod config;
mod faults;
mod params;
mod regions;
mod server;
mod signature;
mod store;
mod sts;
mod tags;
mod vpc;
mod world;
mod xml;

use std::net::SocketAddr;
use std::path::PathBuf;

use config::{Command, EmulatorConfig, USAGE, parse_args};
use server::bind;

/// Everything that can stop the emulator from starting or serving.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// A bad command line; the binary exits with status 2.
    #[error("{0}")]
    Usage(String),
    /// The seed file cannot be read or does not describe valid flow logs; exit status 2.
    #[error("seed file {}: {reason}", path.display())]
    Seed { path: PathBuf, reason: String },
    /// A flow log object (from the seed or a control request) that breaks a field rule.
    #[error("{0}")]
    FlowLog(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server stopped: {0}")]
    Serve(std::io::Error),
}

impl EmulatorError {
    /// Status for the process: 2 for what the user typed or pointed at, 1 for the rest.
    pub fn exit_code(&self) -> i32 {
        match self {
            EmulatorError::Usage(_) | EmulatorError::Seed { .. } | EmulatorError::FlowLog(_) => 2,
            EmulatorError::Bind { .. } | EmulatorError::Serve(_) => 1,
        }
    }
}

/// Binds, prints the base URL as the first line of stdout (what scripts and tests wait for)
/// and serves until the process is killed.
pub async fn run(config: EmulatorConfig) -> Result<(), EmulatorError> {
    let bound = bind(config).await?;
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        // A closed stdout must not stop a server someone may still be talking to.
        let _ = writeln!(out, "{}", bound.base_url());
        let _ = out.flush();
    }
    tracing::info!(url = %bound.base_url(), "alicloud-vpc-emulator listening");
    bound.serve().await
}
