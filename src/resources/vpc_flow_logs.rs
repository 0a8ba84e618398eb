//! `alicloud_vpc_flow_logs`: the flow logs of one region that match a set of filters, drop-in
//! with the official provider's data source. Read-only: it lists, it never activates anything.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use regex::Regex;

use super::configured::Configured;
use super::flow_log_activation::from_api;
use super::ids::{
    check_one_of, check_region_id, looks_like_flow_log_id, warn_unmatchable_flow_log_id,
};
use crate::alicloud::FlowLogStatus;
use crate::alicloud::{CallOptions, DescribeFlowLogsRequest, Error, FlowLog};
use crate::diag::{AttrPath, Diagnostics};
use crate::resource::{Ctx, DataSource};
use crate::schema::{Attribute, Block, Schema};
use crate::tfvalue::{self, Type, Value};

pub const TYPE_NAME: &str = "alicloud_vpc_flow_logs";

/// `Activating` and `Deactivating` are transitional, but a compliance check may want exactly
/// those (a flow log stuck on its way), so they are accepted too.
pub const STATUSES: [&str; 4] = FlowLogStatus::DOCUMENTED_NAMES;
pub const RESOURCE_TYPES: [&str; 3] = ["NetworkInterface", "VPC", "VSwitch"];
pub const TRAFFIC_TYPES: [&str; 3] = ["All", "Allow", "Drop"];

/// Every page of a big region takes well under this; the official provider retries for 5 min.
const READ_TIMEOUT: Duration = Duration::from_secs(300);

/// The filters `DescribeFlowLogs` applies itself: attribute name and API parameter.
const SERVER_FILTERS: [(&str, &str); 8] = [
    ("flow_log_name", "FlowLogName"),
    ("resource_type", "ResourceType"),
    ("resource_id", "ResourceId"),
    ("traffic_type", "TrafficType"),
    ("project_name", "ProjectName"),
    ("log_store_name", "LogStoreName"),
    ("status", "Status"),
    ("vpc_id", "VpcId"),
];

/// Attributes with a closed set of values.
const ENUMS: [(&str, &[&str]); 3] = [
    ("status", &STATUSES),
    ("resource_type", &RESOURCE_TYPES),
    ("traffic_type", &TRAFFIC_TYPES),
];

pub struct VpcFlowLogs {
    schema: Schema,
}

impl Default for VpcFlowLogs {
    fn default() -> Self {
        Self::new()
    }
}

impl VpcFlowLogs {
    pub fn new() -> Self {
        VpcFlowLogs { schema: schema() }
    }

    /// The factory the provider registers.
    pub fn factory() -> Arc<dyn DataSource> {
        Arc::new(Self::new())
    }
}

/// One element of `logs`: the official provider's ten attributes plus what the API also says.
pub fn log_type() -> Type {
    let mut attrs: BTreeMap<String, Type> = from_api()
        .into_iter()
        .map(|a| (a.name.to_owned(), a.ty))
        .collect();
    for name in ["id", "flow_log_id", "region_id"] {
        attrs.insert(name.to_owned(), Type::String);
    }
    Type::Object(attrs)
}

