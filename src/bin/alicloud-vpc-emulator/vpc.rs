//! The VPC flow-log operations: each action's parameters checked into an [`Op`], then run
//! against the store, the world (what exists around the flow logs) and the background faults.
//! The gateway's checks before them (signature, throttling, injected faults) live in `api`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::api::ApiError;
use super::faults::Background;
use super::params::indexed;
use super::regions::is_known_region;
use super::store::{DEFAULT_RESOURCE_GROUP, NewFlowLog, Refusal, Store};
use super::tags::{self, MAX_TAGS};
use super::world::{World, resource_prefix};

/// Every VPC action the emulator serves.
pub const ACTIONS: &[&str] = &[
    "ActiveFlowLog",
    "DeactiveFlowLog",
    "DescribeFlowLogs",
    "CreateFlowLog",
    "DeleteFlowLog",
    "ModifyFlowLogAttribute",
    "MoveResourceGroup",
    "TagResources",
    "UnTagResources",
    "ListTagResources",
];

const MAX_PAGE_SIZE: usize = 50;
/// `ResourceId.N` of the tag operations.
const MAX_TAG_RESOURCES: usize = 50;

const DESCRIBE_FILTERS: &[&str] = &[
    "FlowLogId",
    "FlowLogName",
    "Description",
    "ResourceType",
    "ResourceId",
    "TrafficType",
    "ProjectName",
    "LogStoreName",
    "Status",
    "VpcId",
    "ResourceGroupId",
];

/// A validated VPC operation.
pub enum Op {
    Toggle {
        activate: bool,
        region: String,
        id: String,
    },
    Describe {
        region: String,
        filters: Vec<(&'static str, String)>,
        tags: Vec<(String, Option<String>)>,
        page_number: usize,
        page_size: usize,
    },
    /// The region is among the new flow log's fields.
    Create {
        new: NewFlowLog,
    },
    Delete {
        region: String,
        id: String,
    },
    Modify {
        region: String,
        id: String,
        patch: Map<String, Value>,
    },
    Move {
        region: String,
        id: String,
        group: String,
    },
    Tag {
        region: String,
        ids: Vec<String>,
        tags: Vec<(String, String)>,
    },
    Untag {
        region: String,
        ids: Vec<String>,
        /// `None`: every tag (`All=true`).
        keys: Option<Vec<String>>,
    },
    ListTags {
        region: String,
        ids: Option<Vec<String>>,
        filter: Vec<(String, Option<String>)>,
        offset: usize,
        max: usize,
    },
}

impl Op {
    /// `DescribeFlowLogs` without a `FlowLogId`: what a RAM policy allowing describes only by
    /// `FlowLogId` refuses under `--refuse-listings`.
    pub fn is_listing(&self) -> bool {
        match self {
            Op::Describe { filters, .. } => !filters.iter().any(|(f, _)| *f == "FlowLogId"),
            _ => false,
        }
    }
}

fn non_empty<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

fn required<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    non_empty(params, name).ok_or_else(|| ApiError::missing(name))
}

fn invalid_because(name: &str, why: &str) -> ApiError {
    ApiError::new(
        400,
        "InvalidParameter",
        format!("The specified parameter \"{name}\" is not valid: {why}."),
    )
}

/// A name or description: `1..=max` characters, not starting with `http://` or `https://`.
fn check_text(name: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().count() > max {
        return Err(invalid_because(
            name,
            &format!("it is longer than {max} characters"),
        ));
    }
    if value.starts_with("http://") || value.starts_with("https://") {
        return Err(invalid_because(
            name,
            "it must not start with http:// or https://",
        ));
    }
    Ok(())
}

fn aggregation_interval(params: &BTreeMap<String, String>) -> Result<Option<u32>, ApiError> {
    match non_empty(params, "AggregationInterval") {
        None => Ok(None),
        Some(v) => match v.parse::<u32>() {
            Ok(n @ (1 | 5 | 10)) => Ok(Some(n)),
            _ => Err(invalid_because(
                "AggregationInterval",
                "it must be 1, 5 or 10",
            )),
        },
    }
}

