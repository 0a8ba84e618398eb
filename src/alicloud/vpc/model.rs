//! The VPC flow-log API's data: flow logs, filters and answers, decoded leniently where the
//! API is loose (counts and `Success` come as strings or numbers/bools depending on the SDK
//! model and the endpoint).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::status::FlowLogStatus;
use crate::alicloud::rpc::Answer;

/// The answer of an action that only reports success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionResponse {
    pub request_id: String,
}

/// The answer of `CreateFlowLog`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedFlowLog {
    pub flow_log_id: String,
    pub request_id: String,
}

/// A flow log as DescribeFlowLogs reports it.
#[derive(Clone, Debug, Deserialize, Serialize, Default, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct FlowLog {
    #[serde(deserialize_with = "lenient_string")]
    pub flow_log_id: String,
    #[serde(deserialize_with = "lenient_string")]
    pub flow_log_name: String,
    #[serde(deserialize_with = "lenient_string")]
    pub description: String,
    #[serde(deserialize_with = "lenient_string")]
    pub region_id: String,
    #[serde(deserialize_with = "lenient_status", serialize_with = "status_text")]
    pub status: FlowLogStatus,
    /// Normal | FinancialLocked.
    #[serde(deserialize_with = "lenient_string")]
    pub business_status: String,
    /// SUCCESS | FAILED.
    #[serde(deserialize_with = "lenient_string")]
    pub flow_log_deliver_status: String,
    #[serde(deserialize_with = "lenient_string")]
    pub flow_log_deliver_error_message: String,
    /// "sls" when created from the Log Service console (cannot be toggled through VPC).
    #[serde(deserialize_with = "lenient_string")]
    pub service_type: String,
    /// NetworkInterface | VSwitch | VPC.
    #[serde(deserialize_with = "lenient_string")]
    pub resource_type: String,
    #[serde(deserialize_with = "lenient_string")]
    pub resource_id: String,
    /// All | Allow | Drop.
    #[serde(deserialize_with = "lenient_string")]
    pub traffic_type: String,
    #[serde(deserialize_with = "lenient_string")]
    pub project_name: String,
    #[serde(deserialize_with = "lenient_string")]
    pub log_store_name: String,
    #[serde(deserialize_with = "lenient_i64")]
    pub aggregation_interval: Option<i64>,
    #[serde(deserialize_with = "lenient_string")]
    pub ip_version: String,
    #[serde(deserialize_with = "lenient_string")]
    pub creation_time: String,
    #[serde(deserialize_with = "lenient_string")]
    pub resource_group_id: String,
    pub tags: Option<Tags>,
    pub traffic_path: Option<TrafficPath>,
    /// The RequestId of the `DescribeFlowLogs` answer this description came from (not a field
    /// of the flow log): diagnostics name the answer that showed a status.
    #[serde(skip)]
    pub request_id: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, Default, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Tags {
    pub tag: Vec<Tag>,
}

#[derive(Clone, Debug, Deserialize, Serialize, Default, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Tag {
    #[serde(deserialize_with = "lenient_string")]
    pub key: String,
    #[serde(deserialize_with = "lenient_string")]
    pub value: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, Default, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct TrafficPath {
    pub traffic_path_list: Vec<String>,
}

/// DescribeFlowLogs filters; `None` = not filtered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DescribeFlowLogsRequest {
    pub region_id: String,
    pub flow_log_id: Option<String>,
    pub flow_log_name: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub traffic_type: Option<String>,
    pub project_name: Option<String>,
    pub log_store_name: Option<String>,
    pub status: Option<FlowLogStatus>,
    pub vpc_id: Option<String>,
    pub resource_group_id: Option<String>,
    /// Items per page, 1..=50 (the API's maximum, and the default here: fewest round trips).
    pub page_size: Option<u32>,
}

/// `CreateFlowLog`: what the new flow log captures and where it delivers; `None` and empty
/// lists are not sent (the API's defaults apply).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateFlowLogRequest {
    pub region_id: String,
    pub resource_type: String,
    pub resource_id: String,
    pub traffic_type: String,
    pub project_name: String,
    pub log_store_name: String,
    pub flow_log_name: Option<String>,
    pub description: Option<String>,
    /// 1, 5 or 10 (minutes), as text: the API takes it either way.
    pub aggregation_interval: Option<String>,
    pub ip_version: Option<String>,
    pub resource_group_id: Option<String>,
    pub traffic_path: Vec<String>,
    pub tags: Vec<(String, String)>,
}

