//! `cargo xtask dist` end to end: the archives, checksums, manifest, mirror and signature it
//! writes, checked independently of xtask's code, then installed by the real `terraform init`
//! from the packed mirror (offline) and used against the emulator.

use std::collections::BTreeMap;
use std::io::{Cursor, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Instant;

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::support::Emulator;
use crate::tf::Tf;

const PROGRAM: &str = "terraform-provider-alicloud";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// One `cargo xtask dist` run shared by the tests (the release build is the slow part).
struct Dist {
    out: PathBuf,
}

/// `cargo xtask ARGS` from the repository root, with `extra_env`; cargo is the one running
/// these tests, and the nested build reuses its target directory.
fn xtask(args: &[&str], extra_env: &[(&str, &Path)]) -> Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "--quiet", "--package", "xtask", "--"])
        .args(args);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd.output().expect("run cargo")
}

#[track_caller]
fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh directory under the target dir's tmp (kept until the next run: the shared result
/// lives in a static, which is never dropped).
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn dist() -> &'static Dist {
    static DIST: OnceLock<Dist> = OnceLock::new();
    DIST.get_or_init(|| {
        let out = scratch("xtask-dist");
        let start = Instant::now();
        let run = xtask(&["dist", "--out", &out.display().to_string()], &[]);
        let took = start.elapsed();
        assert_success(&run, "cargo xtask dist");
        eprintln!("cargo xtask dist took {took:?}");
        Dist { out }
    })
}

/// Terraform's name for this machine's platform, e.g. `linux_amd64`, as it reports it.
fn terraform_platform() -> String {
    let out = Command::new("terraform")
        .args(["version", "-json"])
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .expect("terraform must be on PATH");
    let v: Value = serde_json::from_slice(&out.stdout).expect("terraform version -json");
    v["platform"].as_str().expect("platform").to_owned()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn archive_name(platform: &str) -> String {
    format!("{PROGRAM}_{VERSION}_{platform}.zip")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The entries of a zip: name -> (unix mode, bytes).
fn zip_entries(bytes: &[u8]) -> BTreeMap<String, (Option<u32>, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip archive");
    let mut entries = BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        entries.insert(f.name().to_owned(), (f.unix_mode(), data));
    }
    entries
}

/// Go dirhash Hash1, written out here from its definition rather than shared with xtask.
fn h1(entries: &BTreeMap<String, (Option<u32>, Vec<u8>)>) -> String {
    // BTreeMap<String, _> iterates in byte order, like Go's sort.Strings.
    let lines: String = entries
        .iter()
        .map(|(name, (_, data))| format!("{}  {name}\n", sha256_hex(data)))
        .collect();
    format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(lines.as_bytes()))
    )
}

fn mirror_dir(out: &Path) -> PathBuf {
    out.join("mirror").join(tfprovider::PROVIDER_ADDRESS)
}

#[test]
fn archive_holds_only_the_executable_provider() {
    let d = dist();
    let platform = terraform_platform();
    let bytes = std::fs::read(d.out.join(archive_name(&platform))).expect("host archive");
    let entries = zip_entries(&bytes);
    let exe = if platform.starts_with("windows_") {
        ".exe"
    } else {
        ""
    };
    let name = format!("{PROGRAM}_v{VERSION}{exe}");
    assert_eq!(entries.keys().collect::<Vec<_>>(), [&name]);
    let (mode, data) = &entries[&name];
    assert_eq!(mode.map(|m| m & 0o777), Some(0o755), "mode {mode:?}");
    assert!(
        data.len() > 1024 * 1024,
        "a whole provider binary, got {} bytes",
        data.len()
    );
    eprintln!(
        "{}: {} bytes (binary {} bytes)",
        archive_name(&platform),
        bytes.len(),
        data.len()
    );
}

#[test]
fn checksums_manifest_and_mirror_describe_the_archives() {
    let d = dist();
    let sums_name = format!("{PROGRAM}_{VERSION}_SHA256SUMS");
    let sums = std::fs::read_to_string(d.out.join(&sums_name)).unwrap();
    let mut listed = Vec::new();
    for line in sums.lines() {
        let (hash, name) = line.split_once("  ").expect("`<sha256>  <name>` lines");
        let bytes = std::fs::read(d.out.join(name)).unwrap();
        assert_eq!(hash, sha256_hex(&bytes), "{name}");
        listed.push(name.to_owned());
    }
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted, "sorted lines");
    // Every archive of this version in the directory and the manifest, nothing else.
    let mut expected: Vec<String> = std::fs::read_dir(&d.out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("{PROGRAM}_{VERSION}_")) && n.ends_with(".zip"))
        .collect();
    expected.push(format!("{PROGRAM}_{VERSION}_manifest.json"));
    expected.sort();
    assert_eq!(listed, expected);

    assert_eq!(
        read_json(&d.out.join(format!("{PROGRAM}_{VERSION}_manifest.json"))),
        json!({"version": 1, "metadata": {"protocol_versions": ["5.0"]}})
    );
    assert!(
        !d.out.join(format!("{sums_name}.sig")).exists(),
        "no signature without --gpg-key"
    );

    let mirror = mirror_dir(&d.out);
    assert_eq!(
        read_json(&mirror.join("index.json")),
        json!({"versions": {VERSION: {}}})
    );
    let doc = read_json(&mirror.join(format!("{VERSION}.json")));
    let archives = doc["archives"].as_object().expect("archives");
    assert_eq!(archives.len(), expected.len() - 1, "{doc}");
    for (platform, entry) in archives {
        let url = entry["url"].as_str().unwrap();
        assert_eq!(url, archive_name(platform));
        let in_mirror = std::fs::read(mirror.join(url)).unwrap();
        assert_eq!(in_mirror, std::fs::read(d.out.join(url)).unwrap(), "{url}");
        assert_eq!(
            entry["hashes"],
            json!([h1(&zip_entries(&in_mirror))]),
            "{url}"
        );
    }
}