fn ip_version(params: &BTreeMap<String, String>) -> Result<Option<String>, ApiError> {
    match non_empty(params, "IpVersion") {
        None => Ok(None),
        Some(v) if v.eq_ignore_ascii_case("IPv4") || v.eq_ignore_ascii_case("DualStack") => {
            Ok(Some(v.to_owned()))
        }
        Some(_) => Err(invalid_because("IpVersion", "it must be IPv4 or DualStack")),
    }
}

fn is_resource_group_id(id: &str) -> bool {
    id.strip_prefix("rg-").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    })
}

/// `ResourceType` of the tag and resource-group operations: only flow logs are emulated. The
/// tag operations document case-insensitive values; the official provider sends `FLOWLOG`
/// where the docs write `FlowLog`, so any case goes.
fn check_flow_log_type(params: &BTreeMap<String, String>) -> Result<(), ApiError> {
    let t = required(params, "ResourceType")?;
    if t.eq_ignore_ascii_case("FLOWLOG") {
        Ok(())
    } else {
        Err(invalid_because(
            "ResourceType",
            "the emulator only serves FLOWLOG",
        ))
    }
}

/// `ResourceId.N`: at least one when `needed`, at most 50.
fn resource_ids(params: &BTreeMap<String, String>, needed: bool) -> Result<Vec<String>, ApiError> {
    let ids: Vec<String> = indexed(params, "ResourceId", None)
        .map_err(|p| ApiError::invalid(&p))?
        .into_iter()
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
        .collect();
    if needed && ids.is_empty() {
        return Err(ApiError::missing("ResourceId.1"));
    }
    if ids.len() > MAX_TAG_RESOURCES {
        return Err(invalid_because(
            "ResourceId.N",
            &format!("at most {MAX_TAG_RESOURCES} resources per request"),
        ));
    }
    Ok(ids)
}

pub fn parse_op(action: &str, params: &BTreeMap<String, String>) -> Result<Op, ApiError> {
    if !ACTIONS.contains(&action) {
        return Err(ApiError::action_not_found());
    }
    let region = required(params, "RegionId")?;
    if !is_known_region(region) {
        return Err(ApiError::new(
            404,
            "InvalidRegionId.NotFound",
            "The specified RegionId does not exist.",
        ));
    }
    let region = region.to_owned();
    let flow_log_id = || required(params, "FlowLogId").map(str::to_owned);
    Ok(match action {
        "ActiveFlowLog" | "DeactiveFlowLog" => Op::Toggle {
            activate: action == "ActiveFlowLog",
            region,
            id: flow_log_id()?,
        },
        "DescribeFlowLogs" => parse_describe(region, params)?,
        "CreateFlowLog" => Op::Create {
            new: parse_create(&region, params)?,
        },
        "DeleteFlowLog" => Op::Delete {
            region,
            id: flow_log_id()?,
        },
        "ModifyFlowLogAttribute" => Op::Modify {
            id: flow_log_id()?,
            patch: parse_modify(params)?,
            region,
        },
        "MoveResourceGroup" => {
            check_flow_log_type(params)?;
            let id = required(params, "ResourceId")?.to_owned();
            let group = required(params, "NewResourceGroupId")?;
            if !is_resource_group_id(group) {
                return Err(invalid_because(
                    "NewResourceGroupId",
                    "expected rg- followed by lowercase letters and digits",
                ));
            }
            Op::Move {
                region,
                id,
                group: group.to_owned(),
            }
        }
        "TagResources" => {
            check_flow_log_type(params)?;
            let ids = resource_ids(params, true)?;
            let pairs = tags::pairs(params, "Tag", true)?;
            if pairs.is_empty() {
                return Err(ApiError::missing("Tag.1.Key"));
            }
            if pairs.len() > MAX_TAGS {
                return Err(tags::too_many(pairs.len()));
            }
            Op::Tag {
                region,
                ids,
                tags: pairs
                    .into_iter()
                    .map(|(k, v)| (k, v.unwrap_or_default()))
                    .collect(),
            }
        }
        "UnTagResources" => {
            check_flow_log_type(params)?;
            let ids = resource_ids(params, true)?;
            let all = match non_empty(params, "All") {
                None => false,
                Some(v) if v.eq_ignore_ascii_case("true") => true,
                Some(v) if v.eq_ignore_ascii_case("false") => false,
                Some(_) => return Err(invalid_because("All", "it must be true or false")),
            };
            let keys: Vec<String> = indexed(params, "TagKey", None)
                .map_err(|p| ApiError::invalid(&p))?
                .into_iter()
                .map(|(_, k)| k)
                .collect();
            if keys.len() > MAX_TAGS {
                return Err(invalid_because(
                    "TagKey.N",
                    &format!("at most {MAX_TAGS} keys per request"),
                ));
            }
            if keys.iter().any(String::is_empty) {
                return Err(invalid_because("TagKey.N", "a key is empty"));
            }
            let keys = match (all, keys.is_empty()) {
                (true, _) => None,
                (false, false) => Some(keys),
                (false, true) => return Err(ApiError::missing("TagKey.1")),
            };
            Op::Untag { region, ids, keys }
        }
        "ListTagResources" => {
            check_flow_log_type(params)?;
            let ids = resource_ids(params, false)?;
            let filter = tags::pairs(params, "Tag", false)?;
            if ids.is_empty() && filter.is_empty() {
                return Err(ApiError::missing("ResourceId.1"));
            }
            if filter.len() > MAX_TAGS {
                return Err(tags::too_many(filter.len()));
            }
            let max = match non_empty(params, "MaxResults") {
                None => 50,
                Some(v) => v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=50).contains(n))
                    .ok_or_else(|| invalid_because("MaxResults", "it must be 1 to 50"))?,
            };
            let offset = match non_empty(params, "NextToken") {
                None => 0,
                Some(t) => t
                    .strip_prefix("emu-")
                    .and_then(|n| n.parse::<usize>().ok())
                    .ok_or_else(|| {
                        invalid_because("NextToken", "it is not a token this API gave")
                    })?,
            };
            Op::ListTags {
                region,
                ids: (!ids.is_empty()).then_some(ids),
                filter,
                offset,
                max,
            }
        }
        _ => return Err(ApiError::action_not_found()),
    })
}

