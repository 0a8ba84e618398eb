//! The rules of `alicloud_vpc_flow_log` that need no API: plan-time checks of known values
//! (each diagnostic on its attribute), planning, and the state built from a description.

use std::collections::BTreeMap;

use crate::alicloud::FlowLog;
use crate::diag::{AttrPath, Diagnostics};
use crate::resource::PlanRequest;
use crate::resources::configured;
use crate::resources::ids::{check_one_of, check_region_id};
use crate::tfvalue::Value;

pub const RESOURCE_TYPES: [&str; 3] = ["NetworkInterface", "VPC", "VSwitch"];
pub const TRAFFIC_TYPES: [&str; 3] = ["All", "Allow", "Drop"];
pub const STATUSES: [&str; 2] = ["Active", "Inactive"];
pub const AGGREGATION_INTERVALS: [&str; 3] = ["1", "5", "10"];
pub const TRAFFIC_PATHS: [&str; 2] = ["all", "internetGateway"];
/// Tags a flow log may have, as the API counts them.
pub const MAX_TAGS: usize = 20;

/// The ID prefix of each resource type.
pub fn id_prefix(resource_type: &str) -> Option<&'static str> {
    match resource_type {
        "VPC" => Some("vpc-"),
        "VSwitch" => Some("vsw-"),
        "NetworkInterface" => Some("eni-"),
        _ => None,
    }
}

/// Tag keys the cloud reserves for itself: never shown in state, never removed.
pub fn is_system_tag(key: &str) -> bool {
    key.starts_with("aliyun")
        || key.starts_with("acs:")
        || key.starts_with("http://")
        || key.starts_with("https://")
        || key.starts_with("sae.do.not.delete")
}

/// Text the API takes: at most `max` characters, not starting with a URL scheme. Empty is
/// "not set", as in the official resource.
fn api_text(config: &Value, name: &str, max: usize, diags: &mut Diagnostics) {
    let Some(v) = config.get(name).and_then(Value::as_str) else {
        return;
    };
    let problem = if v.chars().count() > max {
        Some(format!("is longer than {max} characters"))
    } else if v.starts_with("http://") || v.starts_with("https://") {
        Some("starts with http:// or https://, which the API refuses".to_owned())
    } else {
        None
    };
    if let Some(p) = problem {
        diags.attr_error(
            AttrPath::attr(name),
            format!("Invalid {name}"),
            format!("{v:?} {p}."),
        );
    }
}

/// A Log Service project or logstore name: 3-63 lower-case letters, digits, `-` (and `_` for
/// logstores), starting and ending with a letter or digit.
fn sls_name(config: &Value, name: &str, underscore: bool, diags: &mut Diagnostics) {
    let Some(v) = config.get(name).and_then(Value::as_str) else {
        return;
    };
    let body_ok = v.bytes().all(|b| {
        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || (underscore && b == b'_')
    });
    let ends_ok = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let len = v.len();
    if !(3..=63).contains(&len)
        || !body_ok
        || !ends_ok(v.as_bytes().first())
        || !ends_ok(v.as_bytes().last())
    {
        let allowed = if underscore {
            "lower-case letters, digits, - and _"
        } else {
            "lower-case letters, digits and -"
        };
        diags.attr_error(
            AttrPath::attr(name),
            format!("Invalid {name}"),
            format!(
                "{v:?} is not a Log Service name: 3 to 63 {allowed}, starting and ending with a letter or digit."
            ),
        );
    }
}

