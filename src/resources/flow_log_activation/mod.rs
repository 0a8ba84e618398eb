//! `alicloud_vpc_flow_log_activation`: keeps an existing VPC flow log `Active`. Its rules live
//! here (schema, validation, planning, what goes into state); the lifecycle it drives is the
//! one shared with `alicloud_vpc_flow_log` (`flow_logs::lifecycle`).

use std::time::Duration;

#[cfg(test)]
mod lifecycle_tests;
#[cfg(test)]
mod resource_tests;

use std::sync::Arc;

use async_trait::async_trait;

use super::configured::{self, Configured};
use super::flow_logs::lifecycle;
use super::ids::{check_flow_log_id, check_region_id, import_identity};
use crate::alicloud::{CallOptions, FlowLog, FlowLogStatus};
use crate::diag::{AttrPath, Diagnostics};
use crate::resource::{Ctx, PlanRequest, Resource};
use crate::schema::{Attribute, Block, Schema, timeouts_block};
use crate::tfvalue::{Number, Type, Value};

pub const TYPE_NAME: &str = "alicloud_vpc_flow_log_activation";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// One attribute copied from the API's description of the flow log: its name, type and
/// documentation next to the field it is read from, so the schema and the state cannot
/// disagree about which value goes where.
pub struct FromApi {
    pub name: &'static str,
    pub ty: Type,
    pub description: &'static str,
    pub read: fn(&FlowLog) -> Value,
}

/// Empty text from the API is "not set" in Terraform.
fn text(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::string(s)
    }
}

/// Every attribute the state takes from the API's description.
pub fn from_api() -> [FromApi; 11] {
    let s = |name, description, read| FromApi {
        name,
        ty: Type::String,
        description,
        read,
    };
    [
        s(
            "status",
            "Status of the flow log: `Active` once applied. A flow log deactivated outside Terraform shows here as `Inactive` and is re-activated by the next apply.",
            |f| Value::string(f.status.as_str()),
        ),
        FromApi {
            name: "aggregation_interval",
            ty: Type::Number,
            description: "Aggregation interval of the captured traffic, in minutes.",
            read: |f| {
                f.aggregation_interval
                    .map_or(Value::Null, |n| Value::Number(Number::Int(n)))
            },
        },
        s("flow_log_name", "Name of the flow log.", |f| {
            text(&f.flow_log_name)
        }),
        s("description", "Description of the flow log.", |f| {
            text(&f.description)
        }),
        s(
            "resource_type",
            "Kind of resource whose traffic is captured: `NetworkInterface`, `VSwitch` or `VPC`.",
            |f| text(&f.resource_type),
        ),
        s(
            "resource_id",
            "ID of the resource whose traffic is captured.",
            |f| text(&f.resource_id),
        ),
        s(
            "traffic_type",
            "Traffic captured: `All`, `Allow` or `Drop`.",
            |f| text(&f.traffic_type),
        ),
        s(
            "project_name",
            "Log Service project the flow log delivers to.",
            |f| text(&f.project_name),
        ),
        s(
            "log_store_name",
            "Log Service Logstore the flow log delivers to.",
            |f| text(&f.log_store_name),
        ),
        s(
            "business_status",
            "Billing status of the flow log: `Normal` or `FinancialLocked`.",
            |f| text(&f.business_status),
        ),
        s(
            "creation_time",
            "When the flow log was created (UTC, as reported by the API).",
            |f| text(&f.creation_time),
        ),
    ]
}

pub struct FlowLogActivation {
    schema: Schema,
}

impl Default for FlowLogActivation {
    fn default() -> Self {
        Self::new()
    }
}

impl FlowLogActivation {
    pub fn new() -> Self {
        FlowLogActivation { schema: schema() }
    }

    /// The factory the provider registers.
    pub fn factory() -> Arc<dyn Resource> {
        Arc::new(Self::new())
    }

    /// The flow log a state or plan is about: its own region, else the provider's.
    fn target(
        &self,
        configured: &Configured,
        state: &Value,
        diags: &mut Diagnostics,
    ) -> Option<(String, String)> {
        let id = state
            .get("flow_log_id")
            .and_then(Value::as_str)
            .or_else(|| state.get("id").and_then(Value::as_str))?
            .to_owned();
        let region = configured.region_for(state, diags)?;
        Some((region, id))
    }
}