fn parse_describe(region: String, params: &BTreeMap<String, String>) -> Result<Op, ApiError> {
    let number = |name: &str, default: usize, max: usize| match non_empty(params, name) {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::invalid(name)),
    };
    let page_number = number("PageNumber", 1, usize::MAX)?;
    let page_size = number("PageSize", 20, MAX_PAGE_SIZE)?;
    let filters = DESCRIBE_FILTERS
        .iter()
        .filter_map(|f| non_empty(params, f).map(|v| (*f, v.to_owned())))
        .collect();
    let tags = tags::pairs(params, "Tags", false)?;
    Ok(Op::Describe {
        region,
        filters,
        tags,
        page_number,
        page_size,
    })
}

/// CreateFlowLog's parameters, each checked, as the flow log's fields. Whether the resource,
/// project and logstore exist is asked when it runs.
fn parse_create(region: &str, params: &BTreeMap<String, String>) -> Result<NewFlowLog, ApiError> {
    let resource_type = required(params, "ResourceType")?;
    if resource_prefix(resource_type).is_none() {
        return Err(invalid_because(
            "ResourceType",
            "it must be NetworkInterface, VSwitch or VPC",
        ));
    }
    let resource_id = required(params, "ResourceId")?;
    let traffic_type = required(params, "TrafficType")?;
    if !matches!(traffic_type, "All" | "Allow" | "Drop") {
        return Err(invalid_because(
            "TrafficType",
            "it must be All, Allow or Drop",
        ));
    }
    let project = required(params, "ProjectName")?;
    let logstore = required(params, "LogStoreName")?;
    let name = non_empty(params, "FlowLogName").unwrap_or("");
    check_text("FlowLogName", name, 128)?;
    let description = non_empty(params, "Description").unwrap_or("");
    check_text("Description", description, 256)?;
    let interval = aggregation_interval(params)?.unwrap_or(10);
    let ip_version = ip_version(params)?.unwrap_or_else(|| "IPv4".to_owned());
    let group = match non_empty(params, "ResourceGroupId") {
        None => DEFAULT_RESOURCE_GROUP,
        Some(g) if is_resource_group_id(g) => g,
        Some(_) => {
            return Err(invalid_because(
                "ResourceGroupId",
                "expected rg- followed by lowercase letters and digits",
            ));
        }
    };
    let mut paths: Vec<String> = Vec::new();
    for (n, p) in indexed(params, "TrafficPath", None).map_err(|p| ApiError::invalid(&p))? {
        if !matches!(p.as_str(), "all" | "internetGateway") {
            return Err(invalid_because(
                &format!("TrafficPath.{n}"),
                "it must be all or internetGateway",
            ));
        }
        if !paths.contains(&p) {
            paths.push(p);
        }
    }
    if paths.is_empty() {
        paths.push("all".to_owned());
    }
    let pairs = tags::pairs(params, "Tag", true)?;
    if pairs.len() > MAX_TAGS {
        return Err(tags::too_many(pairs.len()));
    }
    let mut fields = Map::new();
    for (k, v) in [
        ("RegionId", Value::from(region)),
        ("FlowLogName", name.into()),
        ("Description", description.into()),
        ("ResourceType", resource_type.into()),
        ("ResourceId", resource_id.into()),
        ("TrafficType", traffic_type.into()),
        ("ProjectName", project.into()),
        ("LogStoreName", logstore.into()),
        ("AggregationInterval", interval.into()),
        ("IpVersion", ip_version.into()),
        ("ResourceGroupId", group.into()),
        ("TrafficPath", json!({ "TrafficPathList": paths })),
    ] {
        fields.insert(k.to_owned(), v);
    }
    Ok(NewFlowLog {
        fields,
        tags: pairs
            .into_iter()
            .map(|(k, v)| (k, v.unwrap_or_default()))
            .collect(),
    })
}

