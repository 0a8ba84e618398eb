//! The configurations that create flow logs, run as shipped with the real `terraform` against
//! the emulator: the `for_each` example with its compliance check
//! (`examples/flow-logs-for-vpcs`), the second quickstart's configuration
//! (`examples/quickstart-create`), and this provider next to the official one under two local
//! names (`tests/fixtures/two_providers.tf`, the README's section). Endpoint, credentials and
//! region come from the environment, as the examples expect.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::Emulator;
use crate::tf::{PROVIDER_BIN, Run, Tf};

/// A workspace holding the `.tf` files of `dir` (relative to the repository), its provider
/// pointed at `emu` through the environment.
fn workspace(dir: &str, emu: &Emulator) -> Tf {
    let mut tf = Tf::new("");
    std::fs::remove_file(tf.work_dir().join("main.tf")).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "tf") {
            std::fs::copy(&path, tf.work_dir().join(path.file_name().unwrap())).unwrap();
        }
    }
    for (k, v) in [
        ("ALIBABA_CLOUD_ENDPOINT_VPC", emu.base_url.as_str()),
        ("ALICLOUD_ACCESS_KEY", emu.access_key_id.as_str()),
        ("ALICLOUD_SECRET_KEY", emu.access_key_secret.as_str()),
        ("ALICLOUD_REGION", "cn-hangzhou"),
    ] {
        tf.set_env(k, v);
    }
    tf
}

fn run(tf: &Tf, args: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend(["-input=false", "-no-color"]);
    tf.run(&all)
}

/// A plan with nothing to change (a check's data source is always planned for reading again,
/// so `-detailed-exitcode` would say 2).
#[track_caller]
fn assert_nothing_to_change(r: &Run) {
    r.assert_ok();
    assert!(
        r.stdout.contains("No changes.")
            || r.stdout.contains("0 to add, 0 to change, 0 to destroy"),
        "{}",
        r.all()
    );
}

fn flow_logs_of(emu: &Emulator) -> Vec<Value> {
    let mut logs = emu.flow_logs();
    logs.sort_by_key(|f| f["ResourceId"].as_str().unwrap_or("").to_owned());
    logs
}

#[test]
fn for_each_example_creates_a_flow_log_per_vpc_and_its_check_warns_when_one_is_off() {
    // Only this project and logstore exist, so the example must deliver to them.
    let emu = Emulator::start(
        &json!([]),
        &[
            "--activation-delay",
            "200ms",
            "--sls-logstore",
            "flow-project/flow-store",
        ],
    );
    let tf = workspace("examples/flow-logs-for-vpcs", &emu);
    tf.write(
        "terraform.tfvars.json",
        &json!({
            "vpc_ids": ["vpc-app01", "vpc-db02", "vpc-web03"],
            "project_name": "flow-project",
            "log_store_name": "flow-store",
            "tags": {"env": "test"}
        })
        .to_string(),
    );
    let r = run(&tf, &["apply", "-auto-approve"]);
    r.assert_ok();
    assert!(
        !r.all().contains("Check block assertion failed"),
        "{}",
        r.all()
    );
    let logs = flow_logs_of(&emu);
    assert_eq!(logs.len(), 3, "{logs:?}");
    for (fl, vpc) in logs.iter().zip(["vpc-app01", "vpc-db02", "vpc-web03"]) {
        assert_eq!(fl["ResourceId"], vpc);
        assert_eq!(fl["Status"], "Active");
        assert_eq!(fl["FlowLogName"], format!("flow-{vpc}"));
        assert_eq!(
            fl["Tags"],
            json!({"Tag": [{"Key": "env", "Value": "test"}]})
        );
    }
    let ids = tf.show_json(None)["values"]["outputs"]["flow_log_ids"]["value"].clone();
    assert_eq!(ids["vpc-db02"], logs[1]["FlowLogId"], "{ids}");

    let r = run(&tf, &["plan"]);
    assert_nothing_to_change(&r);
    assert!(
        !r.all().contains("Check block assertion failed"),
        "{}",
        r.all()
    );

    // Someone switches one off: the plan warns, names it, and still succeeds.
    let off = logs[1]["FlowLogId"].as_str().unwrap().to_owned();
    emu.upsert(&off, &json!({"Status": "Inactive"}));
    let r = run(&tf, &["plan"]);
    r.assert_ok();
    let all = r.all();
    assert!(
        all.contains("Warning: Check block assertion failed"),
        "{all}"
    );
    // Terraform may wrap the message: look for its parts.
    assert!(all.contains(&off) && all.contains("vpc-db02"), "{all}");

    // A VPC more and one fewer: one created, one deleted, the others untouched.
    tf.write(
        "terraform.tfvars.json",
        &json!({
            "vpc_ids": ["vpc-app01", "vpc-web03", "vpc-new04"],
            "project_name": "flow-project",
            "log_store_name": "flow-store",
            "tags": {"env": "test"}
        })
        .to_string(),
    );
    emu.upsert(&off, &json!({"Status": "Active"}));
    let r = run(&tf, &["apply", "-auto-approve"]);
    r.assert_ok();
    assert!(
        r.stdout.contains("1 added, 0 changed, 1 destroyed"),
        "{}",
        r.all()
    );
    let vpcs: Vec<String> = flow_logs_of(&emu)
        .iter()
        .map(|f| f["ResourceId"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(vpcs, ["vpc-app01", "vpc-new04", "vpc-web03"]);

    run(&tf, &["destroy", "-auto-approve"]).assert_ok();
    assert!(emu.flow_logs().is_empty(), "{:?}", emu.flow_logs());
}

#[test]
fn for_each_example_names_a_missing_logstore() {
    let emu = Emulator::start(
        &json!([]),
        &[
            "--activation-delay",
            "0",
            "--sls-logstore",
            "flow-project/flow-store",
        ],
    );
    let tf = workspace("examples/flow-logs-for-vpcs", &emu);
    tf.write(
        "terraform.tfvars.json",
        &json!({
            "vpc_ids": ["vpc-app01"],
            "project_name": "flow-project",
            "log_store_name": "no-such-store"
        })
        .to_string(),
    );
    let r = run(&tf, &["apply", "-auto-approve"]);
    r.assert_failed();
    let all = r.all();
    assert!(all.contains("ProjectOrLogstoreNotExist"), "{all}");
    assert!(all.contains("no-such-store"), "{all}");
    assert!(emu.flow_logs().is_empty());
}

#[test]
fn second_quickstart_configuration_creates_and_destroys_a_flow_log() {
    let emu = Emulator::start(&json!([]), &["--activation-delay", "1s"]);
    let tf = workspace("examples/quickstart-create", &emu);
    run(&tf, &["apply", "-auto-approve"]).assert_ok();
    let logs = emu.flow_logs();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0]["Status"], "Active");
    assert_eq!(logs[0]["FlowLogName"], "quickstart-vpc-traffic");
    let out = &tf.show_json(None)["values"]["outputs"]["flow_log"]["value"];
    assert_eq!(out["status"], "Active", "{out}");
    assert_eq!(out["id"], logs[0]["FlowLogId"], "{out}");
    assert_eq!(
        out["delivers_to"],
        "Log Service quickstart-flow-logs/vpc-flow-log"
    );
    let r = run(&tf, &["plan", "-detailed-exitcode"]);
    assert_eq!(r.code(), 0, "{}", r.all());
    run(&tf, &["destroy", "-auto-approve"]).assert_ok();
    assert!(emu.flow_logs().is_empty());
}

