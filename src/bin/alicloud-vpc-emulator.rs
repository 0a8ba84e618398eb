//! The `alicloud-vpc-emulator` binary: argument handling and process exit codes only; the
//! emulator itself lives in `tfprovider::emulator`.

use tfprovider::emulator::{self, Command, USAGE};

fn main() {
    let config = match emulator::parse_args(std::env::args_os().skip(1)) {
        Ok(Command::Help) => {
            use std::io::Write as _;
            // A closed stdout is not worth a panic for a help text.
            let _ = writeln!(std::io::stdout(), "{USAGE}");
            return;
        }
        Ok(Command::Run(config)) => config,
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
    if let Err(e) = runtime.block_on(emulator::run(config)) {
        eprintln!("alicloud-vpc-emulator: {e}");
        std::process::exit(e.exit_code());
    }
}
