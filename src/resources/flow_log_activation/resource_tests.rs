//! `alicloud_vpc_flow_log_activation` in-process through the engine's rules (plan, apply,
//! read, import) with the scripted fake API in the call context: no network, paused time.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::diag::{AttrPath, Diagnostics};
use crate::engine::rules;
use crate::resource::Ctx;
use crate::resources::configured::Configured;
use crate::resources::flow_log_activation::{FlowLogActivation, state_from};
use crate::resources::test_fake::{FakeFlowLogs, Method, Reply, flow_log};
use crate::tfvalue::Value;

use Method::{Activate as A, Deactivate as X, Describe as D};

const ID: &str = "fl-m5e8vhz2t21sel1nq0000";
const REGION: &str = "cn-hangzhou";

/// A call context whose provider data holds the fake and this default region.
fn ctx(fake: &Arc<FakeFlowLogs>, region: Option<&str>, region_pending: bool) -> Ctx {
    Ctx {
        cancel: Default::default(),
        data: Some(Arc::new(Configured {
            region: region.map(str::to_owned),
            region_pending,
            flow_logs: fake.clone(),
        })),
    }
}

fn with_fake(fake: FakeFlowLogs) -> (Arc<FakeFlowLogs>, Ctx) {
    let fake = Arc::new(fake);
    let ctx = ctx(&fake, Some(REGION), false);
    (fake, ctx)
}

