//! The emulator's flow-log lifecycle over real HTTP, signed with signature v1 as the official
//! SDKs send it: `CreateFlowLog`, `DeleteFlowLog`, `ModifyFlowLogAttribute`,
//! `MoveResourceGroup`, the three tag operations, tags and resource groups in
//! `DescribeFlowLogs`, each phase (`Activating`, `Modifying`, `Deleting`), the refusals while
//! a change is under way, and what exists around a flow log (`--sls-*`, `--vpc-resource`,
//! `/_emulator/world`).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Emulator, encode_params, sign_params};

const HZ: (&str, &str) = ("RegionId", "cn-hangzhou");
/// Long enough that no phase ends while a test looks at it, however loaded the machine.
const LONG: &[&str] = &["--activation-delay", "120s"];
const NOW: &[&str] = &["--activation-delay", "0"];
const FIRST: &str = "fl-emu00000000000000001";

#[track_caller]
fn assert_error(r: &(u16, Value), status: u16, code: &str) {
    let (s, v) = r;
    assert_eq!((*s, v["Code"].as_str()), (status, Some(code)), "{v}");
    assert_eq!(v["RequestId"].as_str().map(str::len), Some(36), "{v}");
    assert!(v["Message"].is_string() && v["HostId"].is_string(), "{v}");
}

#[track_caller]
fn assert_ok(r: &(u16, Value)) -> Value {
    assert_eq!(r.0, 200, "{}", r.1);
    assert!(r.1["RequestId"].is_string(), "{}", r.1);
    r.1.clone()
}

/// The required arguments of CreateFlowLog plus `extra` (which may repeat one to override).
fn create_args<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut args = vec![
        HZ,
        ("ResourceType", "VPC"),
        ("ResourceId", "vpc-abc123"),
        ("TrafficType", "All"),
        ("ProjectName", "my-project"),
        ("LogStoreName", "my-logstore"),
    ];
    for (k, v) in extra {
        args.retain(|(a, _)| a != k);
        args.push((k, v));
    }
    args
}

fn create(emu: &Emulator, extra: &[(&str, &str)]) -> (u16, Value) {
    emu.call("CreateFlowLog", &create_args(extra))
}

fn describe_one(emu: &Emulator, id: &str) -> Option<Value> {
    let v = assert_ok(&emu.call("DescribeFlowLogs", &[HZ, ("FlowLogId", id)]));
    v["FlowLogs"]["FlowLog"].get(0).cloned()
}