fn schema() -> Schema {
    let s = |name, desc: &str| Attribute::optional(name, Type::String, desc);
    Schema {
        version: 0,
        block: Block {
            description: "Lists the VPC flow logs of a region that match the given filters. Every filter is optional; without any, every flow log of the region is listed.".into(),
            attributes: vec![
                Attribute::computed(
                    "id",
                    Type::String,
                    "A hash of the IDs found (the same value the official provider sets); it changes when the set of flow logs found changes.",
                ),
                Attribute::optional_computed(
                    "ids",
                    Type::list(Type::String),
                    "Only these flow log IDs (`fl-...`); a string not shaped like one matches nothing (a warning, not an error). Also exported: the IDs found, sorted. An empty list does not filter.",
                ),
                s("name_regex", "Only flow logs whose name matches this regular expression (Rust `regex` syntax, unanchored: use `^...$` for a whole-name match)."),
                s("status", "Only flow logs in this status: `Active`, `Inactive`, or the transitional `Activating` and `Deactivating`."),
                s("resource_type", "Only flow logs of this kind of resource: `NetworkInterface`, `VPC` or `VSwitch`."),
                s("resource_id", "Only flow logs capturing this resource (a VPC, vSwitch or network interface ID)."),
                s("traffic_type", "Only flow logs capturing this traffic: `All`, `Allow` or `Drop`."),
                s("flow_log_name", "Only flow logs with this name."),
                s("project_name", "Only flow logs delivering to this Log Service project."),
                s("log_store_name", "Only flow logs delivering to this Logstore."),
                s("description", "Only flow logs with exactly this description (filtered by the provider: the API does not filter on it)."),
                s("vpc_id", "Only flow logs of this VPC: the VPC's own flow log and those of its vSwitches and network interfaces."),
                Attribute::optional_computed(
                    "region_id",
                    Type::String,
                    "Region to list, e.g. `cn-hangzhou`. Defaults to the provider's `region`; set it to read another region without a provider alias. Also exported: the region listed.",
                ),
                s("output_file", "Path of a file to write the result to, as JSON: the `logs` list."),
                Attribute::computed(
                    "names",
                    Type::list(Type::String),
                    "Names of the flow logs found, in the order of `ids` (an empty string for a flow log without a name).",
                ),
                Attribute::computed(
                    "logs",
                    Type::list(log_type()),
                    "The flow logs found, sorted by ID.",
                ),
            ],
            blocks: Vec::new(),
        },
    }
}

/// A known, non-empty string argument. Empty counts as unset, as in the official provider.
fn arg<'a>(config: &'a Value, name: &str) -> Option<&'a str> {
    config
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The known, non-null elements of `ids`, with their index.
fn id_args(config: &Value) -> Vec<(usize, &str)> {
    config
        .get("ids")
        .and_then(Value::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.as_str().map(|s| (i, s)))
        .collect()
}

/// Plan-time checks of known values; no network.
pub fn check(config: &Value, diags: &mut Diagnostics) {
    for (name, allowed) in ENUMS {
        check_one_of(config, name, allowed, diags);
    }
    if let Some(re) = config.get("name_regex").and_then(Value::as_str)
        && let Err(e) = Regex::new(re)
    {
        diags.attr_error(
            AttrPath::attr("name_regex"),
            "Invalid regular expression",
            format!("name_regex {re:?} is not a valid regular expression: {e}"),
        );
    }
    for (i, id) in id_args(config) {
        warn_unmatchable_flow_log_id(AttrPath::attr("ids").then_index(i as i64), id, diags);
    }
    if let Some(r) = config.get("region_id").and_then(Value::as_str) {
        check_region_id(AttrPath::attr("region_id"), r, diags);
    }
}

/// The `DescribeFlowLogs` filters for a configuration: the API filters what it can.
pub fn request(config: &Value, region: &str) -> DescribeFlowLogsRequest {
    let get = |name: &str| arg(config, name).map(str::to_owned);
    let ids = id_args(config);
    let mut req = DescribeFlowLogsRequest {
        region_id: region.to_owned(),
        page_size: Some(crate::alicloud::vpc::MAX_PAGE_SIZE),
        ..Default::default()
    };
    for (name, _) in SERVER_FILTERS {
        let slot = match name {
            "flow_log_name" => &mut req.flow_log_name,
            "resource_type" => &mut req.resource_type,
            "resource_id" => &mut req.resource_id,
            "traffic_type" => &mut req.traffic_type,
            "project_name" => &mut req.project_name,
            "log_store_name" => &mut req.log_store_name,
            "status" => {
                req.status = get(name).map(|s| FlowLogStatus::parse(&s));
                continue;
            }
            "vpc_id" => &mut req.vpc_id,
            _ => continue,
        };
        *slot = get(name);
    }
    // One ID is one small answer instead of every page of the region; several are filtered
    // here, since the API takes only one. An ID not shaped like one matches nothing anyway.
    let matchable: Vec<&str> = ids
        .iter()
        .map(|(_, id)| *id)
        .filter(|id| looks_like_flow_log_id(id))
        .collect();
    if let [id] = matchable.as_slice() {
        req.flow_log_id = Some((*id).to_owned());
    }
    req
}