/// `ModifyFlowLogAttribute`: only the fields given are sent (`Some("")` clears a text).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModifyFlowLogRequest {
    pub region_id: String,
    pub flow_log_id: String,
    pub flow_log_name: Option<String>,
    pub description: Option<String>,
    pub aggregation_interval: Option<String>,
    pub ip_version: Option<String>,
}

impl ModifyFlowLogRequest {
    /// Nothing to change.
    pub fn is_empty(&self) -> bool {
        self.flow_log_name.is_none()
            && self.description.is_none()
            && self.aggregation_interval.is_none()
            && self.ip_version.is_none()
    }
}

/// One page of a DescribeFlowLogs listing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FlowLogPage {
    pub flow_logs: Vec<FlowLog>,
    /// How many flow logs match the filters in all, as the API counts them.
    pub total_count: u64,
    /// The page size asked for.
    pub page_size: u32,
}

/// The API's largest page.
pub const MAX_PAGE_SIZE: u32 = 50;
/// A page count no real account reaches; past it the API is looping and we stop.
pub(crate) const MAX_PAGES: u32 = 10_000;

/// A string, a number, a bool or null, as text (null and absent are "").
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        other => {
            return Err(serde::de::Error::custom(format!(
                "expected a string, got {other}"
            )));
        }
    })
}

/// Written as the API writes it (a flow log is stored for the machine's other processes in the
/// API's own shape).
fn status_text<S: Serializer>(status: &FlowLogStatus, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(status.as_str())
}

fn lenient_status<'de, D: Deserializer<'de>>(d: D) -> Result<FlowLogStatus, D::Error> {
    lenient_string(d).map(|s| FlowLogStatus::parse(&s))
}

/// An integer given as a number or a string ("" and null are absent).
fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("expected an integer, got {n}"))),
        serde_json::Value::String(s) if s.trim().is_empty() => Ok(None),
        serde_json::Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("expected an integer, got {s:?}"))),
        other => Err(serde::de::Error::custom(format!(
            "expected an integer, got {other}"
        ))),
    }
}

/// `true`, `"true"` (any case), or absent.
fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Bool(b) => Ok(Some(b)),
        serde_json::Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        serde_json::Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        other => Err(serde::de::Error::custom(format!(
            "expected true or false, got {other}"
        ))),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ActionAnswer {
    #[serde(default, deserialize_with = "lenient_string")]
    pub(crate) request_id: String,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) success: Option<bool>,
}

impl Answer for ActionAnswer {
    fn problem(&self) -> Option<String> {
        (self.success == Some(false))
            .then(|| "the API answered Success=false without an error code".to_owned())
    }
}

/// The answer of `CreateFlowLog`: the new flow log's ID.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CreateAnswer {
    #[serde(default, deserialize_with = "lenient_string")]
    pub(crate) request_id: String,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) success: Option<bool>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub(crate) flow_log_id: String,
}

