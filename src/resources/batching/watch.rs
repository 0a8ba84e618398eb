//! Waits on a transitional status in one region, shared: every waiter of the region and
//! status is answered by one round every [`ROUND`]. A round asks the API the cheaper way:
//! describing each waiting flow log, or listing the flow logs in that status (its price is
//! known from the last listing). A flow log seen in the status that is no longer listed has
//! left it, and the API's state machine says where it went (`Activating` -> `Active`,
//! `Deactivating` -> `Inactive`); one never seen in it is described.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::join_all;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::Instrument as _;

use super::pages_for;
use crate::alicloud::{CallOptions, DescribeFlowLogsRequest, Error, FlowLog};
use crate::resources::flow_logs::FlowLogApi;

/// How often a shared wait looks: a change is noticed within about this long. The first
/// round of an idle watch is immediate.
pub(super) const ROUND: Duration = Duration::from_millis(250);

/// What a waiter wants.
#[derive(Clone, Debug)]
pub(super) enum Mode {
    /// The first description, whatever its status (right after a change was asked for).
    Look,
    /// The first description in another status than the watched one, which this description
    /// showed.
    While(Box<FlowLog>),
}

struct Waiter {
    id: String,
    /// A look (any status answers it) rather than a wait.
    looking: bool,
    /// Seen in the watched status (by the caller, a listing or a description): then its
    /// absence from a later listing means it moved on.
    last: Option<FlowLog>,
    reply: oneshot::Sender<Result<Option<FlowLog>, Error>>,
    /// The caller's span (its Terraform RPC), for the calls made for it alone.
    span: tracing::Span,
}

#[derive(Default)]
struct State {
    waiters: Vec<Waiter>,
    running: bool,
    /// The price of listing the watched status, from the last listing.
    pages: u64,
    last_round: Option<Instant>,
}

pub(super) struct Watch {
    region: String,
    status: String,
    state: Mutex<State>,
}

/// Where the API's state machine takes a flow log that leaves a transitional status.
fn after(status: &str) -> Option<&'static str> {
    match status {
        "Activating" => Some("Active"),
        "Deactivating" => Some("Inactive"),
        _ => None,
    }
}

impl Watch {
    pub(super) fn new(region: &str, status: &str) -> Self {
        Watch {
            region: region.to_owned(),
            status: status.to_owned(),
            state: Mutex::new(State {
                pages: 1,
                ..State::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Joins the next round; dropping the future leaves the watch.
    pub(super) async fn wait(
        self: &Arc<Self>,
        api: Arc<dyn FlowLogApi>,
        id: &str,
        mode: Mode,
    ) -> Result<Option<FlowLog>, Error> {
        let (reply, answer) = oneshot::channel();
        // A look in a quiet region is one describe, now: waiting for a round to share would
        // only add time (and a fast API has already finished the change).
        let quiet = {
            let st = self.lock();
            (st.waiters.len() as u64) < st.pages
        };
        if matches!(mode, Mode::Look) && quiet {
            return api
                .describe(&self.region, id, &CallOptions::default())
                .await;
        }
        let start = {
            let mut st = self.lock();
            let last = match &mode {
                Mode::Look => None,
                Mode::While(seen) => Some((**seen).clone()),
            };
            st.waiters.push(Waiter {
                id: id.to_owned(),
                looking: matches!(mode, Mode::Look),
                last,
                reply,
                span: tracing::Span::current(),
            });
            !std::mem::replace(&mut st.running, true)
        };
        if start {
            // Listings serve every waiter of the region, not one RPC: their own span says so.
            let span = tracing::debug_span!(
                "shared_wait",
                region_id = %self.region,
                status = %self.status
            );
            tokio::spawn(self.clone().rounds(api).instrument(span));
        }
        // The round task always answers or drops the waiter with the process.
        answer.await.unwrap_or(Err(Error::Cancelled))
    }

    async fn rounds(self: Arc<Self>, api: Arc<dyn FlowLogApi>) {
        let opts = CallOptions::default();
        loop {
            let due = self.lock().last_round.map(|t| t + ROUND);
            if let Some(due) = due {
                tokio::time::sleep_until(due).await;
            }
            let (batch, pages) = {
                let mut st = self.lock();
                st.waiters.retain(|w| !w.reply.is_closed());
                if st.waiters.is_empty() {
                    st.running = false;
                    return;
                }
                st.last_round = Some(Instant::now());
                (std::mem::take(&mut st.waiters), st.pages)
            };
            let mut keep = Vec::new();
            let mut describe = Vec::new();
            if batch.len() as u64 <= pages {
                describe = batch;
            } else {
                let req = DescribeFlowLogsRequest {
                    region_id: self.region.clone(),
                    status: Some(self.status.clone()),
                    ..Default::default()
                };
                match api.list(&req, &opts).await {
                    Ok(listed) => {
                        self.lock().pages = pages_for(listed.len() as u64);
                        let listed: HashMap<&str, &FlowLog> = listed
                            .iter()
                            .filter(|f| f.status == self.status)
                            .map(|f| (f.flow_log_id.as_str(), f))
                            .collect();
                        for mut w in batch {
                            match (listed.get(w.id.as_str()), w.looking, &w.last) {
                                (Some(fl), true, _) => {
                                    let _ = w.reply.send(Ok(Some((*fl).clone())));
                                }
                                (Some(fl), false, _) => {
                                    w.last = Some((*fl).clone());
                                    keep.push(w);
                                }
                                (None, false, Some(last)) => match after(&self.status) {
                                    Some(next) => {
                                        let moved = FlowLog {
                                            status: next.to_owned(),
                                            ..last.clone()
                                        };
                                        let _ = w.reply.send(Ok(Some(moved)));
                                    }
                                    None => describe.push(w),
                                },
                                (None, _, _) => describe.push(w),
                            }
                        }
                    }
                    // Each waiter then gets its own answer, or its own error.
                    Err(_) => describe = batch,
                }
            }
            let described = join_all(describe.into_iter().map(|w| {
                let api = api.clone();
                let opts = &opts;
                let region = &self.region;
                let span = w.span.clone();
                async move {
                    let r = api.describe(region, &w.id, opts).await;
                    (w, r)
                }
                .instrument(span)
            }))
            .await;
            for (mut w, r) in described {
                match r {
                    Ok(Some(fl)) if !w.looking && fl.status == self.status => {
                        w.last = Some(fl);
                        keep.push(w);
                    }
                    other => {
                        let _ = w.reply.send(other);
                    }
                }
            }
            self.lock().waiters.extend(keep);
        }
    }
}
