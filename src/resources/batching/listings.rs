//! Whether this process may list a region's flow logs at all. Batching lists on behalf of
//! operations that never asked for a listing, so a listing refused for permission (a RAM
//! policy that allows `DescribeFlowLogs` only by `FlowLogId`) must not fail them: the first
//! refusal switches the process to describing flow logs one by one for the rest of its life,
//! as if batching were off, and says so once.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::alicloud::Error;

#[derive(Default)]
pub(super) struct Listings {
    refused: AtomicBool,
}

/// A code that means "this caller may not make this call", as RAM and the gateway answer it.
fn is_permission_refusal(e: &Error) -> bool {
    e.code()
        .is_some_and(|c| c.starts_with("Forbidden") || c.starts_with("NoPermission"))
}

impl Listings {
    /// Listings have not been refused: batching may list.
    pub(super) fn allowed(&self) -> bool {
        !self.refused.load(Ordering::Relaxed)
    }

    /// Looks at the error of a listing made for other operations: `true` when it was refused
    /// for permission (then listings are off for good and the operations describe instead).
    pub(super) fn refused_by(&self, e: &Error) -> bool {
        if !is_permission_refusal(e) {
            return false;
        }
        if !self.refused.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                code = e.code().unwrap_or_default(),
                request_id = e.request_id().unwrap_or_default(),
                "DescribeFlowLogs without a FlowLogId was refused for permission: this provider process describes flow logs one by one from now on (one call per flow log). Allow listing flow logs in the RAM policy to use fewer API calls."
            );
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::test_fake::api_error;

    #[test]
    fn only_permission_refusals_switch_listings_off() {
        let l = Listings::default();
        assert!(!l.refused_by(&api_error("ServiceUnavailable")));
        assert!(!l.refused_by(&api_error("SignatureDoesNotMatch")));
        assert!(!l.refused_by(&Error::Cancelled));
        assert!(l.allowed());
        assert!(l.refused_by(&api_error("Forbidden.RAM")));
        assert!(!l.allowed());
        for code in ["NoPermission", "Forbidden", "Forbidden.NoPermission"] {
            assert!(Listings::default().refused_by(&api_error(code)), "{code}");
        }
    }
}