impl Answer for CreateAnswer {
    fn problem(&self) -> Option<String> {
        if self.success == Some(false) {
            Some("the API answered Success=false without an error code".to_owned())
        } else if self.flow_log_id.trim().is_empty() {
            Some("CreateFlowLog answered without a FlowLogId".to_owned())
        } else {
            None
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct FlowLogList {
    pub(crate) flow_log: Vec<FlowLog>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DescribeAnswer {
    #[serde(default, deserialize_with = "lenient_string")]
    pub(crate) request_id: String,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) success: Option<bool>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub(crate) total_count: Option<i64>,
    #[serde(default)]
    pub(crate) flow_logs: Option<FlowLogList>,
}

impl Answer for DescribeAnswer {
    fn problem(&self) -> Option<String> {
        (self.success == Some(false))
            .then(|| "the API answered Success=false without an error code".to_owned())
    }
}

impl DescribeAnswer {
    /// The page a listing returns: no flow logs when the answer has none, a total never below
    /// zero, and the page size asked for.
    /// The page, each flow log carrying the RequestId of this answer.
    pub(crate) fn into_page(self, page_size: u32) -> FlowLogPage {
        let mut flow_logs = self.flow_logs.unwrap_or_default().flow_log;
        for f in &mut flow_logs {
            f.request_id.clone_from(&self.request_id);
        }
        FlowLogPage {
            flow_logs,
            total_count: self.total_count.unwrap_or(0).max(0) as u64,
            page_size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_log_decodes_every_field_leniently() {
        let json = r#"{
            "FlowLogId": "fl-1", "FlowLogName": "n", "Description": null, "RegionId": "cn-hangzhou",
            "Status": "Active", "BusinessStatus": "Normal", "FlowLogDeliverStatus": "SUCCESS",
            "FlowLogDeliverErrorMessage": "", "ServiceType": "sls", "ResourceType": "VPC",
            "ResourceId": "vpc-1", "TrafficType": "All", "ProjectName": "p", "LogStoreName": "l",
            "AggregationInterval": "10", "IpVersion": "IPv4", "CreationTime": "2024-01-01T00:00:00Z",
            "ResourceGroupId": "rg-1", "Tags": {"Tag": [{"Key": "k", "Value": "v"}]},
            "TrafficPath": {"TrafficPathList": ["all"]}, "SomethingNew": 1
        }"#;
        let f: FlowLog = serde_json::from_str(json).unwrap();
        assert_eq!(f.flow_log_id, "fl-1");
        assert_eq!(f.description, "");
        assert_eq!(f.aggregation_interval, Some(10));
        assert_eq!(f.tags.unwrap().tag[0].key, "k");
        assert_eq!(f.traffic_path.unwrap().traffic_path_list, vec!["all"]);
        assert_eq!(f.service_type, "sls");
        assert_eq!(f.flow_log_deliver_status, "SUCCESS");

        let f: FlowLog =
            serde_json::from_str(r#"{"FlowLogId":"fl-2","AggregationInterval":1}"#).unwrap();
        assert_eq!(f.aggregation_interval, Some(1));
        assert_eq!(f.status, FlowLogStatus::Unknown);
        assert!(f.tags.is_none());
        assert!(serde_json::from_str::<FlowLog>(r#"{"AggregationInterval":"ten"}"#).is_err());
    }

    #[test]
    fn every_flow_log_of_a_page_carries_the_answers_request_id() {
        let d: DescribeAnswer = serde_json::from_str(
            r#"{"RequestId":"REQ-1","TotalCount":2,"FlowLogs":{"FlowLog":[{"FlowLogId":"a"},{"FlowLogId":"b"}]}}"#,
        )
        .unwrap();
        let page = d.into_page(50);
        assert_eq!(page.total_count, 2);
        assert!(page.flow_logs.iter().all(|f| f.request_id == "REQ-1"));
    }

    #[test]
    fn answers_accept_strings_numbers_and_bools() {
        let a: ActionAnswer =
            serde_json::from_str(r#"{"RequestId":"R","Success":"true"}"#).unwrap();
        assert_eq!(a.success, Some(true));
        assert!(a.problem().is_none());
        let a: ActionAnswer = serde_json::from_str(r#"{"RequestId":"R","Success":true}"#).unwrap();
        assert_eq!(a.success, Some(true));
        let a: ActionAnswer =
            serde_json::from_str(r#"{"RequestId":"R","Success":"false"}"#).unwrap();
        assert!(a.problem().is_some());
        let a: ActionAnswer = serde_json::from_str(r#"{"RequestId":"R"}"#).unwrap();
        assert!(a.problem().is_none());

        for json in [
            r#"{"TotalCount":"2","PageNumber":"1","PageSize":"20","FlowLogs":{"FlowLog":[{},{}]}}"#,
            r#"{"TotalCount":2,"PageNumber":1,"PageSize":20,"Success":true,"FlowLogs":{"FlowLog":[{},{}]}}"#,
        ] {
            let d: DescribeAnswer = serde_json::from_str(json).unwrap();
            assert_eq!(d.total_count, Some(2));
            assert_eq!(d.flow_logs.unwrap().flow_log.len(), 2);
        }
        let d: DescribeAnswer =
            serde_json::from_str(r#"{"TotalCount":"0","FlowLogs":{}}"#).unwrap();
        assert!(d.flow_logs.unwrap().flow_log.is_empty());
    }
}
