//! `alicloud_vpc_flow_log` end to end: the real terraform CLI, the provider, and the emulator as
//! a real process over HTTP. The official resource's acceptance steps, tags and resource group,
//! deletion outside Terraform, a forced replacement, creation failures, and the takeover of the
//! official provider's state; `terraform plan` is empty after every step.

use serde_json::{Value, json};

use crate::support::Emulator;
use crate::tf::{Run, Tf, header};

const BASIC: &str = include_str!("../fixtures/vpc_flow_log/basic.tf");
const MIGRATED: &str = include_str!("../fixtures/vpc_flow_log/migrated.tf");
const OFFICIAL_STATE: &str = include_str!("../fixtures/official_vpc_flow_log.tfstate");
const OFFICIAL: &str = "registry.terraform.io/aliyun/alicloud";

fn provider_block(emu: &Emulator) -> String {
    format!(
        "provider \"alicloud\" {{\n  region     = \"cn-hangzhou\"\n  access_key = \"{}\"\n  secret_key = \"{}\"\n  protocol   = \"HTTP\"\n  endpoints {{\n    vpc = \"{}\"\n  }}\n}}\n",
        emu.access_key_id, emu.access_key_secret, emu.base_url,
    )
}

fn config(emu: &Emulator, body: &str) -> String {
    format!("{}\n{}\n{body}", header(), provider_block(emu))
}

/// The basic configuration with these lines in place of its marker.
fn basic(step: &str) -> String {
    BASIC.replace("  # STEP\n", step)
}

fn workspace(emu: &Emulator, body: &str) -> Tf {
    Tf::new(&config(emu, body))
}

fn apply(tf: &Tf) -> Run {
    tf.run(&["apply", "-auto-approve", "-input=false", "-no-color"])
}

fn plan_exit(tf: &Tf) -> Run {
    tf.run(&["plan", "-detailed-exitcode", "-input=false", "-no-color"])
}

#[track_caller]
fn assert_empty_plan(tf: &Tf) {
    let r = plan_exit(tf);
    assert_eq!(r.code(), 0, "expected no changes:\n{}", r.all());
}

/// Changes the configuration, applies it, and checks that the next plan is empty.
#[track_caller]
fn step(tf: &Tf, emu: &Emulator, body: &str) {
    tf.write("main.tf", &config(emu, body));
    apply(tf).assert_ok();
    assert_empty_plan(tf);
}

fn values(tf: &Tf, name: &str) -> Value {
    let state = tf.show_json(None);
    state["values"]["root_module"]["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["name"] == name))
        .map(|r| r["values"].clone())
        .unwrap_or(Value::Null)
}

fn actions(emu: &Emulator, action: &str) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r["action"] == action)
        .count()
}

fn field(emu: &Emulator, id: &str, name: &str) -> Value {
    emu.flow_log(id)
        .unwrap_or_else(|| panic!("the emulator has no {id}"))[name]
        .clone()
}

