//! Talking to the toolchain: the host triple, whether a target's standard library is installed,
//! the release build of the provider and the package version in the root `Cargo.toml`.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The repository root: xtask always builds the workspace it lives in.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `cargo` as cargo itself gives it to `cargo run` (the same toolchain), else from PATH.
fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn rustc() -> Command {
    Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
}

fn output_of(mut cmd: Command, what: &str) -> Result<String, String> {
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{what} failed ({})", out.status));
    }
    String::from_utf8(out.stdout).map_err(|_| format!("{what} printed non-UTF-8 output"))
}

/// The host target triple (`host:` line of `rustc -vV`).
pub fn host_triple() -> Result<String, String> {
    let mut cmd = rustc();
    cmd.arg("-vV");
    let text = output_of(cmd, "rustc -vV")?;
    text.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|h| h.trim().to_owned())
        .ok_or_else(|| "rustc -vV printed no `host:` line".to_owned())
}

/// Fails unless `triple`'s standard library is in the sysroot: without it cargo would fail
/// deep in the build with "can't find crate for `core`", which says nothing about the fix.
pub fn check_target_installed(triple: &str) -> Result<(), String> {
    let mut cmd = rustc();
    cmd.args(["--print", "sysroot"]);
    let sysroot = output_of(cmd, "rustc --print sysroot")?;
    let lib = Path::new(sysroot.trim()).join("lib/rustlib").join(triple);
    if lib.is_dir() {
        Ok(())
    } else {
        Err(format!(
            "the Rust standard library for target `{triple}` is not installed (no {}); \
             install it with `rustup target add {triple}`, or build on a {triple} machine",
            lib.display()
        ))
    }
}

/// `cargo build --release --locked --bin terraform-provider-alicloud [--target T]`; returns the
/// executable's path as cargo reports it, so `CARGO_TARGET_DIR`, `build.target-dir` and
/// `--target` layouts need no guessing. `--locked`: a release is built from the committed
/// Cargo.lock, never from a freshly resolved one.
pub fn build_provider(target: Option<&str>) -> Result<PathBuf, String> {
    let mut cmd = cargo();
    cmd.current_dir(workspace_root())
        .args([
            "build",
            "--release",
            "--locked",
            "--bin",
            crate::dist::PROGRAM,
        ])
        .arg("--message-format=json-render-diagnostics")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(t) = target {
        cmd.args(["--target", t]);
    }
    let what = format!(
        "cargo build --release --bin {}{}",
        crate::dist::PROGRAM,
        target.map(|t| format!(" --target {t}")).unwrap_or_default()
    );
    let mut child = cmd.spawn().map_err(|e| format!("cannot run {what}: {e}"))?;
    let mut executable = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| format!("reading {what} output: {e}"))?;
            let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if msg["reason"] == "compiler-artifact"
                && msg["target"]["name"] == crate::dist::PROGRAM
                && let Some(exe) = msg["executable"].as_str()
            {
                executable = Some(PathBuf::from(exe));
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for {what}: {e}"))?;
    if !status.success() {
        return Err(format!("{what} failed ({status})"));
    }
    executable.ok_or_else(|| format!("{what} reported no executable"))
}

/// `version` of the `[package]` table of a Cargo.toml. A deliberately small reader (one key of
/// one table, basic strings) rather than a TOML parser dependency; anything it does not
/// understand is an error that asks for `--version`.
pub fn package_version(manifest: &str) -> Result<String, String> {
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key == "version.workspace" {
            return Err(
                "the package version is inherited from the workspace; pass --version".to_owned(),
            );
        }
        if key != "version" {
            continue;
        }
        let value = value.split('#').next().unwrap_or_default().trim();
        return value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .filter(|v| !v.is_empty() && !v.contains('\\'))
            .map(str::to_owned)
            .ok_or_else(|| format!("cannot read the package version {value}; pass --version"));
    }
    Err("no version in the [package] table; pass --version".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_package_version() {
        let manifest = "[workspace]\nmembers = [\"xtask\"]\nversion = \"9.9.9\"\n\n[package]\nname = \"x\"\nversion = \"0.3.1\" # comment\n\n[dependencies]\nversion = \"1\"\n";
        assert_eq!(package_version(manifest), Ok("0.3.1".to_owned()));
    }

    #[test]
    fn the_real_root_manifest_has_a_version() {
        let text = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
        let v = package_version(&text).unwrap();
        assert_eq!(crate::cli::check_version(&v), Ok(()));
    }

    #[test]
    fn unreadable_versions_ask_for_the_flag() {
        for manifest in [
            "[package]\nname = \"x\"\n",
            "[package]\nversion.workspace = true\n",
            "[package]\nversion = '0.1.0'\n",
            "[dependencies]\nversion = \"1\"\n",
        ] {
            let e = package_version(manifest).expect_err(manifest);
            assert!(e.contains("--version"), "{e}");
        }
    }

    #[test]
    fn missing_target_std_is_a_clear_error() {
        let e = check_target_installed("x86_64-unknown-freebsd-not-a-target").unwrap_err();
        assert!(
            e.contains("rustup target add x86_64-unknown-freebsd-not-a-target"),
            "{e}"
        );
    }
}
