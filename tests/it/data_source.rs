//! `alicloud_vpc_flow_logs` end to end: the real terraform CLI, the provider, and the emulator
//! as a real process; API calls counted with the emulator's stats.

use serde_json::{Value, json};

use crate::support::Emulator;
use crate::tf::{Run, Sign, Tf, header};

#[allow(clippy::too_many_arguments)]
fn fl(
    id: &str,
    region: &str,
    name: &str,
    status: &str,
    resource: (&str, &str),
    traffic: &str,
    sls: (&str, &str),
    description: &str,
    vpc: &str,
) -> Value {
    json!({
        "FlowLogId": id, "RegionId": region, "FlowLogName": name, "Status": status,
        "ResourceType": resource.0, "ResourceId": resource.1, "TrafficType": traffic,
        "ProjectName": sls.0, "LogStoreName": sls.1, "Description": description,
        "VpcId": vpc, "AggregationInterval": 10, "BusinessStatus": "Normal",
        "CreationTime": "2024-05-01T08:00:00Z"
    })
}

/// Flow logs that differ in every filtered field, in a non-sorted creation order.
fn seed() -> Value {
    const HZ: &str = "cn-hangzhou";
    json!([
        fl(
            "fl-web2",
            HZ,
            "web-2",
            "Inactive",
            ("VSwitch", "vsw-a1"),
            "Allow",
            ("proj-a", "store-b"),
            "web",
            "vpc-a"
        ),
        fl(
            "fl-web1",
            HZ,
            "web-1",
            "Active",
            ("VPC", "vpc-a"),
            "All",
            ("proj-a", "store-a"),
            "web",
            "vpc-a"
        ),
        fl(
            "fl-db1",
            HZ,
            "db-1",
            "Active",
            ("NetworkInterface", "eni-b1"),
            "Drop",
            ("proj-b", "store-a"),
            "db",
            "vpc-b"
        ),
        fl(
            "fl-sh1",
            "cn-shanghai",
            "web-sh",
            "Inactive",
            ("VPC", "vpc-s"),
            "All",
            ("proj-s", "store-s"),
            "sh",
            "vpc-s"
        ),
    ])
}

fn provider_block(emu: &Emulator, region: Option<&str>) -> String {
    signed_provider_block(emu, region, Sign::Default)
}

fn signed_provider_block(emu: &Emulator, region: Option<&str>, sign: Sign) -> String {
    let region = region.map_or(String::new(), |r| format!("  region     = \"{r}\"\n"));
    format!(
        "provider \"alicloud\" {{\n{region}  access_key = \"{}\"\n  secret_key = \"{}\"\n  protocol   = \"HTTP\"\n  endpoints {{\n    vpc = \"{}\"\n  }}\n{}}}\n",
        emu.access_key_id,
        emu.access_key_secret,
        emu.base_url,
        sign.block()
    )
}

fn workspace(emu: &Emulator, body: &str) -> Tf {
    signed_workspace(emu, body, Sign::Default)
}

fn signed_workspace(emu: &Emulator, body: &str, sign: Sign) -> Tf {
    let mut tf = Tf::new(&format!(
        "{}\n{}\n{body}",
        header(),
        signed_provider_block(emu, Some("cn-hangzhou"), sign)
    ));
    sign.apply(&mut tf);
    tf
}

/// A data source with `args`, and an output of its `ids`.
fn data(name: &str, args: &str) -> String {
    format!(
        "data \"alicloud_vpc_flow_logs\" \"{name}\" {{\n{args}\n}}\noutput \"{name}\" {{\n  value = data.alicloud_vpc_flow_logs.{name}.ids\n}}\n"
    )
}

fn apply(tf: &Tf) -> Run {
    tf.run(&["apply", "-auto-approve", "-input=false", "-no-color"])
}

fn plan(tf: &Tf) -> Run {
    tf.run(&["plan", "-input=false", "-no-color"])
}

