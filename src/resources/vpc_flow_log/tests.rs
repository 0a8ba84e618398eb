//! `alicloud_vpc_flow_log` in-process: plan-time checks, the state built from a description,
//! the upgrade of the official provider's state (from a state file under tests/fixtures), and
//! the lifecycle against the scripted fake API in paused time.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::diag::Diagnostics;
use crate::engine::rules;
use crate::resource::{Ctx, Resource};
use crate::resources::configured::Configured;
use crate::resources::test_fake::{FakeFlowLogs, Method, Reply, flow_log};
use crate::resources::vpc_flow_log::VpcFlowLog;
use crate::resources::vpc_flow_log::rules::state_from;
use crate::tfvalue::Value;

use Method::{Create as C, Deactivate as X, Delete as Del, Describe as D, Modify as M};
use Reply::{Gone, Status as S};

const ID: &str = "fl-m5e8vhz2t21sel1nq0000";
const REGION: &str = "cn-hangzhou";

fn ctx(fake: &Arc<FakeFlowLogs>) -> Ctx {
    Ctx {
        cancel: Default::default(),
        data: Some(Arc::new(Configured {
            region: Some(REGION.to_owned()),
            region_pending: false,
            flow_logs: fake.clone(),
        })),
    }
}

/// An object of the resource's type: every attribute null except these.
fn object(res: &VpcFlowLog, set: &[(&str, Value)]) -> Value {
    let mut obj: BTreeMap<String, Value> = res
        .schema()
        .block
        .attributes
        .iter()
        .map(|a| (a.name.to_owned(), Value::Null))
        .collect();
    obj.insert("timeouts".to_owned(), Value::Null);
    for (k, v) in set {
        assert!(obj.contains_key(*k), "no attribute {k}");
        obj.insert((*k).to_owned(), v.clone());
    }
    Value::Object(obj)
}

fn required() -> Vec<(&'static str, Value)> {
    vec![
        ("resource_type", Value::string("VSwitch")),
        ("resource_id", Value::string("vsw-bp1s8ld6y2m0dp2sp0000")),
        ("traffic_type", Value::string("All")),
        ("project_name", Value::string("vpc-logs")),
        ("log_store_name", Value::string("flows")),
    ]
}

fn errors_at(diags: &Diagnostics) -> Vec<String> {
    diags
        .iter()
        .map(|d| d.path.as_ref().map(ToString::to_string).unwrap_or_default())
        .collect()
}

/// A case: its name, the attributes it sets over the required ones, the paths of the errors.
type Row = (&'static str, Vec<(&'static str, Value)>, Vec<&'static str>);

#[test]
fn plan_time_checks_name_the_attribute() {
    let res = VpcFlowLog::new();
    let tags = |n: usize| {
        Value::Map(
            (0..n)
                .map(|i| (format!("k{i}"), Value::string("v")))
                .collect(),
        )
    };
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        ("valid", vec![], vec![]),
        ("resource type", vec![("resource_type", Value::string("Vpc"))], vec!["resource_type"]),
        ("traffic type", vec![("traffic_type", Value::string("all"))], vec!["traffic_type"]),
        ("status", vec![("status", Value::string("Activating"))], vec!["status"]),
        ("vpc ID for a vswitch", vec![("resource_id", Value::string("vpc-bp1qpo0kug3a20qqe0000"))], vec!["resource_id"]),
        ("eni for NetworkInterface", vec![("resource_type", Value::string("NetworkInterface")), ("resource_id", Value::string("eni-j6c2fp57q8rr47rp0000"))], vec![]),
        ("interval", vec![("aggregation_interval", Value::string("2"))], vec!["aggregation_interval"]),
        ("21 tags", vec![("tags", tags(21))], vec!["tags"]),
        ("20 tags", vec![("tags", tags(20))], vec![]),
        ("reserved key", vec![("tags", Value::Map([("aliyun:x".to_owned(), Value::string("v"))].into()))], vec!["tags[\"aliyun:x\"]"]),
        ("acs key", vec![("tags", Value::Map([("acs:x".to_owned(), Value::string("v"))].into()))], vec!["tags[\"acs:x\"]"]),
        ("project", vec![("project_name", Value::string("Vpc_Logs"))], vec!["project_name"]),
        ("name as URL", vec![("flow_log_name", Value::string("https://x"))], vec!["flow_log_name"]),
        ("group", vec![("resource_group_id", Value::string("group-1"))], vec!["resource_group_id"]),
        ("path", vec![("traffic_path", Value::List(vec![Value::string("internet")]))], vec!["traffic_path[0]"]),
        ("unknown values wait", vec![("resource_id", Value::unknown()), ("tags", Value::unknown())], vec![]),
    ];
    for (name, set, want) in rows {
        let mut all = required();
        for (k, v) in set {
            all.retain(|(a, _)| *a != k);
            all.push((k, v));
        }
        let mut diags = Diagnostics::new();
        rules::validate(&res, &object(&res, &all), &mut diags);
        assert_eq!(errors_at(&diags), want, "{name}: {diags:?}");
    }
}

