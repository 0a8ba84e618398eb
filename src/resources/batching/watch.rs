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
//!
//! While more wait than a page holds, every round lists where they settle as well: each
//! waiter that listing shows settled is answered at once, without first being missed from a
//! listing of the watched status, and that listing (which alone tells a failure or a
//! deletion) is made every other busy round only, or, in a process alone on the status that
//! has seen flow logs settle, only once a waiter is overdue. Busy rounds space with the
//! square root of what listing where they settle costs.
//!
//! The machine's other provider processes (a stack's units) wait on the same statuses: a
//! listing one of them made serves the waiters of this one that joined (or were last seen)
//! before it started, and each round publishes how many wait here, so that the processes list
//! when together they are worth a listing and one of them (the lead) lists for all. The lead
//! also lists where the others' leavers went, judging from its own listings how many have
//! left (the published demand lags a round or two); the others look for its listings between
//! their rounds, so that each hop costs them little more than it costs the lead.

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
use crate::alicloud::{
    CallOptions, Demand, DescribeFlowLogsRequest, Error, FlowLog, FlowLogStatus, MachineDemand,
};
use crate::resources::flow_logs::FlowLogApi;

/// How often a shared wait looks: a change is noticed within about this long. The first
/// round of an idle watch is immediate. Also while many wait: each operation holds one of
/// Terraform's parallel slots until it is answered, so a round later is a slot held longer
/// (1,000 activations at 100 QPS: 22.3 to 22.8 s at 250 ms against 23.6 to 25.4 s at 500 ms,
/// for about 0.08 more calls per activation); under a quota the calls need, [`LISTING_SHARE`]
/// spaces them.
pub(super) const ROUND: Duration = Duration::from_millis(250);

/// Rounds come this often while more flow logs than a page holds wait on the status in this
/// process, and each lists where they settle (see [`Watch::confirm`]): a waiter is answered by
/// the first such round after it settled, so its operation holds its slot about half a busy
/// round past the change, and the region's settled flow logs are listed once per busy round.
/// 1,000 activations at 100 QPS (`bench/scale.py`): 20.2 s for 1.32 calls per activation,
/// against 21.9 s for 1.40 with 250 ms rounds that list the watched status and gather leavers.
/// This is the spacing while that listing costs [`BUSY_PAGES`]; see [`busy_round`].
pub(super) const BUSY_ROUND: Duration = Duration::from_millis(800);
const BUSY_PAGES: f64 = 10.0;
/// Busy rounds never come closer or further apart than these.
const BUSY_ROUND_MIN: Duration = Duration::from_millis(400);
const BUSY_ROUND_MAX: Duration = Duration::from_millis(1600);

/// The spacing of busy rounds when listing where the flow logs settle costs `settled_pages`:
/// [`BUSY_ROUND`] scaled by the square root of the price. Each round costs its pages and holds
/// each waiter about half a round, so the pages spent and the slots held are together least
/// when rounds space with the square root of their price (the batching rule of the economic
/// order quantity): cheap rounds early in a big apply come often, dear ones late come less
/// often. 1,000 activations at 100 QPS: about 12 fewer calls at the same time.
pub(super) fn busy_round(settled_pages: u64) -> Duration {
    BUSY_ROUND
        .mul_f64((settled_pages.max(1) as f64 / BUSY_PAGES).sqrt())
        .clamp(BUSY_ROUND_MIN, BUSY_ROUND_MAX)
}

/// In busy rounds the watched status is listed every this many rounds: the settled listing
/// answers the flow logs that got there, the watched one only tells where the others went.
/// A process alone on the status that has seen flow logs settle lists it only once a waiter
/// has waited [`OVERDUE_FACTOR`] times as long as they usually take (see [`State::usual`]).
const WATCHED_EVERY: u64 = 2;
const OVERDUE_FACTOR: u32 = 2;

/// A look kept past the watched status is answered with what showed it there once its
/// deadline is closer than this: its caller then reports that, not an older description.
const LOOK_MARGIN: Duration = Duration::from_secs(2);

