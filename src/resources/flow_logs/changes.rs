//! Creating, modifying and deleting a flow log, each confirmed by what the API then says about
//! it: a creation ends `Active` (or back `Inactive` when it failed in the background), a
//! modification back in the status the flow log had, a deletion with the flow log gone. The
//! waits are the shared ones of [`lifecycle`](super::lifecycle): fast polls, shared listings
//! where the API documents the status filter, the caller's deadline and cancellation.

use tokio::time::Instant;

use super::FlowLogApi;
use super::lifecycle::{Failure, START_GRACE, Target, pause, settle};
use crate::alicloud::{
    CallOptions, CreateFlowLogRequest, Error, FlowLog, FlowLogStatus, ModifyFlowLogRequest,
};
use crate::resources::flow_logs::POLL_FIRST;

/// How a creation ended.
pub struct Created {
    /// The new flow log's ID, once the API gave one: from then on it exists and must be kept
    /// in state whatever happens next.
    pub id: Option<String>,
    /// The RequestId of the `CreateFlowLog` answer.
    pub request_id: String,
    /// The last description seen.
    pub last_seen: Option<FlowLog>,
    pub result: Result<(), Failure>,
}

/// A code or answer that says there is no such flow log (the official provider's rule: an
/// HTTP 404, or `NotFound` in the code or message).
pub fn is_not_found(e: &Error) -> bool {
    match e {
        Error::Api(a) => {
            a.http_status == 404
                || a.code.to_ascii_lowercase().contains("notfound")
                || a.message.contains("NotFound")
        }
        _ => false,
    }
}

fn stopped(cancelled: bool, last: Option<FlowLog>) -> Failure {
    let last = last.map(Box::new);
    if cancelled {
        Failure::Cancelled(last)
    } else {
        Failure::TimedOut(last)
    }
}

/// Describes the flow log right after a change, looking again for [`START_GRACE`] while it
/// does not show the change yet (`shows` is false), or, for a new flow log (`new = true`),
/// while the API does not list it yet.
async fn look_after_change(
    api: &dyn FlowLogApi,
    t: &Target<'_>,
    new: bool,
    shows: impl Fn(&FlowLog) -> bool + Send,
    opts: &CallOptions,
) -> Result<Option<FlowLog>, Failure> {
    let until = Instant::now() + START_GRACE;
    let mut interval = POLL_FIRST;
    loop {
        let now = api.describe(t.region, t.id, opts).await?;
        let shows_change = match &now {
            None => !new,
            Some(fl) => shows(fl),
        };
        if shows_change || Instant::now() >= until {
            return Ok(now);
        }
        if let Err(cancelled) = pause(&mut interval, opts).await {
            return Err(stopped(cancelled, now));
        }
    }
}

/// Waits out a busy status (`Activating`, `Modifying`, `Deleting`...) and answers the first
/// description in another one; `None` when the API says the flow log is gone.
pub async fn until_settled(
    api: &dyn FlowLogApi,
    t: &Target<'_>,
    fl: Option<FlowLog>,
    opts: &CallOptions,
) -> Result<Option<FlowLog>, Failure> {
    match fl {
        Some(fl) if fl.status.is_busy() => match settle(api, t, fl, opts).await {
            Ok(fl) => Ok(Some(fl)),
            Err(Failure::NotFound) => Ok(None),
            Err(f) => Err(f),
        },
        other => Ok(other),
    }
}

