//! `alicloud_vpc_flow_log`: creates, changes and deletes a VPC flow log, drop-in with the
//! official resource of that name. Its rules live here (schema, plan-time checks, planning,
//! what goes into state, the upgrade of the official provider's state); the lifecycle it drives
//! is the one shared with `alicloud_vpc_flow_log_activation` (`flow_logs::lifecycle` and
//! `flow_logs::changes`), in `apply`.

mod apply;
mod rules;
#[cfg(test)]
mod tests;
mod upgrade;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::configured::{self, Configured};
use super::ids::import_identity;
use crate::alicloud::CallOptions;
use crate::diag::Diagnostics;
use crate::resource::{Ctx, PlanRequest, Resource};
use crate::schema::{Attribute, Block, Schema, timeouts_block};
use crate::tfvalue::{Type, Value};

pub const TYPE_NAME: &str = "alicloud_vpc_flow_log";
/// The official resource's default for each operation.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// Schema version: the official resource writes version 0 (its state is upgraded, see
/// `upgrade`); this provider writes 1.
pub const SCHEMA_VERSION: i64 = 1;

pub struct VpcFlowLog {
    schema: Schema,
}

impl Default for VpcFlowLog {
    fn default() -> Self {
        Self::new()
    }
}

impl VpcFlowLog {
    pub fn new() -> Self {
        VpcFlowLog { schema: schema() }
    }

    /// The factory the provider registers.
    pub fn factory() -> Arc<dyn Resource> {
        Arc::new(Self::new())
    }
}

fn call_options(ctx: &Ctx, state: &Value, operation: &str) -> CallOptions {
    configured::call_options(ctx, state, operation, DEFAULT_TIMEOUT)
}

fn schema() -> Schema {
    let s = Type::String;
    let attributes = vec![
        Attribute::computed("id", s.clone(), "The flow log ID (same as `flow_log_id`)."),
        Attribute::computed("flow_log_id", s.clone(), "ID of the flow log, e.g. `fl-m5e8vhz2t21sel1nq0000`."),
        Attribute::required(
            "resource_type",
            s.clone(),
            "Kind of resource whose traffic is captured: `NetworkInterface`, `VPC` or `VSwitch`. Changing it replaces the flow log.",
        )
        .force_new(),
        Attribute::required(
            "resource_id",
            s.clone(),
            "ID of the resource whose traffic is captured: a `vpc-...`, `vsw-...` or `eni-...` ID matching `resource_type`. Changing it replaces the flow log.",
        )
        .force_new(),
        Attribute::required(
            "traffic_type",
            s.clone(),
            "Traffic captured: `All`, `Allow` or `Drop`. Changing it replaces the flow log.",
        )
        .force_new(),
        Attribute::required(
            "project_name",
            s.clone(),
            "Log Service project the flow log delivers to. Changing it replaces the flow log.",
        )
        .force_new(),
        Attribute::required(
            "log_store_name",
            s.clone(),
            "Log Service Logstore the flow log delivers to. Changing it replaces the flow log.",
        )
        .force_new(),
        Attribute::optional("flow_log_name", s.clone(), "Name of the flow log: 1-128 characters, not starting with `http://` or `https://`."),
        Attribute::optional("description", s.clone(), "Description of the flow log: 1-256 characters, not starting with `http://` or `https://`."),
        Attribute::optional_computed(
            "aggregation_interval",
            s.clone(),
            "Aggregation interval of the captured traffic, in minutes: `1`, `5` or `10` (the API's default). A string, as in the official resource.",
        ),
        Attribute::optional_computed("ip_version", s.clone(), "IP version of the captured traffic, e.g. `IPv4` or `DualStack`."),
        Attribute::optional_computed(
            "traffic_path",
            Type::List(Box::new(Type::String)),
            "Paths whose traffic is captured: `all`, `internetGateway`. Changing it replaces the flow log.",
        )
        .force_new(),
        Attribute::optional_computed(
            "resource_group_id",
            s.clone(),
            "Resource group of the flow log (`rg-...`); changed in place with `MoveResourceGroup`.",
        ),
        Attribute::optional(
            "tags",
            Type::Map(Box::new(Type::String)),
            "Tags of the flow log: at most 20; keys of 1-128 characters not starting with `aliyun` or `acs:`.",
        ),
        Attribute::optional_computed(
            "status",
            s.clone(),
            "`Active` (the default once created) or `Inactive`: the flow log is deactivated after creation, and switched either way in place.",
        ),
        Attribute::optional_computed(
            "region_id",
            s.clone(),
            "Region of the flow log. Defaults to the provider's `region`. Changing it replaces the flow log.",
        )
        .force_new(),
        Attribute::computed("business_status", s.clone(), "Billing status of the flow log: `Normal` or `FinancialLocked`."),
        Attribute::computed("create_time", s, "When the flow log was created, as the API reports it."),
    ];
    Schema {
        version: SCHEMA_VERSION,
        block: Block {
            description: "A VPC flow log: created with `CreateFlowLog` and confirmed `Active`, changed in place (name, description, aggregation interval, IP version, status, resource group, tags), deleted with `DeleteFlowLog` and confirmed gone. Drop-in with the official `alicloud_vpc_flow_log`, whose state it takes over without an API call.".into(),
            attributes,
            blocks: vec![timeouts_block(&["create", "update", "delete"], "default 5m each")],
        },
    }
}

