//! The rate-limit bucket shared by the provider processes of one machine, end to end: two
//! real `terraform apply` runs at once against one emulator, with one cache directory between
//! them (as the units of a Terragrunt stack have), and the switches that turn sharing off.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::Emulator;
use crate::tf::{Tf, header};

fn flow_log(id: &str) -> Value {
    json!({
        "FlowLogId": id, "RegionId": "cn-hangzhou", "Status": "Inactive",
        "FlowLogName": "unit", "ResourceType": "VPC", "ResourceId": "vpc-bp1qpo0kug3a20qqe0000",
        "TrafficType": "All", "ProjectName": "p", "LogStoreName": "s", "AggregationInterval": 10
    })
}

fn unit(emu: &Emulator, ids: &[&str], extra: &str, cache: &Path) -> Tf {
    let resources: String = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            format!("resource \"alicloud_vpc_flow_log_activation\" \"r{i}\" {{\n  flow_log_id = \"{id}\"\n}}\n")
        })
        .collect();
    let mut tf = Tf::new(&format!(
        "{}\nprovider \"alicloud\" {{\n  region     = \"cn-hangzhou\"\n  access_key = \"{}\"\n  secret_key = \"{}\"\n  protocol   = \"HTTP\"\n{extra}  endpoints {{\n    vpc = \"{}\"\n  }}\n}}\n{resources}",
        header(),
        emu.access_key_id,
        emu.access_key_secret,
        emu.base_url,
    ));
    tf.set_env("XDG_CACHE_HOME", &cache.display().to_string());
    tf
}

fn bucket_files(cache: &Path) -> Vec<PathBuf> {
    let dir = cache.join("terraform-provider-alicloud").join("ratelimit");
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn two_applies_at_once_share_one_bucket_file_that_names_no_key() {
    let ids = ["fl-unita1", "fl-unita2", "fl-unitb1", "fl-unitb2"];
    let emu = Emulator::start(
        &Value::Array(ids.iter().map(|id| flow_log(id)).collect()),
        &["--activation-delay", "200ms", "--throttle-qps", "50"],
    );
    let cache = tempfile::tempdir().unwrap();
    let a = unit(&emu, &ids[..2], "", cache.path());
    let b = unit(&emu, &ids[2..], "", cache.path());
    let args = ["apply", "-auto-approve", "-input=false", "-no-color"];
    let runs = [
        a.command(&args).spawn().unwrap(),
        b.command(&args).spawn().unwrap(),
    ];
    for child in runs {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for id in ids {
        assert_eq!(emu.flow_log(id).unwrap()["Status"], "Active", "{id}");
    }
    // One account, one region, one product: one bucket for both processes.
    let files = bucket_files(cache.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let bucket: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(bucket["v"], 1, "{text}");
    assert!(bucket["rate"].as_f64().is_some_and(|r| r > 0.0), "{text}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    for secret in [&emu.access_key_id, &emu.access_key_secret] {
        assert!(!text.contains(secret.as_str()) && !name.contains(secret.as_str()));
    }
}

#[test]
fn sharing_is_switched_off_by_the_argument_or_the_variable() {
    let emu = Emulator::start(
        &json!([
            flow_log("fl-off1"),
            flow_log("fl-off2"),
            flow_log("fl-off3")
        ]),
        &["--activation-delay", "0"],
    );
    let args = ["apply", "-auto-approve", "-input=false", "-no-color"];

    let cache = tempfile::tempdir().unwrap();
    unit(
        &emu,
        &["fl-off1"],
        "  share_rate_limit = false\n",
        cache.path(),
    )
    .run(&args)
    .assert_ok();
    assert_eq!(bucket_files(cache.path()), Vec::<PathBuf>::new());

    let cache = tempfile::tempdir().unwrap();
    let mut tf = unit(&emu, &["fl-off2"], "", cache.path());
    tf.set_env("ALICLOUD_SHARE_RATE_LIMIT", "false");
    tf.run(&args).assert_ok();
    assert_eq!(bucket_files(cache.path()), Vec::<PathBuf>::new());

    // The argument wins over the variable.
    let cache = tempfile::tempdir().unwrap();
    let mut tf = unit(
        &emu,
        &["fl-off3"],
        "  share_rate_limit = true\n",
        cache.path(),
    );
    tf.set_env("ALICLOUD_SHARE_RATE_LIMIT", "false");
    tf.run(&args).assert_ok();
    assert_eq!(bucket_files(cache.path()).len(), 1);
}

#[test]
fn a_bad_switch_value_is_a_clear_error() {
    let emu = Emulator::start(&json!([flow_log("fl-bad1")]), &["--activation-delay", "0"]);
    let cache = tempfile::tempdir().unwrap();
    let mut tf = unit(&emu, &["fl-bad1"], "", cache.path());
    tf.set_env("ALICLOUD_SHARE_RATE_LIMIT", "sometimes");
    let r = tf.run(&["plan", "-input=false", "-no-color"]);
    assert!(!r.status.success());
    assert!(
        r.stderr.contains("ALICLOUD_SHARE_RATE_LIMIT") && r.stderr.contains("true or false"),
        "{}",
        r.stderr
    );
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn the_units_of_a_stack_share_listings_through_the_cache_directory() {
    let ids: Vec<String> = (0..60).map(|i| format!("fl-stack{i:03}")).collect();
    let emu = Emulator::start(
        &Value::Array(ids.iter().map(|id| flow_log(id)).collect()),
        &["--activation-delay", "1s"],
    );
    let cache = tempfile::tempdir().unwrap();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let units: Vec<Tf> = refs
        .chunks(20)
        .map(|chunk| unit(&emu, chunk, "", cache.path()))
        .collect();
    let args = ["apply", "-auto-approve", "-input=false", "-no-color"];
    // Output to files, not pipes: a unit whose pipe is not read would stop (and the units
    // would run in turn, not together).
    let runs: Vec<_> = units
        .iter()
        .map(|u| {
            let out = std::fs::File::create(u.home().join("apply.out")).unwrap();
            u.command(&args)
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .unwrap()
        })
        .collect();
    for (u, mut child) in runs.into_iter().enumerate() {
        let status = child.wait().unwrap();
        let out = std::fs::read_to_string(units[u].home().join("apply.out")).unwrap();
        assert!(status.success(), "unit {u}: {out}");
    }
    for id in &ids {
        assert_eq!(emu.flow_log(id).unwrap()["Status"], "Active", "{id}");
    }
    // The state of each unit holds what the API said of its own flow logs.
    for (u, chunk) in refs.chunks(20).enumerate() {
        let state = units[u].state_file();
        for id in chunk {
            assert!(state.contains(id), "unit {u} lost {id}");
        }
    }
    // Listings were shared through files that hold flow logs, never a key.
    let listings = cache
        .path()
        .join("terraform-provider-alicloud")
        .join("listings");
    let files = files_under(cache.path());
    assert!(
        files.iter().any(|f| f.starts_with(&listings)),
        "no listing was shared: {files:?}"
    );
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let name = f.display().to_string();
        for secret in [&emu.access_key_id, &emu.access_key_secret] {
            assert!(!text.contains(secret.as_str()) && !name.contains(secret.as_str()));
        }
    }
    // And every unit plans nothing more.
    for u in &units {
        let plan = u.run(&["plan", "-detailed-exitcode", "-input=false", "-no-color"]);
        assert_eq!(plan.code(), 0, "{}", plan.all());
    }
}