fn call_options(ctx: &Ctx, state: &Value, operation: &str) -> CallOptions {
    configured::call_options(ctx, state, operation, DEFAULT_TIMEOUT)
}

fn schema() -> Schema {
    let mut attributes = vec![
        Attribute::computed("id", Type::String, "The flow log ID (same as `flow_log_id`)."),
        Attribute::required(
            "flow_log_id",
            Type::String,
            "ID of the existing flow log to activate, e.g. `fl-m5e8vhz2t21sel1nq0000`. Changing it replaces the resource.",
        )
        .force_new(),
        Attribute::optional_computed(
            "region_id",
            Type::String,
            "Region of the flow log. Defaults to the provider's `region`. Changing it replaces the resource.",
        )
        .force_new(),
        Attribute::optional(
            "deactivate_on_destroy",
            Type::Bool,
            "Whether `terraform destroy` deactivates the flow log (`true`, the default) or only removes it from state (`false`).",
        )
        .with_default(Value::Bool(true)),
    ];
    attributes.extend(
        from_api()
            .into_iter()
            .map(|a| Attribute::computed(a.name, a.ty, a.description)),
    );
    Schema {
        version: 0,
        block: Block {
            description: "Activates an existing VPC flow log and keeps it active: apply calls `ActiveFlowLog` and waits until the flow log is `Active`; refresh sees when someone deactivates it, and the next apply turns it back on.".into(),
            attributes,
            blocks: vec![timeouts_block(
                &["create", "update", "delete", "read"],
                "default 10m each",
            )],
        },
    }
}