/// `ids` is set and none of its known elements can match a flow log: the answer is empty
/// without asking the API.
fn matches_nothing(config: &Value) -> bool {
    let ids = id_args(config);
    !ids.is_empty() && ids.iter().all(|(_, id)| !looks_like_flow_log_id(id))
}

/// What the API cannot filter: `ids`, `name_regex` and `description`.
pub struct LocalFilter {
    ids: Option<BTreeSet<String>>,
    name_regex: Option<Regex>,
    description: Option<String>,
}

impl LocalFilter {
    /// Fails only on a regular expression that validation would have refused.
    pub fn new(config: &Value) -> Result<LocalFilter, regex::Error> {
        let ids: BTreeSet<String> = id_args(config)
            .into_iter()
            .map(|(_, s)| s.to_owned())
            .collect();
        Ok(LocalFilter {
            ids: (!ids.is_empty()).then_some(ids),
            name_regex: arg(config, "name_regex").map(Regex::new).transpose()?,
            description: arg(config, "description").map(str::to_owned),
        })
    }

    pub fn keeps(&self, fl: &FlowLog) -> bool {
        self.ids
            .as_ref()
            .is_none_or(|ids| ids.contains(&fl.flow_log_id))
            && self
                .name_regex
                .as_ref()
                .is_none_or(|re| re.is_match(&fl.flow_log_name))
            && self
                .description
                .as_ref()
                .is_none_or(|d| *d == fl.description)
    }

    /// The flow logs kept, sorted by ID (the API's order is creation order, which a plan
    /// should not depend on), each once.
    pub fn apply(&self, all: Vec<FlowLog>) -> Vec<FlowLog> {
        let mut kept: Vec<FlowLog> = all.into_iter().filter(|f| self.keeps(f)).collect();
        kept.sort_by(|a, b| a.flow_log_id.cmp(&b.flow_log_id));
        kept.dedup_by(|a, b| a.flow_log_id == b.flow_log_id);
        kept
    }
}

/// CRC-32 (IEEE), as Go's `hash/crc32.ChecksumIEEE`: the official provider's data source ID is
/// this checksum of the IDs, so the same result has the same `id` with either provider.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The data source's `id`: every ID followed by `-`, checksummed, in decimal.
pub fn result_id(ids: &[&str]) -> String {
    let joined: String = ids.iter().map(|id| format!("{id}-")).collect();
    crc32(joined.as_bytes()).to_string()
}

/// One element of `logs`.
fn log_value(fl: &FlowLog, region: &str) -> Value {
    let mut obj = BTreeMap::new();
    obj.insert("id".to_owned(), Value::string(&fl.flow_log_id));
    obj.insert("flow_log_id".to_owned(), Value::string(&fl.flow_log_id));
    let fl_region = if fl.region_id.is_empty() {
        region
    } else {
        &fl.region_id
    };
    obj.insert("region_id".to_owned(), Value::string(fl_region));
    for attr in from_api() {
        obj.insert(attr.name.to_owned(), (attr.read)(fl));
    }
    Value::Object(obj)
}

/// The whole result: the configuration with every computed attribute filled in.
pub fn result(config: &Value, region: &str, found: &[FlowLog]) -> Value {
    let mut obj: BTreeMap<String, Value> = config.as_map().cloned().unwrap_or_default();
    let ids: Vec<&str> = found.iter().map(|f| f.flow_log_id.as_str()).collect();
    obj.insert("id".to_owned(), Value::string(result_id(&ids)));
    obj.insert(
        "ids".to_owned(),
        Value::List(ids.iter().map(|id| Value::string(*id)).collect()),
    );
    obj.insert(
        "names".to_owned(),
        Value::List(
            found
                .iter()
                .map(|f| Value::string(&f.flow_log_name))
                .collect(),
        ),
    );
    obj.insert(
        "logs".to_owned(),
        Value::List(found.iter().map(|f| log_value(f, region)).collect()),
    );
    obj.insert("region_id".to_owned(), Value::string(region));
    Value::Object(obj)
}