#[async_trait]
impl Resource for VpcFlowLog {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        rules::validate(config, diags);
    }

    fn modify_plan(&self, req: &PlanRequest<'_>, planned: &mut Value, diags: &mut Diagnostics) {
        rules::modify_plan(req, planned, diags);
    }

    async fn create(&self, ctx: &Ctx, planned: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let configured = Configured::from_ctx(ctx, diags)?;
        let region = configured.region_for(planned, diags)?;
        let opts = call_options(ctx, planned, "create");
        apply::create(
            configured.flow_logs.as_ref(),
            &region,
            planned,
            &opts,
            diags,
        )
        .await
    }

    async fn update(
        &self,
        ctx: &Ctx,
        prior: &Value,
        planned: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let configured = Configured::from_ctx(ctx, diags)?;
        let region = configured.region_for(planned, diags)?;
        let opts = call_options(ctx, planned, "update");
        apply::update(
            configured.flow_logs.as_ref(),
            &region,
            prior,
            planned,
            &opts,
            diags,
        )
        .await
    }

    async fn delete(&self, ctx: &Ctx, prior: &Value, diags: &mut Diagnostics) {
        let Some(configured) = Configured::from_ctx(ctx, diags) else {
            return;
        };
        let Some(region) = configured.region_for(prior, diags) else {
            return;
        };
        let opts = call_options(ctx, prior, "delete");
        apply::delete(configured.flow_logs.as_ref(), &region, prior, &opts, diags).await;
    }

    async fn read(&self, ctx: &Ctx, current: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let configured = Configured::from_ctx(ctx, diags)?;
        let region = configured.region_for(current, diags)?;
        // A refresh waits out a change under way (a modification, a deletion) within the
        // update timeout, then records what the API said.
        let opts = call_options(ctx, current, "update");
        apply::read(
            configured.flow_logs.as_ref(),
            &region,
            current,
            &opts,
            diags,
        )
        .await
    }

    async fn import(&self, ctx: &Ctx, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        let default_region = ctx.data::<Configured>().and_then(|c| c.region.clone());
        let obj = import_identity(id, default_region, &self.schema, diags)?;
        Some(Value::Object(obj))
    }

    fn upgrade(&self, from_version: i64, state: Value, diags: &mut Diagnostics) -> Value {
        upgrade::upgrade(from_version, state, diags)
    }
}