#[test]
fn state_records_what_the_api_said_and_keeps_empty_forms() {
    let res = VpcFlowLog::new();
    let mut fl = flow_log(ID, "Active");
    fl.description = String::new();
    fl.tags = Some(crate::alicloud::vpc::Tags {
        tag: vec![
            crate::alicloud::vpc::Tag {
                key: "env".into(),
                value: "prod".into(),
            },
            crate::alicloud::vpc::Tag {
                key: "acs:rm:rgId".into(),
                value: "rg-1".into(),
            },
        ],
    });
    let base = object(&res, &[("description", Value::string(""))]);
    let s = state_from(&fl, REGION, &base);
    assert_eq!(s.get("description"), Some(&Value::string("")));
    assert_eq!(s.get("aggregation_interval"), Some(&Value::string("10")));
    assert_eq!(
        s.get("tags"),
        Some(&Value::Map(
            [("env".to_owned(), Value::string("prod"))].into()
        ))
    );
    assert_eq!(s.get("traffic_path"), Some(&Value::Null));
    let s = state_from(&fl, REGION, &object(&res, &[]));
    assert_eq!(s.get("description"), Some(&Value::Null));
    assert_eq!(s.get("id"), Some(&Value::string(ID)));
    assert!(s.is_wholly_known());
}

