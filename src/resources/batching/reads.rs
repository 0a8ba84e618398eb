//! Reads in one region, as a ski rental: the first read lists the first page of the region,
//! which says how many pages the whole region takes (its price); reads then describe one flow
//! log each until that would have cost more than the listing, and from there one listing of
//! the region answers every read of the process. Reads under way together (waiting for the
//! first page, or describing) are demand seen, not guessed: once as many are under way as the
//! listing costs, the next read lists the region instead of renting (what was rented stays
//! below the price, so the bound of twice the listing holds). A region of 20 managed flow
//! logs among 5,000 costs about 20 calls; a thousand managed flow logs read together (an
//! apply's first looks) one listing, and read one after another (a refresh) two listings'
//! worth at most. A listing refused for permission is not the reader's error: it describes
//! its flow log instead. The machine's provider processes (a stack's units, reading together)
//! rent together: their describes, not each one's, are weighed against one listing, which one
//! of them makes for all while the others wait for it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Mutex, OnceCell};
use tokio::time::Instant;

use super::listings::Listings;
use super::pages_for;
use crate::alicloud::{CallOptions, DescribeFlowLogsRequest, Error, FlowLog};
use crate::resources::flow_logs::{FlowLogApi, Seen};

/// How long a read waits for the listing of the region another process of the machine is
/// making, and how often it looks for it.
const CLAIM_WAIT: std::time::Duration = std::time::Duration::from_secs(3);
const CLAIM_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// Flow logs of the region as one listing saw them.
struct Snapshot {
    at: Instant,
    logs: HashMap<String, FlowLog>,
}

impl Snapshot {
    fn new(at: Instant, logs: Vec<FlowLog>) -> Arc<Self> {
        Arc::new(Snapshot {
            at,
            logs: logs
                .into_iter()
                .map(|f| (f.flow_log_id.clone(), f))
                .collect(),
        })
    }

    fn seen(&self, id: &str) -> Option<Seen> {
        self.logs.get(id).map(|f| Seen {
            flow_log: f.clone(),
            age: self.at.elapsed(),
        })
    }
}

/// The first page of the region and what it says about the rest.
#[derive(Clone)]
struct Probe {
    first: Arc<Snapshot>,
    /// The region's size: the price of listing it is `pages_for(total)`.
    total: u64,
}

/// `None` in a cell: the call failed; the reader that made it gets its error, and the others
/// (and every later read) describe on their own, each getting its own answer or error.
type Shared<T> = Arc<OnceCell<Option<T>>>;

#[derive(Default)]
struct State {
    probe: Option<Shared<Probe>>,
    listing: Option<Shared<Arc<Snapshot>>>,
    /// The whole region, once listed (or once the first page was all of it).
    complete: Option<Arc<Snapshot>>,
    /// Reads answered by describing one flow log since the probe.
    rented: u64,
    /// A listing of the region failed: from then on every read describes its flow log.
    describe_only: bool,
    /// The machine's processes together rented what listing the region costs: the next read
    /// lists it (for all of them).
    rented_out: bool,
}

pub(super) struct RegionReads {
    region: String,
    listings: Arc<Listings>,
    state: Mutex<State>,
    /// Reads of this process under way.
    under_way: AtomicU64,
    /// When this process began its work (its configuration): a listing of the region another
    /// provider process of the machine made after this serves the reads as the region's own
    /// listing would. Earlier commands had ended by then, and this process changes no flow
    /// log before reading it.
    since: Instant,
}

enum Next {
    Answer(Box<Seen>),
    Describe,
    /// Describe, unless another process of the machine has listed the region meanwhile or the
    /// machine's reads together have rented what listing it (that many pages) costs.
    Rent(u64),
    Probe(Shared<Probe>),
    List(Shared<Arc<Snapshot>>),
}

impl RegionReads {
    pub(super) fn new(region: &str, listings: Arc<Listings>, since: Instant) -> Self {
        RegionReads {
            region: region.to_owned(),
            listings,
            state: Mutex::new(State::default()),
            under_way: AtomicU64::new(0),
            since,
        }
    }

    fn request(&self) -> DescribeFlowLogsRequest {
        DescribeFlowLogsRequest {
            region_id: self.region.clone(),
            ..Default::default()
        }
    }

    async fn describe(
        &self,
        api: &dyn FlowLogApi,
        id: &str,
        opts: &CallOptions,
    ) -> Result<Option<Seen>, Error> {
        tracing::debug!(flow_log_id = id, "reading a flow log by describing it");
        Ok(api
            .describe(&self.region, id, opts)
            .await?
            .map(|flow_log| Seen {
                flow_log,
                age: std::time::Duration::ZERO,
            }))
    }

    /// A listing of the whole region someone else made during this command (the data source's):
    /// reads are answered from it as from the region's own listing, unless one is already
    /// there.
    pub(super) async fn offer(&self, at: Instant, logs: Vec<FlowLog>) {
        let mut st = self.state.lock().await;
        if st.complete.is_none() && !st.describe_only {
            st.complete = Some(Snapshot::new(at, logs));
        }
    }

    /// Waits up to [`CLAIM_WAIT`] for the listing of the region another process of the machine
    /// claimed (`None`: it did not come, or the caller gave up).
    async fn wait_for_machine(
        &self,
        api: &dyn FlowLogApi,
        opts: &CallOptions,
    ) -> Option<(Vec<FlowLog>, Instant)> {
        let until = Instant::now() + CLAIM_WAIT;
        let req = self.request();
        while Instant::now() < until && !opts.cancel.is_cancelled() {
            if opts.deadline.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
            tokio::select! {
                _ = tokio::time::sleep(CLAIM_POLL) => {}
                _ = opts.cancel.cancelled() => return None,
            }
            if let Some(found) = api.machine_listing(&req, self.since).await {
                return Some(found);
            }
        }
        None
    }