#[test]
fn a_second_run_writes_the_same_bytes() {
    let d = dist();
    let again = scratch("xtask-dist-again");
    let run = xtask(&["dist", "--out", &again.display().to_string()], &[]);
    assert_success(&run, "second cargo xtask dist");
    let platform = terraform_platform();
    for name in [
        archive_name(&platform),
        format!("{PROGRAM}_{VERSION}_SHA256SUMS"),
        format!("mirror/{}/{VERSION}.json", tfprovider::PROVIDER_ADDRESS),
    ] {
        assert_eq!(
            std::fs::read(again.join(&name)).unwrap(),
            std::fs::read(d.out.join(&name)).unwrap(),
            "{name} differs between two runs"
        );
    }
}

#[test]
fn terraform_installs_from_the_packed_mirror_offline_and_uses_it() {
    let d = dist();
    let emu = Emulator::start(
        &json!([{"FlowLogId": "fl-dist0001", "RegionId": "cn-hangzhou", "Status": "Inactive"}]),
        &["--activation-delay", "0"],
    );
    let hcl = format!(
        "terraform {{\n  required_providers {{\n    alicloud = {{\n      source  = \"{}\"\n      version = \"{VERSION}\"\n    }}\n  }}\n}}\n\
         provider \"alicloud\" {{\n  region     = \"cn-hangzhou\"\n  access_key = \"{}\"\n  secret_key = \"{}\"\n  protocol   = \"HTTP\"\n  endpoints {{\n    vpc = \"{}\"\n  }}\n}}\n\
         resource \"alicloud_vpc_flow_log_activation\" \"this\" {{\n  flow_log_id = \"fl-dist0001\"\n}}\n",
        tfprovider::PROVIDER_ADDRESS,
        emu.access_key_id,
        emu.access_key_secret,
        emu.base_url
    );
    let mut tf = Tf::new(&hcl);
    // Replace the dev_overrides configuration Tf writes with the one the README gives users.
    let config = tf.dir.path().join("mirror.tfrc");
    std::fs::write(
        &config,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"{addr}\"]\n  }}\n  direct {{\n    exclude = [\"{addr}\"]\n  }}\n}}\n",
            d.out.join("mirror").display().to_string().replace('\\', "/"),
            addr = tfprovider::PROVIDER_ADDRESS
        ),
    )
    .unwrap();
    tf.set_env("TF_CLI_CONFIG_FILE", &config.display().to_string());

    let init = tf.run(&["init", "-input=false", "-no-color"]);
    init.assert_ok();
    assert!(
        init.all()
            .contains(&format!("Installed alicloud-rs/alicloud v{VERSION}")),
        "{}",
        init.all()
    );

    let platform = terraform_platform();
    let doc = read_json(&mirror_dir(&d.out).join(format!("{VERSION}.json")));
    let mirror_h1 = doc["archives"][&platform]["hashes"][0]
        .as_str()
        .expect("h1 of the host archive")
        .to_owned();
    let lock = std::fs::read_to_string(tf.work_dir().join(".terraform.lock.hcl")).unwrap();
    assert!(
        lock.contains(&format!("\"{mirror_h1}\"")),
        "lock file lacks {mirror_h1}:\n{lock}"
    );
    eprintln!("mirror {platform}: {mirror_h1}\nlock file:\n{lock}");

    let plan = tf.run(&["plan", "-input=false", "-no-color", "-detailed-exitcode"]);
    assert_eq!(plan.code(), 2, "{}", plan.all());
    assert!(
        plan.stdout
            .contains("alicloud_vpc_flow_log_activation.this will be created"),
        "{}",
        plan.all()
    );
    // The installed provider, not a development override.
    assert!(
        !plan.all().contains("Provider development overrides"),
        "{}",
        plan.all()
    );
    tf.run(&["apply", "-auto-approve", "-input=false", "-no-color"])
        .assert_ok();
    assert_eq!(emu.flow_log("fl-dist0001").unwrap()["Status"], "Active");
}