/// ModifyFlowLogAttribute's changes. An empty `FlowLogName` or `Description` clears it (the
/// official provider sends the empty string when one is removed; what the API does with it
/// is not documented).
fn parse_modify(params: &BTreeMap<String, String>) -> Result<Map<String, Value>, ApiError> {
    let mut patch = Map::new();
    for (name, max) in [("FlowLogName", 128), ("Description", 256)] {
        if let Some(v) = params.get(name) {
            check_text(name, v, max)?;
            patch.insert(name.to_owned(), Value::from(v.as_str()));
        }
    }
    if let Some(n) = aggregation_interval(params)? {
        patch.insert("AggregationInterval".to_owned(), n.into());
    }
    if let Some(v) = ip_version(params)? {
        patch.insert("IpVersion".to_owned(), v.into());
    }
    Ok(patch)
}

/// Runs a checked operation; the answer's fields besides `RequestId`.
pub fn run_op(
    store: &mut Store,
    background: &mut Background,
    world: &World,
    op: Op,
    delay: Duration,
    now: Instant,
) -> Result<Map<String, Value>, ApiError> {
    let mut out = Map::new();
    let success = |out: &mut Map<String, Value>| {
        out.insert("Success".to_owned(), Value::from("true"));
    };
    match op {
        Op::Toggle {
            activate,
            region,
            id,
        } => {
            store
                .toggle(&region, &id, activate, delay, now, || background.fate(&id))
                .map_err(refusal_error)?;
            success(&mut out);
        }
        Op::Describe {
            region,
            filters,
            tags,
            page_number,
            page_size,
        } => {
            let filters: Vec<(&str, &str)> =
                filters.iter().map(|(f, v)| (*f, v.as_str())).collect();
            let (total, page) =
                store.describe(&region, &filters, &tags, page_number, page_size, now);
            success(&mut out);
            out.insert("TotalCount".to_owned(), total.to_string().into());
            out.insert("PageNumber".to_owned(), page_number.to_string().into());
            out.insert("PageSize".to_owned(), page_size.to_string().into());
            out.insert("FlowLogs".to_owned(), json!({ "FlowLog": page }));
        }
        Op::Create { new } => {
            check_exists(world, &new.fields)?;
            let group = new.fields.get("ResourceGroupId").cloned();
            let id = store.create(new, delay, now, |id| background.fate(id));
            success(&mut out);
            out.insert("FlowLogId".to_owned(), id.into());
            out.insert(
                "ResourceGroupId".to_owned(),
                group.unwrap_or(Value::from("")),
            );
        }
        Op::Delete { region, id } => {
            store
                .begin_delete(&region, &id, delay, now)
                .map_err(refusal_error)?;
            success(&mut out);
        }
        Op::Modify { region, id, patch } => {
            store
                .modify(&region, &id, patch, delay, now, || background.fate(&id))
                .map_err(refusal_error)?;
            success(&mut out);
        }
        Op::Move { region, id, group } => {
            store
                .move_group(&region, &id, &group, now)
                .map_err(refusal_error)?;
        }
        Op::Tag { region, ids, tags } => {
            store
                .tag(&region, &ids, &tags, MAX_TAGS, now)
                .map_err(refusal_error)?;
        }
        Op::Untag { region, ids, keys } => {
            store
                .untag(&region, &ids, keys.as_deref(), now)
                .map_err(refusal_error)?;
        }
        Op::ListTags {
            region,
            ids,
            filter,
            offset,
            max,
        } => {
            let rows = store.tag_rows(&region, ids.as_deref(), &filter, now);
            let page: Vec<Value> = rows
                .iter()
                .skip(offset)
                .take(max)
                .map(|(id, k, v)| {
                    json!({"ResourceId": id, "ResourceType": "FLOWLOG", "TagKey": k, "TagValue": v})
                })
                .collect();
            let next = offset.saturating_add(max);
            let token = if next < rows.len() {
                format!("emu-{next}")
            } else {
                String::new()
            };
            out.insert("NextToken".to_owned(), token.into());
            out.insert("TagResources".to_owned(), json!({ "TagResource": page }));
        }
    }
    Ok(out)
}