/// The share of the rate limiter's rate a wait's listings of its status may take.
const LISTING_SHARE: f64 = 0.05;
/// The same in busy rounds: their listings stand for the describes each operation would make.
const BUSY_SHARE: f64 = 0.2;
/// Rounds never come further apart than this, whatever the rate.
const MAX_ROUND: Duration = Duration::from_secs(2);

/// How often a process that waits for another's listings looks for them between rounds.
const SHARED_POLL: Duration = Duration::from_millis(50);

/// Leavers wait at most this long for others to share the listing that confirms them.
pub(super) const CONFIRM_WITHIN: Duration = Duration::from_secs(2);

/// A listing of where leavers went is made early once it confirms this many per page.
const CONFIRM_PER_PAGE: u64 = 10;

/// Another process of the machine lists for the waiters of all (the lead): the others wait
/// for its listing, up to this long past what they need, then fend for themselves.
const LEAD_GRACE: Duration = Duration::from_secs(1);

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
    /// A look a busy round found in the watched status and kept: the listing of where it
    /// settles answers it (saving its caller a round), else what showed it on its way.
    kept_look: bool,
    /// Seen in the watched status (by the caller, a listing or a description): then its
    /// absence from a later listing means it left, and where it went is confirmed.
    last: Option<FlowLog>,
    reply: Reply,
    /// The caller's span (its Terraform RPC), for the calls made for it alone.
    span: tracing::Span,
    /// The caller's deadline and cancellation, for the calls made for it alone.
    opts: CallOptions,
    /// Only a listing started after this tells anything new of it: it joined then, or an
    /// earlier listing already showed it.
    need: Instant,
    /// When it joined the wait.
    joined: Instant,
}

impl Waiter {
    fn answer(self, r: Result<Option<FlowLog>, Error>) {
        let _ = self.reply.send(r);
    }

    /// Answers with the description that last showed the flow log (a kept look's: in the
    /// watched status).
    fn answer_as_last_seen(self) {
        let last = self.last.clone();
        self.answer(Ok(last));
    }
}

/// Answers the kept looks whose deadline is near with what showed them on their way, and
/// returns the other waiters.
fn release_kept_looks(keep: Vec<Waiter>) -> Vec<Waiter> {
    let soon = Instant::now() + LOOK_MARGIN;
    let (due, keep): (Vec<_>, Vec<_>) = keep
        .into_iter()
        .partition(|w| w.kept_look && w.opts.deadline.is_some_and(|d| d <= soon));
    due.into_iter().for_each(Waiter::answer_as_last_seen);
    keep
}

/// Answers the waiters of `keep` that a listing of the settled status shows there, if it
/// started after they were last seen (`started`; a listing this round made after its own
/// listing of the watched status always did). Returns the longest any of them waited.
fn answer_settled(
    keep: &mut Vec<Waiter>,
    listed: &HashMap<String, FlowLog>,
    started: Option<Instant>,
) -> Option<Duration> {
    let mut still = Vec::with_capacity(keep.len());
    let mut longest = None;
    for w in keep.drain(..) {
        let fresh = started.is_none_or(|s| w.need < s);
        match listed.get(&w.id) {
            Some(fl) if fresh => {
                longest = longest.max(Some(w.joined.elapsed()));
                w.answer(Ok(Some(fl.clone())));
            }
            _ => still.push(w),
        }
    }
    *keep = still;
    longest
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
    /// More wait on the status here than a page holds (and than listing where they settle
    /// costs): rounds are busy rounds.
    busy: bool,
    /// Busy rounds in a row, for [`WATCHED_EVERY`].
    busy_rounds: u64,
    /// How long flow logs usually wait here before a busy round finds them settled: the
    /// longest wait of the last round that answered any (a round answers those that settled
    /// since the one before, so its longest is about the slowest recent change).
    usual: Option<Duration>,
    /// The machine's waiters on this status as of the last round (this process's included):
    /// a listing the lead process makes serves them all, so it is worth making when together
    /// they outnumber its pages.
    machine: MachineDemand,
    /// When this process (the lead) last listed the settled status for the other processes'
    /// leavers alone.
    listed_for_others: Option<Instant>,
    /// The flow logs the newest listing of the watched status showed (whoever waits for
    /// them), how many have left it since the last listing of the settled status, and how many
    /// it showed: the machine's leavers and those on their way as they are now, where the
    /// processes' published demand is a round or two behind.
    last_listed: std::collections::HashSet<String>,
    left_unconfirmed: u64,
    in_status: u64,
}