/// An object of the resource's type: every attribute null except these.
fn object(res: &FlowLogActivation, set: &[(&str, Value)]) -> Value {
    let mut obj: BTreeMap<String, Value> = res
        .schema
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

/// A `timeouts` block value.
fn timeouts(op: &str, d: &str) -> Value {
    let mut t: BTreeMap<String, Value> = ["create", "update", "delete", "read"]
        .into_iter()
        .map(|o| (o.to_owned(), Value::Null))
        .collect();
    t.insert(op.to_owned(), Value::string(d));
    Value::Object(t)
}

/// What Terraform holds after a successful create with this configuration.
fn state(res: &FlowLogActivation, status: &str, config: &[(&str, Value)]) -> Value {
    state_from(&flow_log(ID, status), REGION, &object(res, config))
}

/// The planned value for creating from a configuration naming only the flow log.
fn plan_create(res: &FlowLogActivation, ctx: &Ctx, config: &Value) -> (Value, Diagnostics) {
    let mut diags = Diagnostics::new();
    let plan = rules::plan(res, ctx, &Value::Null, config, config, &mut diags);
    assert!(plan.requires_replace.is_empty());
    (plan.planned, diags)
}

fn only_error(diags: &Diagnostics) -> (&str, Option<String>) {
    assert_eq!(diags.0.len(), 1, "{diags:?}");
    let d = &diags.0[0];
    (d.summary.as_str(), d.path.as_ref().map(ToString::to_string))
}

#[test]
fn plan_on_create() {
    let res = FlowLogActivation::new();
    let fake = Arc::new(FakeFlowLogs::new(ID));
    struct Row {
        name: &'static str,
        config_region: Option<&'static str>,
        provider_region: Option<&'static str>,
        pending: bool,
        /// The planned region, `"?"` for unknown.
        region: &'static str,
        error: Option<&'static str>,
    }
    #[rustfmt::skip]
    let rows = [
        Row { name: "region from the provider", config_region: None, provider_region: Some(REGION), pending: false, region: REGION, error: None },
        Row { name: "region of the resource wins", config_region: Some("cn-beijing"), provider_region: Some(REGION), pending: false, region: "cn-beijing", error: None },
        Row { name: "region of the resource, none in the provider", config_region: Some("cn-beijing"), provider_region: None, pending: false, region: "cn-beijing", error: None },
        Row { name: "no region anywhere", config_region: None, provider_region: None, pending: false, region: "?", error: Some("No region") },
        Row { name: "provider region known only at apply", config_region: None, provider_region: None, pending: true, region: "?", error: None },
    ];
    for r in rows {
        let ctx = ctx(&fake, r.provider_region, r.pending);
        let mut set = vec![("flow_log_id", Value::string(ID))];
        if let Some(region) = r.config_region {
            set.push(("region_id", Value::string(region)));
        }
        let config = object(&res, &set);
        let (planned, diags) = plan_create(&res, &ctx, &config);
        let name = r.name;
        match r.error {
            None => assert!(diags.0.is_empty(), "{name}: {diags:?}"),
            Some(summary) => {
                assert_eq!(
                    only_error(&diags),
                    (summary, Some("region_id".to_owned())),
                    "{name}"
                )
            }
        }
        let get = |k: &str| planned.get(k).cloned().unwrap();
        assert_eq!(get("id"), Value::string(ID), "{name}: id known at plan");
        assert_eq!(get("flow_log_id"), Value::string(ID), "{name}");
        let region = if r.region == "?" {
            Value::unknown()
        } else {
            Value::string(r.region)
        };
        assert_eq!(get("region_id"), region, "{name}");
        assert_eq!(get("deactivate_on_destroy"), Value::Bool(true), "{name}");
        assert_eq!(get("timeouts"), Value::Null, "{name}");
        for computed in [
            "status",
            "aggregation_interval",
            "flow_log_name",
            "description",
            "resource_id",
            "business_status",
            "creation_time",
        ] {
            assert!(get(computed).is_unknown(), "{name}: {computed} unknown");
        }
    }
    assert!(fake.calls().is_empty(), "planning makes no API call");
}

#[test]
fn drift_is_planned_as_an_in_place_update_of_status_only() {
    let res = FlowLogActivation::new();
    let (fake, ctx) = with_fake(FakeFlowLogs::new(ID));
    let config = object(&res, &[("flow_log_id", Value::string(ID))]);
    // Refreshed state: someone deactivated the flow log.
    let prior = state(&res, "Inactive", &[]);
    let mut diags = Diagnostics::new();
    let plan = rules::plan(&res, &ctx, &prior, &prior, &config, &mut diags);
    assert!(diags.0.is_empty(), "{diags:?}");
    assert!(plan.requires_replace.is_empty(), "update in place");
    let (Value::Object(before), Value::Object(after)) = (&prior, &plan.planned) else {
        panic!("objects")
    };
    for (k, v) in before {
        let expect = if k == "status" {
            Value::string("Active")
        } else {
            v.clone()
        };
        assert_eq!(after[k], expect, "{k}");
    }
    // No drift: the plan is the prior state, nothing to do.
    let active = state(&res, "Active", &[]);
    let plan = rules::plan(&res, &ctx, &active, &active, &config, &mut diags);
    assert_eq!(plan.planned, active);
    // Another flow log: replaced.
    let other = object(&res, &[("flow_log_id", Value::string("fl-other0"))]);
    let mut proposed = active.clone();
    *proposed.get_mut("flow_log_id").unwrap() = Value::string("fl-other0");
    let plan = rules::plan(&res, &ctx, &active, &proposed, &other, &mut diags);
    assert_eq!(plan.requires_replace, [AttrPath::attr("flow_log_id")]);
    assert!(fake.calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn create() {
    let res = FlowLogActivation::new();
    struct Row<'a> {
        name: &'static str,
        fake: FakeFlowLogs,
        create_timeout: Option<&'static str>,
        /// Status of the returned state; `None`: no state.
        state: Option<&'static str>,
        /// Summary and attribute of the error, if any.
        error: Option<(&'a str, Option<&'static str>)>,
        calls: &'static [Method],
    }
    let timed_out = format!("Timed out waiting to activate flow log {ID}");
    let refused = format!("Could not activate flow log {ID}");
    let rows = [
        Row {
            name: "inactive: activated, state from the description",
            fake: FakeFlowLogs::new(ID).statuses(&["Inactive", "Activating", "Active"]),
            create_timeout: None,
            state: Some("Active"),
            error: None,
            calls: &[D, A, D, D],
        },
        Row {
            name: "already active: adopted without a call",
            fake: FakeFlowLogs::new(ID).statuses(&["Active"]),
            create_timeout: None,
            state: Some("Active"),
            error: None,
            calls: &[D],
        },
        Row {
            name: "timed out after activating: kept in state",
            fake: FakeFlowLogs::new(ID).statuses(&["Inactive", "Activating"]),
            create_timeout: Some("3s"),
            state: Some("Activating"),
            error: Some((&timed_out, None)),
            calls: &[D, A, D, D, D, D, D, D, D, D, D, D],
        },
        Row {
            name: "refused before any change: no state",
            fake: FakeFlowLogs::new(ID)
                .activates([Reply::Api("OperationDenied.FlowLogDeliverFailed")]),
            create_timeout: None,
            state: None,
            error: Some((&refused, Some("flow_log_id"))),
            calls: &[D, A],
        },
        Row {
            name: "managed by Log Service: no state, no activate",
            fake: FakeFlowLogs::new(ID).managed(),
            create_timeout: None,
            state: None,
            error: Some(("Flow log is managed by Log Service", Some("flow_log_id"))),
            calls: &[D],
        },
        Row {
            name: "not found: no state",
            fake: FakeFlowLogs::new(ID).describes([Reply::Gone]),
            create_timeout: None,
            state: None,
            error: Some(("Flow log not found", Some("flow_log_id"))),
            calls: &[D],
        },
    ];
    for r in rows {
        let name = r.name;
        let (fake, ctx) = with_fake(r.fake);
        let mut config = vec![("flow_log_id", Value::string(ID))];
        if let Some(t) = r.create_timeout {
            config.push(("timeouts", timeouts("create", t)));
        }
        let config = object(&res, &config);
        let (planned, diags) = plan_create(&res, &ctx, &config);
        assert!(diags.0.is_empty());
        let mut diags = Diagnostics::new();
        let start = Instant::now();
        let new = rules::apply(&res, &ctx, &Value::Null, &planned, &mut diags).await;
        match r.error {
            None => assert!(diags.0.is_empty(), "{name}: {diags:?}"),
            Some((summary, path)) => assert_eq!(
                only_error(&diags),
                (summary, path.map(str::to_owned)),
                "{name}"
            ),
        }
        assert_eq!(fake.methods(), r.calls, "{name}");
        match r.state {
            None => assert_eq!(new, Value::Null, "{name}"),
            Some(status) => {
                let expect = state_from(&flow_log(ID, status), REGION, &planned);
                assert_eq!(new, expect, "{name}");
                assert!(new.is_wholly_known(), "{name}");
            }
        }
        if r.create_timeout == Some("3s") {
            assert_eq!(
                start.elapsed(),
                Duration::from_secs(3),
                "{name}: the create timeout"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn update_repairs_drift() {
    let res = FlowLogActivation::new();
    let config = object(&res, &[("flow_log_id", Value::string(ID))]);
    let prior = state(&res, "Inactive", &[]);
    let mut diags = Diagnostics::new();
    let (fake, ctx) = with_fake(FakeFlowLogs::new(ID).statuses(&["Inactive", "Active"]));
    let planned = rules::plan(&res, &ctx, &prior, &prior, &config, &mut diags).planned;
    let new = rules::apply(&res, &ctx, &prior, &planned, &mut diags).await;
    assert!(diags.0.is_empty(), "{diags:?}");
    assert_eq!(new, planned);
    assert_eq!(fake.methods(), [D, A, D]);

    // Refused: the prior state stays, with the status last seen.
    let (fake, ctx) =
        with_fake(FakeFlowLogs::new(ID).activates([Reply::Api("IncorrectBusinessStatus.FlowLog")]));
    let new = rules::apply(&res, &ctx, &prior, &planned, &mut diags).await;
    assert_eq!(
        only_error(&diags),
        (
            format!("Could not activate flow log {ID}").as_str(),
            Some("flow_log_id".to_owned())
        )
    );
    assert_eq!(new, prior);
    assert_eq!(fake.methods(), [D, A]);
}

#[tokio::test(start_paused = true)]
async fn read() {
    let res = FlowLogActivation::new();
    let current = state(
        &res,
        "Active",
        &[("deactivate_on_destroy", Value::Bool(false))],
    );
    struct Row {
        name: &'static str,
        describes: Vec<Reply>,
        /// Status of the state afterwards; `None`: dropped.
        status: Option<&'static str>,
        error: bool,
        describes_made: usize,
    }
    #[rustfmt::skip]
    let rows = [
        Row { name: "unchanged", describes: vec![Reply::Status("Active")], status: Some("Active"), error: false, describes_made: 1 },
        Row { name: "drift shows, nothing activated", describes: vec![Reply::Status("Inactive")], status: Some("Inactive"), error: false, describes_made: 1 },
        Row { name: "transition waited out", describes: vec![Reply::Status("Deactivating"), Reply::Status("Inactive")], status: Some("Inactive"), error: false, describes_made: 2 },
        Row { name: "gone: dropped cleanly", describes: vec![Reply::Gone], status: None, error: false, describes_made: 1 },
        Row { name: "API error: kept", describes: vec![Reply::Api("Throttling.User")], status: Some("Active"), error: true, describes_made: 1 },
        Row { name: "bad region: kept", describes: vec![Reply::Api("InvalidRegionId.NotFound")], status: Some("Active"), error: true, describes_made: 1 },
    ];
    for r in rows {
        let name = r.name;
        let (fake, ctx) = with_fake(FakeFlowLogs::new(ID).describes(r.describes));
        let mut diags = Diagnostics::new();
        let new = rules::read(&res, &ctx, &current, &mut diags).await;
        assert_eq!(diags.has_errors(), r.error, "{name}: {diags:?}");
        match r.status {
            None => assert_eq!(new, Value::Null, "{name}"),
            Some(status) => {
                assert_eq!(new.get("status"), Some(&Value::string(status)), "{name}");
                assert_eq!(
                    new.get("deactivate_on_destroy"),
                    Some(&Value::Bool(false)),
                    "{name}: configuration-only value kept"
                );
            }
        }
        if r.error {
            assert_eq!(new, current, "{name}: errors keep the current state");
        }
        assert_eq!(fake.methods(), vec![D; r.describes_made], "{name}");
    }
}

#[tokio::test(start_paused = true)]
async fn delete() {
    let res = FlowLogActivation::new();
    struct Row {
        name: &'static str,
        deactivate_on_destroy: Option<bool>,
        fake: FakeFlowLogs,
        kept: bool,
        calls: &'static [Method],
    }
    let rows = [
        Row {
            name: "deactivate_on_destroy = false: forgotten, no call",
            deactivate_on_destroy: Some(false),
            fake: FakeFlowLogs::new(ID).statuses(&["Active"]),
            kept: false,
            calls: &[],
        },
        Row {
            name: "default: deactivated and waited for",
            deactivate_on_destroy: None,
            fake: FakeFlowLogs::new(ID).statuses(&["Active", "Deactivating", "Inactive"]),
            kept: false,
            calls: &[D, X, D, D],
        },
        Row {
            name: "already inactive: no deactivate",
            deactivate_on_destroy: Some(true),
            fake: FakeFlowLogs::new(ID),
            kept: false,
            calls: &[D],
        },
        Row {
            name: "already gone",
            deactivate_on_destroy: Some(true),
            fake: FakeFlowLogs::new(ID).describes([Reply::Gone]),
            kept: false,
            calls: &[D],
        },
        Row {
            name: "refused: kept in state",
            deactivate_on_destroy: Some(true),
            fake: FakeFlowLogs::new(ID)
                .statuses(&["Active"])
                .deactivates([Reply::Api("Forbidden.OperateManagedFlowLog")]),
            kept: true,
            calls: &[D, X],
        },
    ];
    for r in rows {
        let name = r.name;
        let (fake, ctx) = with_fake(r.fake);
        let config: Vec<(&str, Value)> = r
            .deactivate_on_destroy
            .map(|b| ("deactivate_on_destroy", Value::Bool(b)))
            .into_iter()
            .collect();
        let prior = state(&res, "Active", &config);
        let mut diags = Diagnostics::new();
        let new = rules::apply(&res, &ctx, &prior, &Value::Null, &mut diags).await;
        assert_eq!(diags.has_errors(), r.kept, "{name}: {diags:?}");
        let expect = if r.kept { prior } else { Value::Null };
        assert_eq!(new, expect, "{name}");
        assert_eq!(fake.methods(), r.calls, "{name}");
    }
}

#[tokio::test(start_paused = true)]
async fn import_never_activates() {
    let res = FlowLogActivation::new();
    #[rustfmt::skip]
    let rows: [(&str, &str, Option<&str>); 5] = [
        ("flow log in the provider's region", ID, Some(REGION)),
        ("region:id", "cn-beijing:fl-m5e8vhz2t21sel1nq0000", Some("cn-beijing")),
        ("spaces trimmed", " cn-beijing : fl-m5e8vhz2t21sel1nq0000 ", Some("cn-beijing")),
        ("not a flow log ID", "vpc-123", None),
        ("not a region", "Hangzhou:fl-abc", None),
    ];
    for (name, import_id, region) in rows {
        // Inactive: a read after import shows it so, and only the next apply activates.
        let (fake, ctx) = with_fake(FakeFlowLogs::new(ID));
        let mut diags = Diagnostics::new();
        let got = rules::import(&res, &ctx, import_id, &mut diags).await;
        assert!(fake.calls().is_empty(), "{name}: import calls nothing");
        let Some(region) = region else {
            assert!(got.is_none(), "{name}");
            assert_eq!(only_error(&diags), ("Invalid import ID", None), "{name}");
            continue;
        };
        let imported = got.expect(name);
        assert!(diags.0.is_empty(), "{name}: {diags:?}");
        assert_eq!(imported.get("id"), Some(&Value::string(ID)), "{name}");
        assert_eq!(
            imported.get("region_id"),
            Some(&Value::string(region)),
            "{name}"
        );
        assert_eq!(
            imported.get("deactivate_on_destroy"),
            Some(&Value::Bool(true)),
            "{name}"
        );
        let read = rules::read(&res, &ctx, &imported, &mut diags).await;
        assert_eq!(
            read.get("status"),
            Some(&Value::string("Inactive")),
            "{name}"
        );
        assert_eq!(fake.methods(), [D], "{name}: never an activate");
        assert_eq!(fake.calls()[0].region, region, "{name}");
    }
    // No region anywhere.
    let fake = Arc::new(FakeFlowLogs::new(ID));
    let mut diags = Diagnostics::new();
    let got = rules::import(&res, &ctx(&fake, None, false), ID, &mut diags).await;
    assert!(got.is_none());
    assert_eq!(only_error(&diags), ("No region for import", None));
}

#[tokio::test]
async fn operations_before_configure_are_an_error_not_a_panic() {
    let res = FlowLogActivation::new();
    let ctx = Ctx::default();
    let current = state(&res, "Active", &[]);
    let mut diags = Diagnostics::new();
    let new = rules::read(&res, &ctx, &current, &mut diags).await;
    assert_eq!(new, current);
    assert_eq!(only_error(&diags), ("Provider not configured", None));
}