#[test]
fn the_official_acceptance_steps_each_end_in_an_empty_plan() {
    let emu = Emulator::start(&json!([]), &["--activation-delay", "300ms"]);
    let tf = workspace(&emu, &basic(""));

    // Create with the required arguments.
    apply(&tf).assert_ok();
    assert_empty_plan(&tf);
    let v = values(&tf, "default");
    let id = v["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("fl-"), "{v}");
    assert_eq!(v["flow_log_id"], id);
    assert_eq!(v["status"], "Active");
    assert_eq!(v["region_id"], "cn-hangzhou");
    assert_eq!(v["resource_id"], "vpc-bp1qpo0kug3a20qqe0000");
    assert_eq!(v["business_status"], "Normal");
    assert_eq!(field(&emu, &id, "Status"), "Active");
    assert_eq!(actions(&emu, "CreateFlowLog"), 1);

    // Import into another workspace and verify: the same state, and an empty plan.
    let other = workspace(&emu, &basic(""));
    for import_id in [id.clone(), format!("cn-hangzhou:{id}")] {
        let _ = other.run(&["state", "rm", "alicloud_vpc_flow_log.default"]);
        other
            .run(&[
                "import",
                "-input=false",
                "-no-color",
                "alicloud_vpc_flow_log.default",
                &import_id,
            ])
            .assert_ok();
        let imported = values(&other, "default");
        for (k, want) in v.as_object().unwrap() {
            if k != "timeouts" {
                assert_eq!(&imported[k], want, "{k} after importing {import_id}");
            }
        }
        assert_empty_plan(&other);
    }

    // Change the description; then the name; then the status off and on; then all together.
    step(
        &tf,
        &emu,
        &basic("  description = \"tf-testacc-description\"\n"),
    );
    assert_eq!(field(&emu, &id, "Description"), "tf-testacc-description");
    step(
        &tf,
        &emu,
        &basic(
            "  description = \"tf-testacc-description\"\n  flow_log_name = \"tf-testacc-name\"\n",
        ),
    );
    assert_eq!(field(&emu, &id, "FlowLogName"), "tf-testacc-name");
    let named =
        "  description = \"tf-testacc-description\"\n  flow_log_name = \"tf-testacc-name\"\n";
    step(
        &tf,
        &emu,
        &basic(&format!("{named}  status = \"Inactive\"\n")),
    );
    assert_eq!(field(&emu, &id, "Status"), "Inactive");
    step(
        &tf,
        &emu,
        &basic(&format!("{named}  status = \"Active\"\n")),
    );
    assert_eq!(field(&emu, &id, "Status"), "Active");
    // Modifying an Inactive flow log ends when it is back Inactive (the official resource
    // times out there).
    step(
        &tf,
        &emu,
        &basic(
            "  description = \"both\"\n  flow_log_name = \"both\"\n  aggregation_interval = \"5\"\n  status = \"Inactive\"\n",
        ),
    );
    assert_eq!(field(&emu, &id, "Status"), "Inactive");
    step(
        &tf,
        &emu,
        &basic("  description = \"again\"\n  flow_log_name = \"again\"\n  status = \"Inactive\"\n"),
    );
    assert_eq!(field(&emu, &id, "Description"), "again");
    assert_eq!(field(&emu, &id, "Status"), "Inactive");
    assert_eq!(
        actions(&emu, "CreateFlowLog"),
        1,
        "every change was in place"
    );

    // Drift in an argument shows in the plan, and the apply repairs it in place.
    emu.upsert(
        &id,
        &json!({"Description": "changed outside", "Status": "Active"}),
    );
    let r = plan_exit(&tf);
    assert_eq!(r.code(), 2, "{}", r.all());
    assert!(
        r.stdout.contains("\"changed outside\" -> \"again\""),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("\"Active\" -> \"Inactive\""),
        "{}",
        r.stdout
    );
    apply(&tf).assert_ok();
    assert_empty_plan(&tf);
    assert_eq!(field(&emu, &id, "Description"), "again");
    assert_eq!(field(&emu, &id, "Status"), "Inactive");

    tf.run(&["destroy", "-auto-approve", "-input=false", "-no-color"])
        .assert_ok();
    assert!(emu.flow_log(&id).is_none(), "deleted");
    assert_eq!(actions(&emu, "DeleteFlowLog"), 1);
}

#[test]
fn tags_and_the_resource_group_change_in_place() {
    let emu = Emulator::start(&json!([]), &["--activation-delay", "200ms"]);
    let tf = workspace(
        &emu,
        &basic("  tags = {\n    a = \"1\"\n    b = \"2\"\n  }\n"),
    );
    apply(&tf).assert_ok();
    assert_empty_plan(&tf);
    let id = values(&tf, "default")["id"].as_str().unwrap().to_owned();
    assert_eq!(values(&tf, "default")["tags"], json!({"a": "1", "b": "2"}));
    assert_eq!(actions(&emu, "TagResources"), 0, "tags go in CreateFlowLog");

    // Changed, added, removed.
    step(
        &tf,
        &emu,
        &basic("  tags = {\n    b = \"3\"\n    c = \"4\"\n  }\n"),
    );
    assert_eq!(values(&tf, "default")["tags"], json!({"b": "3", "c": "4"}));
    assert_eq!(actions(&emu, "UnTagResources"), 1);
    assert_eq!(actions(&emu, "TagResources"), 1);
    let untag = emu
        .requests()
        .into_iter()
        .find(|r| r["action"] == "UnTagResources")
        .unwrap();
    assert_eq!(untag["params"]["ResourceType"], "FLOWLOG");
    let listed = emu.call(
        "ListTagResources",
        &[
            ("RegionId", "cn-hangzhou"),
            ("ResourceType", "FLOWLOG"),
            ("ResourceId.1", &id),
        ],
    );
    assert_eq!(listed.0, 200, "{}", listed.1);
    assert_eq!(
        listed.1["TagResources"]["TagResource"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "{}",
        listed.1
    );

    // All removed.
    step(&tf, &emu, &basic(""));
    assert_eq!(values(&tf, "default")["tags"], Value::Null);

    // Moved to another resource group.
    step(
        &tf,
        &emu,
        &basic("  resource_group_id = \"rg-acfmxazb4ph6aiy0001\"\n"),
    );
    assert_eq!(actions(&emu, "MoveResourceGroup"), 1);
    assert_eq!(
        field(&emu, &id, "ResourceGroupId"),
        "rg-acfmxazb4ph6aiy0001"
    );
    assert_eq!(actions(&emu, "CreateFlowLog"), 1);
}

#[test]
fn deleted_outside_is_created_again_and_traffic_type_replaces() {
    let emu = Emulator::start(&json!([]), &["--activation-delay", "200ms"]);
    let tf = workspace(&emu, &basic(""));
    apply(&tf).assert_ok();
    let first = values(&tf, "default")["id"].as_str().unwrap().to_owned();

    // Deleted outside Terraform: removed from state by the refresh, created again.
    assert!(emu.delete(&first));
    let r = plan_exit(&tf);
    assert_eq!(r.code(), 2, "{}", r.all());
    assert!(r.stdout.contains("will be created"), "{}", r.stdout);
    apply(&tf).assert_ok();
    assert_empty_plan(&tf);
    let second = values(&tf, "default")["id"].as_str().unwrap().to_owned();
    assert_ne!(first, second);

    // A new traffic type replaces the flow log: the old one deleted, a new one created.
    tf.write(
        "main.tf",
        &config(&emu, &basic("").replace("\"All\"", "\"Drop\"")),
    );
    let r = plan_exit(&tf);
    assert_eq!(r.code(), 2, "{}", r.all());
    assert!(r.stdout.contains("must be replaced"), "{}", r.stdout);
    apply(&tf).assert_ok();
    assert_empty_plan(&tf);
    let third = values(&tf, "default")["id"].as_str().unwrap().to_owned();
    assert_ne!(second, third);
    assert!(
        emu.flow_log(&second).is_none(),
        "the replaced one is deleted"
    );
    assert_eq!(field(&emu, &third, "TrafficType"), "Drop");
}

/// The API refuses to create (a Log Service project that does not exist): an error with the
/// code, message and RequestId on `project_name`, and nothing in state.
#[test]
fn a_refused_creation_names_the_attribute_and_the_request() {
    let emu = Emulator::start(
        &json!([]),
        &["--activation-delay", "0", "--sls-project", "other-project"],
    );
    let tf = workspace(&emu, &basic(""));
    let r = apply(&tf);
    r.assert_failed();
    let out = r.all();
    assert!(out.contains("ProjectOrLogstoreNotExist"), "{out}");
    assert!(out.contains("RequestId"), "{out}");
    assert!(out.contains("project_name"), "{out}");
    assert!(tf.show_json(None)["values"].is_null(), "nothing recorded");
}

/// Plan-time checks: a vSwitch ID for a VPC flow log, a reserved tag key.
#[test]
fn bad_arguments_fail_the_plan_on_their_attribute() {
    let emu = Emulator::start(&json!([]), &[]);
    let tf = workspace(
        &emu,
        &basic("  tags = {\n    \"acs:owner\" = \"me\"\n  }\n")
            .replace("vpc-bp1qpo0kug3a20qqe0000", "vsw-bp1s8ld6y2m0dp2sp0000"),
    );
    let r = plan_exit(&tf);
    assert_eq!(r.code(), 1, "{}", r.all());
    let out = r.all();
    assert!(out.contains("Invalid resource_id"), "{out}");
    assert!(out.contains("takes an ID starting with \"vpc-\""), "{out}");
    assert!(out.contains("Invalid tag key"), "{out}");
    assert!(
        emu.requests().is_empty(),
        "no API call for a bad configuration"
    );
}

/// A state written by the official provider (tests/fixtures/official_vpc_flow_log.tfstate),
/// moved over with `terraform state replace-provider`: the plan is empty, and upgrading the
/// state needed no API call (a plan without refresh makes none).
#[test]
fn the_official_providers_state_moves_over_with_an_empty_plan() {
    let seed = json!([
        {"FlowLogId": "fl-officialplain0001", "RegionId": "cn-hangzhou", "Status": "Active",
         "ResourceType": "VPC", "ResourceId": "vpc-bp1qpo0kug3a20qqe0001", "TrafficType": "All",
         "ProjectName": "flow-project", "LogStoreName": "flow-store", "AggregationInterval": 10,
         "IpVersion": "IPv4", "ResourceGroupId": "rg-acfmxazb4ph6aiy0000",
         "CreationTime": "2024-05-01T08:00:00Z"},
        {"FlowLogId": "fl-officialtagged0002", "RegionId": "cn-hangzhou", "Status": "Inactive",
         "FlowLogName": "web-tier", "Description": "audited traffic",
         "ResourceType": "VSwitch", "ResourceId": "vsw-bp1s8ld6y2m0dp2sp0002", "TrafficType": "Drop",
         "ProjectName": "flow-project", "LogStoreName": "flow-store", "AggregationInterval": 10,
         "IpVersion": "IPv4", "ResourceGroupId": "rg-acfmxazb4ph6aiy0000",
         "CreationTime": "2024-05-02T09:30:00Z",
         "Tags": {"Tag": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "network"}]},
         "TrafficPath": {"TrafficPathList": ["all"]}}
    ]);
    let emu = Emulator::start(&seed, &["--activation-delay", "200ms"]);
    let tf = workspace(&emu, MIGRATED);
    tf.write("terraform.tfstate", OFFICIAL_STATE);

    tf.run(&[
        "state",
        "replace-provider",
        "-auto-approve",
        "-no-color",
        OFFICIAL,
        tfprovider::PROVIDER_ADDRESS,
    ])
    .assert_ok();
    let state: Value = serde_json::from_str(&tf.state_file()).unwrap();
    for r in state["resources"].as_array().unwrap() {
        assert!(
            r["provider"]
                .as_str()
                .unwrap()
                .contains("alicloud-rs/alicloud"),
            "{r}"
        );
    }

    emu.clear_requests();
    let r = tf.run(&[
        "plan",
        "-refresh=false",
        "-detailed-exitcode",
        "-input=false",
        "-no-color",
    ]);
    assert_eq!(r.code(), 0, "expected no changes:\n{}", r.all());
    assert!(
        emu.requests().is_empty(),
        "the upgrade called the API: {:?}",
        emu.requests()
    );

    // With a refresh too: what the API says matches, nothing to change.
    assert_empty_plan(&tf);
    apply(&tf).assert_ok();
    assert_eq!(actions(&emu, "CreateFlowLog"), 0);
    let state: Value = serde_json::from_str(&tf.state_file()).unwrap();
    for r in state["resources"].as_array().unwrap() {
        assert_eq!(r["instances"][0]["schema_version"], 1, "{r}");
    }
    let tagged = values(&tf, "tagged");
    assert_eq!(tagged["tags"], json!({"env": "prod", "team": "network"}));
    assert_eq!(tagged["aggregation_interval"], "10");
    assert_eq!(tagged["status"], "Inactive");
    assert_eq!(values(&tf, "plain")["description"], Value::Null);

    // And it is managed from here: a change goes through this provider.
    step(
        &tf,
        &emu,
        &MIGRATED.replace("audited traffic", "audited traffic, moved"),
    );
    assert_eq!(
        field(&emu, "fl-officialtagged0002", "Description"),
        "audited traffic, moved"
    );
    assert_eq!(field(&emu, "fl-officialtagged0002", "Status"), "Inactive");
}

