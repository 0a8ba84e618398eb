//! Taking over the official provider's state. After `terraform state replace-provider`
//! Terraform hands this provider the state `aliyun/alicloud` wrote for `alicloud_vpc_flow_log`:
//! schema version 0, the same attribute names, `aggregation_interval` as a string (or a number
//! in older releases), texts the API left empty as `""`, no tags as `{}`, no traffic paths as
//! `[]`, `timeouts` as its SDK writes them. It becomes this provider's state (version 1) here,
//! with no API call: what the official provider stored as `""` or `{}` for "not set" becomes
//! null, as this provider stores it, so an unchanged configuration plans no change.

use crate::diag::Diagnostics;
use crate::resources::vpc_flow_log::SCHEMA_VERSION;
use crate::tfvalue::Value;

/// Optional texts the official provider stores as `""` when the API has none.
const EMPTY_IS_UNSET: [&str; 8] = [
    "flow_log_name",
    "description",
    "aggregation_interval",
    "ip_version",
    "resource_group_id",
    "status",
    "business_status",
    "create_time",
];

pub fn upgrade(from_version: i64, mut state: Value, _diags: &mut Diagnostics) -> Value {
    if from_version >= SCHEMA_VERSION || state.is_null() {
        return state;
    }
    let Value::Object(obj) = &mut state else {
        return state;
    };
    for name in EMPTY_IS_UNSET {
        if let Some(slot) = obj.get_mut(name)
            && slot.as_str() == Some("")
        {
            *slot = Value::Null;
        }
    }
    if let Some(slot) = obj.get_mut("tags")
        && slot.as_map().is_some_and(|m| m.is_empty())
    {
        *slot = Value::Null;
    }
    // Its ID is the flow log's; older releases had no `flow_log_id`.
    let id = obj.get("id").filter(|v| !v.is_null()).cloned();
    let flow_log_id = obj.get("flow_log_id").filter(|v| !v.is_null()).cloned();
    if let (Some(slot), Some(id)) = (obj.get_mut("flow_log_id"), id.clone())
        && flow_log_id.is_none()
    {
        *slot = id;
    }
    if let (Some(slot), Some(fl)) = (obj.get_mut("id"), flow_log_id)
        && id.is_none()
    {
        *slot = fl;
    }
    state
}