fn outputs(tf: &Tf) -> Value {
    let r = tf.run(&["output", "-json", "-no-color"]);
    r.assert_ok();
    let all: Value = serde_json::from_str(&r.stdout).unwrap();
    let mut out = serde_json::Map::new();
    for (k, v) in all.as_object().unwrap() {
        out.insert(k.clone(), v["value"].clone());
    }
    Value::Object(out)
}

fn describe_calls(emu: &Emulator) -> u64 {
    emu.stats()["calls"]["DescribeFlowLogs"]
        .as_u64()
        .unwrap_or(0)
}

/// Bulk flow logs `fl-bulk0000..`, in `region`, half of them Inactive.
pub fn bulk(n: usize, region: &str) -> Value {
    Value::Array(
        (0..n)
            .map(|i| {
                json!({
                    "FlowLogId": format!("fl-bulk{i:04}"), "RegionId": region,
                    "FlowLogName": format!("bulk-{i}"),
                    "Status": if i % 2 == 0 { "Active" } else { "Inactive" },
                    "ResourceType": "VSwitch", "ResourceId": format!("vsw-bulk{i:04}"),
                    "TrafficType": "All", "ProjectName": "p", "LogStoreName": "s",
                    "VpcId": "vpc-bulk", "AggregationInterval": 10
                })
            })
            .collect(),
    )
}

#[test]
fn pages_of_50_more_than_50_flow_logs() {
    pages_of_50(Sign::Default).assert_signed_with("v1");
}

/// 123 flow logs read in 3 pages of 50, sorted, names aligned; the emulator, for its log.
pub(crate) fn pages_of_50(sign: Sign) -> Emulator {
    let emu = Emulator::start(&json!([]), &[]);
    let n = 123;
    emu.upsert_many(&bulk(n, "cn-hangzhou"));
    emu.clear_stats();
    let tf = signed_workspace(
        &emu,
        &format!(
            "{}output \"names\" {{\n  value = data.alicloud_vpc_flow_logs.all.names\n}}\n",
            data("all", "")
        ),
        sign,
    );
    apply(&tf).assert_ok();
    // Every page is asked for once, at the API's largest page size: ceil(123 / 50) = 3.
    assert_eq!(
        describe_calls(&emu),
        n.div_ceil(50) as u64,
        "{}",
        emu.stats()
    );
    let sizes: Vec<Value> = emu
        .requests()
        .iter()
        .filter(|r| r["action"] == "DescribeFlowLogs")
        .map(|r| r["params"]["PageSize"].clone())
        .collect();
    assert!(sizes.iter().all(|s| s == "50"), "{sizes:?}");
    let out = outputs(&tf);
    let ids = out["all"].as_array().unwrap();
    assert_eq!(ids.len(), n);
    let mut sorted = ids.clone();
    sorted.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    assert_eq!(ids, &sorted, "sorted by ID");
    assert_eq!(out["names"][122], "bulk-122", "names aligned with ids");
    emu
}

