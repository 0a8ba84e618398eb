//! `cargo xtask dist`: builds the provider and writes the release files (archives, manifest,
//! SHA256SUMS, signature) and the packed mirror, from every archive of the version in the
//! output directory.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value, json};

use crate::archive;
use crate::cargo;
use crate::cli::DistOptions;
use crate::platform::Platform;

/// The provider's executable and archive name prefix.
pub const PROGRAM: &str = "terraform-provider-alicloud";
/// The provider's source address, as the mirror layout spells it (`tfprovider::PROVIDER_ADDRESS`;
/// the integration test checks they agree).
pub const MIRROR_PATH: &str = "registry.terraform.io/alicloud-rs/alicloud";
/// Protocol 5 is what the provider serves (tfplugin5).
const MANIFEST: &str = r#"{"version":1,"metadata":{"protocol_versions":["5.0"]}}"#;

pub fn run(opts: &DistOptions) -> Result<(), String> {
    let version = match &opts.version {
        Some(v) => v.clone(),
        None => {
            let path = cargo::workspace_root().join("Cargo.toml");
            let text = fs::read_to_string(&path)
                .map_err(|e| format!("reading {}: {e}", path.display()))?;
            let v =
                cargo::package_version(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            crate::cli::check_version(&v).map_err(|e| format!("{}: {e}", path.display()))?;
            v
        }
    };
    let out = &opts.out;
    fs::create_dir_all(out).map_err(|e| format!("creating {}: {e}", out.display()))?;

    if !opts.no_build {
        // Check every target before the first (long) build, so a typo fails in a second.
        let mut builds: Vec<(Option<&str>, Platform)> = Vec::new();
        if opts.targets.is_empty() {
            builds.push((None, Platform::from_triple(&cargo::host_triple()?)?));
        }
        for t in &opts.targets {
            let platform = Platform::from_triple(t)?;
            cargo::check_target_installed(t)?;
            builds.push((Some(t.as_str()), platform));
        }
        for (target, platform) in &builds {
            let binary = cargo::build_provider(*target)?;
            let name = platform.archive_name(&version);
            let bytes = package_binary(&binary, &platform.binary_name(&version))?;
            write_file(&out.join(&name), &bytes)?;
            eprintln!(
                "wrote {} ({} bytes)",
                out.join(&name).display(),
                bytes.len()
            );
        }
    }

    let release = Release::scan(out, &version)?;
    release.write(out, opts.gpg_key.as_deref())
}

/// The archive of the executable at `binary`: its bytes only (not its mtime or mode), under
/// `entry_name`.
pub fn package_binary(binary: &Path, entry_name: &str) -> Result<Vec<u8>, String> {
    let bytes = fs::read(binary).map_err(|e| format!("reading {}: {e}", binary.display()))?;
    archive::zip_single(entry_name, &bytes)
}

/// The archives of one version found in the output directory, sorted by platform.
struct Release {
    version: String,
    archives: Vec<(Platform, String)>,
}

impl Release {
    fn scan(out: &Path, version: &str) -> Result<Release, String> {
        let entries = fs::read_dir(out).map_err(|e| format!("listing {}: {e}", out.display()))?;
        let mut archives = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| format!("listing {}: {e}", out.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(p) = Platform::from_archive_name(&name, version) {
                archives.push((p, name));
            }
        }
        if archives.is_empty() {
            return Err(format!(
                "no {PROGRAM}_{version}_OS_ARCH.zip in {}: run without --no-build, or put the \
                 archives there first",
                out.display()
            ));
        }
        archives.sort();
        Ok(Release {
            version: version.to_owned(),
            archives,
        })
    }

    fn write(&self, out: &Path, gpg_key: Option<&str>) -> Result<(), String> {
        let v = &self.version;
        let manifest_name = format!("{PROGRAM}_{v}_manifest.json");
        let sums_name = format!("{PROGRAM}_{v}_SHA256SUMS");
        let sig_name = format!("{sums_name}.sig");
        write_file(
            &out.join(&manifest_name),
            format!("{MANIFEST}\n").as_bytes(),
        )?;

        // Checksums of every archive and the manifest, as the registries read them.
        let mut sums: Vec<(String, String)> = Vec::new();
        let mut h1s: Vec<(&Platform, &str, String)> = Vec::new();
        for (platform, name) in &self.archives {
            let bytes = read_file(&out.join(name))?;
            sums.push((name.clone(), archive::sha256_hex(&bytes)));
            let h1 = archive::h1_of_zip(&bytes).map_err(|e| format!("{name}: {e}"))?;
            h1s.push((platform, name, h1));
        }
        sums.push((
            manifest_name.clone(),
            archive::sha256_hex(&read_file(&out.join(&manifest_name))?),
        ));
        sums.sort();
        let text: String = sums.iter().map(|(n, h)| format!("{h}  {n}\n")).collect();
        write_file(&out.join(&sums_name), text.as_bytes())?;

        // A signature of older checksums would be wrong; never leave one behind.
        let sig = out.join(&sig_name);
        if sig.exists() {
            fs::remove_file(&sig).map_err(|e| format!("removing {}: {e}", sig.display()))?;
        }
        if let Some(key) = gpg_key {
            sign(key, &out.join(&sums_name), &sig)?;
        }

        self.write_mirror(out, &h1s)?;
        for (name, hash) in &sums {
            println!("{hash}  {name}");
        }
        for (platform, _, h1) in &h1s {
            println!("{h1}  {platform}");
        }
        if gpg_key.is_some() {
            println!("signed: {}", sig.display());
        }
        Ok(())
    }

    /// `mirror/HOST/NAMESPACE/TYPE/`: the packed layout (the zips under their registry names)
    /// that `filesystem_mirror` reads, plus the network mirror protocol's `index.json` and
    /// `VERSION.json` next to them, so a static HTTPS server of the same directory is a
    /// `network_mirror` too (Terragrunt's provider cache reads these).
    fn write_mirror(&self, out: &Path, h1s: &[(&Platform, &str, String)]) -> Result<(), String> {
        let v = &self.version;
        let dir = out.join("mirror").join(MIRROR_PATH);
        fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        // Archives of this version from an earlier run that are no longer in `out` would be
        // served without being listed: remove them.
        for entry in fs::read_dir(&dir).map_err(|e| format!("listing {}: {e}", dir.display()))? {
            let entry = entry.map_err(|e| format!("listing {}: {e}", dir.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if Platform::from_archive_name(&name, v).is_some() {
                fs::remove_file(entry.path())
                    .map_err(|e| format!("removing {}: {e}", entry.path().display()))?;
            }
        }
        let mut archives = Map::new();
        for (platform, name, h1) in h1s {
            fs::copy(out.join(name), dir.join(name))
                .map_err(|e| format!("copying {name} into {}: {e}", dir.display()))?;
            archives.insert(platform.to_string(), json!({ "url": name, "hashes": [h1] }));
        }
        let version_doc = json!({ "archives": archives });
        write_file(
            &dir.join(format!("{v}.json")),
            json_text(&version_doc).as_bytes(),
        )?;

        // Versions written into the same mirror by earlier runs stay listed.
        let mut versions = Map::new();
        for entry in fs::read_dir(&dir).map_err(|e| format!("listing {}: {e}", dir.display()))? {
            let entry = entry.map_err(|e| format!("listing {}: {e}", dir.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(ver) = name.strip_suffix(".json")
                && crate::cli::check_version(ver).is_ok()
            {
                versions.insert(ver.to_owned(), json!({}));
            }
        }
        let index = json!({ "versions": versions });
        write_file(&dir.join("index.json"), json_text(&index).as_bytes())
    }
}

fn json_text(v: &Value) -> String {
    format!("{v}\n")
}

fn sign(key: &str, file: &Path, sig: &Path) -> Result<(), String> {
    let status = Command::new("gpg")
        .args([
            "--batch",
            "--yes",
            "--local-user",
            key,
            "--detach-sign",
            "--output",
        ])
        .arg(sig)
        .arg(file)
        .status()
        .map_err(|e| format!("cannot run gpg (needed for --gpg-key): {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "gpg --detach-sign with key {key} failed ({status})"
        ))
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

/// Writes through a temporary name and renames, so an interrupted run never leaves a truncated
/// archive or checksum file under its final name.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut tmp = PathBuf::from(path);
    tmp.as_mut_os_string().push(".tmp");
    fs::write(&tmp, bytes).map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    fs::rename(&tmp, path).map_err(|e| format!("writing {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(s: &str) -> Platform {
        Platform::parse(s).unwrap()
    }

    /// The merge path end to end on archives made here: what `--no-build` does with the zips
    /// of several machines.
    #[test]
    fn merges_every_archive_of_the_version() {
        let out = tempfile::tempdir().unwrap();
        for p in ["linux_amd64", "darwin_arm64", "windows_amd64"] {
            let p = platform(p);
            let bytes =
                archive::zip_single(&p.binary_name("1.2.3"), p.to_string().as_bytes()).unwrap();
            fs::write(out.path().join(p.archive_name("1.2.3")), bytes).unwrap();
        }
        // Another version's archive is not part of this release.
        fs::write(
            out.path()
                .join(platform("linux_amd64").archive_name("1.2.2")),
            b"old",
        )
        .unwrap();
        fs::write(
            out.path().join(format!("{PROGRAM}_1.2.3_SHA256SUMS.sig")),
            b"stale",
        )
        .unwrap();

        let release = Release::scan(out.path(), "1.2.3").unwrap();
        release.write(out.path(), None).unwrap();

        let sums =
            fs::read_to_string(out.path().join(format!("{PROGRAM}_1.2.3_SHA256SUMS"))).unwrap();
        let names: Vec<&str> = sums
            .lines()
            .map(|l| l.split_once("  ").unwrap().1)
            .collect();
        assert_eq!(
            names,
            [
                "terraform-provider-alicloud_1.2.3_darwin_arm64.zip",
                "terraform-provider-alicloud_1.2.3_linux_amd64.zip",
                "terraform-provider-alicloud_1.2.3_manifest.json",
                "terraform-provider-alicloud_1.2.3_windows_amd64.zip",
            ]
        );
        assert!(
            !out.path()
                .join(format!("{PROGRAM}_1.2.3_SHA256SUMS.sig"))
                .exists()
        );

        let mirror = out.path().join("mirror").join(MIRROR_PATH);
        let doc: Value =
            serde_json::from_slice(&fs::read(mirror.join("1.2.3.json")).unwrap()).unwrap();
        let archives = doc["archives"].as_object().unwrap();
        assert_eq!(archives.len(), 3);
        let win = &archives["windows_amd64"];
        assert_eq!(
            win["url"],
            "terraform-provider-alicloud_1.2.3_windows_amd64.zip"
        );
        let expected = archive::h1([(
            "terraform-provider-alicloud_v1.2.3.exe",
            &b"windows_amd64"[..],
        )])
        .unwrap();
        assert_eq!(win["hashes"], json!([expected]));
        assert!(
            mirror
                .join("terraform-provider-alicloud_1.2.3_windows_amd64.zip")
                .is_file()
        );

        // A second version in the same mirror: both listed.
        fs::rename(
            out.path()
                .join(platform("linux_amd64").archive_name("1.2.3")),
            out.path()
                .join(platform("linux_amd64").archive_name("1.3.0")),
        )
        .unwrap();
        Release::scan(out.path(), "1.3.0")
            .unwrap()
            .write(out.path(), None)
            .unwrap();
        let index: Value =
            serde_json::from_slice(&fs::read(mirror.join("index.json")).unwrap()).unwrap();
        assert_eq!(index, json!({"versions": {"1.2.3": {}, "1.3.0": {}}}));
    }

    #[test]
    fn no_archives_is_an_error() {
        let out = tempfile::tempdir().unwrap();
        let e = Release::scan(out.path(), "0.1.0").err().unwrap();
        assert!(
            e.contains("no terraform-provider-alicloud_0.1.0_OS_ARCH.zip"),
            "{e}"
        );
    }

    #[test]
    fn archive_bytes_do_not_depend_on_the_binary_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join(PROGRAM);
        fs::write(&bin, b"the same build").unwrap();
        let first = package_binary(&bin, "e").unwrap();
        let file = fs::File::options().write(true).open(&bin).unwrap();
        file.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(2_000_000_000))
            .unwrap();
        drop(file);
        assert_eq!(package_binary(&bin, "e").unwrap(), first);
    }
}