/// `logs` as pretty JSON, the way the official provider writes `output_file` (tab indent).
pub fn output_json(logs: &Value) -> Result<String, String> {
    use serde::Serialize;
    let json = tfvalue::to_json(logs, &Type::list(log_type())).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    json.serialize(&mut ser).map_err(|e| e.to_string())?;
    String::from_utf8(out).map_err(|e| e.to_string())
}

/// An API error on the attribute it concerns: the region when the API refused the region.
fn api_error(diags: &mut Diagnostics, region: &str, e: &Error) {
    let summary = format!("Could not list the flow logs of region {region}");
    match e.code() {
        Some(c) if c.starts_with("InvalidRegionId") => diags.attr_error(
            AttrPath::attr("region_id"),
            summary,
            format!("{e}. Check region_id, or the provider's region."),
        ),
        _ => diags.error(summary, e.to_string()),
    }
}

#[async_trait]
impl DataSource for VpcFlowLogs {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        check(config, diags);
    }

    async fn read(&self, ctx: &Ctx, config: &Value, diags: &mut Diagnostics) -> Option<Value> {
        // Validation ran already (and gave its warnings); checking again costs nothing and
        // keeps bad input from ever reaching the API.
        let mut checked = Diagnostics::new();
        check(config, &mut checked);
        if checked.has_errors() {
            diags.extend(checked);
            return None;
        }
        let configured = Configured::from_ctx(ctx, diags)?;
        let Some(region) = arg(config, "region_id")
            .map(str::to_owned)
            .or_else(|| configured.region.clone())
        else {
            let detail = if configured.region_pending {
                "The provider's region is not known yet (it comes from a value computed during apply); set region_id on the data source."
            } else {
                "Set region_id on the data source, region in the provider block, ALICLOUD_REGION in the environment, or region_id in the Alibaba Cloud CLI profile."
            };
            diags.attr_error(AttrPath::attr("region_id"), "No region", detail);
            return None;
        };
        let local = match LocalFilter::new(config) {
            Ok(f) => f,
            Err(e) => {
                diags.attr_error(
                    AttrPath::attr("name_regex"),
                    "Invalid regular expression",
                    e.to_string(),
                );
                return None;
            }
        };
        let opts = CallOptions {
            deadline: Some(tokio::time::Instant::now() + READ_TIMEOUT),
            cancel: ctx.cancel.clone(),
        };
        let listed = if matches_nothing(config) {
            Ok(Vec::new())
        } else {
            configured
                .flow_logs
                .list(&request(config, &region), &opts)
                .await
        };
        let all = match listed {
            Ok(all) => all,
            Err(e) => {
                api_error(diags, &region, &e);
                return None;
            }
        };
        let found = local.apply(all);
        tracing::debug!(region, found = found.len(), "flow logs listed");
        let value = result(config, &region, &found);
        if let Some(path) = arg(config, "output_file") {
            let written = value
                .get("logs")
                .ok_or_else(|| "no logs".to_owned())
                .and_then(output_json)
                .and_then(|json| std::fs::write(path, json).map_err(|e| e.to_string()));
            if let Err(e) = written {
                diags.attr_error(
                    AttrPath::attr("output_file"),
                    "Could not write output_file",
                    format!("{path}: {e}"),
                );
                return None;
            }
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Severity;

    fn config(pairs: &[(&str, Value)]) -> Value {
        let mut obj: BTreeMap<String, Value> = schema()
            .block
            .attributes
            .iter()
            .map(|a| (a.name.to_owned(), Value::Null))
            .collect();
        for (k, v) in pairs {
            obj.insert((*k).to_owned(), v.clone());
        }
        Value::Object(obj)
    }

    fn ids(list: &[&str]) -> Value {
        Value::List(list.iter().map(|s| Value::string(*s)).collect())
    }

    fn fl(id: &str, name: &str, description: &str) -> FlowLog {
        FlowLog {
            flow_log_id: id.into(),
            flow_log_name: name.into(),
            description: description.into(),
            status: FlowLogStatus::Active,
            ..Default::default()
        }
    }

    /// The paths of the diagnostics of this severity.
    fn paths(config: &Value, severity: Severity) -> Vec<String> {
        let mut d = Diagnostics::new();
        check(config, &mut d);
        d.iter()
            .filter(|d| d.severity == severity)
            .map(|d| d.path.as_ref().map(|p| p.to_string()).unwrap_or_default())
            .collect()
    }

    fn errors(config: &Value) -> Vec<String> {
        paths(config, Severity::Error)
    }

    #[test]
    fn validation_names_the_attribute() {
        assert!(errors(&config(&[])).is_empty());
        let good = config(&[
            ("status", Value::string("Deactivating")),
            ("resource_type", Value::string("VSwitch")),
            ("traffic_type", Value::string("Drop")),
            ("name_regex", Value::string("^web-[0-9]+$")),
            ("ids", ids(&["fl-abc", "fl-def0"])),
            ("region_id", Value::string("cn-hangzhou")),
        ]);
        assert!(errors(&good).is_empty());
        assert_eq!(
            errors(&config(&[("status", Value::string("active"))])),
            ["status"]
        );
        assert_eq!(
            errors(&config(&[("resource_type", Value::string("Vpc"))])),
            ["resource_type"]
        );
        assert_eq!(
            errors(&config(&[("traffic_type", Value::string(""))])),
            ["traffic_type"]
        );
        assert_eq!(
            errors(&config(&[("name_regex", Value::string("web-("))])),
            ["name_regex"]
        );
        // The official data source takes any string in ids: one that is not shaped like a
        // flow log ID matches nothing, with a warning, never an error.
        let odd = config(&[("ids", ids(&["fl-a", "fl-b_fake", "FL-C", "vpc-x"]))]);
        assert!(errors(&odd).is_empty());
        assert_eq!(
            paths(&odd, Severity::Warning),
            ["ids[1]", "ids[2]", "ids[3]"]
        );
        assert!(!matches_nothing(&odd));
        assert!(matches_nothing(&config(&[("ids", ids(&["fl-a_fake"]))])));
        assert!(!matches_nothing(&config(&[("ids", ids(&[]))])));
        assert_eq!(
            errors(&config(&[("region_id", Value::string("Hangzhou"))])),
            ["region_id"]
        );
    }

    #[test]
    fn unknown_values_are_not_errors() {
        let c = config(&[
            ("status", Value::unknown()),
            ("name_regex", Value::unknown()),
            (
                "ids",
                Value::List(vec![Value::unknown(), Value::string("bad")]),
            ),
            ("region_id", Value::unknown()),
        ]);
        assert!(errors(&c).is_empty());
        assert_eq!(paths(&c, Severity::Warning), ["ids[1]"]);
        assert!(errors(&config(&[("ids", Value::unknown())])).is_empty());
    }

    #[test]
    fn an_id_that_cannot_match_is_not_sent() {
        let r = request(
            &config(&[("ids", ids(&["fl-a", "fl-a_fake"]))]),
            "cn-hangzhou",
        );
        assert_eq!(r.flow_log_id.as_deref(), Some("fl-a"));
        let r = request(&config(&[("ids", ids(&["fl-a_fake"]))]), "cn-hangzhou");
        assert_eq!(r.flow_log_id, None);
    }

    #[test]
    fn server_side_filters_and_one_id() {
        let c = config(&[
            ("status", Value::string("Inactive")),
            ("vpc_id", Value::string("vpc-1")),
            ("flow_log_name", Value::string("")),
            ("description", Value::string("not sent")),
            ("ids", ids(&["fl-one"])),
        ]);
        let r = request(&c, "cn-shanghai");
        assert_eq!(r.region_id, "cn-shanghai");
        assert_eq!(r.status, Some(FlowLogStatus::Inactive));
        assert_eq!(r.vpc_id.as_deref(), Some("vpc-1"));
        assert_eq!(r.flow_log_name, None, "empty means unset");
        assert_eq!(r.flow_log_id.as_deref(), Some("fl-one"));
        assert_eq!(r.page_size, Some(50));
        let r = request(&config(&[("ids", ids(&["fl-a", "fl-b"]))]), "cn-shanghai");
        assert_eq!(r.flow_log_id, None);
    }

    #[test]
    fn local_filter_sorts_and_dedups() {
        let all = vec![
            fl("fl-c", "web-2", "x"),
            fl("fl-a", "web-1", "x"),
            fl("fl-b", "db-1", "y"),
            fl("fl-a", "web-1", "x"),
        ];
        let f = LocalFilter::new(&config(&[])).unwrap();
        let got: Vec<_> = f
            .apply(all.clone())
            .into_iter()
            .map(|f| f.flow_log_id)
            .collect();
        assert_eq!(got, ["fl-a", "fl-b", "fl-c"]);

        let f = LocalFilter::new(&config(&[
            ("ids", ids(&["fl-c", "fl-b", "fl-a"])),
            ("name_regex", Value::string("^web")),
        ]))
        .unwrap();
        let got: Vec<_> = f
            .apply(all.clone())
            .into_iter()
            .map(|f| f.flow_log_id)
            .collect();
        assert_eq!(got, ["fl-a", "fl-c"]);

        let f = LocalFilter::new(&config(&[("description", Value::string("y"))])).unwrap();
        let got: Vec<_> = f
            .apply(all.clone())
            .into_iter()
            .map(|f| f.flow_log_id)
            .collect();
        assert_eq!(got, ["fl-b"]);

        // An empty list does not filter, as in the official provider.
        let f = LocalFilter::new(&config(&[("ids", ids(&[]))])).unwrap();
        assert_eq!(f.apply(all).len(), 3);
    }

    #[test]
    fn result_fills_every_computed_attribute() {
        let c = config(&[("status", Value::string("Active"))]);
        let found = vec![fl("fl-a", "web", ""), fl("fl-b", "", "d")];
        let v = result(&c, "cn-hangzhou", &found);
        assert!(v.is_wholly_known());
        assert_eq!(v.get("ids"), Some(&ids(&["fl-a", "fl-b"])));
        assert_eq!(v.get("names"), Some(&ids(&["web", ""])));
        assert_eq!(v.get("region_id"), Some(&Value::string("cn-hangzhou")));
        assert_eq!(v.get("status"), Some(&Value::string("Active")));
        let logs = v.get("logs").and_then(Value::as_slice).unwrap();
        assert_eq!(logs[1].get("description"), Some(&Value::string("d")));
        assert_eq!(logs[0].get("description"), Some(&Value::Null));
        assert_eq!(
            logs[0].get("region_id"),
            Some(&Value::string("cn-hangzhou"))
        );
        // The value encodes with the schema's type.
        tfvalue::to_msgpack(&v, &schema().value_type()).unwrap();
        let json = output_json(v.get("logs").unwrap()).unwrap();
        assert!(json.starts_with("[\n\t{\n"), "{json}");
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back[0]["flow_log_id"], "fl-a");
    }

    #[test]
    fn id_is_the_official_checksum() {
        // The IEEE polynomial's check value, and Go's ChecksumIEEE of "" (no flow logs).
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(result_id(&[]), "0");
        assert_eq!(
            result_id(&["fl-a", "fl-b"]),
            crc32(b"fl-a-fl-b-").to_string()
        );
    }
}
