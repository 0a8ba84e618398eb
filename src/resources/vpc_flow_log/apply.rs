//! What `alicloud_vpc_flow_log` asks of the API for each operation, in order, and the state it
//! then records: always what the API said, even when an operation fails half way.

use std::collections::BTreeMap;

use crate::alicloud::{
    CallOptions, CreateFlowLogRequest, Error, FlowLog, FlowLogStatus, ModifyFlowLogRequest,
};
use crate::diag::{AttrPath, Diagnostics};
use crate::resources::flow_logs::FlowLogApi;
use crate::resources::flow_logs::changes::{self, is_not_found, until_settled};
use crate::resources::flow_logs::lifecycle::{self, Failure, Goal, Target};
use crate::resources::vpc_flow_log::rules::{is_system_tag, state_from};
use crate::tfvalue::Value;

/// A known, non-empty string attribute.
fn known(v: &Value, name: &str) -> Option<String> {
    v.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A known map of strings (null: empty).
fn string_map(v: &Value, name: &str) -> BTreeMap<String, String> {
    v.get(name)
        .and_then(Value::as_map)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// The attribute an API error is about, from the names in its code (messages are free text:
/// "stage" is not about tags).
fn attribute_of(e: &Error) -> Option<&'static str> {
    let Error::Api(a) = e else {
        return None;
    };
    let text = a.code.to_ascii_lowercase();
    [
        ("regionid", "region_id"),
        ("project", "project_name"),
        ("logstore", "log_store_name"),
        ("resourcegroup", "resource_group_id"),
        ("resourceid", "resource_id"),
        ("resourcetype", "resource_type"),
        ("traffictype", "traffic_type"),
        ("trafficpath", "traffic_path"),
        ("flowlogname", "flow_log_name"),
        ("description", "description"),
        ("aggregationinterval", "aggregation_interval"),
        ("ipversion", "ip_version"),
        ("tag", "tags"),
        ("vpc", "resource_id"),
        ("vswitch", "resource_id"),
        ("eni", "resource_id"),
        ("networkinterface", "resource_id"),
    ]
    .into_iter()
    .find(|(word, _)| text.contains(word))
    .map(|(_, attr)| attr)
}

/// An API error as a diagnostic on the attribute it concerns (code, message and RequestId are
/// in the error's text).
fn api_error(diags: &mut Diagnostics, summary: String, e: &Error) {
    match attribute_of(e) {
        Some(attr) => diags.attr_error(AttrPath::attr(attr), summary, e.to_string()),
        None => diags.error(summary, e.to_string()),
    }
}

fn report(f: &Failure, t: &Target<'_>, verb: &str, operation: &str, diags: &mut Diagnostics) {
    match f {
        Failure::Api(e) => api_error(diags, format!("Could not {verb} flow log {}", t.id), e),
        other => lifecycle::report_failure(other, t, verb, operation, diags),
    }
}

pub async fn create(
    api: &dyn FlowLogApi,
    region: &str,
    planned: &Value,
    opts: &CallOptions,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let req = CreateFlowLogRequest {
        region_id: region.to_owned(),
        resource_type: known(planned, "resource_type").unwrap_or_default(),
        resource_id: known(planned, "resource_id").unwrap_or_default(),
        traffic_type: known(planned, "traffic_type").unwrap_or_default(),
        project_name: known(planned, "project_name").unwrap_or_default(),
        log_store_name: known(planned, "log_store_name").unwrap_or_default(),
        flow_log_name: known(planned, "flow_log_name"),
        description: known(planned, "description"),
        aggregation_interval: known(planned, "aggregation_interval"),
        ip_version: known(planned, "ip_version"),
        resource_group_id: known(planned, "resource_group_id"),
        traffic_path: planned
            .get("traffic_path")
            .and_then(Value::as_slice)
            .map(|l| {
                l.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        tags: string_map(planned, "tags").into_iter().collect(),
    };
    let out = changes::create(api, &req, opts).await;
    let Some(id) = out.id.clone() else {
        if let Err(Failure::Api(e @ (Error::Timeout { .. } | Error::Transport { .. }))) =
            &out.result
        {
            diags.error(
                "The answer to CreateFlowLog was lost",
                format!(
                    "{e}. The request may have created a flow log for {} all the same; it was not sent again, so that no second one is created. Before applying again, look for it (data \"alicloud_vpc_flow_logs\" with resource_id = \"{}\", or the console) and import it, or delete it.",
                    req.resource_id, req.resource_id
                ),
            );
        } else if let Err(Failure::Api(e)) = &out.result {
            api_error(diags, "Could not create the flow log".to_owned(), e);
        } else if let Err(f) = &out.result {
            let t = Target { region, id: "" };
            lifecycle::report_failure(f, &t, "create", "create", diags);
        }
        return None;
    };
    let t = Target { region, id: &id };
    if let Err(f) = &out.result {
        report(f, &t, "create", "create", diags);
        if matches!(f, Failure::Reverted(_)) {
            diags.error(
                format!("Flow log {id} was created but is not active"),
                format!(
                    "CreateFlowLog (RequestId: {}) created flow log {id}, which then did not start. Terraform records it as tainted: the next apply replaces it, and destroy deletes it.",
                    out.request_id
                ),
            );
        }
        // It exists: recorded (tainted by Terraform), never lost.
        return Some(match &out.last_seen {
            Some(fl) => state_from(fl, region, planned),
            None => identity(&id, region, planned),
        });
    }
    let mut last = out.last_seen.clone();
    if planned.get("status").and_then(Value::as_str) == Some(FlowLogStatus::Inactive.as_str()) {
        let o = lifecycle::converge(api, &t, Goal::Inactive, opts).await;
        if let Err(f) = &o.result {
            report(f, &t, "deactivate", "create", diags);
        }
        if o.last_seen.is_some() {
            last = o.last_seen;
        }
    }
    Some(match &last {
        Some(fl) => state_from(fl, region, planned),
        None => identity(&id, region, planned),
    })
}

/// The state of a flow log known only by its ID: what was planned, with the ID.
fn identity(id: &str, region: &str, planned: &Value) -> Value {
    let mut v = planned.clone();
    for (k, val) in [
        ("id", Value::string(id)),
        ("flow_log_id", Value::string(id)),
        ("region_id", Value::string(region)),
    ] {
        if let Some(slot) = v.get_mut(k) {
            *slot = val;
        }
    }
    if let Value::Object(m) = &mut v {
        for slot in m.values_mut() {
            if !slot.is_wholly_known() {
                *slot = Value::Null;
            }
        }
    }
    v
}

fn id_of(state: &Value) -> String {
    known(state, "flow_log_id")
        .or_else(|| known(state, "id"))
        .unwrap_or_default()
}

/// What `ModifyFlowLogAttribute` must change: each attribute whose planned value is known and
/// differs from the prior one (a text removed from the configuration is cleared).
fn modification(region: &str, id: &str, prior: &Value, planned: &Value) -> ModifyFlowLogRequest {
    let changed = |name: &str, clearable: bool| -> Option<String> {
        let after = planned.get(name)?;
        if !after.is_wholly_known() || Some(after) == prior.get(name) {
            return None;
        }
        match after.as_str() {
            Some(s) => Some(s.to_owned()),
            None if clearable && after.is_null() => Some(String::new()),
            None => None,
        }
    };
    ModifyFlowLogRequest {
        region_id: region.to_owned(),
        flow_log_id: id.to_owned(),
        flow_log_name: changed("flow_log_name", true),
        description: changed("description", true),
        aggregation_interval: changed("aggregation_interval", false),
        ip_version: changed("ip_version", false),
    }
}

pub async fn update(
    api: &dyn FlowLogApi,
    region: &str,
    prior: &Value,
    planned: &Value,
    opts: &CallOptions,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let id = id_of(prior);
    let t = Target { region, id: &id };
    // Each step's failure ends the update with the state the API then showed: the steps done
    // are recorded, the next plan proposes the rest again.

    let modify = modification(region, &id, prior, planned);
    if !modify.is_empty()
        && let Err(f) = changes::modify(api, &modify, opts).await
    {
        report(&f, &t, "modify", "update", diags);
        return refreshed(api, &t, prior, opts).await;
    }

    if let Some(want) = planned.get("status").and_then(Value::as_str)
        && Some(want) != prior.get("status").and_then(Value::as_str)
    {
        let goal = match want {
            "Inactive" => Goal::Inactive,
            _ => Goal::Active,
        };
        let verb = match goal {
            Goal::Active => "activate",
            Goal::Inactive => "deactivate",
        };
        let o = lifecycle::converge(api, &t, goal, opts).await;
        if let Err(f) = o.result {
            report(&f, &t, verb, "update", diags);
            return refreshed(api, &t, prior, opts).await;
        }
    }

    if let Some(group) = known(planned, "resource_group_id")
        && known(prior, "resource_group_id").as_deref() != Some(group.as_str())
        && let Err(e) = api.move_resource_group(region, &id, &group, opts).await
    {
        report(&Failure::from(e), &t, "move", "update", diags);
        return refreshed(api, &t, prior, opts).await;
    }

    let before = string_map(prior, "tags");
    let after = string_map(planned, "tags");
    if before != after {
        // As the official provider: remove the keys that went and those whose value changed,
        // then set the new and changed ones. The cloud's own tags are never removed.
        let remove: Vec<String> = before
            .iter()
            .filter(|(k, v)| after.get(*k) != Some(*v) && !is_system_tag(k))
            .map(|(k, _)| k.clone())
            .collect();
        let add: Vec<(String, String)> = after
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !remove.is_empty()
            && let Err(e) = api.untag(region, &id, &remove, opts).await
        {
            report(&Failure::from(e), &t, "untag", "update", diags);
            return refreshed(api, &t, prior, opts).await;
        }
        if !add.is_empty()
            && let Err(e) = api.tag(region, &id, &add, opts).await
        {
            report(&Failure::from(e), &t, "tag", "update", diags);
            return refreshed(api, &t, prior, opts).await;
        }
    }

    match api.describe(region, &id, opts).await {
        Ok(Some(fl)) => Some(state_from(&fl, region, planned)),
        Ok(None) => {
            report(&Failure::Deleted, &t, "update", "update", diags);
            None
        }
        Err(e) => {
            report(&Failure::from(e), &t, "read", "update", diags);
            Some(prior.clone())
        }
    }
}

/// After a failed step: the state as the API now shows it (the prior state when it cannot
/// say).
async fn refreshed(
    api: &dyn FlowLogApi,
    t: &Target<'_>,
    prior: &Value,
    opts: &CallOptions,
) -> Option<Value> {
    let fresh = CallOptions {
        deadline: Some(tokio::time::Instant::now() + std::time::Duration::from_secs(30)),
        cancel: opts.cancel.clone(),
    };
    match api.describe(t.region, t.id, &fresh).await {
        Ok(Some(fl)) => Some(state_from(&fl, t.region, prior)),
        _ => Some(prior.clone()),
    }
}

pub async fn delete(
    api: &dyn FlowLogApi,
    region: &str,
    prior: &Value,
    opts: &CallOptions,
    diags: &mut Diagnostics,
) {
    let id = id_of(prior);
    let t = Target { region, id: &id };
    if let Err(f) = changes::delete(api, &t, opts).await {
        report(&f, &t, "delete", "delete", diags);
    }
}

pub async fn read(
    api: &dyn FlowLogApi,
    region: &str,
    current: &Value,
    opts: &CallOptions,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let id = id_of(current);
    let t = Target { region, id: &id };
    let seen = match api.read(region, &id, opts).await {
        Ok(seen) => seen.map(|s| s.flow_log),
        Err(e) if is_not_found(&e) => None,
        Err(e) => {
            report(&Failure::from(e), &t, "read", "read", diags);
            return None;
        }
    };
    let fl: Option<FlowLog> = match until_settled(api, &t, seen, opts).await {
        Ok(fl) => fl,
        // A refresh that cannot wait longer records what it saw.
        Err(Failure::TimedOut(Some(fl))) => Some(*fl),
        Err(f) => {
            report(&f, &t, "read", "read", diags);
            return None;
        }
    };
    fl.map(|fl| state_from(&fl, region, current))
}
