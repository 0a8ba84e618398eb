//! Waits on a transitional status in one region, shared: every waiter of the region and
//! status is answered by one round every [`ROUND`]. A round asks the API the cheaper way:
//! describing each waiting flow log, or listing the flow logs in that status (its price is
//! known from the last listing). Nothing is inferred: a flow log that is no longer listed in
//! the status has left it, and where it went is confirmed before the waiter is answered, by
//! one listing of the status it settles to for all leavers or by describing them, whichever
//! costs less. Leavers gather for up to [`CONFIRM_WITHIN`] so that one listing confirms many
//! (unless nothing else is still on its way). A leaver found in neither is described: the
//! API's answer, whatever it is (`Inactive` after a failed activation, or nothing at all for a
//! deleted flow log), is what the waiter gets.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::join_all;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::Instrument as _;

use super::listings::Listings;
use super::pages_for;
use crate::alicloud::vpc::VPC;
use crate::alicloud::{CallOptions, DescribeFlowLogsRequest, Error, FlowLog, FlowLogStatus};
use crate::resources::flow_logs::FlowLogApi;

/// How often a shared wait looks: a change is noticed within about this long. The first
/// round of an idle watch is immediate.
pub(super) const ROUND: Duration = Duration::from_millis(250);

/// Rounds come this often while more flow logs than a page holds are on their way or waiting
/// to be confirmed: leavers wait up to [`CONFIRM_WITHIN`] to be confirmed anyway, so looking
/// more often would cost calls, not time. (With fewer, an operation's latency is what counts:
/// Terraform's parallelism waits for it.)
pub(super) const BUSY_ROUND: Duration = Duration::from_millis(500);

/// Leavers wait at most this long for others to share the listing that confirms them.
pub(super) const CONFIRM_WITHIN: Duration = Duration::from_secs(2);

/// A listing of where leavers went is made early once it confirms this many per page.
const CONFIRM_PER_PAGE: u64 = 10;

/// What a waiter wants.
#[derive(Clone, Debug)]
pub(super) enum Mode {
    /// The first description, whatever its status (right after a change was asked for).
    Look,
    /// The first description in another status than the watched one, which this description
    /// showed.
    While(Box<FlowLog>),
}

type Reply = oneshot::Sender<Result<Option<FlowLog>, Error>>;

struct Waiter {
    id: String,
    /// A look (any status answers it) rather than a wait.
    looking: bool,
    /// Seen in the watched status (by the caller, a listing or a description): then its
    /// absence from a later listing means it left, and where it went is confirmed.
    last: Option<FlowLog>,
    reply: Reply,
    /// The caller's span (its Terraform RPC), for the calls made for it alone.
    span: tracing::Span,
    /// The caller's deadline and cancellation, for the calls made for it alone.
    opts: CallOptions,
}

impl Waiter {
    fn answer(self, r: Result<Option<FlowLog>, Error>) {
        let _ = self.reply.send(r);
    }
}

#[derive(Default)]
struct State {
    waiters: Vec<Waiter>,
    /// Left the watched status (when first missed from a listing); where to is not yet known.
    leavers: Vec<(Instant, Waiter)>,
    /// Waiters taken by the round under way.
    in_round: usize,
    running: bool,
    /// The price of listing the watched status, from the last listing.
    pages: u64,
    /// The price of listing the status the watched one settles to, from the last such listing.
    settled_pages: u64,
    last_round: Option<Instant>,
    /// The last round had more flow logs on their way or waiting to be confirmed than a page
    /// holds.
    busy: bool,
}

pub(super) struct Watch {
    region: String,
    status: FlowLogStatus,
    listings: Arc<Listings>,
    state: Mutex<State>,
}

/// What a listing made for waiters gave.
enum Listed {
    /// The flow logs in the listed status, by ID, and the listing's price in pages.
    Found(HashMap<String, FlowLog>, u64),
    /// It failed: each waiter gets its own answer instead.
    Failed,
    /// Nobody waits for it any more.
    Abandoned,
}