/// A flow log the API creates but that fails to start (`Activating`, then back `Inactive`):
/// the apply fails saying so, the flow log is in state (tainted, not lost), and once the cause
/// is gone the next apply replaces it.
#[test]
fn a_creation_failing_in_the_background_is_kept_tainted_and_replaced() {
    // The emulator numbers the flow logs it creates: the first one is known in advance.
    let doomed = "fl-emu00000000000000001";
    let emu = Emulator::start(
        &json!([]),
        &[
            "--activation-delay",
            "300ms",
            "--background-fail-id",
            doomed,
        ],
    );
    let tf = workspace(&emu, &basic(""));
    let r = apply(&tf);
    r.assert_failed();
    let out = r.all();
    assert!(out.contains("went back to Inactive"), "{out}");
    assert!(
        out.contains(&format!("Flow log {doomed} was created but is not active")),
        "{out}"
    );
    let state = tf.show_json(None);
    let res = &state["values"]["root_module"]["resources"][0];
    assert_eq!(res["values"]["id"], doomed, "{state}");
    assert_eq!(res["values"]["status"], "Inactive");
    assert_eq!(res["tainted"], true, "{state}");

    emu.clear_faults();
    let r = plan_exit(&tf);
    assert_eq!(r.code(), 2, "{}", r.all());
    assert!(
        r.stdout.contains("is tainted, so must be replaced"),
        "{}",
        r.stdout
    );
    apply(&tf).assert_ok();
    assert_empty_plan(&tf);
    assert!(emu.flow_log(doomed).is_none(), "the failed one is deleted");
    let id = values(&tf, "default")["id"].as_str().unwrap().to_owned();
    assert_eq!(field(&emu, &id, "Status"), "Active");
}