#[test]
fn next_to_the_official_provider_under_two_local_names() {
    let emu = Emulator::start(&json!([]), &["--activation-delay", "200ms"]);
    let tf = workspace("tests/fixtures", &emu);
    // Keep only the fixture this test is about.
    for entry in std::fs::read_dir(tf.work_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n != "two_providers.tf") {
            std::fs::remove_file(path).unwrap();
        }
    }
    // The official provider's address, pointed at this repository's binary: it cannot be
    // downloaded here. Both addresses are overridden; nothing else is installed.
    let plugin_dir = Path::new(PROVIDER_BIN).parent().unwrap();
    std::fs::write(
        tf.dir.path().join("terraform.rc"),
        format!(
            "provider_installation {{\n  dev_overrides {{\n    \"{ours}\" = \"{dir}\"\n    \"registry.terraform.io/aliyun/alicloud\" = \"{dir}\"\n  }}\n  direct {{}}\n}}\n",
            ours = tfprovider::PROVIDER_ADDRESS,
            dir = plugin_dir.display()
        ),
    )
    .unwrap();
    let r = run(&tf, &["apply", "-auto-approve"]);
    r.assert_ok();
    let state = tf.show_json(None);
    let resources = state["values"]["root_module"]["resources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let provider_of = |address: &str| {
        resources
            .iter()
            .find(|r| r["address"] == address)
            .map(|r| r["provider_name"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        provider_of("alicloud_vpc_flow_log.main"),
        "registry.terraform.io/alicloud-rs/alicloud",
        "{state}"
    );
    assert_eq!(
        provider_of("data.alicloud_vpc_flow_logs.listed"),
        "registry.terraform.io/aliyun/alicloud",
        "{state}"
    );
    assert_eq!(
        state["values"]["outputs"]["listed_status"]["value"],
        "Active"
    );
    assert_eq!(emu.flow_logs().len(), 1);
    // Every create went through the provider named alicloudrs; both signed their calls.
    let actions: Vec<String> = emu
        .requests()
        .iter()
        .filter_map(|r| r["action"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(actions.iter().filter(|a| *a == "CreateFlowLog").count(), 1);

    let r = run(&tf, &["plan", "-detailed-exitcode"]);
    // The data source depends on the resource: only a read is planned, nothing changes.
    assert!(r.code() == 0 || r.code() == 2, "{}", r.all());
    assert!(
        r.stdout.contains("No changes.")
            || r.stdout.contains("0 to add, 0 to change, 0 to destroy"),
        "{}",
        r.all()
    );
    run(&tf, &["destroy", "-auto-approve"]).assert_ok();
    assert!(emu.flow_logs().is_empty());
}