/// `CreateFlowLog`, then waits for `Active`. A flow log the API created and then shows
/// `Inactive` failed to start in the background ([`Failure::Reverted`]): it exists, and the
/// caller keeps it in state.
pub async fn create(
    api: &dyn FlowLogApi,
    req: &CreateFlowLogRequest,
    opts: &CallOptions,
) -> Created {
    let mut out = Created {
        id: None,
        request_id: String::new(),
        last_seen: None,
        result: Ok(()),
    };
    let created = match api.create(req, opts).await {
        Ok(c) => c,
        Err(e) => {
            out.result = Err(e.into());
            return out;
        }
    };
    out.request_id = created.request_id;
    let id = created.flow_log_id;
    tracing::debug!(
        flow_log_id = %id,
        request_id = %out.request_id,
        "CreateFlowLog accepted: waiting until the flow log is Active"
    );
    out.id = Some(id.clone());
    let t = Target {
        region: &req.region_id,
        id: &id,
    };
    let seen = look_after_change(
        api,
        &t,
        true,
        |fl| fl.status != FlowLogStatus::Inactive,
        opts,
    )
    .await;
    let seen = match seen {
        Ok(seen) => seen,
        Err(f) => {
            out.result = Err(f);
            return out;
        }
    };
    out.last_seen.clone_from(&seen);
    match until_settled(api, &t, seen, opts).await {
        Ok(Some(fl)) => {
            out.last_seen = Some(fl.clone());
            if fl.status != FlowLogStatus::Active {
                out.result = Err(Failure::Reverted(Box::new(fl)));
            }
        }
        Ok(None) => out.result = Err(Failure::Deleted),
        Err(f) => {
            if let Failure::TimedOut(Some(fl)) | Failure::Cancelled(Some(fl)) = &f {
                out.last_seen = Some((**fl).clone());
            }
            out.result = Err(f);
        }
    }
    out
}

/// `ModifyFlowLogAttribute`, then waits until the flow log is out of `Modifying` (back in the
/// status it had, whichever that is) and answers that description.
pub async fn modify(
    api: &dyn FlowLogApi,
    req: &ModifyFlowLogRequest,
    opts: &CallOptions,
) -> Result<FlowLog, Failure> {
    let t = Target {
        region: &req.region_id,
        id: &req.flow_log_id,
    };
    // A flow log still busy with an earlier change answers IncorrectStatus.flowlog, which the
    // transport retries within the timeout.
    match api.modify(req, opts).await {
        Ok(()) => {}
        Err(e) if is_not_found(&e) => return Err(Failure::NotFound),
        Err(e) => return Err(e.into()),
    }
    // Under way (`Modifying`), or already done: every field asked for shows its new value.
    let done = |fl: &FlowLog| {
        let same = |asked: &Option<String>, has: String| asked.as_ref().is_none_or(|a| *a == has);
        same(&req.flow_log_name, fl.flow_log_name.clone())
            && same(&req.description, fl.description.clone())
            && same(
                &req.aggregation_interval,
                fl.aggregation_interval
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
            )
            && same(&req.ip_version, fl.ip_version.clone())
    };
    let seen =
        look_after_change(api, &t, false, |fl| fl.status.is_busy() || done(fl), opts).await?;
    if let Some(fl) = &seen {
        tracing::debug!(
            flow_log_id = t.id,
            status = %fl.status,
            "ModifyFlowLogAttribute accepted: waiting until the flow log is out of Modifying"
        );
    }
    match until_settled(api, &t, seen, opts).await? {
        Some(fl) => Ok(fl),
        None => Err(Failure::Deleted),
    }
}

/// `DeleteFlowLog`, then waits until the API no longer lists it. A flow log already gone is a
/// success; one that comes back out of `Deleting` in another status was not deleted.
pub async fn delete(
    api: &dyn FlowLogApi,
    t: &Target<'_>,
    opts: &CallOptions,
) -> Result<(), Failure> {
    match api.delete(t.region, t.id, opts).await {
        Ok(()) => {}
        Err(e) if is_not_found(&e) => {
            tracing::debug!(
                flow_log_id = t.id,
                code = e.code().unwrap_or_default(),
                request_id = e.request_id().unwrap_or_default(),
                "DeleteFlowLog: no such flow log any more, which is what a deletion wants"
            );
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    tracing::debug!(
        flow_log_id = t.id,
        "DeleteFlowLog accepted: waiting until the flow log is gone"
    );
    // The flow log shows the deletion once it is busy (`Deleting`) or gone.
    let seen = look_after_change(api, t, false, |fl| fl.status.is_busy(), opts).await?;
    match until_settled(api, t, seen, opts).await? {
        None => Ok(()),
        Some(fl) => Err(Failure::NotDeleted(Box::new(fl))),
    }
}