    pub(super) async fn read(
        &self,
        api: &dyn FlowLogApi,
        id: &str,
        opts: &CallOptions,
    ) -> Result<Option<Seen>, Error> {
        let _under_way = UnderWay::new(&self.under_way);
        loop {
            let next = {
                let mut st = self.state.lock().await;
                if st.describe_only || !self.listings.allowed() {
                    Next::Describe
                } else if let Some(snap) = &st.complete {
                    // Not in the listing: created since, or never there; ask, do not guess.
                    match snap.seen(id) {
                        Some(seen) => Next::Answer(Box::new(seen)),
                        None => Next::Describe,
                    }
                } else if let Some(listing) = &st.listing {
                    Next::List(listing.clone())
                } else {
                    match st.probe.clone() {
                        None => {
                            let cell = Arc::new(OnceCell::new());
                            st.probe = Some(cell.clone());
                            Next::Probe(cell)
                        }
                        Some(cell) => match cell.get().cloned() {
                            None => Next::Probe(cell),
                            Some(None) => {
                                st.describe_only = true;
                                Next::Describe
                            }
                            Some(Some(probe)) => match probe.first.seen(id) {
                                Some(seen) => Next::Answer(Box::new(seen)),
                                None if st.rented < pages_for(probe.total)
                                    && !st.rented_out
                                    && self.under_way.load(Ordering::SeqCst)
                                        < pages_for(probe.total) =>
                                {
                                    st.rented += 1;
                                    Next::Rent(pages_for(probe.total))
                                }
                                None => {
                                    let cell = Arc::new(OnceCell::new());
                                    st.listing = Some(cell.clone());
                                    Next::List(cell)
                                }
                            },
                        },
                    }
                }
            };
            match next {
                Next::Answer(seen) => return Ok(Some(*seen)),
                Next::Describe => return self.describe(api, id, opts).await,
                Next::Rent(price) => {
                    let req = self.request();
                    let shared = api.machine_listing(&req, self.since).await;
                    if shared.is_none() && api.listing_claimed(&req, false, self.since).await {
                        // Another process is listing the region: one reader of this process
                        // waits for its listing, for all of them.
                        self.state.lock().await.rented_out = true;
                        continue;
                    }
                    let Some((all, at)) = shared else {
                        // The units of a stack read together: their describes together, not
                        // each process's, are weighed against one listing for all.
                        if api.rent_describe(&req, price).await == Some(false) {
                            self.state.lock().await.rented_out = true;
                            continue;
                        }
                        return self.describe(api, id, opts).await;
                    };
                    self.state
                        .lock()
                        .await
                        .complete
                        .get_or_insert_with(|| Snapshot::new(at, all));
                }
                Next::Probe(cell) => {
                    // The reader that makes the call gets its error as is (a refused signature
                    // is not retried by asking again), unless listings are refused for
                    // permission; the others ask on their own.
                    let mut failed = None;
                    let probe = cell
                        .get_or_init(|| async {
                            if let Some((all, at)) =
                                api.machine_listing(&self.request(), self.since).await
                            {
                                let total = all.len() as u64;
                                return Some(Probe {
                                    first: Snapshot::new(at, all),
                                    total,
                                });
                            }
                            let at = Instant::now();
                            match api.page(&self.request(), 1, opts).await {
                                Ok(page) => Some(Probe {
                                    first: Snapshot::new(at, page.flow_logs),
                                    total: page.total_count,
                                }),
                                Err(e) => {
                                    failed = Some(e);
                                    None
                                }
                            }
                        })
                        .await
                        .clone();
                    if let Some(e) = failed
                        && !self.listings.refused_by(&e)
                    {
                        return Err(e);
                    }
                    match probe {
                        Some(p) if p.first.logs.len() as u64 >= p.total => {
                            let mut st = self.state.lock().await;
                            st.complete.get_or_insert(p.first);
                        }
                        Some(_) => {}
                        None => return self.describe(api, id, opts).await,
                    }
                }
                Next::List(cell) => {
                    let mut failed = None;
                    let listed = cell
                        .get_or_init(|| async {
                            // Another process of the machine is listing the region: its
                            // listing serves these reads.
                            if api.listing_claimed(&self.request(), true, self.since).await
                                && let Some((all, at)) = self.wait_for_machine(api, opts).await
                            {
                                return Some(Snapshot::new(at, all));
                            }
                            match api.list_for_machine(&self.request(), opts).await {
                                Ok((all, at)) => Some(Snapshot::new(at, all)),
                                Err(e) => {
                                    failed = Some(e);
                                    None
                                }
                            }
                        })
                        .await
                        .clone();
                    let mut st = self.state.lock().await;
                    st.listing = None;
                    match listed {
                        Some(snap) => {
                            st.complete = Some(snap);
                        }
                        None => {
                            st.describe_only = true;
                            drop(st);
                            return match failed {
                                Some(e) if !self.listings.refused_by(&e) => Err(e),
                                _ => self.describe(api, id, opts).await,
                            };
                        }
                    }
                }
            }
        }
    }
}

/// Counts a read as under way until it returns.
struct UnderWay<'a>(&'a AtomicU64);

impl<'a> UnderWay<'a> {
    fn new(count: &'a AtomicU64) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        UnderWay(count)
    }
}

impl Drop for UnderWay<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