fn status(emu: &Emulator, id: &str) -> String {
    describe_one(emu, id)
        .and_then(|f| f["Status"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "<gone>".to_owned())
}

fn wait_for(emu: &Emulator, id: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = status(emu, id);
        if s == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{id} stuck in {s}, wanted {want}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn ids_of(v: &Value) -> Vec<String> {
    v["FlowLogs"]["FlowLog"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["FlowLogId"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn create_answers_the_id_and_describe_shows_every_field() {
    let emu = Emulator::start(&json!([]), NOW);
    let v = assert_ok(&create(
        &emu,
        &[
            ("ResourceType", "VSwitch"),
            ("ResourceId", "vsw-abc123"),
            ("TrafficType", "Drop"),
            ("FlowLogName", "web"),
            ("Description", "the web tier"),
            ("AggregationInterval", "1"),
            ("TrafficPath.1", "all"),
            ("TrafficPath.2", "internetGateway"),
            ("IpVersion", "DualStack"),
            ("ResourceGroupId", "rg-team1"),
            ("Tag.1.Key", "env"),
            ("Tag.1.Value", "prod"),
            ("Tag.2.Key", "empty"),
        ],
    ));
    assert_eq!(v["Success"], "true");
    assert_eq!(v["FlowLogId"], FIRST);
    assert_eq!(v["ResourceGroupId"], "rg-team1");
    let fl = describe_one(&emu, FIRST).expect("created flow log listed");
    for (k, want) in [
        ("Status", json!("Active")),
        ("RegionId", json!("cn-hangzhou")),
        ("ResourceType", json!("VSwitch")),
        ("ResourceId", json!("vsw-abc123")),
        ("TrafficType", json!("Drop")),
        ("ProjectName", json!("my-project")),
        ("LogStoreName", json!("my-logstore")),
        ("FlowLogName", json!("web")),
        ("Description", json!("the web tier")),
        ("AggregationInterval", json!(1)),
        ("IpVersion", json!("DualStack")),
        ("ResourceGroupId", json!("rg-team1")),
        ("BusinessStatus", json!("Normal")),
        (
            "TrafficPath",
            json!({"TrafficPathList": ["all", "internetGateway"]}),
        ),
        (
            "Tags",
            json!({"Tag": [{"Key": "env", "Value": "prod"}, {"Key": "empty", "Value": ""}]}),
        ),
    ] {
        assert_eq!(fl[k], want, "{k} in {fl}");
    }
    assert!(
        fl["CreationTime"].as_str().is_some_and(|t| t.len() == 20),
        "{fl}"
    );

    // Defaults, and the next ID.
    let v = assert_ok(&create(&emu, &[]));
    assert_eq!(v["FlowLogId"], "fl-emu00000000000000002");
    assert_eq!(v["ResourceGroupId"], "rg-emulatordefault00");
    let fl = describe_one(&emu, "fl-emu00000000000000002").expect("listed");
    assert_eq!(fl["AggregationInterval"], 10);
    assert_eq!(fl["IpVersion"], "IPv4");
    assert_eq!(fl["FlowLogName"], "");
    assert_eq!(fl["TrafficPath"], json!({"TrafficPathList": ["all"]}));
    assert_eq!(fl["Tags"], json!({"Tag": []}));

    // XML, as a v1 caller without Format gets it.
    let mut p = emu.params("CreateFlowLog", &create_args(&[]));
    p.retain(|(k, _)| k != "Format");
    sign_params("POST", &mut p, &emu.access_key_secret);
    let r = emu.http(
        "POST",
        "/",
        Some("application/x-www-form-urlencoded"),
        encode_params(&p).as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("<CreateFlowLogResponse>")
            && r.body
                .contains("<FlowLogId>fl-emu00000000000000003</FlowLogId>"),
        "{}",
        r.body
    );
}

#[test]
fn create_goes_through_activating() {
    let emu = Emulator::start(&json!([]), LONG);
    assert_ok(&create(&emu, &[]));
    assert_eq!(status(&emu, FIRST), "Activating");
    // Activating is busy: every change is refused.
    for action in [
        "ActiveFlowLog",
        "DeactiveFlowLog",
        "ModifyFlowLogAttribute",
        "DeleteFlowLog",
    ] {
        let r = emu.call(action, &[HZ, ("FlowLogId", FIRST), ("Description", "x")]);
        assert_error(&r, 400, "IncorrectStatus.flowlog");
    }
    let quick = Emulator::start(&json!([]), &["--activation-delay", "300ms"]);
    assert_ok(&create(&quick, &[]));
    wait_for(&quick, FIRST, "Active");
}

#[test]
fn create_refuses_bad_arguments() {
    let emu = Emulator::start(&json!([]), NOW);
    for missing in [
        "ResourceType",
        "ResourceId",
        "TrafficType",
        "ProjectName",
        "LogStoreName",
    ] {
        let mut args = create_args(&[]);
        args.retain(|(k, _)| *k != missing);
        let r = emu.call("CreateFlowLog", &args);
        assert_error(&r, 400, "MissingParameter");
        assert!(
            r.1["Message"].as_str().unwrap_or("").contains(missing),
            "{}",
            r.1
        );
    }
    let long_name = "n".repeat(129);
    let long_description = "d".repeat(257);
    for (name, value) in [
        ("ResourceType", "Router"),
        ("TrafficType", "all"),
        ("AggregationInterval", "2"),
        ("AggregationInterval", "ten"),
        ("FlowLogName", long_name.as_str()),
        ("FlowLogName", "http://x"),
        ("Description", long_description.as_str()),
        ("Description", "https://x"),
        ("IpVersion", "IPv6"),
        ("ResourceGroupId", "group-1"),
        ("TrafficPath.1", "everything"),
        ("TrafficPath.0", "all"),
    ] {
        let r = create(&emu, &[(name, value)]);
        assert_error(&r, 400, "InvalidParameter");
        let param = name.split('.').next().unwrap_or(name);
        assert!(
            r.1["Message"].as_str().unwrap_or("").contains(param),
            "{name}={value}: {}",
            r.1
        );
    }
    // Tag rules.
    for (args, code) in [
        (
            vec![("Tag.1.Key", "aliyun-owned")],
            "InvalidTagKey.Malformed",
        ),
        (vec![("Tag.1.Key", "acs:x")], "InvalidTagKey.Malformed"),
        (
            vec![("Tag.1.Key", "k"), ("Tag.1.Value", "see http://x")],
            "InvalidTagValue.Malformed",
        ),
        (vec![("Tag.1.Value", "orphan")], "MissingParameter"),
    ] {
        assert_error(&create(&emu, &args), 400, code);
    }
    let keys: Vec<String> = (1..=21).map(|n| format!("Tag.{n}.Key")).collect();
    let values: Vec<String> = (1..=21).map(|n| format!("k{n}")).collect();
    let many: Vec<(&str, &str)> = keys
        .iter()
        .zip(&values)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_error(&create(&emu, &many), 400, "QuotaExceeded.TagNum");
    assert_ok(&create(&emu, &many[..20]));
    // Nothing was created by a refused call: only the last one exists.
    assert_eq!(emu.flow_logs().len(), 1);
}

/// CreateFlowLog's arguments for the listed world below, with `extra` overriding.
fn listed_args<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut args = vec![
        ("ResourceId", "vpc-one"),
        ("ProjectName", "proj-b"),
        ("LogStoreName", "store-b"),
    ];
    args.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    args.extend_from_slice(extra);
    create_args(&args)
}

#[test]
fn create_needs_the_resource_project_and_logstore_to_exist() {
    // Open world: a resource ID of the wrong kind, or a name Log Service would refuse, does
    // not exist.
    let emu = Emulator::start(&json!([]), NOW);
    for (args, status, code) in [
        (
            vec![("ResourceId", "vsw-abc123")],
            404,
            "InvalidVpcId.NotFound",
        ),
        (
            vec![("ResourceType", "VSwitch"), ("ResourceId", "vpc-abc123")],
            404,
            "InvalidVSwitchId.NotFound",
        ),
        (
            vec![
                ("ResourceType", "NetworkInterface"),
                ("ResourceId", "eni-ABC"),
            ],
            404,
            "InvalidEniId.NotFound",
        ),
        (
            vec![("ProjectName", "FlowLogProject")],
            400,
            "ProjectOrLogstoreNotExist",
        ),
        (
            vec![("LogStoreName", "_store")],
            400,
            "ProjectOrLogstoreNotExist",
        ),
    ] {
        assert_error(&create(&emu, &args), status, code);
    }
    assert_ok(&create(
        &emu,
        &[
            ("ResourceType", "NetworkInterface"),
            ("ResourceId", "eni-abc"),
        ],
    ));

    // Listed worlds.
    let emu = Emulator::start(
        &json!([]),
        &[
            "--activation-delay",
            "0",
            "--sls-project",
            "proj-a",
            "--sls-logstore",
            "proj-b/store-b",
            "--vpc-resource",
            "vpc-one,vsw-two",
        ],
    );
    assert_ok(&emu.call("CreateFlowLog", &listed_args(&[])));
    assert_ok(&emu.call(
        "CreateFlowLog",
        &listed_args(&[("ResourceType", "VSwitch"), ("ResourceId", "vsw-two")]),
    ));
    let r = emu.call(
        "CreateFlowLog",
        &listed_args(&[("ResourceId", "vpc-three")]),
    );
    assert_error(&r, 404, "InvalidVpcId.NotFound");
    assert!(
        r.1["Message"].as_str().unwrap_or("").contains("vpc-three"),
        "{}",
        r.1
    );
    let r = emu.call("CreateFlowLog", &listed_args(&[("ProjectName", "proj-c")]));
    assert_error(&r, 400, "ProjectOrLogstoreNotExist");
    assert!(
        r.1["Message"].as_str().unwrap_or("").contains("proj-c"),
        "{}",
        r.1
    );
    // proj-a is listed but, with logstores listed, has none.
    let r = emu.call("CreateFlowLog", &listed_args(&[("ProjectName", "proj-a")]));
    assert_error(&r, 400, "ProjectOrLogstoreNotExist");
    let r = emu.call("CreateFlowLog", &listed_args(&[("LogStoreName", "other")]));
    assert_error(&r, 400, "ProjectOrLogstoreNotExist");
    assert!(
        r.1["Message"].as_str().unwrap_or("").contains("other"),
        "{}",
        r.1
    );

    // The world changes at run time.
    let w = emu.control("GET", "/world", None).json();
    assert_eq!(w["vpc_resources"], json!(["vpc-one", "vsw-two"]));
    let r = emu.control(
        "POST",
        "/world",
        Some(&json!({"vpc_resources": null, "sls_logstores": ["proj-b/other"]})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_ok(&emu.call(
        "CreateFlowLog",
        &listed_args(&[("ResourceId", "vpc-three"), ("LogStoreName", "other")]),
    ));
    let r = emu.control(
        "POST",
        "/world",
        Some(&json!({"sls_projects": ["NOT VALID"]})),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        emu.control("GET", "/world", None).json()["sls_projects"],
        json!(["proj-a"])
    );
    assert_eq!(emu.control("DELETE", "/world", None).status, 405);
}

#[test]
fn a_creation_can_fail_in_the_background() {
    // The first ID is known in advance, so a test can doom it.
    let emu = Emulator::start(
        &json!([]),
        &["--activation-delay", "0", "--background-fail-id", FIRST],
    );
    assert_ok(&create(&emu, &[]));
    assert_eq!(status(&emu, FIRST), "Inactive");
    assert_ok(&create(&emu, &[]));
    assert_eq!(status(&emu, "fl-emu00000000000000002"), "Active");

    let slow = Emulator::start(
        &json!([]),
        &["--activation-delay", "300ms", "--background-fail-rate", "1"],
    );
    let v = assert_ok(&create(&slow, &[]));
    assert_eq!(v["Success"], "true");
    let st = status(&slow, FIRST);
    assert!(st == "Activating" || st == "Inactive", "{st}");
    wait_for(&slow, FIRST, "Inactive");

    let vanishing = Emulator::start(
        &json!([]),
        &["--activation-delay", "0", "--background-delete-id", FIRST],
    );
    assert_ok(&create(&vanishing, &[]));
    assert_eq!(status(&vanishing, FIRST), "<gone>");
}

#[test]
fn delete_goes_through_deleting_then_the_flow_log_is_gone() {
    let seed = json!([
        {"FlowLogId": "fl-active", "Status": "Active"},
        {"FlowLogId": "fl-managed", "Status": "Active", "ServiceType": "sls"},
        {"FlowLogId": "fl-beijing", "RegionId": "cn-beijing", "Status": "Active"}
    ]);
    let emu = Emulator::start(&seed, LONG);
    let r = assert_ok(&emu.call("DeleteFlowLog", &[HZ, ("FlowLogId", "fl-active")]));
    assert_eq!(r["Success"], "true");
    assert_eq!(status(&emu, "fl-active"), "Deleting");
    let listed = assert_ok(&emu.call("DescribeFlowLogs", &[HZ, ("Status", "Deleting")]));
    assert_eq!(ids_of(&listed), ["fl-active"]);
    for action in [
        "DeleteFlowLog",
        "ActiveFlowLog",
        "DeactiveFlowLog",
        "ModifyFlowLogAttribute",
    ] {
        let r = emu.call(
            action,
            &[HZ, ("FlowLogId", "fl-active"), ("FlowLogName", "x")],
        );
        assert_error(&r, 400, "IncorrectStatus.flowlog");
        assert!(
            r.1["Message"].as_str().unwrap_or("").contains("Deleting"),
            "{}",
            r.1
        );
    }
    let r = emu.call("DeleteFlowLog", &[HZ, ("FlowLogId", "fl-nope")]);
    assert_error(&r, 404, "InvalidInstanceId.NotFound");
    // Another region's flow log is not found here.
    let r = emu.call("DeleteFlowLog", &[HZ, ("FlowLogId", "fl-beijing")]);
    assert_error(&r, 404, "InvalidInstanceId.NotFound");
    assert_error(
        &emu.call("DeleteFlowLog", &[HZ, ("FlowLogId", "fl-managed")]),
        403,
        "Forbidden.OperateManagedFlowLog",
    );
    assert_error(&emu.call("DeleteFlowLog", &[HZ]), 400, "MissingParameter");

    let quick = Emulator::start(&seed, &["--activation-delay", "300ms"]);
    assert_ok(&quick.call("DeleteFlowLog", &[HZ, ("FlowLogId", "fl-active")]));
    wait_for(&quick, "fl-active", "<gone>");
    assert!(quick.flow_log("fl-active").is_none());
    assert_error(
        &quick.call("DeleteFlowLog", &[HZ, ("FlowLogId", "fl-active")]),
        404,
        "InvalidInstanceId.NotFound",
    );
}

#[test]
fn modify_goes_through_modifying_and_back_to_the_status_it_had() {
    let seed = json!([
        {"FlowLogId": "fl-inactive", "Status": "Inactive", "FlowLogName": "old", "Description": "old"},
        {"FlowLogId": "fl-active", "Status": "Active", "FlowLogName": "old"},
        {"FlowLogId": "fl-locked", "Status": "Active", "BusinessStatus": "FinancialLocked"}
    ]);
    let emu = Emulator::start(&seed, LONG);
    let changes = [
        HZ,
        ("FlowLogId", "fl-active"),
        ("FlowLogName", "new"),
        ("Description", "new"),
        ("AggregationInterval", "5"),
        ("IpVersion", "IPv4"),
    ];
    assert_eq!(
        assert_ok(&emu.call("ModifyFlowLogAttribute", &changes))["Success"],
        "true"
    );
    let fl = describe_one(&emu, "fl-active").expect("listed");
    // Under way: the old values show until it settles.
    assert_eq!(
        (fl["Status"].as_str(), fl["FlowLogName"].as_str()),
        (Some("Modifying"), Some("old"))
    );
    for action in [
        "ModifyFlowLogAttribute",
        "ActiveFlowLog",
        "DeactiveFlowLog",
        "DeleteFlowLog",
    ] {
        let r = emu.call(action, &[HZ, ("FlowLogId", "fl-active")]);
        assert_error(&r, 400, "IncorrectStatus.flowlog");
        assert!(
            r.1["Message"].as_str().unwrap_or("").contains("Modifying"),
            "{}",
            r.1
        );
    }
    for (name, value) in [
        ("AggregationInterval", "3"),
        ("IpVersion", "v4"),
        ("FlowLogName", "https://x"),
    ] {
        let r = emu.call(
            "ModifyFlowLogAttribute",
            &[HZ, ("FlowLogId", "fl-inactive"), (name, value)],
        );
        assert_error(&r, 400, "InvalidParameter");
    }
    assert_error(
        &emu.call(
            "ModifyFlowLogAttribute",
            &[HZ, ("FlowLogId", "fl-nope"), ("FlowLogName", "x")],
        ),
        404,
        "InvalidInstanceId.NotFound",
    );
    assert_error(
        &emu.call(
            "ModifyFlowLogAttribute",
            &[HZ, ("FlowLogId", "fl-locked"), ("FlowLogName", "x")],
        ),
        400,
        "IncorrectBusinessStatus.FlowLog",
    );

    // An Inactive flow log comes back Inactive (the official provider waits for " Inactive"
    // and times out there); an empty description clears it.
    let quick = Emulator::start(&seed, &["--activation-delay", "300ms"]);
    assert_ok(&quick.call(
        "ModifyFlowLogAttribute",
        &[
            HZ,
            ("FlowLogId", "fl-inactive"),
            ("FlowLogName", "new"),
            ("Description", ""),
            ("AggregationInterval", "1"),
        ],
    ));
    let st = status(&quick, "fl-inactive");
    assert!(st == "Modifying" || st == "Inactive", "{st}");
    wait_for(&quick, "fl-inactive", "Inactive");
    let fl = describe_one(&quick, "fl-inactive").expect("listed");
    assert_eq!(fl["FlowLogName"], "new");
    assert_eq!(fl["Description"], "");
    assert_eq!(fl["AggregationInterval"], 1);
    assert_ok(&quick.call("ModifyFlowLogAttribute", &changes));
    wait_for(&quick, "fl-active", "Active");
    assert_eq!(
        describe_one(&quick, "fl-active").expect("listed")["AggregationInterval"],
        5
    );

    // A modification failing in the background settles back unchanged.
    let failing = Emulator::start(
        &seed,
        &[
            "--activation-delay",
            "0",
            "--background-fail-id",
            "fl-active",
        ],
    );
    assert_ok(&failing.call("ModifyFlowLogAttribute", &changes));
    let fl = describe_one(&failing, "fl-active").expect("listed");
    assert_eq!(
        (fl["Status"].as_str(), fl["FlowLogName"].as_str()),
        (Some("Active"), Some("old"))
    );
}

#[test]
fn tags_and_resource_groups_through_the_api() {
    let seed = json!([
        {"FlowLogId": "fl-1", "Status": "Active"},
        {"FlowLogId": "fl-2", "Status": "Active", "ResourceGroupId": "rg-old",
         "Tags": {"Tag": [{"Key": "team", "Value": "net"}]}}
    ]);
    let emu = Emulator::start(&seed, NOW);
    let tag = |args: &[(&str, &str)]| {
        let mut a = vec![HZ, ("ResourceType", "FLOWLOG")];
        a.extend_from_slice(args);
        emu.call("TagResources", &a)
    };
    let r = assert_ok(&tag(&[
        ("ResourceId.1", "fl-1"),
        ("ResourceId.2", "fl-2"),
        ("Tag.1.Key", "env"),
        ("Tag.1.Value", "prod"),
        ("Tag.2.Key", "team"),
        ("Tag.2.Value", "sec"),
    ]));
    assert!(
        r.get("Success").is_none(),
        "TagResources answers only a RequestId: {r}"
    );
    let fl2 = describe_one(&emu, "fl-2").expect("listed");
    assert_eq!(
        fl2["Tags"],
        json!({"Tag": [{"Key": "team", "Value": "sec"}, {"Key": "env", "Value": "prod"}]})
    );
    // Re-sending the same tags (the official provider sends the whole map) is fine.
    assert_ok(&tag(&[
        ("ResourceId.1", "fl-1"),
        ("Tag.1.Key", "env"),
        ("Tag.1.Value", "prod"),
    ]));
    assert_error(
        &tag(&[("ResourceId.1", "fl-9"), ("Tag.1.Key", "k")]),
        404,
        "InvalidInstanceId.NotFound",
    );
    assert_error(&tag(&[("Tag.1.Key", "k")]), 400, "MissingParameter");
    assert_error(&tag(&[("ResourceId.1", "fl-1")]), 400, "MissingParameter");
    assert_error(
        &tag(&[("ResourceId.1", "fl-1"), ("Tag.1.Key", "aliyun")]),
        400,
        "InvalidTagKey.Malformed",
    );
    let r = emu.call(
        "TagResources",
        &[
            HZ,
            ("ResourceType", "VPC"),
            ("ResourceId.1", "fl-1"),
            ("Tag.1.Key", "k"),
        ],
    );
    assert_error(&r, 400, "InvalidParameter");
    // Twenty a flow log: fl-1 has 2, 19 more is one too many, and nothing changes.
    let keys: Vec<String> = (1..=19).map(|n| format!("Tag.{n}.Key")).collect();
    let names: Vec<String> = (1..=19).map(|n| format!("k{n}")).collect();
    let mut args: Vec<(&str, &str)> = vec![("ResourceId.1", "fl-1")];
    args.extend(
        keys.iter()
            .zip(&names)
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    assert_error(&tag(&args), 400, "QuotaExceeded.TagNum");
    assert_eq!(
        describe_one(&emu, "fl-1").expect("listed")["Tags"]["Tag"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_ok(&tag(&args[..19]));

    // Describe filters by tags and resource group.
    let by = |args: &[(&str, &str)]| {
        let mut a = vec![HZ];
        a.extend_from_slice(args);
        ids_of(&assert_ok(&emu.call("DescribeFlowLogs", &a)))
    };
    assert_eq!(
        by(&[("Tags.1.Key", "team"), ("Tags.1.Value", "sec")]),
        ["fl-1", "fl-2"]
    );
    assert_eq!(by(&[("Tags.1.Key", "k1")]), ["fl-1"]);
    assert_eq!(by(&[("Tags.1.Key", "env"), ("Tags.2.Key", "k1")]), ["fl-1"]);
    assert_eq!(
        by(&[("Tags.1.Key", "env"), ("Tags.1.Value", "dev")]),
        Vec::<String>::new()
    );
    assert_eq!(by(&[("ResourceGroupId", "rg-old")]), ["fl-2"]);
    assert_error(
        &emu.call("DescribeFlowLogs", &[HZ, ("Tags.1.Value", "x")]),
        400,
        "MissingParameter",
    );

    // ListTagResources pages with NextToken.
    let mut rows = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let mut a = vec![
            HZ,
            ("ResourceType", "flowlog"),
            ("ResourceId.1", "fl-2"),
            ("ResourceId.2", "fl-1"),
            ("MaxResults", "5"),
        ];
        if !token.is_empty() {
            a.push(("NextToken", token.as_str()));
        }
        let v = assert_ok(&emu.call("ListTagResources", &a));
        pages += 1;
        rows.extend(
            v["TagResources"]["TagResource"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
        token = v["NextToken"].as_str().unwrap_or("").to_owned();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!((rows.len(), pages), (20 + 2, 5));
    assert_eq!(
        rows[0],
        json!({"ResourceId": "fl-1", "ResourceType": "FLOWLOG", "TagKey": "env", "TagValue": "prod"})
    );
    let v = assert_ok(&emu.call(
        "ListTagResources",
        &[
            HZ,
            ("ResourceType", "FLOWLOG"),
            ("Tag.1.Key", "team"),
            ("Tag.1.Value", "sec"),
        ],
    ));
    assert_eq!(
        v["TagResources"]["TagResource"].as_array().map(Vec::len),
        Some(22)
    );
    assert_error(
        &emu.call("ListTagResources", &[HZ, ("ResourceType", "FLOWLOG")]),
        400,
        "MissingParameter",
    );
    assert_error(
        &emu.call(
            "ListTagResources",
            &[
                HZ,
                ("ResourceType", "FLOWLOG"),
                ("ResourceId.1", "fl-1"),
                ("NextToken", "garbage"),
            ],
        ),
        400,
        "InvalidParameter",
    );

    // UnTagResources: some keys (one absent), then all.
    let untag = |args: &[(&str, &str)]| {
        let mut a = vec![HZ, ("ResourceType", "FLOWLOG")];
        a.extend_from_slice(args);
        emu.call("UnTagResources", &a)
    };
    assert_ok(&untag(&[
        ("ResourceId.1", "fl-2"),
        ("TagKey.1", "team"),
        ("TagKey.2", "absent"),
    ]));
    assert_eq!(
        describe_one(&emu, "fl-2").expect("listed")["Tags"],
        json!({"Tag": [{"Key": "env", "Value": "prod"}]})
    );
    assert_ok(&untag(&[("ResourceId.1", "fl-1"), ("All", "true")]));
    assert_eq!(
        describe_one(&emu, "fl-1").expect("listed")["Tags"],
        json!({"Tag": []})
    );
    assert_error(&untag(&[("ResourceId.1", "fl-1")]), 400, "MissingParameter");
    assert_error(
        &untag(&[("ResourceId.1", "fl-9"), ("TagKey.1", "k")]),
        404,
        "InvalidInstanceId.NotFound",
    );

    // MoveResourceGroup, in the docs' case and the official provider's.
    for (rtype, group) in [("FlowLog", "rg-new"), ("FLOWLOG", "rg-newer")] {
        let v = assert_ok(&emu.call(
            "MoveResourceGroup",
            &[
                HZ,
                ("ResourceType", rtype),
                ("ResourceId", "fl-2"),
                ("NewResourceGroupId", group),
            ],
        ));
        assert!(v.get("Success").is_none(), "{v}");
        assert_eq!(
            describe_one(&emu, "fl-2").expect("listed")["ResourceGroupId"],
            group
        );
    }
    assert_eq!(by(&[("ResourceGroupId", "rg-newer")]), ["fl-2"]);
    for (args, status, code) in [
        (
            vec![
                ("ResourceType", "FLOWLOG"),
                ("ResourceId", "fl-9"),
                ("NewResourceGroupId", "rg-x"),
            ],
            404,
            "InvalidInstanceId.NotFound",
        ),
        (
            vec![
                ("ResourceType", "FLOWLOG"),
                ("ResourceId", "fl-2"),
                ("NewResourceGroupId", "group"),
            ],
            400,
            "InvalidParameter",
        ),
        (
            vec![("ResourceType", "FLOWLOG"), ("ResourceId", "fl-2")],
            400,
            "MissingParameter",
        ),
        (
            vec![
                ("ResourceType", "VPC"),
                ("ResourceId", "fl-2"),
                ("NewResourceGroupId", "rg-x"),
            ],
            400,
            "InvalidParameter",
        ),
    ] {
        let mut a = vec![HZ];
        a.extend(args);
        assert_error(&emu.call("MoveResourceGroup", &a), status, code);
    }
}

#[test]
fn the_new_actions_are_signed_and_checked_like_the_others() {
    let emu = Emulator::start(&json!([{"FlowLogId": "fl-1", "Status": "Active"}]), NOW);
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("CreateFlowLog", create_args(&[])),
        ("DeleteFlowLog", vec![HZ, ("FlowLogId", "fl-1")]),
        (
            "ModifyFlowLogAttribute",
            vec![HZ, ("FlowLogId", "fl-1"), ("FlowLogName", "x")],
        ),
        (
            "MoveResourceGroup",
            vec![
                HZ,
                ("ResourceType", "FLOWLOG"),
                ("ResourceId", "fl-1"),
                ("NewResourceGroupId", "rg-x"),
            ],
        ),
        (
            "TagResources",
            vec![
                HZ,
                ("ResourceType", "FLOWLOG"),
                ("ResourceId.1", "fl-1"),
                ("Tag.1.Key", "k"),
            ],
        ),
        (
            "UnTagResources",
            vec![
                HZ,
                ("ResourceType", "FLOWLOG"),
                ("ResourceId.1", "fl-1"),
                ("All", "true"),
            ],
        ),
        (
            "ListTagResources",
            vec![HZ, ("ResourceType", "FLOWLOG"), ("ResourceId.1", "fl-1")],
        ),
    ];
    for (action, args) in &cases {
        // A wrong secret.
        let mut p = emu.params(action, args);
        sign_params("POST", &mut p, "not-the-secret");
        let r = emu.http(
            "POST",
            "/",
            Some("application/x-www-form-urlencoded"),
            encode_params(&p).as_bytes(),
        );
        assert_error(&(r.status, r.json()), 400, "SignatureDoesNotMatch");
        // A replayed nonce.
        let mut p = emu.params(action, args);
        sign_params("GET", &mut p, &emu.access_key_secret);
        let target = format!("/?{}", encode_params(&p));
        let first = emu.http("GET", &target, None, b"");
        assert_ne!(first.status, 400, "{action}: {}", first.body);
        let again = emu.http("GET", &target, None, b"");
        assert_error(&(again.status, again.json()), 400, "SignatureNonceUsed");
        // A region the API does not have.
        let mut bad = args.clone();
        bad.retain(|(k, _)| *k != "RegionId");
        bad.push(("RegionId", "mars-1"));
        assert_error(&emu.call(action, &bad), 404, "InvalidRegionId.NotFound");
    }
    // Every call counted under its action.
    let stats = emu.stats();
    for (action, _) in &cases {
        assert!(
            stats["calls"][action].as_u64().unwrap_or(0) >= 3,
            "{action}: {stats}"
        );
    }
    // Injected faults reach the new actions as any other.
    emu.fail_next(1, "ServiceUnavailable", &["CreateFlowLog"]);
    assert_error(&create(&emu, &[]), 503, "ServiceUnavailable");
    assert_ok(&create(&emu, &[]));
}

#[test]
fn the_tag_operations_refuse_malformed_lists() {
    let emu = Emulator::start(&json!([{"FlowLogId": "fl-1"}]), NOW);
    let ids: Vec<String> = (1..=51).map(|n| format!("ResourceId.{n}")).collect();
    let many_ids: Vec<(&str, &str)> = ids.iter().map(|k| (k.as_str(), "fl-1")).collect();
    let keys: Vec<String> = (1..=21).map(|n| format!("TagKey.{n}")).collect();
    let many_keys: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), "k")).collect();
    let with = |action: &str, extra: &[(&str, &str)]| {
        let mut a = vec![HZ, ("ResourceType", "FLOWLOG")];
        a.extend_from_slice(extra);
        emu.call(action, &a)
    };
    let tag = [("Tag.1.Key", "k")];
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "TagResources",
            [&many_ids[..], &tag].concat(),
            "InvalidParameter",
        ),
        (
            "TagResources",
            vec![("ResourceId.0", "fl-1"), ("Tag.1.Key", "k")],
            "InvalidParameter",
        ),
        (
            "UnTagResources",
            [&many_ids[..1], &many_keys[..]].concat(),
            "InvalidParameter",
        ),
        (
            "UnTagResources",
            vec![("ResourceId.1", "fl-1"), ("All", "maybe")],
            "InvalidParameter",
        ),
        (
            "UnTagResources",
            vec![("ResourceId.1", "fl-1"), ("TagKey.1", "")],
            "InvalidParameter",
        ),
        (
            "ListTagResources",
            vec![("ResourceId.1", "fl-1"), ("MaxResults", "0")],
            "InvalidParameter",
        ),
        (
            "ListTagResources",
            vec![("ResourceId.1", "fl-1"), ("MaxResults", "51")],
            "InvalidParameter",
        ),
        (
            "ListTagResources",
            vec![("Tag.1.Value", "v")],
            "MissingParameter",
        ),
    ];
    for (action, extra, code) in cases {
        let r = with(action, &extra);
        assert_error(&r, 400, code);
    }
    // ResourceType left out entirely.
    assert_error(
        &emu.call(
            "TagResources",
            &[HZ, ("ResourceId.1", "fl-1"), ("Tag.1.Key", "k")],
        ),
        400,
        "MissingParameter",
    );
    // Nothing was tagged by a refused call.
    assert_eq!(
        emu.flow_log("fl-1").expect("seeded")["Tags"],
        json!({"Tag": []})
    );
}
