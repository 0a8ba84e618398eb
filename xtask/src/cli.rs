//! The `cargo xtask` command line: parsing and validation only, no side effects.

use std::path::PathBuf;

pub const USAGE: &str = "\
Usage: cargo xtask dist --out DIR [--version V] [--target TRIPLE]... [--gpg-key ID] [--no-build]

Builds terraform-provider-alicloud in release mode and writes, in DIR, the files a Terraform
or OpenTofu registry release needs and a packed provider mirror:

  terraform-provider-alicloud_V_OS_ARCH.zip       one per platform
  terraform-provider-alicloud_V_manifest.json
  terraform-provider-alicloud_V_SHA256SUMS        every zip of version V in DIR, and the manifest
  terraform-provider-alicloud_V_SHA256SUMS.sig    with --gpg-key
  mirror/registry.terraform.io/alicloud-rs/alicloud/{index.json,V.json,*.zip}

Options:
  --out DIR          where to write (created if missing); zips of version V already there,
                     e.g. from other machines, are included in SHA256SUMS and the mirror
  --version V        release version, e.g. 0.2.0 (default: the version in Cargo.toml)
  --target TRIPLE    build for this Rust target instead of the host; repeatable; its standard
                     library must be installed (rustup target add TRIPLE)
  --gpg-key ID       sign SHA256SUMS with this key (gpg --detach-sign)
  --no-build         build nothing: only write checksums, manifest, signature and mirror for
                     the zips already in DIR (merging the archives of several machines)
  -h, --help         print this help
";

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Help,
    Dist(DistOptions),
}

#[derive(Debug, PartialEq, Eq)]
pub struct DistOptions {
    pub out: PathBuf,
    pub version: Option<String>,
    pub targets: Vec<String>,
    pub gpg_key: Option<String>,
    pub no_build: bool,
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some((task, rest)) = args.split_first() else {
        return Err("no task given".to_owned());
    };
    match task.as_str() {
        "-h" | "--help" | "help" => return Ok(Command::Help),
        "dist" => {}
        other => return Err(format!("unknown task `{other}` (the only task is `dist`)")),
    }

    let mut out = None;
    let mut version = None;
    let mut targets = Vec::new();
    let mut gpg_key = None;
    let mut no_build = false;
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            let v = match inline.clone() {
                Some(v) => v,
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value"))?,
            };
            if v.is_empty() || (inline.is_none() && v.starts_with("--")) {
                return Err(format!("{name} needs a value"));
            }
            Ok(v)
        };
        match flag {
            "-h" | "--help" => return Ok(Command::Help),
            "--out" => set_once(&mut out, value("--out")?, "--out")?,
            "--version" => {
                let v = value("--version")?;
                check_version(&v)?;
                set_once(&mut version, v, "--version")?;
            }
            "--target" => targets.push(value("--target")?),
            "--gpg-key" => set_once(&mut gpg_key, value("--gpg-key")?, "--gpg-key")?,
            "--no-build" if inline.is_none() => no_build = true,
            _ => return Err(format!("unexpected argument `{arg}`")),
        }
    }
    let out = out.ok_or("--out DIR is required")?;
    if no_build && !targets.is_empty() {
        return Err("--target and --no-build exclude each other".to_owned());
    }
    Ok(Command::Dist(DistOptions {
        out: PathBuf::from(out),
        version,
        targets,
        gpg_key,
        no_build,
    }))
}

fn set_once(slot: &mut Option<String>, value: String, name: &str) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("{name} given twice"));
    }
    *slot = Some(value);
    Ok(())
}

/// A release version as registries and file names accept it: `MAJOR.MINOR.PATCH[-PRE]`, no
/// leading `v` (the binary inside the zip adds it) and nothing that cannot go in a file name.
pub fn check_version(v: &str) -> Result<(), String> {
    let (core, pre) = match v.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (v, None),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    let core_ok = numbers.len() == 3
        && numbers
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    let pre_ok = pre.is_none_or(|p| {
        !p.is_empty()
            && p.split('.').all(|part| {
                !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    });
    if core_ok && pre_ok {
        Ok(())
    } else {
        Err(format!(
            "invalid version `{v}`: expected MAJOR.MINOR.PATCH[-PRERELEASE], e.g. 0.2.0 or 1.0.0-rc.1"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    fn err(s: &str) -> String {
        parse(&args(s)).expect_err(s)
    }

    #[test]
    fn full_command_line() {
        let got = parse(&args(
            "dist --out d --version 1.2.3-rc.1 --target aarch64-apple-darwin --target=x86_64-pc-windows-msvc --gpg-key=ABC",
        ));
        assert_eq!(
            got,
            Ok(Command::Dist(DistOptions {
                out: PathBuf::from("d"),
                version: Some("1.2.3-rc.1".into()),
                targets: vec![
                    "aarch64-apple-darwin".into(),
                    "x86_64-pc-windows-msvc".into()
                ],
                gpg_key: Some("ABC".into()),
                no_build: false,
            }))
        );
        assert_eq!(
            parse(&args("dist --no-build --out=d")),
            Ok(Command::Dist(DistOptions {
                out: PathBuf::from("d"),
                version: None,
                targets: vec![],
                gpg_key: None,
                no_build: true,
            }))
        );
    }

    #[test]
    fn help() {
        assert_eq!(parse(&args("--help")), Ok(Command::Help));
        assert_eq!(parse(&args("dist --out d -h")), Ok(Command::Help));
    }

    #[test]
    fn argument_errors() {
        assert_eq!(parse(&[]), Err("no task given".into()));
        assert!(err("build").contains("unknown task `build`"));
        assert_eq!(err("dist"), "--out DIR is required");
        assert_eq!(err("dist --out"), "--out needs a value");
        assert_eq!(err("dist --out --version 1.0.0"), "--out needs a value");
        assert_eq!(err("dist --out="), "--out needs a value");
        assert_eq!(err("dist --out a --out b"), "--out given twice");
        assert!(err("dist --out d --frobnicate").contains("unexpected argument `--frobnicate`"));
        assert!(err("dist --out d --no-build=yes").contains("unexpected argument"));
        assert!(err("dist --out d extra").contains("unexpected argument `extra`"));
        assert_eq!(
            err("dist --out d --no-build --target x86_64-unknown-linux-gnu"),
            "--target and --no-build exclude each other"
        );
        for bad in [
            "v1.0.0",
            "1.0",
            "1.0.0.0",
            "1.a.0",
            "1.0.0-",
            "1.0.0-a..b",
            "1.0.0+b",
            "1.0.0-a/b",
        ] {
            assert!(
                err(&format!("dist --out d --version {bad}")).contains("invalid version"),
                "{bad}"
            );
        }
    }

    #[test]
    fn versions() {
        for good in ["0.1.0", "10.20.30", "1.0.0-rc.1", "1.0.0-alpha-2"] {
            assert_eq!(check_version(good), Ok(()), "{good}");
        }
    }
}