/// Checks of known configuration values; unknown values wait for apply.
pub fn validate(config: &Value, diags: &mut Diagnostics) {
    check_one_of(config, "resource_type", &RESOURCE_TYPES, diags);
    check_one_of(config, "traffic_type", &TRAFFIC_TYPES, diags);
    check_one_of(config, "status", &STATUSES, diags);
    check_one_of(
        config,
        "aggregation_interval",
        &AGGREGATION_INTERVALS,
        diags,
    );
    api_text(config, "flow_log_name", 128, diags);
    api_text(config, "description", 256, diags);
    sls_name(config, "project_name", false, diags);
    sls_name(config, "log_store_name", true, diags);
    if let Some(r) = config.get("region_id").and_then(Value::as_str) {
        check_region_id(AttrPath::attr("region_id"), r, diags);
    }
    if let Some(id) = config.get("resource_id").and_then(Value::as_str) {
        let shaped = |prefix: &str| {
            id.strip_prefix(prefix).is_some_and(|rest| {
                !rest.is_empty()
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
        };
        let prefix = config
            .get("resource_type")
            .and_then(Value::as_str)
            .and_then(id_prefix);
        let ok = match prefix {
            Some(p) => shaped(p),
            // Type unknown yet (or invalid, reported above): any of the three shapes.
            None => ["vpc-", "vsw-", "eni-"].iter().any(|p| shaped(p)),
        };
        if !ok {
            let want = match prefix {
                Some(p) => format!(
                    "a resource_type of {:?} takes an ID starting with \"{p}\"",
                    config
                        .get("resource_type")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                ),
                None => "IDs start with \"vpc-\", \"vsw-\" or \"eni-\"".to_owned(),
            };
            diags.attr_error(
                AttrPath::attr("resource_id"),
                "Invalid resource_id",
                format!(
                    "{id:?} is not the ID of the resource to capture: {want}, followed by lower-case letters and digits, e.g. \"vpc-bp1qpo0kug3a20qqe0000\"."
                ),
            );
        }
    }
    if let Some(g) = config.get("resource_group_id").and_then(Value::as_str)
        && !g.starts_with("rg-")
    {
        diags.attr_error(
            AttrPath::attr("resource_group_id"),
            "Invalid resource_group_id",
            format!("{g:?} is not a resource group ID: they start with \"rg-\"."),
        );
    }
    if let Some(paths) = config.get("traffic_path").and_then(Value::as_slice) {
        for (i, p) in paths.iter().enumerate() {
            if let Some(p) = p.as_str()
                && !TRAFFIC_PATHS.contains(&p)
            {
                diags.attr_error(
                    AttrPath::attr("traffic_path").then_index(i as i64),
                    "Invalid traffic_path",
                    format!("{p:?} is not a traffic path: use \"all\" or \"internetGateway\"."),
                );
            }
        }
    }
    if let Some(tags) = config.get("tags").and_then(Value::as_map) {
        validate_tags(tags, diags);
    }
}

fn validate_tags(tags: &BTreeMap<String, Value>, diags: &mut Diagnostics) {
    if tags.len() > MAX_TAGS {
        diags.attr_error(
            AttrPath::attr("tags"),
            "Too many tags",
            format!(
                "A flow log takes at most {MAX_TAGS} tags; this configuration has {}.",
                tags.len()
            ),
        );
    }
    let url = |s: &str| s.contains("http://") || s.contains("https://");
    for (k, v) in tags {
        let path = AttrPath::attr("tags").then_key(k);
        let key_problem = if k.is_empty() || k.chars().count() > 128 {
            Some("must be 1 to 128 characters long")
        } else if k.starts_with("aliyun") || k.starts_with("acs:") {
            Some("must not start with \"aliyun\" or \"acs:\" (reserved for the cloud's own tags)")
        } else if url(k) {
            Some("must not contain http:// or https://")
        } else {
            None
        };
        if let Some(p) = key_problem {
            diags.attr_error(
                path.clone(),
                "Invalid tag key",
                format!("Tag key {k:?} {p}."),
            );
        }
        if let Some(v) = v.as_str() {
            let value_problem = if v.chars().count() > 128 {
                Some("must be at most 128 characters long")
            } else if v.starts_with("aliyun") || v.starts_with("acs:") {
                Some("must not start with \"aliyun\" or \"acs:\"")
            } else if url(v) {
                Some("must not contain http:// or https://")
            } else {
                None
            };
            if let Some(p) = value_problem {
                diags.attr_error(
                    path,
                    "Invalid tag value",
                    format!("The value of tag {k:?} {p}."),
                );
            }
        }
    }
}

/// Planning beyond the engine's rules: the region a new flow log goes to.
pub fn modify_plan(req: &PlanRequest<'_>, planned: &mut Value, diags: &mut Diagnostics) {
    if !req.prior.is_null() {
        return;
    }
    configured::plan_region(req, planned, diags);
}

/// Empty text from the API is "not set" in Terraform.
fn text(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::string(s)
    }
}

/// The API says "nothing" (`api` is null): the configuration's way of saying nothing (`""`,
/// `{}` or `[]`) is kept, so an empty value configured stays as configured.
fn or_empty_of(api: Value, base: &Value, name: &str) -> Value {
    if !api.is_null() {
        return api;
    }
    match base.get(name) {
        Some(Value::String(s)) if s.is_empty() => Value::string(""),
        Some(Value::Map(m)) if m.is_empty() => Value::Map(BTreeMap::new()),
        Some(Value::List(l)) if l.is_empty() => Value::List(Vec::new()),
        _ => Value::Null,
    }
}

/// The tags a description shows, without the cloud's own.
pub fn visible_tags(fl: &FlowLog) -> BTreeMap<String, String> {
    fl.tags
        .iter()
        .flat_map(|t| &t.tag)
        .filter(|t| !is_system_tag(&t.key))
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

/// State from a description; `base` (the plan, or the state refreshed) supplies what only the
/// configuration knows: timeouts, and the form of an empty value.
pub fn state_from(fl: &FlowLog, region: &str, base: &Value) -> Value {
    let mut obj = BTreeMap::new();
    let mut put = |k: &str, v: Value| {
        obj.insert(k.to_owned(), v);
    };
    put("id", Value::string(&fl.flow_log_id));
    put("flow_log_id", Value::string(&fl.flow_log_id));
    put("region_id", Value::string(region));
    put("resource_type", text(&fl.resource_type));
    put("resource_id", text(&fl.resource_id));
    put("traffic_type", text(&fl.traffic_type));
    put("project_name", text(&fl.project_name));
    put("log_store_name", text(&fl.log_store_name));
    put(
        "flow_log_name",
        or_empty_of(text(&fl.flow_log_name), base, "flow_log_name"),
    );
    put(
        "description",
        or_empty_of(text(&fl.description), base, "description"),
    );
    put(
        "aggregation_interval",
        fl.aggregation_interval
            .map_or(Value::Null, |n| Value::string(n.to_string())),
    );
    put("ip_version", text(&fl.ip_version));
    let paths: Vec<Value> = fl
        .traffic_path
        .iter()
        .flat_map(|p| &p.traffic_path_list)
        .map(Value::string)
        .collect();
    put(
        "traffic_path",
        or_empty_of(
            if paths.is_empty() {
                Value::Null
            } else {
                Value::List(paths)
            },
            base,
            "traffic_path",
        ),
    );
    put("resource_group_id", text(&fl.resource_group_id));
    let tags = visible_tags(fl);
    put(
        "tags",
        or_empty_of(
            if tags.is_empty() {
                Value::Null
            } else {
                Value::Map(
                    tags.into_iter()
                        .map(|(k, v)| (k, Value::string(v)))
                        .collect(),
                )
            },
            base,
            "tags",
        ),
    );
    put("status", text(fl.status.as_str()));
    put("business_status", text(&fl.business_status));
    put("create_time", text(&fl.creation_time));
    put(
        "timeouts",
        base.get("timeouts")
            .filter(|v| v.is_wholly_known())
            .cloned()
            .unwrap_or(Value::Null),
    );
    Value::Object(obj)
}