/// The official provider's state (tests/fixtures/official_vpc_flow_log.tfstate, shaped as
/// `aliyun/alicloud` writes it: one instance as an older release wrote it, without
/// `flow_log_id` and with `aggregation_interval` a number, one as a newer release, with an
/// attribute this provider does not have) decodes and upgrades to this provider's form.
#[test]
fn the_official_state_is_taken_over() {
    let res = VpcFlowLog::new();
    let file: serde_json::Value = serde_json::from_str(include_str!(
        "../../../tests/fixtures/official_vpc_flow_log.tfstate"
    ))
    .unwrap();
    let instances: Vec<&serde_json::Value> = file["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["instances"][0])
        .collect();
    assert_eq!(instances.len(), 2);
    for inst in instances {
        assert_eq!(inst["schema_version"], 0);
        let json = serde_json::to_vec(&inst["attributes"]).unwrap();
        let mut diags = Diagnostics::new();
        let got = rules::upgrade(&res, 0, &json, &mut diags).expect("upgraded");
        assert!(diags.iter().next().is_none(), "{diags:?}");
        let a = &inst["attributes"];
        assert_eq!(got.get("id").unwrap().as_str(), a["id"].as_str());
        assert_eq!(got.get("flow_log_id").unwrap().as_str(), a["id"].as_str());
        assert_eq!(
            got.get("aggregation_interval"),
            Some(&Value::string("10")),
            "a string as the official provider stores it"
        );
        // "" and {} were the official provider's "not set".
        if a["description"] == "" {
            assert_eq!(got.get("description"), Some(&Value::Null));
        }
        if a["tags"] == serde_json::json!({}) {
            assert_eq!(got.get("tags"), Some(&Value::Null));
        } else {
            assert_eq!(
                got.get("tags").unwrap().as_map().unwrap().len(),
                a["tags"].as_object().unwrap().len()
            );
        }
        assert_eq!(
            got.get("traffic_path")
                .unwrap()
                .as_slice()
                .map(<[Value]>::len),
            a["traffic_path"].as_array().map(Vec::len)
        );
        if a["timeouts"].is_object() {
            assert_eq!(
                got.get("timeouts").unwrap().get("create"),
                Some(&Value::string("10m"))
            );
        }
        // Our own state (version 1) passes unchanged.
        let again = rules::upgrade(
            &res,
            1,
            &serde_json::to_vec(
                &crate::tfvalue::to_json(&got, &res.schema().value_type()).unwrap(),
            )
            .unwrap(),
            &mut diags,
        )
        .unwrap();
        assert_eq!(again, got);
    }
}

fn create_config(res: &VpcFlowLog, extra: &[(&str, Value)]) -> Value {
    let mut all = required();
    all.extend(extra.iter().cloned());
    object(res, &all)
}

async fn plan_and_apply(
    res: &VpcFlowLog,
    ctx: &Ctx,
    prior: &Value,
    config: &Value,
) -> (Value, Diagnostics) {
    let mut diags = Diagnostics::new();
    let proposed = if prior.is_null() {
        config.clone()
    } else {
        // Terraform's proposal: configured values, prior values for unset computed ones.
        let mut p = config.clone();
        for a in &res.schema().block.attributes {
            if a.computed
                && p.get(a.name).is_some_and(Value::is_null)
                && let (Some(slot), Some(v)) = (p.get_mut(a.name), prior.get(a.name))
            {
                *slot = v.clone();
            }
        }
        p
    };
    let plan = rules::plan(res, ctx, prior, &proposed, config, &mut diags);
    let new = rules::apply(res, ctx, prior, &plan.planned, &mut diags).await;
    (new, diags)
}

#[tokio::test(start_paused = true)]
async fn create_waits_for_active_then_deactivates_when_asked() {
    let res = VpcFlowLog::new();
    let fake = Arc::new(FakeFlowLogs::new(ID).describes([
        S("Activating"),
        S("Active"),
        S("Active"),
        S("Deactivating"),
        S("Inactive"),
    ]));
    let ctx = ctx(&fake);
    let config = create_config(&res, &[("status", Value::string("Inactive"))]);
    let (state, diags) = plan_and_apply(&res, &ctx, &Value::Null, &config).await;
    assert!(!diags.has_errors(), "{diags:?}");
    assert_eq!(state.get("status"), Some(&Value::string("Inactive")));
    assert_eq!(state.get("id"), Some(&Value::string(ID)));
    let methods = fake.methods();
    assert_eq!(methods.first(), Some(&C));
    assert_eq!(methods.iter().filter(|m| **m == X).count(), 1);
    let create = &fake.calls()[0].detail;
    assert!(create.contains("vsw-bp1s8ld6y2m0dp2sp0000"), "{create}");
}

/// A creation that fails in the background (Activating, then Inactive) is an error, and the
/// flow log it created is in the state (Terraform taints it) rather than lost.
#[tokio::test(start_paused = true)]
async fn a_creation_failing_in_the_background_is_recorded_and_reported() {
    let res = VpcFlowLog::new();
    let fake = Arc::new(FakeFlowLogs::new(ID).describes([S("Activating"), S("Inactive")]));
    let ctx = ctx(&fake);
    let config = create_config(&res, &[]);
    let (state, diags) = plan_and_apply(&res, &ctx, &Value::Null, &config).await;
    assert!(diags.has_errors());
    let text = format!("{diags:?}");
    assert!(text.contains("went back to Inactive"), "{text}");
    assert!(text.contains("REQ-CREATE"), "{text}");
    assert_eq!(state.get("id"), Some(&Value::string(ID)));
    assert_eq!(state.get("status"), Some(&Value::string("Inactive")));
}

/// Modifying an Inactive flow log waits until it is back Inactive (the official resource waits
/// for " Inactive" and times out there).
#[tokio::test(start_paused = true)]
async fn modifying_an_inactive_flow_log_ends_when_it_is_back_inactive() {
    let res = VpcFlowLog::new();
    // Right after the call the API still shows it Inactive and unchanged: looked at again.
    let fake = Arc::new(FakeFlowLogs::new(ID).describes([
        S("Inactive"),
        S("Modifying"),
        S("Modifying"),
        S("Inactive"),
    ]));
    let ctx = ctx(&fake);
    let prior = state_from(
        &flow_log(ID, "Inactive"),
        REGION,
        &create_config(&res, &[("status", Value::string("Inactive"))]),
    );
    let config = create_config(
        &res,
        &[
            ("status", Value::string("Inactive")),
            ("flow_log_name", Value::string("web-traffic")),
            ("description", Value::string("new words")),
        ],
    );
    let started = tokio::time::Instant::now();
    let (_, diags) = plan_and_apply(&res, &ctx, &prior, &config).await;
    // The fake keeps describing the template's description: the final read shows it, which
    // Terraform would report as inconsistent; here only the calls and the wait matter.
    assert!(!diags.has_errors(), "{diags:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let modify: Vec<_> = fake.calls().into_iter().filter(|c| c.method == M).collect();
    assert_eq!(modify.len(), 1);
    assert!(
        modify[0]
            .detail
            .contains("description: Some(\"new words\")")
    );
    assert!(
        modify[0].detail.contains("flow_log_name: None"),
        "unchanged fields are not sent"
    );
}

#[tokio::test(start_paused = true)]
async fn delete_waits_until_gone_and_a_missing_flow_log_is_success() {
    let res = VpcFlowLog::new();
    let prior = state_from(&flow_log(ID, "Active"), REGION, &create_config(&res, &[]));

    let fake = Arc::new(FakeFlowLogs::new(ID).describes([S("Active"), S("Deleting"), Gone]));
    let (state, diags) = plan_and_apply(&res, &ctx(&fake), &prior, &Value::Null).await;
    assert!(!diags.has_errors(), "{diags:?}");
    assert!(state.is_null());
    assert_eq!(fake.count(Del), 1);

    // Gone at once (a fast API).
    let fake = Arc::new(FakeFlowLogs::new(ID).describes([Gone]));
    let (state, diags) = plan_and_apply(&res, &ctx(&fake), &prior, &Value::Null).await;
    assert!(!diags.has_errors(), "{diags:?}");
    assert!(state.is_null());
    assert_eq!(fake.methods(), vec![Del, D]);

    // Already gone: the API's not-found answer is success.
    let fake = Arc::new(
        FakeFlowLogs::new(ID)
            .describes([S("Active")])
            .changes([Reply::Api("InvalidInstanceId.NotFound")]),
    );
    let (state, diags) = plan_and_apply(&res, &ctx(&fake), &prior, &Value::Null).await;
    assert!(!diags.has_errors(), "{diags:?}");
    assert!(state.is_null());
    assert_eq!(fake.methods(), vec![Del]);

    // Still there, not deleting, after the grace: an error, and it stays in state.
    let fake = Arc::new(FakeFlowLogs::new(ID).describes([S("Active")]));
    let (state, diags) = plan_and_apply(&res, &ctx(&fake), &prior, &Value::Null).await;
    assert!(diags.has_errors());
    assert!(
        format!("{diags:?}").contains("it is still there"),
        "{diags:?}"
    );
    assert_eq!(state, prior);
}

/// An API error names its code, message and RequestId, on the attribute it is about.
#[tokio::test(start_paused = true)]
async fn a_refused_creation_points_at_the_attribute() {
    let res = VpcFlowLog::new();
    let fake = Arc::new(FakeFlowLogs::new(ID).changes([Reply::Api("ProjectOrLogstoreNotExist")]));
    let (state, diags) =
        plan_and_apply(&res, &ctx(&fake), &Value::Null, &create_config(&res, &[])).await;
    assert!(state.is_null());
    let d = diags.iter().next().unwrap();
    assert_eq!(
        d.path.as_ref().map(ToString::to_string).as_deref(),
        Some("project_name")
    );
    assert!(
        d.detail.contains("ProjectOrLogstoreNotExist"),
        "{}",
        d.detail
    );
    assert!(
        d.detail.contains("REQ-PROJECTORLOGSTORENOTEXIST"),
        "{}",
        d.detail
    );
}

/// A modification still under way when the update timeout runs out: an error that says so and
/// names the status, and the state the API then shows (nothing lost).
#[tokio::test(start_paused = true)]
async fn an_update_that_times_out_keeps_the_flow_log() {
    let res = VpcFlowLog::new();
    let fake = Arc::new(FakeFlowLogs::new(ID).describes([S("Modifying")]));
    let ctx = ctx(&fake);
    let prior = state_from(&flow_log(ID, "Active"), REGION, &create_config(&res, &[]));
    let timeouts = Value::Object(
        [
            ("create".to_owned(), Value::Null),
            ("update".to_owned(), Value::string("30s")),
            ("delete".to_owned(), Value::Null),
        ]
        .into(),
    );
    let config = create_config(
        &res,
        &[
            ("description", Value::string("slow")),
            ("timeouts", timeouts),
        ],
    );
    let started = tokio::time::Instant::now();
    let (state, diags) = plan_and_apply(&res, &ctx, &prior, &config).await;
    let waited = started.elapsed();
    assert!(diags.has_errors());
    let text = format!("{diags:?}");
    assert!(
        text.contains("Timed out waiting to modify flow log"),
        "{text}"
    );
    assert!(text.contains("still Modifying"), "{text}");
    assert!(waited >= Duration::from_secs(30), "{waited:?}");
    assert_eq!(state.get("id"), Some(&Value::string(ID)));
    assert_eq!(fake.count(M), 1);
}
