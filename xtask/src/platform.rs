//! Rust target triples to Terraform's Go-style `OS_ARCH` platform names, and the archive file
//! names that carry them.

use std::fmt;

/// A Terraform platform such as `linux_amd64`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Platform {
    pub os: String,
    pub arch: String,
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.os, self.arch)
    }
}

impl Platform {
    /// The Terraform platform a Rust target triple builds for, e.g. `aarch64-apple-darwin` ->
    /// `darwin_arm64`. Only the operating systems and architectures Terraform and OpenTofu
    /// publish builds for; anything else is an error rather than a guessed name that no
    /// Terraform would ever ask for.
    pub fn from_triple(triple: &str) -> Result<Platform, String> {
        let mut parts = triple.split('-');
        let arch = match parts.next().unwrap_or_default() {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "i686" | "i586" => "386",
            _ => return Err(unsupported(triple)),
        };
        let os = parts
            .find_map(|p| match p {
                "linux" => Some("linux"),
                "darwin" => Some("darwin"),
                "windows" => Some("windows"),
                "freebsd" => Some("freebsd"),
                _ => None,
            })
            .ok_or_else(|| unsupported(triple))?;
        Ok(Platform {
            os: os.to_owned(),
            arch: arch.to_owned(),
        })
    }

    /// Parses `linux_amd64`.
    pub fn parse(name: &str) -> Option<Platform> {
        let (os, arch) = name.split_once('_')?;
        let word = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        (word(os) && word(arch)).then(|| Platform {
            os: os.to_owned(),
            arch: arch.to_owned(),
        })
    }

    /// The provider binary's name inside the archive: `terraform-provider-alicloud_vV[.exe]`,
    /// the name Terraform looks for after unpacking.
    pub fn binary_name(&self, version: &str) -> String {
        let exe = if self.os == "windows" { ".exe" } else { "" };
        format!("{}_v{version}{exe}", crate::dist::PROGRAM)
    }

    /// `terraform-provider-alicloud_V_OS_ARCH.zip`, the registry's archive name.
    pub fn archive_name(&self, version: &str) -> String {
        format!("{}_{version}_{self}.zip", crate::dist::PROGRAM)
    }

    /// The platform of an archive name of `version`, `None` for any other file.
    pub fn from_archive_name(file_name: &str, version: &str) -> Option<Platform> {
        let rest = file_name
            .strip_prefix(crate::dist::PROGRAM)?
            .strip_prefix('_')?
            .strip_prefix(version)?
            .strip_prefix('_')?
            .strip_suffix(".zip")?;
        Platform::parse(rest)
    }
}

fn unsupported(triple: &str) -> String {
    format!(
        "unsupported target `{triple}`: Terraform platforms exist for x86_64, aarch64 and i686 \
         on linux, darwin, windows and freebsd"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triples_map_to_terraform_platforms() {
        for (triple, want) in [
            ("x86_64-unknown-linux-gnu", "linux_amd64"),
            ("x86_64-unknown-linux-musl", "linux_amd64"),
            ("aarch64-unknown-linux-gnu", "linux_arm64"),
            ("i686-unknown-linux-gnu", "linux_386"),
            ("x86_64-apple-darwin", "darwin_amd64"),
            ("aarch64-apple-darwin", "darwin_arm64"),
            ("x86_64-pc-windows-msvc", "windows_amd64"),
            ("x86_64-pc-windows-gnu", "windows_amd64"),
            ("aarch64-pc-windows-msvc", "windows_arm64"),
            ("i686-pc-windows-msvc", "windows_386"),
            ("x86_64-unknown-freebsd", "freebsd_amd64"),
        ] {
            assert_eq!(
                Platform::from_triple(triple).map(|p| p.to_string()),
                Ok(want.to_owned()),
                "{triple}"
            );
        }
    }

    #[test]
    fn unknown_triples_are_errors() {
        for triple in [
            "riscv64gc-unknown-linux-gnu",
            "wasm32-unknown-unknown",
            "x86_64-unknown-netbsd",
            "",
            "x86_64",
        ] {
            let e = Platform::from_triple(triple).expect_err(triple);
            assert!(e.contains("unsupported target"), "{e}");
        }
    }

    #[test]
    fn names() {
        let win = Platform::from_triple("x86_64-pc-windows-msvc").unwrap();
        assert_eq!(
            win.binary_name("0.1.0"),
            "terraform-provider-alicloud_v0.1.0.exe"
        );
        assert_eq!(
            win.archive_name("0.1.0"),
            "terraform-provider-alicloud_0.1.0_windows_amd64.zip"
        );
        let mac = Platform::from_triple("aarch64-apple-darwin").unwrap();
        assert_eq!(
            mac.binary_name("1.0.0-rc.1"),
            "terraform-provider-alicloud_v1.0.0-rc.1"
        );
        assert_eq!(
            Platform::from_archive_name(
                "terraform-provider-alicloud_0.1.0_darwin_arm64.zip",
                "0.1.0"
            ),
            Some(mac)
        );
        // Another version, the checksums, the mirror's files: not archives of 0.1.0.
        for other in [
            "terraform-provider-alicloud_0.1.1_darwin_arm64.zip",
            "terraform-provider-alicloud_0.1.0_SHA256SUMS",
            "terraform-provider-alicloud_0.1.0_manifest.json",
            "terraform-provider-alicloud_0.1.0_linux.zip",
            "terraform-provider-alicloud_0.1.0_linux_amd64_v2.zip",
            "terraform-provider-other_0.1.0_linux_amd64.zip",
        ] {
            assert_eq!(Platform::from_archive_name(other, "0.1.0"), None, "{other}");
        }
    }
}