#[test]
fn every_filter() {
    let emu = Emulator::start(&seed(), &[]);
    let cases: [(&str, &str, &[&str]); 13] = [
        ("none", "", &["fl-db1", "fl-web1", "fl-web2"]),
        ("status", "status = \"Inactive\"", &["fl-web2"]),
        ("rtype", "resource_type = \"NetworkInterface\"", &["fl-db1"]),
        ("rid", "resource_id = \"vsw-a1\"", &["fl-web2"]),
        ("traffic", "traffic_type = \"All\"", &["fl-web1"]),
        ("name", "flow_log_name = \"db-1\"", &["fl-db1"]),
        (
            "project",
            "project_name = \"proj-a\"",
            &["fl-web1", "fl-web2"],
        ),
        (
            "store",
            "log_store_name = \"store-a\"",
            &["fl-db1", "fl-web1"],
        ),
        ("desc", "description = \"db\"", &["fl-db1"]),
        ("vpc", "vpc_id = \"vpc-a\"", &["fl-web1", "fl-web2"]),
        ("region", "region_id = \"cn-shanghai\"", &["fl-sh1"]),
        ("one_id", "ids = [\"fl-web1\"]", &["fl-web1"]),
        (
            "ids_regex",
            "ids = [\"fl-web2\", \"fl-db1\", \"fl-web1\"]\n  name_regex = \"^web-\"",
            &["fl-web1", "fl-web2"],
        ),
    ];
    let body: String = cases.iter().map(|(n, a, _)| data(n, a)).collect();
    let tf = workspace(&emu, &body);
    apply(&tf).assert_ok();
    let out = outputs(&tf);
    for (name, args, want) in cases {
        assert_eq!(out[name], json!(want), "{name}: {args}");
    }
    // The API filters what it can: the status filter went to DescribeFlowLogs, one ID as
    // FlowLogId, and description (which the API ignores) was never sent.
    let params: Vec<Value> = emu
        .requests()
        .iter()
        .filter(|r| r["action"] == "DescribeFlowLogs")
        .map(|r| r["params"].clone())
        .collect();
    assert!(params.iter().any(|p| p["Status"] == "Inactive"));
    assert!(params.iter().any(|p| p["VpcId"] == "vpc-a"));
    assert!(params.iter().any(|p| p["FlowLogId"] == "fl-web1"));
    assert!(params.iter().all(|p| p.get("Description").is_none()));
    // The data source read only.
    assert_eq!(emu.stats()["calls"].as_object().unwrap().len(), 1);
}

#[test]
fn exports_logs_and_writes_output_file() {
    let emu = Emulator::start(&seed(), &[]);
    let tf = workspace(
        &emu,
        "data \"alicloud_vpc_flow_logs\" \"a\" {\n  vpc_id      = \"vpc-a\"\n  output_file = \"${path.module}/flow_logs.json\"\n}\noutput \"all\" {\n  value = data.alicloud_vpc_flow_logs.a\n}\n",
    );
    apply(&tf).assert_ok();
    let a = &outputs(&tf)["all"];
    assert_eq!(a["ids"], json!(["fl-web1", "fl-web2"]));
    assert_eq!(a["names"], json!(["web-1", "web-2"]));
    assert_eq!(a["region_id"], "cn-hangzhou");
    assert!(a["id"].as_str().is_some_and(|s| !s.is_empty()));
    let l = &a["logs"][1];
    for (k, v) in [
        ("id", json!("fl-web2")),
        ("flow_log_id", json!("fl-web2")),
        ("flow_log_name", json!("web-2")),
        ("description", json!("web")),
        ("status", json!("Inactive")),
        ("resource_type", json!("VSwitch")),
        ("resource_id", json!("vsw-a1")),
        ("traffic_type", json!("Allow")),
        ("project_name", json!("proj-a")),
        ("log_store_name", json!("store-b")),
        ("business_status", json!("Normal")),
        ("aggregation_interval", json!(10)),
        ("creation_time", json!("2024-05-01T08:00:00Z")),
        ("region_id", json!("cn-hangzhou")),
    ] {
        assert_eq!(l[k], v, "logs[1].{k}");
    }
    let text = std::fs::read_to_string(tf.work_dir().join("flow_logs.json")).unwrap();
    assert!(text.starts_with("[\n\t{"), "pretty-printed:\n{text}");
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file, a["logs"], "the file holds the logs list");
}

#[test]
fn empty_result_is_not_an_error() {
    let emu = Emulator::start(&seed(), &[]);
    let tf = workspace(
        &emu,
        &format!(
            "{}output \"logs\" {{\n  value = data.alicloud_vpc_flow_logs.none.logs\n}}\n",
            data("none", "  name_regex = \"^nothing$\"\n  vpc_id = \"vpc-a\"")
        ),
    );
    apply(&tf).assert_ok();
    let out = outputs(&tf);
    assert_eq!(out["none"], json!([]));
    assert_eq!(out["logs"], json!([]));
}