#[async_trait]
impl Resource for FlowLogActivation {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if let Some(id) = config.get("flow_log_id").and_then(Value::as_str) {
            check_flow_log_id(AttrPath::attr("flow_log_id"), id, diags);
        }
        if let Some(r) = config.get("region_id").and_then(Value::as_str) {
            check_region_id(AttrPath::attr("region_id"), r, diags);
        }
    }

    fn modify_plan(&self, req: &PlanRequest<'_>, planned: &mut Value, diags: &mut Diagnostics) {
        let creating = req.prior.is_null();
        if creating {
            // The ID is the flow log's: known as soon as the flow log ID is.
            if let (Some(id), Some(slot)) =
                (planned.get("flow_log_id").cloned(), planned.get_mut("id"))
            {
                *slot = id;
            }
            configured::plan_region(req, planned, diags);
        } else if let Some(status) = planned.get_mut("status")
            && status.as_str() != Some(FlowLogStatus::Active.as_str())
        {
            // Drift: someone deactivated it. Re-activating is an in-place update that changes
            // only the status; every other attribute keeps its known value.
            *status = Value::string(FlowLogStatus::Active.as_str());
        }
    }

    async fn create(&self, ctx: &Ctx, planned: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let configured = Configured::from_ctx(ctx, diags)?;
        let (region, id) = self.target(configured, planned, diags)?;
        let opts = call_options(ctx, planned, "create");
        let t = lifecycle::Target {
            region: &region,
            id: &id,
        };
        let out = lifecycle::converge(
            configured.flow_logs.as_ref(),
            &t,
            lifecycle::Goal::Active,
            &opts,
        )
        .await;
        lifecycle::report(&out, &t, "activate", "create", diags);
        // Once the API accepted the activation the flow log is ours: record it even when the
        // wait failed, so nothing is lost and a later apply converges.
        match (&out.result, &out.last_seen) {
            (Ok(()), Some(fl)) => Some(state_from(fl, &region, planned)),
            (Err(_), Some(fl)) if out.changed => Some(state_from(fl, &region, planned)),
            _ => None,
        }
    }

    async fn update(
        &self,
        ctx: &Ctx,
        prior: &Value,
        planned: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let configured = Configured::from_ctx(ctx, diags)?;
        let (region, id) = self.target(configured, planned, diags)?;
        let opts = call_options(ctx, planned, "update");
        let t = lifecycle::Target {
            region: &region,
            id: &id,
        };
        let out = lifecycle::converge(
            configured.flow_logs.as_ref(),
            &t,
            lifecycle::Goal::Active,
            &opts,
        )
        .await;
        lifecycle::report(&out, &t, "activate", "update", diags);
        let status = out.last_seen.as_ref().map(|fl| fl.status.clone());
        match out.result {
            // Everything else was planned from the prior state and must come back unchanged;
            // the next refresh picks up any other change in the world.
            Ok(()) => {
                let mut new = planned.clone();
                if let Some(slot) = new.get_mut("status") {
                    *slot = Value::string(FlowLogStatus::Active.as_str());
                }
                Some(new)
            }
            Err(_) => {
                let mut new = prior.clone();
                if let (Some(slot), Some(status)) = (new.get_mut("status"), status) {
                    *slot = Value::string(status.as_str());
                }
                Some(new)
            }
        }
    }

    async fn delete(&self, ctx: &Ctx, prior: &Value, diags: &mut Diagnostics) {
        if prior.get("deactivate_on_destroy").and_then(Value::as_bool) == Some(false) {
            return;
        }
        let Some(configured) = Configured::from_ctx(ctx, diags) else {
            return;
        };
        let Some((region, id)) = self.target(configured, prior, diags) else {
            return;
        };
        let opts = call_options(ctx, prior, "delete");
        let t = lifecycle::Target {
            region: &region,
            id: &id,
        };
        let out = lifecycle::converge(
            configured.flow_logs.as_ref(),
            &t,
            lifecycle::Goal::Inactive,
            &opts,
        )
        .await;
        lifecycle::report(&out, &t, "deactivate", "delete", diags);
        if out.vanished {
            diags.warning(
                format!("Flow log {id} was deleted while deactivating"),
                format!(
                    "The API accepted the request to deactivate flow log {id} in {region}, then DescribeFlowLogs by ID returned no such flow log: it was deleted meanwhile. Nothing is left to deactivate."
                ),
            );
        }
    }

    async fn read(&self, ctx: &Ctx, current: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let configured = Configured::from_ctx(ctx, diags)?;
        let (region, id) = self.target(configured, current, diags)?;
        let opts = call_options(ctx, current, "read");
        let t = lifecycle::Target {
            region: &region,
            id: &id,
        };
        match lifecycle::describe_settled(configured.flow_logs.as_ref(), &t, &opts).await {
            Ok(Some(fl)) => Some(state_from(&fl, &region, current)),
            Ok(None) => None,
            Err(f) => {
                lifecycle::report_failure(&f, &t, "read", "read", diags);
                None
            }
        }
    }

    async fn import(&self, ctx: &Ctx, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        let default_region = ctx.data::<Configured>().and_then(|c| c.region.clone());
        let mut obj = import_identity(id, default_region, &self.schema, diags)?;
        // Import never activates anything.
        obj.insert("deactivate_on_destroy".to_owned(), Value::Bool(true));
        Some(Value::Object(obj))
    }
}

/// State from a description; `base` supplies what only the configuration knows.
pub fn state_from(fl: &FlowLog, region: &str, base: &Value) -> Value {
    let mut obj = std::collections::BTreeMap::new();
    obj.insert("id".to_owned(), Value::string(&fl.flow_log_id));
    obj.insert("flow_log_id".to_owned(), Value::string(&fl.flow_log_id));
    obj.insert("region_id".to_owned(), Value::string(region));
    let keep = |name: &str| base.get(name).filter(|v| v.is_wholly_known()).cloned();
    obj.insert(
        "deactivate_on_destroy".to_owned(),
        keep("deactivate_on_destroy")
            .filter(|v| !v.is_null())
            .unwrap_or(Value::Bool(true)),
    );
    obj.insert(
        "timeouts".to_owned(),
        keep("timeouts").unwrap_or(Value::Null),
    );
    for attr in from_api() {
        obj.insert(attr.name.to_owned(), (attr.read)(fl));
    }
    Value::Object(obj)
}