/// The watched resource, then the project, then the logstore must exist.
fn check_exists(world: &World, fields: &Map<String, Value>) -> Result<(), ApiError> {
    let get = |k: &str| fields.get(k).and_then(Value::as_str).unwrap_or("");
    let (rtype, rid) = (get("ResourceType"), get("ResourceId"));
    if !world.resource_exists(rtype, rid) {
        let (code, what) = match rtype {
            "VPC" => ("InvalidVpcId.NotFound", "VPC"),
            "VSwitch" => ("InvalidVSwitchId.NotFound", "vSwitch"),
            _ => ("InvalidEniId.NotFound", "network interface"),
        };
        return Err(ApiError::new(
            404,
            code,
            format!("The specified {what} {rid} does not exist ({code})."),
        ));
    }
    let (project, logstore) = (get("ProjectName"), get("LogStoreName"));
    if !world.project_exists(project) {
        return Err(ApiError::new(
            400,
            "ProjectOrLogstoreNotExist",
            format!("The specified Log Service project {project} does not exist."),
        ));
    }
    if !world.logstore_exists(project, logstore) {
        return Err(ApiError::new(
            400,
            "ProjectOrLogstoreNotExist",
            format!("The specified logstore {logstore} does not exist in project {project}."),
        ));
    }
    Ok(())
}

fn refusal_error(r: Refusal) -> ApiError {
    match r {
        Refusal::NotFound => ApiError::new(
            404,
            "InvalidInstanceId.NotFound",
            "The specified flow log does not exist.",
        ),
        Refusal::Managed => ApiError::new(
            403,
            "Forbidden.OperateManagedFlowLog",
            "The flow log is managed by Log Service and cannot be operated through the VPC API.",
        ),
        Refusal::FinanciallyLocked => ApiError::new(
            400,
            "IncorrectBusinessStatus.FlowLog",
            "The business status of the flow log is incorrect.",
        ),
        Refusal::WrongStatus(s) => ApiError::new(
            400,
            "IncorrectStatus.flowlog",
            format!(
                "The status of the flow log is incorrect (current status: {}).",
                s.as_str()
            ),
        ),
        Refusal::TooManyTags(n) => tags::too_many(n),
    }
}