#[test]
fn bad_input_names_the_attribute_and_calls_nothing() {
    let emu = Emulator::start(&seed(), &[]);
    emu.clear_stats();
    let cases = [
        ("status = \"active\"", "Invalid status"),
        ("resource_type = \"Vpc\"", "Invalid resource_type"),
        ("traffic_type = \"Rejected\"", "Invalid traffic_type"),
        ("name_regex = \"web-(\"", "Invalid regular expression"),
        ("region_id = \"Hangzhou\"", "Invalid region ID"),
    ];
    for (args, summary) in cases {
        let tf = workspace(&emu, &data("bad", &format!("  {args}")));
        let r = plan(&tf);
        r.assert_failed();
        let all = r.all();
        assert!(all.contains(&format!("Error: {summary}")), "{args}:\n{all}");
        // Terraform quotes the offending line: the diagnostic carries the attribute path.
        let attr = args.split(" =").next().unwrap();
        let quoted = format!("{attr} = ");
        assert!(
            all.lines().any(|l| l.contains(&quoted) && l.contains(':')),
            "{args}: attribute not pointed at:\n{all}"
        );
    }
    assert_eq!(
        describe_calls(&emu),
        0,
        "validation never calls the API: {}",
        emu.stats()
    );
    // An ID that is not shaped like one is no error (the official data source takes any
    // string): a warning on the element, and it matches nothing.
    let tf = workspace(&emu, &data("odd", "  ids = [\"fl-web1\", \"FL-BAD\"]"));
    let r = apply(&tf);
    r.assert_ok();
    let all = r.all();
    assert!(all.contains("Warning: Not a flow log ID"), "{all}");
    assert!(all.contains("\"FL-BAD\""), "{all}");
    assert!(
        all.lines().any(|l| l.contains("ids = ") && l.contains(':')),
        "the warning points at ids:\n{all}"
    );
    assert_eq!(outputs(&tf)["odd"], json!(["fl-web1"]));
}

#[test]
fn unknown_region_is_an_api_error_on_region_id() {
    let emu = Emulator::start(&seed(), &[]);
    let tf = workspace(&emu, &data("x", "  region_id = \"cn-nowhere-1\""));
    let r = plan(&tf);
    r.assert_failed();
    let all = r.all();
    assert!(all.contains("InvalidRegionId.NotFound"), "{all}");
    assert!(all.contains("RequestId:"), "{all}");
    assert!(all.contains("region_id = \"cn-nowhere-1\""), "{all}");
}

#[test]
fn no_region_anywhere_is_an_error_on_region_id() {
    let emu = Emulator::start(&seed(), &[]);
    let tf = Tf::new(&format!(
        "{}\n{}\n{}",
        header(),
        provider_block(&emu, None),
        data("x", "")
    ));
    let r = plan(&tf);
    r.assert_failed();
    assert!(r.all().contains("Error: No region"), "{}", r.all());
    assert_eq!(describe_calls(&emu), 0);
}