/// Conflicts the official resource retries are retried within the timeout: one flow log, not
/// an error.
#[test]
fn conflicts_are_retried() {
    let emu = Emulator::start(&json!([]), &["--activation-delay", "100ms"]);
    emu.fail_next(2, "TaskConflict", &["CreateFlowLog"]);
    let tf = workspace(&emu, &basic(""));
    apply(&tf).assert_ok();
    assert_empty_plan(&tf);
    assert_eq!(actions(&emu, "CreateFlowLog"), 3);
    assert_eq!(emu.flow_logs().len(), 1);

    emu.fail_next(1, "OperationConflict", &["ModifyFlowLogAttribute"]);
    step(&tf, &emu, &basic("  description = \"after a conflict\"\n"));
    assert_eq!(actions(&emu, "ModifyFlowLogAttribute"), 2);

    emu.fail_next(1, "IncorrectStatus.flowlog", &["DeleteFlowLog"]);
    tf.run(&["destroy", "-auto-approve", "-input=false", "-no-color"])
        .assert_ok();
    assert_eq!(actions(&emu, "DeleteFlowLog"), 2);
    assert!(emu.flow_logs().is_empty());
}

/// An `import` block (Terraform 1.5+) with a `REGION:ID`: planned as an import, applied, then
/// an empty plan; import changes nothing in the cloud.
#[test]
fn an_import_block_takes_an_existing_flow_log() {
    let id = "fl-importblock0001";
    let seed = json!([{"FlowLogId": id, "RegionId": "cn-beijing", "Status": "Active",
        "FlowLogName": "imported", "ResourceType": "VPC", "ResourceId": "vpc-bp1qpo0kug3a20qqe0000",
        "TrafficType": "All", "ProjectName": "flow-project", "LogStoreName": "flow-store",
        "AggregationInterval": 10}]);
    let emu = Emulator::start(&seed, &["--activation-delay", "0"]);
    let body = format!(
        "import {{\n  to = alicloud_vpc_flow_log.default\n  id = \"cn-beijing:{id}\"\n}}\n\n{}",
        basic("  flow_log_name = \"imported\"\n  region_id = \"cn-beijing\"\n")
    );
    let tf = workspace(&emu, &body);
    let r = plan_exit(&tf);
    assert_eq!(r.code(), 2, "{}", r.all());
    assert!(r.stdout.contains("will be imported"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("1 to import, 0 to add, 0 to change, 0 to destroy"),
        "{}",
        r.stdout
    );
    apply(&tf).assert_ok();
    assert_empty_plan(&tf);
    assert_eq!(values(&tf, "default")["id"], id);
    assert_eq!(values(&tf, "default")["region_id"], "cn-beijing");
    let changes: Vec<Value> = emu
        .requests()
        .into_iter()
        .filter(|r| r["action"] != "DescribeFlowLogs")
        .collect();
    assert!(changes.is_empty(), "import changed something: {changes:?}");
}

/// In a configuration that keeps the official provider for its other resources
/// (`replace-provider` would move those too), naming this provider on the flow logs
/// (`provider = alicloudrs`) is the whole move: Terraform hands the state the official provider
/// wrote to the provider the configuration names, which upgrades it without an API call, and
/// the plan is empty. The official provider cannot be downloaded here, so its address is
/// dev-overridden to this repository's binary too: this shows what Terraform does with the
/// state (the provider the configuration names takes it over), not the official binary.
#[test]
fn in_a_mixed_configuration_naming_the_provider_moves_the_flow_logs() {
    let seed = json!([
        {"FlowLogId": "fl-officialplain0001", "RegionId": "cn-hangzhou", "Status": "Active",
         "ResourceType": "VPC", "ResourceId": "vpc-bp1qpo0kug3a20qqe0001", "TrafficType": "All",
         "ProjectName": "flow-project", "LogStoreName": "flow-store", "AggregationInterval": 10,
         "IpVersion": "IPv4"}
    ]);
    let emu = Emulator::start(&seed, &["--activation-delay", "0"]);
    let provider = provider_block(&emu);
    let body = format!(
        "terraform {{\n  required_providers {{\n    alicloud = {{\n      source = \"aliyun/alicloud\"\n    }}\n    alicloudrs = {{\n      source = \"alicloud-rs/alicloud\"\n    }}\n  }}\n}}\n\n{provider}\n{}\n{}",
        provider.replacen("provider \"alicloud\"", "provider \"alicloudrs\"", 1),
        MIGRATED
            .split("\nresource \"alicloud_vpc_flow_log\" \"tagged\"")
            .next()
            .unwrap()
            .replace(
                "resource \"alicloud_vpc_flow_log\" \"plain\" {\n",
                "resource \"alicloud_vpc_flow_log\" \"plain\" {\n  provider = alicloudrs\n\n"
            ),
    );
    let tf = Tf::new(&body);
    let plugin_dir = std::path::Path::new(crate::tf::PROVIDER_BIN)
        .parent()
        .unwrap();
    std::fs::write(
        tf.dir.path().join("terraform.rc"),
        format!(
            "provider_installation {{\n  dev_overrides {{\n    \"{ours}\" = \"{dir}\"\n    \"{OFFICIAL}\" = \"{dir}\"\n  }}\n  direct {{}}\n}}\n",
            ours = tfprovider::PROVIDER_ADDRESS,
            dir = plugin_dir.display()
        ),
    )
    .unwrap();
    let mut state: Value = serde_json::from_str(OFFICIAL_STATE).unwrap();
    state["resources"].as_array_mut().unwrap().truncate(1);
    tf.write("terraform.tfstate", &state.to_string());

    let r = tf.run(&[
        "plan",
        "-refresh=false",
        "-detailed-exitcode",
        "-input=false",
        "-no-color",
    ]);
    assert_eq!(r.code(), 0, "expected no changes:\n{}", r.all());
    assert!(emu.requests().is_empty(), "{:?}", emu.requests());
    assert_empty_plan(&tf);
    apply(&tf).assert_ok();
    let state: Value = serde_json::from_str(&tf.state_file()).unwrap();
    let r = &state["resources"][0];
    assert_eq!(
        r["provider"],
        format!("provider[\"{}\"]", tfprovider::PROVIDER_ADDRESS),
        "{r}"
    );
    assert_eq!(r["instances"][0]["schema_version"], 1, "{r}");
    assert_empty_plan(&tf);
}

/// 200 flow logs in one apply at Terraform's `-parallelism=100`: each is created exactly once
/// and is `Active` in the emulator and in the state, the next plan is empty, and destroy leaves
/// none. The calls per flow log are printed (figures, not assertions; `bench/flow_logs.py`
/// measures them against `terraform_data`).
#[test]
fn two_hundred_flow_logs_in_one_apply() {
    const COUNT: usize = 200;
    let emu = Emulator::start(&json!([]), &["--activation-delay", "1s"]);
    let body =
        include_str!("../fixtures/vpc_flow_log/many.tf").replace("COUNT", &COUNT.to_string());
    let tf = workspace(&emu, &body);
    tf.run(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-parallelism=100",
    ])
    .assert_ok();
    let created = actions(&emu, "CreateFlowLog");
    let described = actions(&emu, "DescribeFlowLogs");
    eprintln!(
        "200 flow logs created: CreateFlowLog {created}, DescribeFlowLogs {described}, {:.2} calls per flow log",
        (created + described) as f64 / COUNT as f64
    );
    assert_eq!(created, COUNT, "each flow log is created exactly once");
    let in_api = emu.flow_logs();
    assert_eq!(in_api.len(), COUNT);
    assert!(in_api.iter().all(|f| f["Status"] == "Active"), "{in_api:?}");
    let state = tf.show_json(None);
    let resources = state["values"]["root_module"]["resources"]
        .as_array()
        .unwrap();
    assert_eq!(resources.len(), COUNT);
    for r in resources {
        let id = r["values"]["id"].as_str().unwrap();
        assert_eq!(r["values"]["status"], "Active", "{id}");
        assert_eq!(field(&emu, id, "Status"), "Active", "{id}");
    }
    emu.clear_requests();
    assert_empty_plan(&tf);
    eprintln!(
        "refresh of 200: DescribeFlowLogs {}",
        actions(&emu, "DescribeFlowLogs")
    );
    emu.clear_requests();
    tf.run(&[
        "destroy",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-parallelism=100",
    ])
    .assert_ok();
    assert_eq!(actions(&emu, "DeleteFlowLog"), COUNT);
    assert!(emu.flow_logs().is_empty());
}
