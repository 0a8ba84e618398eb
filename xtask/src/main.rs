//! `cargo xtask`: the project's release tooling (cargo-xtask convention). Owns the command line
//! and exit codes; the work is in `dist`.

mod archive;
mod cargo;
mod cli;
mod dist;
mod platform;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match cli::parse(&args) {
        Ok(cli::Command::Help) => {
            print!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        Ok(cli::Command::Dist(opts)) => match dist::run(&opts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            // Usage errors exit 2, like clap and most CLIs, so scripts can tell them apart.
            eprintln!("error: {e}\n\n{}", cli::USAGE);
            ExitCode::from(2)
        }
    }
}