pub(super) struct Watch {
    region: String,
    status: FlowLogStatus,
    listings: Arc<Listings>,
    state: Mutex<State>,
}

/// What a listing made for waiters gave.
enum Listed {
    /// The flow logs in the listed status, by ID, the listing's price in pages, and when it
    /// started.
    Found(HashMap<String, FlowLog>, u64, Instant),
    /// It failed: each waiter gets its own answer instead.
    Failed,
    /// Nobody waits for it any more.
    Abandoned,
}

/// The flow logs of a listing in `status`, by ID, and the listing's price in pages.
fn in_status(listed: Vec<FlowLog>, status: &FlowLogStatus) -> (HashMap<String, FlowLog>, u64) {
    let pages = pages_for(listed.len() as u64);
    let by_id = listed
        .into_iter()
        .filter(|f| f.status == *status)
        .map(|f| (f.flow_log_id.clone(), f))
        .collect();
    (by_id, pages)
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

    fn request(&self, status: &FlowLogStatus) -> DescribeFlowLogsRequest {
        DescribeFlowLogsRequest {
            region_id: self.region.clone(),
            status: status.is_listing_filter().then(|| status.clone()),
            ..Default::default()
        }
    }

    /// The newest listing of `status` another provider process of this machine shared, if it
    /// started after `since`: by ID, its price in pages, and when it started.
    async fn machine_listing(
        &self,
        api: &dyn FlowLogApi,
        status: &FlowLogStatus,
        since: Instant,
    ) -> Option<(HashMap<String, FlowLog>, u64, Instant)> {
        if !self.listings.allowed() {
            return None;
        }
        let (listed, started) = api.machine_listing(&self.request(status), since).await?;
        let (by_id, pages) = in_status(listed, status);
        Some((by_id, pages, started))
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
        let req = self.request(status);
        let opts = CallOptions::latest(waiters.iter().map(|w| &w.opts));
        tracing::debug!(
            listed = %status,
            waiters = waiters.len(),
            "listing the region's flow logs in one status for waiting operations"
        );
        let all_gone = join_all(waiters.iter_mut().map(|w| w.reply.closed()));
        let listed = tokio::select! {
            r = api.list_for_machine(&req, &opts) => r,
            _ = all_gone => return Listed::Abandoned,
        };
        match listed {
            Ok((listed, started)) => {
                let (by_id, pages) = in_status(listed, status);
                Listed::Found(by_id, pages, started)
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
        let (mut quiet, running) = {
            let st = self.lock();
            let here = (st.waiters.len() + st.in_round) as u64;
            let machine = u64::from(st.machine.total.waiting) + u64::from(st.machine.total.leaving);
            (
                here.max(machine) < st.pages || !self.listings.allowed(),
                st.running,
            )
        };
        if matches!(mode, Mode::Look) && quiet && !running && self.listings.allowed() {
            // Quiet here, but the machine's other processes may be waiting on the status
            // too: then a listing made for them serves this look as well.
            if let Some(machine) = api
                .machine_demand(&self.request(&self.status), Demand::default())
                .await
            {
                let busy = u64::from(machine.total.waiting) + u64::from(machine.total.leaving);
                quiet = busy < self.lock().pages;
            }
        }
        // Unless calls queue at the rate limiter: the describe would wait its turn anyway
        // (often until the change is done, so that no wait follows the look to make the region
        // busy), and in the round it may share a listing with the looks that join meanwhile.
        // At 15 QPS the processes of a stack otherwise settled, now and then, into describing
        // every flow log at once: 2.1 calls per activation and 71 s, not 1.8 and 58 s.
        if matches!(mode, Mode::Look) && quiet && api.api_rate(&self.region).await.is_some() {
            quiet = false;
        }
        if matches!(mode, Mode::Look) && quiet {
            tracing::debug!(
                flow_log_id = id,
                "looking at a flow log at once: too few waiting to share a listing"
            );
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
                kept_look: false,
                last,
                reply,
                span: tracing::Span::current(),
                opts: opts.clone(),
                need: Instant::now(),
                joined: Instant::now(),
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
            let rate = api.api_rate(&self.region).await;
            let due = {
                let st = self.lock();
                let mut every = if st.busy {
                    busy_round(st.settled_pages)
                } else {
                    ROUND
                };
                // The listings of a wait take at most a twentieth of what the quota allows
                // (a fifth in busy rounds, whose listings answer the operations): under a small
                // quota the operations' own calls need the rest.
                if let Some(rate) = rate.filter(|r| *r > 0.0) {
                    let (pages, share) = if st.busy {
                        let watched = st.pages.max(1).div_ceil(WATCHED_EVERY);
                        ((watched + st.settled_pages) as f64, BUSY_SHARE)
                    } else {
                        (st.pages.max(1) as f64, LISTING_SHARE)
                    };
                    every = every.max(Duration::from_secs_f64(pages / (share * rate)));
                }
                st.last_round.map(|t| t + every.min(MAX_ROUND))
            };
            if let Some(due) = due {
                self.sleep_until(api.as_ref(), due).await;
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
                (
                    std::mem::take(&mut st.waiters),
                    std::mem::take(&mut st.leavers),
                    st.pages,
                )
            };
            let mine = Demand {
                waiting: u32::try_from(batch.len()).unwrap_or(u32::MAX),
                leaving: u32::try_from(leavers.len()).unwrap_or(u32::MAX),
            };
            let machine = api
                .machine_demand(&self.request(&self.status), mine)
                .await
                .unwrap_or(MachineDemand {
                    total: mine,
                    lead: true,
                });
            // Other processes wait on this status too (else the machine's demand is this
            // process's own).
            let others = machine.total != mine;
            {
                let mut st = self.lock();
                st.machine = machine;
                // This process's own: a stack's units each wait on a few flow logs, and there
                // a round later holds each of their slots longer (10 units of 50: 1.21x one
                // configuration's time with busy rounds machine-wide, against 1.11x).
                let waiting = u64::from(mine.waiting) + u64::from(mine.leaving);
                // (Busy rounds list: not once listings are refused.)
                st.busy = self.listings.allowed()
                    && waiting
                        > u64::from(crate::alicloud::vpc::MAX_PAGE_SIZE).max(st.settled_pages);
                st.busy_rounds = if st.busy { st.busy_rounds + 1 } else { 0 };
            }
            // A busy round between those that list the watched status: this process lists (or
            // would) where the waiters settle only. Alone on the status, once flow logs have
            // been seen to settle, the watched status is listed only when a waiter is overdue:
            // the listing of where they settle answers the others as they arrive.
            let skip_watched = {
                let st = self.lock();
                // (Or whose deadline nears: the listing tells it where its flow log is.)
                let overdue = |usual: Duration| {
                    let late = (usual * OVERDUE_FACTOR).max(BUSY_ROUND_MAX);
                    let soon = Instant::now() + LOOK_MARGIN + BUSY_ROUND_MAX;
                    batch.iter().any(|w| {
                        w.joined.elapsed() > late || w.opts.deadline.is_some_and(|d| d <= soon)
                    })
                };
                st.busy
                    && machine.lead
                    && match st.usual {
                        Some(usual) if !others && st.busy_rounds > 1 => !overdue(usual),
                        _ => !(st.busy_rounds - 1).is_multiple_of(WATCHED_EVERY),
                    }
            };
            let (keep, left) = if batch.is_empty() || skip_watched {
                (batch, Vec::new())
            } else {
                self.round(api.as_ref(), batch, pages).await
            };
            let now = Instant::now();
            let mut leavers = leavers;
            leavers.extend(left.into_iter().map(|w| (now, w)));
            // Nothing else on its way, here or (as far as the machine's demand tells) in the
            // machine's other processes: gathering leavers for a shared listing gains nothing.
            let alone = keep.is_empty() && machine.total.waiting <= mine.waiting;
            // Still on their way, here or (for the lead) in the whole machine.
            let mut on_the_way = keep.len() as u64;
            if machine.lead {
                // The newest listing shows the machine's flow logs still on their way; the
                // published demand still counts some that have left.
                let in_status = self.lock().in_status;
                on_the_way = on_the_way.max(in_status);
            }
            // (A busy round lists where the waiters settle anyway, for all.)
            let busy = self.lock().busy;
            if leavers.is_empty() && machine.lead && others && !keep.is_empty() && !busy {
                let opts = CallOptions::latest(keep.iter().map(|w| &w.opts));
                self.confirm_for_others(api.as_ref(), &opts, on_the_way)
                    .await;
            }
            let mut keep = keep;
            let (keep_too, leavers) = self
                .confirm(api.as_ref(), leavers, &mut keep, alone, on_the_way)
                .await;
            let keep = release_kept_looks(keep);
            let mut st = self.lock();
            st.in_round = 0;
            st.waiters.extend(keep);
            st.waiters.extend(keep_too);
            st.leavers.extend(leavers);
        }
    }

    /// Sleeps until `due`; in a process that does not list for the machine, only until
    /// another process shares a listing that serves some of the waiters or leavers: the round
    /// then starts at once rather than up to a round later (each such hop would add to every
    /// operation's time).
    async fn sleep_until(&self, api: &dyn FlowLogApi, due: Instant) {
        loop {
            let now = Instant::now();
            if now >= due {
                return;
            }
            let (waiting, leaving) = {
                let st = self.lock();
                if st.machine.lead || !self.listings.allowed() {
                    (None, None)
                } else {
                    let waiting = st.waiters.iter().map(|w| w.need).min();
                    // In busy rounds the lead's listing of where they settle answers waiters
                    // too, not only leavers.
                    let leaving = st.leavers.iter().map(|(_, w)| w.need).min();
                    let leaving = if st.busy {
                        leaving.into_iter().chain(waiting).min()
                    } else {
                        leaving
                    };
                    (waiting, leaving)
                }
            };
            if waiting.is_none() && leaving.is_none() {
                tokio::time::sleep_until(due).await;
                return;
            }
            tokio::time::sleep_until(due.min(now + SHARED_POLL)).await;
            if let Some(since) = waiting
                && api
                    .machine_listing_stored(&self.request(&self.status), since)
                    .await
            {
                return;
            }
            if let (Some(since), Some(settled)) = (leaving, self.status.settles_to())
                && api
                    .machine_listing_stored(&self.request(&settled), since)
                    .await
            {
                return;
            }
        }
    }

    /// One round: answers the waiters whose flow log the API showed outside the watched
    /// status (or as they asked, for looks); returns those still in it, and those that left it
    /// for a place still to confirm. A listing another process of the machine made after some
    /// of them joined serves those (the others wait for the next round); else this process
    /// lists, or describes each when that costs less.
    async fn round(
        &self,
        api: &dyn FlowLogApi,
        batch: Vec<Waiter>,
        pages: u64,
    ) -> (Vec<Waiter>, Vec<Waiter>) {
        let oldest = batch
            .iter()
            .map(|w| w.need)
            .min()
            .unwrap_or_else(Instant::now);
        if let Some((listed, pages, started)) =
            self.machine_listing(api, &self.status, oldest).await
        {
            self.lock().pages = pages;
            let (covered, mut keep): (Vec<_>, Vec<_>) =
                batch.into_iter().partition(|w| w.need < started);
            let (kept, leavers) = self.sort(api, &listed, started, covered).await;
            keep.extend(kept);
            return (keep, leavers);
        }
        let (machine, busy) = {
            let st = self.lock();
            (st.machine, st.busy)
        };
        // In busy rounds the lead lists the watched status every [`WATCHED_EVERY`] rounds only.
        let grace = if busy {
            LEAD_GRACE + BUSY_ROUND_MAX * WATCHED_EVERY as u32
        } else {
            LEAD_GRACE
        };
        if !machine.lead
            && u64::from(machine.total.waiting) > pages
            && Instant::now() < oldest + grace
        {
            // The lead process lists for the machine: its listing will serve these too.
            return (batch, Vec::new());
        }
        let mut batch = batch;
        let mut waiting = batch.len() as u64;
        if machine.lead {
            waiting = waiting.max(u64::from(machine.total.waiting));
        }
        if waiting <= pages || !self.listings.allowed() {
            return (
                self.describe_each(api, batch, "fewer than a listing's pages")
                    .await,
                Vec::new(),
            );
        }
        match self.list(api, &self.status, &mut batch).await {
            Listed::Found(listed, pages, started) => {
                self.lock().pages = pages;
                self.sort(api, &listed, started, batch).await
            }
            // Each waiter then gets its own answer, or its own error.
            Listed::Failed => (
                self.describe_each(api, batch, "the listing failed").await,
                Vec::new(),
            ),
            Listed::Abandoned => (Vec::new(), Vec::new()),
        }
    }

    /// Answers the waiters of `batch` as a listing of the watched status that started at
    /// `started` (after each of them joined or was last seen) shows them: looks found in it
    /// are answered, waiters found in it are kept, waiters seen in the status before and
    /// missing now have left it (returned second, to confirm where to), the rest are
    /// described.
    async fn sort(
        &self,
        api: &dyn FlowLogApi,
        listed: &HashMap<String, FlowLog>,
        started: Instant,
        batch: Vec<Waiter>,
    ) -> (Vec<Waiter>, Vec<Waiter>) {
        let busy = {
            let mut st = self.lock();
            let left = st
                .last_listed
                .iter()
                .filter(|id| !listed.contains_key(*id))
                .count() as u64;
            st.left_unconfirmed += left;
            st.last_listed = listed.keys().cloned().collect();
            st.in_status = listed.len() as u64;
            st.busy
        };
        let mut keep = Vec::new();
        let mut leavers = Vec::new();
        let mut describe = Vec::new();
        for mut w in batch {
            w.need = started;
            match (listed.get(&w.id), w.looking, w.last.is_some()) {
                // The listing of where it settles follows in this round: it answers the look
                // if the flow log got there meanwhile, else the next busy round's does.
                (Some(fl), true, _) if busy => {
                    w.looking = false;
                    w.kept_look = true;
                    w.last = Some(fl.clone());
                    keep.push(w);
                }
                (Some(fl), true, _) => w.answer(Ok(Some(fl.clone()))),
                (Some(fl), false, _) => {
                    w.last = Some(fl.clone());
                    keep.push(w);
                }
                // Seen in the status before and not listed now: it left; where to is confirmed.
                // A look not listed has been through the status already (a fast change), or
                // has not shown it yet: the listing that confirms leavers, or else its own
                // description, tells.
                (None, false, true) | (None, true, _) => leavers.push(w),
                (None, _, _) => describe.push(w),
            }
        }
        keep.extend(
            self.describe_each(api, describe, "not in the listing")
                .await,
        );
        (keep, leavers)
    }

    /// Confirms where the leavers went, once enough have gathered to share a listing, the
    /// oldest has waited [`CONFIRM_WITHIN`], nothing else is on its way (`alone`), or (in the
    /// process that lists for the machine) as many have left as are `on_the_way`: by one
    /// listing of the status the watched one settles to, when that costs less than describing
    /// them all, then describing the rest. Returns the waiters found back in the watched status
    /// and the leavers still gathering. In a busy round, any listing of the settled status also
    /// answers the waiters of `keep` it shows there, and the process that lists for the machine
    /// makes one at once, for them as much as for the leavers. (Not in other rounds: answered
    /// sooner, fewer would wait, and a look would more often find too few waiting to share a
    /// listing and describe its flow log at once; at 15 QPS, where such a describe queues at
    /// the rate limiter until the flow log is `Active`, the processes then stopped sharing:
    /// 2.1 calls per activation, not 1.6.)
    async fn confirm(
        &self,
        api: &dyn FlowLogApi,
        leavers: Vec<(Instant, Waiter)>,
        keep: &mut Vec<Waiter>,
        alone: bool,
        on_the_way: u64,
    ) -> (Vec<Waiter>, Vec<(Instant, Waiter)>) {
        let (busy, machine) = {
            let st = self.lock();
            (st.busy, st.machine)
        };
        let busy = busy && !keep.is_empty();
        let Some(oldest) = leavers
            .iter()
            .map(|(t, _)| *t)
            .min()
            .or_else(|| busy.then(Instant::now))
        else {
            return (Vec::new(), leavers);
        };
        let leavers = self.confirm_from_machine(api, leavers, keep).await;
        // Only the lead lists for a busy machine; the others' waiters are answered from its
        // listings (above).
        let listing_round = busy && machine.lead && !keep.is_empty();
        if leavers.is_empty() && !listing_round {
            return (Vec::new(), leavers);
        }
        let (settled_pages, left) = {
            let st = self.lock();
            (st.settled_pages, st.left_unconfirmed)
        };
        let mut leaving = leavers.len() as u64;
        if listing_round {
            leaving += keep.len() as u64;
        }
        if machine.lead {
            leaving = leaving.max(u64::from(machine.total.leaving)).max(left);
        }
        // Another process leads and the machine's leavers are worth a listing: it lists where
        // they went for all (`confirm_for_others`); these wait for that, up to the window.
        let lead_confirms = !machine.lead && u64::from(machine.total.leaving) > settled_pages;
        // Gathering pays while more are about to leave; once as many have left as are still
        // on their way, waiting longer mostly holds Terraform's slots (its parallelism), and
        // the operations that would fill them, back.
        let due = oldest + CONFIRM_WITHIN <= Instant::now()
            || (!lead_confirms
                && (alone
                    || listing_round
                    || leaving >= CONFIRM_PER_PAGE * settled_pages
                    || (machine.lead && leaving >= on_the_way)));
        if !due {
            return (Vec::new(), leavers);
        }
        // One listing serves the machine's leavers, not only these: whichever process is due
        // first makes it for all (claiming it), the others wait for it rather than describe
        // theirs or list too.
        let leaving = leaving.max(u64::from(machine.total.leaving));
        if let Some(settled) = self.status.settles_to()
            && leaving > settled_pages
            && self.listings.allowed()
        {
            let since = leavers
                .iter()
                .map(|(_, w)| w.need)
                .max()
                .unwrap_or_else(Instant::now);
            if api
                .listing_claimed(&self.request(&settled), true, since)
                .await
            {
                return (Vec::new(), leavers);
            }
        }
        let leavers: Vec<Waiter> = leavers.into_iter().map(|(_, w)| w).collect();
        let rest = self
            .list_settled(api, leavers, keep, settled_pages, leaving)
            .await;
        (
            self.describe_each(api, rest, "left the status; where to is not listed")
                .await,
            Vec::new(),
        )
    }

    /// The lead process, with no leavers of its own, lists the status the watched one settles
    /// to for the other processes' leavers (they find it shared), by the rule its own leavers
    /// follow: once as many have left as are still on their way, or enough to fill its pages.
    /// At most once per [`CONFIRM_WITHIN`] / 2: the others' demand still counts the leavers a
    /// listing answered until their next round.
    async fn confirm_for_others(&self, api: &dyn FlowLogApi, opts: &CallOptions, on_the_way: u64) {
        let Some(settled) = self.status.settles_to() else {
            return;
        };
        let (settled_pages, leaving, last) = {
            let st = self.lock();
            (
                st.settled_pages,
                u64::from(st.machine.total.leaving).max(st.left_unconfirmed),
                st.listed_for_others,
            )
        };
        let now = Instant::now();
        let due = leaving > settled_pages
            && (leaving >= on_the_way || leaving >= CONFIRM_PER_PAGE * settled_pages)
            && last.is_none_or(|t| t + CONFIRM_WITHIN / 2 <= now);
        if !due || !self.listings.allowed() {
            return;
        }
        self.lock().listed_for_others = Some(now);
        // Claimed, so that a process whose leavers are due meanwhile waits for this listing.
        api.listing_claimed(&self.request(&settled), true, now)
            .await;
        tracing::debug!(
            listed = %settled,
            leavers = leaving,
            "listing the region's flow logs in one status for other processes' waiting operations"
        );
        match api.list_for_machine(&self.request(&settled), opts).await {
            Ok((listed, _)) => {
                let mut st = self.lock();
                st.settled_pages = pages_for(listed.len() as u64);
                st.left_unconfirmed = 0;
            }
            Err(e) => {
                self.listings.refused_by(&e);
            }
        }
    }

    /// Answers the leavers found in a listing of the status the watched one settles to that
    /// another provider process of this machine made after they were missed; the others keep
    /// gathering (and need a newer listing).
    async fn confirm_from_machine(
        &self,
        api: &dyn FlowLogApi,
        leavers: Vec<(Instant, Waiter)>,
        keep: &mut Vec<Waiter>,
    ) -> Vec<(Instant, Waiter)> {
        let Some(settled) = self.status.settles_to() else {
            return leavers;
        };
        // The leavers' need; with none, the waiters' (a busy round's).
        let Some(since) = leavers
            .iter()
            .map(|(_, w)| w.need)
            .min()
            .or_else(|| keep.iter().map(|w| w.need).min())
        else {
            return leavers;
        };
        let Some((listed, pages, started)) = self.machine_listing(api, &settled, since).await
        else {
            return leavers;
        };
        let busy = {
            let mut st = self.lock();
            st.settled_pages = pages;
            st.left_unconfirmed = 0;
            st.busy
        };
        if busy && let Some(longest) = answer_settled(keep, &listed, Some(started)) {
            self.lock().usual = Some(longest);
        }
        let mut rest = Vec::new();
        for (t, mut w) in leavers {
            if w.need >= started {
                rest.push((t, w));
                continue;
            }
            match listed.get(&w.id) {
                Some(fl) => w.answer(Ok(Some(fl.clone()))),
                None => {
                    w.need = started;
                    rest.push((t, w));
                }
            }
        }
        rest
    }

    /// Answers the leavers found in one listing of the status the watched one settles to,
    /// when that costs less than describing them all; returns the ones still to describe.
    async fn list_settled(
        &self,
        api: &dyn FlowLogApi,
        mut leavers: Vec<Waiter>,
        keep: &mut Vec<Waiter>,
        settled_pages: u64,
        leaving: u64,
    ) -> Vec<Waiter> {
        let Some(settled) = self.status.settles_to() else {
            return leavers;
        };
        if leaving <= settled_pages || !self.listings.allowed() {
            return leavers;
        }
        // The listing is given up once nobody it serves waits any more.
        let listed = if leavers.is_empty() {
            self.list(api, &settled, keep).await
        } else {
            self.list(api, &settled, &mut leavers).await
        };
        let (listed, busy) = match listed {
            Listed::Found(listed, pages, _) => {
                let mut st = self.lock();
                st.settled_pages = pages;
                st.left_unconfirmed = 0;
                (listed, st.busy)
            }
            Listed::Failed => return leavers,
            Listed::Abandoned => return Vec::new(),
        };
        if busy && let Some(longest) = answer_settled(keep, &listed, None) {
            self.lock().usual = Some(longest);
        }
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
    async fn describe_each(
        &self,
        api: &dyn FlowLogApi,
        batch: Vec<Waiter>,
        why: &'static str,
    ) -> Vec<Waiter> {
        let waiting: Vec<_> = batch.into_iter().filter(|w| !w.reply.is_closed()).collect();
        if !waiting.is_empty() {
            let ids: Vec<&str> = waiting.iter().map(|w| w.id.as_str()).collect();
            tracing::debug!(
                flow_logs = waiting.len(),
                flow_log_ids = %ids.join(","),
                watched = %self.status,
                why,
                "describing waiting flow logs one by one"
            );
        }
        let waiting = waiting.into_iter();
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
        let settled = self.status.settles_to();
        for (mut w, r) in described {
            match r {
                Ok(Some(fl)) if !w.looking && fl.status == self.status => {
                    w.last = Some(fl);
                    keep.push(w);
                }
                // A kept look that went elsewhere than where the status settles (a failure, a
                // deletion) is answered with what showed it on its way: its caller's own wait
                // then reports where it went, as for a look answered at once.
                Ok(fl) if w.kept_look && fl.as_ref().map(|f| &f.status) != settled.as_ref() => {
                    w.answer_as_last_seen();
                }
                other => w.answer(other),
            }
        }
        keep
    }
}
