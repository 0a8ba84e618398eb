//! `terraform-provider-alicloud`: started by Terraform, never by hand (it says so and exits 1).

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;

use tfprovider::plugin::{handshake, logging, server};

fn main() -> ExitCode {
    // Read before anything else: if Terraform dies during start-up we must still notice.
    // `None` on Windows, where the provider does not watch its parent (see `server::parent_pid`).
    let parent_pid = server::parent_pid();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version" || a == "-v") {
        println!("terraform-provider-alicloud {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let debug = args.iter().any(|a| a == "--debug" || a == "-debug");
    // Variables that are not valid UTF-8 count as unset.
    let vars: HashMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let env = |k: &str| vars.get(k).cloned();

    let plugin_env = match handshake::read_env(&vars, debug) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let level = if debug {
        tracing_subscriber::filter::LevelFilter::DEBUG
    } else {
        logging::level_from_env(env("TF_LOG_PROVIDER").as_deref(), env("TF_LOG").as_deref())
    };
    logging::init(logging::filter(
        level,
        env(logging::DEPS_VARIABLE).as_deref(),
    ));

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let opts = server::ServeOptions {
        port_range: plugin_env.port_range,
        client_cert_pem: plugin_env.client_cert_pem,
        debug,
        parent_pid,
    };
    let provider = Arc::new(tfprovider::provider::AlicloudProvider::new());
    let engine = match tfprovider::engine::Engine::new(provider) {
        Ok(engine) => Arc::new(engine),
        Err(e) => {
            eprintln!("terraform-provider-alicloud: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(server::serve(tfprovider::protocol::service(engine), opts));
    // Whatever is still running (a lingering connection, a request Terraform gave up on) ends
    // with the process: go-plugin waits for our exit.
    runtime.shutdown_timeout(std::time::Duration::ZERO);
    match result {
        Ok(ended) if ended.is_failure() => ExitCode::FAILURE,
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("terraform-provider-alicloud: {e}");
            ExitCode::FAILURE
        }
    }
}
