//! What the provider's `Configure` hands to every resource and data source of this provider:
//! the default region and the API. Resources read it from their call context; none imports
//! the provider.

use std::sync::Arc;

use super::flow_logs::FlowLogApi;
use crate::diag::Diagnostics;
use crate::resource::Ctx;

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
}