impl Watch {
    pub(super) fn new(region: &str, status: FlowLogStatus, listings: Arc<Listings>) -> Self {
        Watch {
            region: region.to_owned(),
            status,
            listings,
            state: Mutex::new(State {
                pages: 1,
                settled_pages: 1,
                ..State::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lists the region's flow logs in `status` for `waiters`: the call may run until the
    /// latest of their deadlines, and is given up as soon as none of them is waiting any more.
    async fn list(
        &self,
        api: &dyn FlowLogApi,
        status: &FlowLogStatus,
        waiters: &mut [Waiter],
    ) -> Listed {
        // The API documents the Status filter for Active, Activating and Inactive only: a wait
        // on another status (Deactivating, Modifying, Deleting) lists the whole region and picks
        // that status out itself.
        let req = DescribeFlowLogsRequest {
            region_id: self.region.clone(),
            status: status.is_listing_filter().then(|| status.clone()),
            ..Default::default()
        };
        let opts = CallOptions::latest(waiters.iter().map(|w| &w.opts));
        tracing::debug!(
            listed = %status,
            waiters = waiters.len(),
            "listing the region's flow logs in one status for waiting operations"
        );
        let all_gone = join_all(waiters.iter_mut().map(|w| w.reply.closed()));
        let listed = tokio::select! {
            r = api.list(&req, &opts) => r,
            _ = all_gone => return Listed::Abandoned,
        };
        match listed {
            Ok(listed) => {
                let pages = pages_for(listed.len() as u64);
                let by_id = listed
                    .into_iter()
                    .filter(|f| f.status == *status)
                    .map(|f| (f.flow_log_id.clone(), f))
                    .collect();
                Listed::Found(by_id, pages)
            }
            Err(e) => {
                self.listings.refused_by(&e);
                Listed::Failed
            }
        }
    }

    /// Joins the next round; answers within the options' deadline and cancellation (dropping
    /// the future also leaves the watch).
    pub(super) async fn wait(
        self: &Arc<Self>,
        api: Arc<dyn FlowLogApi>,
        id: &str,
        mode: Mode,
        opts: &CallOptions,
    ) -> Result<Option<FlowLog>, Error> {
        // A look in a quiet region is one describe, now: waiting for a round to share would
        // only add time (and a fast API has already finished the change).
        let quiet = {
            let st = self.lock();
            ((st.waiters.len() + st.in_round) as u64) < st.pages || !self.listings.allowed()
        };
        if matches!(mode, Mode::Look) && quiet {
            return api.describe(&self.region, id, opts).await;
        }
        let (reply, answer) = oneshot::channel();
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
                opts: opts.clone(),
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
        opts.bound(VPC.name, async {
            answer.await.unwrap_or(Err(Error::Cancelled))
        })
        .await
    }

    async fn rounds(self: Arc<Self>, api: Arc<dyn FlowLogApi>) {
        loop {
            let due = {
                let st = self.lock();
                let every = if st.busy { BUSY_ROUND } else { ROUND };
                st.last_round.map(|t| t + every)
            };
            if let Some(due) = due {
                tokio::time::sleep_until(due).await;
            }
            let (batch, leavers, pages) = {
                let mut st = self.lock();
                st.waiters.retain(|w| !w.reply.is_closed());
                st.leavers.retain(|(_, w)| !w.reply.is_closed());
                if st.waiters.is_empty() && st.leavers.is_empty() {
                    st.running = false;
                    return;
                }
                st.last_round = Some(Instant::now());
                st.in_round = st.waiters.len();
                st.busy = (st.waiters.len() + st.leavers.len()) as u64
                    > u64::from(crate::alicloud::vpc::MAX_PAGE_SIZE);
                (
                    std::mem::take(&mut st.waiters),
                    std::mem::take(&mut st.leavers),
                    st.pages,
                )
            };
            let (keep, left) = if batch.is_empty() {
                (Vec::new(), Vec::new())
            } else {
                self.round(api.as_ref(), batch, pages).await
            };
            let now = Instant::now();
            let mut leavers = leavers;
            leavers.extend(left.into_iter().map(|w| (now, w)));
            let (keep_too, leavers) = self.confirm(api.as_ref(), leavers, keep.is_empty()).await;
            let mut st = self.lock();
            st.in_round = 0;
            st.waiters.extend(keep);
            st.waiters.extend(keep_too);
            st.leavers.extend(leavers);
        }
    }

    /// One round: answers the waiters whose flow log the API showed outside the watched
    /// status (or as they asked, for looks); returns those still in it, and those that left it
    /// for a place still to confirm.
    async fn round(
        &self,
        api: &dyn FlowLogApi,
        mut batch: Vec<Waiter>,
        pages: u64,
    ) -> (Vec<Waiter>, Vec<Waiter>) {
        if batch.len() as u64 <= pages || !self.listings.allowed() {
            return (self.describe_each(api, batch).await, Vec::new());
        }
        let listed = match self.list(api, &self.status, &mut batch).await {
            Listed::Found(listed, pages) => {
                self.lock().pages = pages;
                listed
            }
            // Each waiter then gets its own answer, or its own error.
            Listed::Failed => return (self.describe_each(api, batch).await, Vec::new()),
            Listed::Abandoned => return (Vec::new(), Vec::new()),
        };
        let mut keep = Vec::new();
        let mut leavers = Vec::new();
        let mut describe = Vec::new();
        for mut w in batch {
            match (listed.get(&w.id), w.looking, w.last.is_some()) {
                (Some(fl), true, _) => w.answer(Ok(Some(fl.clone()))),
                (Some(fl), false, _) => {
                    w.last = Some(fl.clone());
                    keep.push(w);
                }
                // Seen in the status before and not listed now: it left; where to is confirmed.
                (None, false, true) => leavers.push(w),
                (None, _, _) => describe.push(w),
            }
        }
        keep.extend(self.describe_each(api, describe).await);
        (keep, leavers)
    }

    /// Confirms where the leavers went, once enough have gathered to share a listing, the
    /// oldest has waited [`CONFIRM_WITHIN`], or nothing else is on its way (`alone`): by one
    /// listing of the status the watched one settles to, when that costs less than describing
    /// them all, then describing the rest. Returns the waiters found back in the watched status
    /// and the leavers still gathering.
    async fn confirm(
        &self,
        api: &dyn FlowLogApi,
        leavers: Vec<(Instant, Waiter)>,
        alone: bool,
    ) -> (Vec<Waiter>, Vec<(Instant, Waiter)>) {
        let Some(oldest) = leavers.iter().map(|(t, _)| *t).min() else {
            return (Vec::new(), leavers);
        };
        let settled_pages = self.lock().settled_pages;
        let due = alone
            || oldest + CONFIRM_WITHIN <= Instant::now()
            || leavers.len() as u64 >= CONFIRM_PER_PAGE * settled_pages;
        if !due {
            return (Vec::new(), leavers);
        }
        let leavers: Vec<Waiter> = leavers.into_iter().map(|(_, w)| w).collect();
        let rest = self.list_settled(api, leavers, settled_pages).await;
        (self.describe_each(api, rest).await, Vec::new())
    }

    /// Answers the leavers found in one listing of the status the watched one settles to,
    /// when that costs less than describing them all; returns the ones still to describe.
    async fn list_settled(
        &self,
        api: &dyn FlowLogApi,
        mut leavers: Vec<Waiter>,
        settled_pages: u64,
    ) -> Vec<Waiter> {
        let Some(settled) = self.status.settles_to() else {
            return leavers;
        };
        if leavers.len() as u64 <= settled_pages || !self.listings.allowed() {
            return leavers;
        }
        let listed = match self.list(api, &settled, &mut leavers).await {
            Listed::Found(listed, pages) => {
                self.lock().settled_pages = pages;
                listed
            }
            Listed::Failed => return leavers,
            Listed::Abandoned => return Vec::new(),
        };
        let mut rest = Vec::new();
        for w in leavers {
            match listed.get(&w.id) {
                Some(fl) => w.answer(Ok(Some(fl.clone()))),
                None => rest.push(w),
            }
        }
        rest
    }

    /// Describes each waiter's flow log with its own options, in its own span; answers those
    /// the API showed outside the watched status (or any status, for looks).
    async fn describe_each(&self, api: &dyn FlowLogApi, batch: Vec<Waiter>) -> Vec<Waiter> {
        let waiting = batch.into_iter().filter(|w| !w.reply.is_closed());
        let described = join_all(waiting.map(|w| {
            let region = &self.region;
            let span = w.span.clone();
            async move {
                let r = w
                    .opts
                    .bound(VPC.name, api.describe(region, &w.id, &w.opts))
                    .await;
                (w, r)
            }
            .instrument(span)
        }))
        .await;
        let mut keep = Vec::new();
        for (mut w, r) in described {
            match r {
                Ok(Some(fl)) if !w.looking && fl.status == self.status => {
                    w.last = Some(fl);
                    keep.push(w);
                }
                other => w.answer(other),
            }
        }
        keep
    }
}
