//! What the provider's `Configure` hands to every resource and data source of this provider:
//! the default region and the API. Resources read it from their call context; none imports
//! the provider.

use std::sync::Arc;
use std::time::Duration;

use super::flow_logs::FlowLogApi;
use crate::alicloud::CallOptions;
use crate::diag::{AttrPath, Diagnostics};
use crate::engine;
use crate::resource::{Ctx, PlanRequest};
use crate::tfvalue::Value;

pub struct Configured {
    /// The provider's region (block, environment or profile), used as `region_id` default.
    pub region: Option<String>,
    /// The block's `region` comes from something not known until apply: no region yet is
    /// then not an error.
    pub region_pending: bool,
    /// The VPC flow-log API, shared by every call of the process.
    pub flow_logs: Arc<dyn FlowLogApi>,
}

impl Configured {
    /// The configured data, or an error diagnostic: an operation that needs the API ran before
    /// `Configure`, which Terraform never does.
    pub fn from_ctx<'a>(ctx: &'a Ctx, diags: &mut Diagnostics) -> Option<&'a Configured> {
        let c = ctx.data::<Configured>();
        if c.is_none() {
            diags.error(
                "Provider not configured",
                "The alicloud provider was not configured before this operation; this is a bug in Terraform or in the provider.",
            );
        }
        c
    }

    /// The region a state or plan is about: its own `region_id`, else the provider's; an
    /// error on `region_id` when neither is set.
    pub fn region_for(&self, state: &Value, diags: &mut Diagnostics) -> Option<String> {
        let region = state
            .get("region_id")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
            .or(self.region.as_deref())
            .map(str::to_owned);
        if region.is_none() {
            diags.attr_error(
                AttrPath::attr("region_id"),
                "No region",
                "Set region_id on the resource, region in the provider block, or ALICLOUD_REGION in the environment.",
            );
        }
        region
    }
}

/// At plan time, a `region_id` the configuration leaves unset is the provider's region, known
/// now; without one (and none pending until apply) an error on `region_id`.
pub fn plan_region(req: &PlanRequest<'_>, planned: &mut Value, diags: &mut Diagnostics) {
    if req.config.get("region_id").is_some_and(|v| !v.is_null()) {
        return;
    }
    let configured = req.ctx.data::<Configured>();
    let region = configured.and_then(|c| c.region.as_deref());
    match (region, planned.get_mut("region_id")) {
        (Some(region), Some(slot)) => *slot = Value::string(region),
        (None, _) if !configured.is_some_and(|c| c.region_pending) => {
            diags.attr_error(
                AttrPath::attr("region_id"),
                "No region",
                "The flow log's region is not set: set region_id here, region in the provider block, ALICLOUD_REGION in the environment, or region_id in the Alibaba Cloud CLI profile.",
            );
        }
        _ => {}
    }
}

/// The options of one operation's API calls: its `timeouts` entry (else `default`) from now,
/// and Terraform's cancellation.
pub fn call_options(ctx: &Ctx, state: &Value, operation: &str, default: Duration) -> CallOptions {
    CallOptions {
        deadline: Some(tokio::time::Instant::now() + engine::timeout(state, operation, default)),
        cancel: ctx.cancel.clone(),
    }
}