/// Ends the gpg-agent that gpg starts for a throw-away GNUPGHOME.
struct GpgHome(tempfile::TempDir);

impl Drop for GpgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", self.0.path())
            .output();
    }
}

fn gpg(home: &Path, args: &[&str]) -> Output {
    Command::new("gpg")
        .args(args)
        .env("GNUPGHOME", home)
        .output()
        .expect("run gpg")
}

#[test]
fn merge_mode_signs_the_checksums() {
    if Command::new("gpg").arg("--version").output().is_err() {
        eprintln!("SKIPPED merge_mode_signs_the_checksums: gpg is not on PATH");
        return;
    }
    let d = dist();
    // A short path: gpg-agent's socket lives in GNUPGHOME and socket paths are limited.
    let home = GpgHome(
        tempfile::Builder::new()
            .prefix("gpg")
            .tempdir_in("/tmp")
            .unwrap(),
    );
    let uid = "alicloud-rs release test <release-test@example.invalid>";
    let gen_key = gpg(
        home.0.path(),
        &[
            "--batch",
            "--passphrase",
            "",
            "--quick-gen-key",
            uid,
            "ed25519",
            "sign",
            "never",
        ],
    );
    assert_success(&gen_key, "gpg --quick-gen-key");

    // The archives as the release workflow's last job sees them: downloaded, nothing else.
    let merged = scratch("xtask-dist-signed");
    for entry in std::fs::read_dir(&d.out).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".zip") {
            std::fs::copy(entry.path(), merged.join(&name)).unwrap();
        }
    }
    let run = xtask(
        &[
            "dist",
            "--out",
            &merged.display().to_string(),
            "--no-build",
            "--gpg-key",
            "release-test@example.invalid",
        ],
        &[("GNUPGHOME", home.0.path())],
    );
    assert_success(&run, "cargo xtask dist --no-build --gpg-key");

    let sums = merged.join(format!("{PROGRAM}_{VERSION}_SHA256SUMS"));
    let sig = merged.join(format!("{PROGRAM}_{VERSION}_SHA256SUMS.sig"));
    assert_eq!(
        std::fs::read(&sums).unwrap(),
        std::fs::read(d.out.join(format!("{PROGRAM}_{VERSION}_SHA256SUMS"))).unwrap(),
        "merging the same archives gives the same checksums"
    );
    let sig_bytes = std::fs::read(&sig).unwrap();
    assert!(!sig_bytes.starts_with(b"-----BEGIN"), "binary, not armored");
    let verify = gpg(
        home.0.path(),
        &[
            "--batch",
            "--verify",
            &sig.display().to_string(),
            &sums.display().to_string(),
        ],
    );
    assert_success(&verify, "gpg --verify");

    // And the signature really covers the checksums.
    let tampered = merged.join("tampered");
    let mut text = std::fs::read(&sums).unwrap();
    text[0] = if text[0] == b'0' { b'1' } else { b'0' };
    std::fs::write(&tampered, text).unwrap();
    let verify = gpg(
        home.0.path(),
        &[
            "--batch",
            "--verify",
            &sig.display().to_string(),
            &tampered.display().to_string(),
        ],
    );
    assert!(
        !verify.status.success(),
        "a changed SHA256SUMS must not verify"
    );
}

#[test]
fn bad_arguments_fail_with_a_clear_message() {
    let out = scratch("xtask-dist-errors");
    let out = out.display().to_string();

    let help = xtask(&["dist", "--help"], &[]);
    assert_success(&help, "cargo xtask dist --help");
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage: cargo xtask dist --out DIR"));

    let run = xtask(&["dist"], &[]);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("error: --out DIR is required"));

    let run = xtask(
        &[
            "dist",
            "--out",
            &out,
            "--target",
            "riscv64gc-unknown-linux-gnu",
        ],
        &[],
    );
    assert_eq!(run.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&run.stderr)
            .contains("unsupported target `riscv64gc-unknown-linux-gnu`")
    );

    let run = xtask(&["dist", "--out", &out, "--no-build"], &[]);
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("no terraform-provider-alicloud_"));

    // A supported target whose standard library is missing: the error names the fix. Skipped
    // where that target happens to be installed (it would start a cross build).
    let triple = "x86_64-unknown-freebsd";
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .unwrap();
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_owned();
    if Path::new(&sysroot)
        .join("lib/rustlib")
        .join(triple)
        .exists()
    {
        eprintln!("skipped the missing-target check: {triple} is installed");
    } else {
        let run = xtask(&["dist", "--out", &out, "--target", triple], &[]);
        assert_eq!(run.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            stderr.contains(&format!("rustup target add {triple}")),
            "{stderr}"
        );
    }
}