/// The compliance example, as shipped, pointed at the emulator.
fn compliance_workspace(emu: &Emulator, vpc_ids: &[&str]) -> Tf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/compliance");
    let tf = Tf::new("");
    std::fs::remove_file(tf.work_dir().join("main.tf")).unwrap();
    copy_dir(&root, &tf.work_dir());
    tf.write(
        "provider_override.tf",
        &provider_block(emu, Some("cn-hangzhou")),
    );
    tf.write(
        "terraform.tfvars.json",
        &json!({ "vpc_ids": vpc_ids }).to_string(),
    );
    tf
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else if entry.path().extension().is_some_and(|e| e == "tf") {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

#[test]
fn check_block_warns_about_an_inactive_flow_log() {
    let emu = Emulator::start(&seed(), &[]);
    let tf = compliance_workspace(&emu, &["vpc-a", "vpc-b"]);
    // Installs the local module only: `init` would look the dev-overridden provider up too.
    tf.run(&["get", "-no-color"]).assert_ok();
    // A failed check is a warning: the plan succeeds. (Not -detailed-exitcode: Terraform
    // always plans a check's data source to be read again during apply, which counts as a
    // change.)
    let r = plan(&tf);
    r.assert_ok();
    let all = r.all();
    assert!(
        all.contains("Warning: Check block assertion failed"),
        "{all}"
    );
    assert!(
        all.contains("fl-web2"),
        "names the inactive flow log:\n{all}"
    );
    assert!(!all.contains("fl-db1 "), "{all}");
    assert_eq!(emu.stats()["calls"].as_object().unwrap().len(), 1);

    // Someone turns it on: the same plan has no warning.
    emu.upsert("fl-web2", &json!({"Status": "Active"}));
    let r = plan(&tf);
    r.assert_ok();
    assert!(!r.all().contains("Warning: Check block"), "{}", r.all());
    assert!(
        r.stdout.contains("0 to add, 0 to change, 0 to destroy"),
        "{}",
        r.stdout
    );
}

/// The official provider's own acceptance cases for this data source
/// (`TestAccAlicloudVPCFlowLogsDataSource`), each filter combination with the values of an
/// existing flow log and with values that cannot match, and the same attribute checks.
#[test]
fn official_acceptance_cases_exist_and_fake() {
    let id = "fl-accport7305";
    let name = "tf-testAccFlowLog-7305";
    let emu = Emulator::start(
        &json!([{
            "FlowLogId": id, "RegionId": "cn-hangzhou", "Status": "Active",
            "FlowLogName": name, "Description": name,
            "LogStoreName": "vpc-flow-log-for-vpc", "ProjectName": "vpc-flow-log-for-vpc",
            "ResourceId": "vpc-accport7305", "ResourceType": "VPC", "TrafficType": "All"
        }]),
        &["--activation-delay", "0"],
    );
    let tf = Tf::new(&format!(
        "{}\n{}",
        header(),
        include_str!("../fixtures/official_flow_logs_cases.tf")
    ));
    tf.write(
        "terraform.tfvars.json",
        &json!({
            "flow_log_id": id, "name": name, "endpoint": emu.base_url,
            "access_key": emu.access_key_id, "secret_key": emu.access_key_secret
        })
        .to_string(),
    );
    let r = apply(&tf);
    r.assert_ok();
    // A fake ID is no error; the warning names it.
    assert!(r.all().contains("Not a flow log ID"), "{}", r.all());
    let state = tf.show_json(None);
    let sources = state["values"]["root_module"]["resources"]
        .as_array()
        .unwrap()
        .clone();
    let values = |name: &str| -> Value {
        sources
            .iter()
            .find(|r| r["mode"] == "data" && r["name"] == name)
            .unwrap_or_else(|| panic!("data source {name} not in state"))["values"]
            .clone()
    };
    for case in [
        "ids",
        "description",
        "flow_log_name",
        "name_regex",
        "status",
        "all",
    ] {
        let exist = values(&format!("{case}_exist"));
        assert_eq!(exist["ids"], json!([id]), "{case}: ids");
        assert_eq!(exist["names"], json!([name]), "{case}: names");
        let logs = exist["logs"].as_array().unwrap();
        assert_eq!(logs.len(), 1, "{case}: logs.#");
        let log = &logs[0];
        for (attr, want) in [
            ("description", name),
            ("flow_log_name", name),
            ("log_store_name", "vpc-flow-log-for-vpc"),
            ("project_name", "vpc-flow-log-for-vpc"),
            ("resource_type", "VPC"),
            ("traffic_type", "All"),
            ("status", "Active"),
        ] {
            assert_eq!(log[attr], want, "{case}: logs.0.{attr}");
        }
        assert!(
            log["resource_id"].as_str().is_some_and(|s| !s.is_empty()),
            "{case}: logs.0.resource_id is set"
        );
        let fake = values(&format!("{case}_fake"));
        assert_eq!(fake["ids"], json!([]), "{case} fake: ids.#");
        assert_eq!(fake["names"], json!([]), "{case} fake: names.#");
    }
}
