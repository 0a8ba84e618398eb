//! Listings of flow logs shared with the machine's other provider processes of the same
//! account, region and endpoint (the units of a Terragrunt stack): the newest listing of each
//! set of filters is stored, with when it started, in a file beside the rate-limit buckets,
//! and a process that needs a listing started after some moment takes it from there instead
//! of calling the API. Only what the API answered is stored; a stored listing serves only a
//! caller for whom it is recent enough (the caller says how recent); a torn, foreign or old
//! file is ignored; the file names no key and no filter (its name is a hash).

use serde::{Deserialize, Serialize};

use super::model::{DescribeFlowLogsRequest, FlowLog};
use super::product::VPC;
use crate::alicloud::client::Client;
use crate::alicloud::error::Error;
use crate::alicloud::rpc::CallOptions;

/// The stored form's version; another is ignored and replaced.
const FORMAT: u32 = 1;
/// A stored listing older than this serves nobody: waits ask for listings a round old.
const MAX_AGE: f64 = 60.0;
/// The directory of these files, beside the rate-limit buckets' `ratelimit/`.
const KIND: &str = "listings";

#[derive(Serialize, Deserialize)]
struct Stored {
    v: u32,
    /// The provider's version: another build may describe flow logs differently.
    provider: String,
    /// When the listing's first page was asked for: [`crate::alicloud::rpc::Wall`]
    /// microseconds, rounded down (a float would not come back from JSON exactly, and a later
    /// start than the real one could serve a caller the listing began before).
    started_us: u64,
    flow_logs: Vec<Item>,
}

#[derive(Serialize, Deserialize)]
struct Item {
    /// The answer that showed it (diagnostics name it).
    request_id: String,
    flow_log: FlowLog,
}

/// A listing and when it started, in seconds every process of the machine agrees on.
#[derive(Clone, Debug, PartialEq)]
pub struct MachineListing {
    pub flow_logs: Vec<FlowLog>,
    pub started: f64,
}

fn to_micros(secs: f64) -> u64 {
    (secs.max(0.0) * 1e6).floor() as u64
}

fn from_micros(us: u64) -> f64 {
    us as f64 / 1e6
}

/// Whether a listing that started at `started_us` started after `since`: by more than a
/// microsecond, so that a process's own listing, whose start it took back as an instant and
/// passes again as `since`, never counts as a newer one (the stored start is rounded down and
/// the round trip is exact only to a fraction of a microsecond).
fn later_than(started_us: u64, since: f64) -> bool {
    started_us > to_micros(since) + 1
}

/// What tells one listing from another: the filters, not the page size.
fn filters(req: &DescribeFlowLogsRequest) -> String {
    let req = DescribeFlowLogsRequest {
        page_size: None,
        ..req.clone()
    };
    format!("{req:?}")
}

impl Client {
    /// The machine's shared file of `kind` for listings with these filters (of this account,
    /// region and endpoint); `None` when sharing is off.
    async fn machine_file(
        &self,
        kind: &str,
        req: &DescribeFlowLogsRequest,
    ) -> Option<std::sync::Arc<crate::alicloud::rpc::shared_bucket::SharedFile>> {
        self.transport()
            .shared_file(kind, &filters(req), &VPC, &req.region_id, self.auth())
            .await
    }

    /// The rate this account's VPC calls in the region may go at now (the limiter's), in
    /// requests per second, while calls queue for it.
    pub async fn vpc_rate(&self, region_id: &str) -> Option<f64> {
        self.transport()
            .current_rate(&VPC, region_id, self.auth())
            .await
    }

    /// Now, in seconds every provider process of the machine agrees on.
    pub fn wall_now(&self) -> f64 {
        self.transport().wall().now()
    }

    /// `at` in the seconds of [`Client::wall_now`]; [`Client::instant_of`] gives it back.
    pub fn wall_of(&self, at: tokio::time::Instant) -> f64 {
        self.transport().wall().of(at)
    }

    /// The instant of `secs` seconds of [`Client::wall_now`].
    pub fn instant_of(&self, secs: f64) -> tokio::time::Instant {
        self.transport().wall().instant(secs)
    }

    /// The newest listing with these filters that a provider process of this machine made
    /// for this account, region and endpoint, if it started after `since` (and not in the
    /// future of this process's clock, and within the last minute). `None` also when sharing
    /// is off or the file is busy.
    pub async fn machine_listing(
        &self,
        req: &DescribeFlowLogsRequest,
        since: f64,
    ) -> Option<MachineListing> {
        let file = self.machine_file(KIND, req).await?;
        let stored: std::sync::Arc<Stored> = file.load_memo()?;
        if !self.serves(&stored, since) {
            return None;
        }
        let started = from_micros(stored.started_us);
        let now = self.wall_now();
        tracing::debug!(
            region_id = %req.region_id,
            age_ms = ((now - started).max(0.0) * 1000.0).round(),
            flow_logs = stored.flow_logs.len(),
            "using a listing another provider process of this machine made"
        );
        Some(MachineListing {
            started,
            flow_logs: stored
                .flow_logs
                .iter()
                .map(|i| FlowLog {
                    request_id: i.request_id.clone(),
                    ..i.flow_log.clone()
                })
                .collect(),
        })
    }

    /// Whether a listing [`Client::machine_listing`] would answer is stored: the same rules,
    /// without copying the flow logs out or saying so in the logs (waits ask often).
    pub async fn machine_listing_stored(&self, req: &DescribeFlowLogsRequest, since: f64) -> bool {
        let Some(file) = self.machine_file(KIND, req).await else {
            return false;
        };
        let Some(stored) = file.load_memo::<Stored>() else {
            return false;
        };
        self.serves(&stored, since)
    }

    /// Whether a stored listing serves a caller that needs one started after `since`.
    fn serves(&self, stored: &Stored, since: f64) -> bool {
        let started = from_micros(stored.started_us);
        let now = self.wall_now();
        stored.v == FORMAT
            && stored.provider == env!("CARGO_PKG_VERSION")
            && later_than(stored.started_us, since)
            && started <= now + 1.0
            && now - started <= MAX_AGE
    }

    /// Lists every flow log matching the filters (all pages) and stores the listing for the
    /// machine's other provider processes, unless a newer one is stored already.
    pub async fn describe_flow_logs_for_machine(
        &self,
        req: &DescribeFlowLogsRequest,
        opts: &CallOptions,
    ) -> Result<MachineListing, Error> {
        let started = from_micros(to_micros(self.wall_now()));
        let flow_logs = self.describe_flow_logs(req, opts).await?;
        let listing = MachineListing { flow_logs, started };
        if let Some(file) = self.machine_file(KIND, req).await {
            file.store_if(|old: Option<Stored>| {
                let newer = old.is_none_or(|o| {
                    o.v != FORMAT
                        || o.provider != env!("CARGO_PKG_VERSION")
                        || from_micros(o.started_us) < started
                        || from_micros(o.started_us) > started + MAX_AGE
                });
                newer.then(|| Stored {
                    v: FORMAT,
                    provider: env!("CARGO_PKG_VERSION").to_owned(),
                    started_us: to_micros(started),
                    flow_logs: listing
                        .flow_logs
                        .iter()
                        .map(|f| Item {
                            request_id: f.request_id.clone(),
                            flow_log: f.clone(),
                        })
                        .collect(),
                })
            });
        }
        Ok(listing)
    }
}

/// How many operations of this process wait on a status, and how many of them left it and
/// wait to learn where to: published so that one process lists for all of the machine when
/// together they are worth a listing, though none is alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Demand {
    pub waiting: u32,
    pub leaving: u32,
}

/// A process's demand is forgotten when not renewed within this long (it ended, or it has
/// nothing waiting any more).
const DEMAND_FRESH: f64 = 2.0;

#[derive(Default, Serialize, Deserialize)]
struct Demands {
    v: u32,
    /// By process ID: the demand, and when it was published.
    by_process: std::collections::BTreeMap<u32, (Demand, f64)>,
}

/// The machine's demand for listings with some filters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MachineDemand {
    /// Every process's, this one's included.
    pub total: Demand,
    /// This process is the one that lists for the machine (the lowest process ID with a
    /// demand): one listing serves all, so the others wait for it rather than list too.
    pub lead: bool,
}

impl MachineDemand {
    /// The machine's demand as process `pid` sees it, from every process's (by process ID,
    /// ascending): the total, and whether `pid` leads: the lowest ID with operations waiting
    /// (it makes rounds, so it lists each round for all), else the lowest with a demand, or
    /// nobody has one.
    pub fn of(by_process: impl IntoIterator<Item = (u32, Demand)>, pid: u32) -> MachineDemand {
        let mut total = Demand::default();
        let mut first = None;
        let mut first_waiting = None;
        for (p, x) in by_process {
            first.get_or_insert(p);
            if x.waiting > 0 {
                first_waiting.get_or_insert(p);
            }
            total.waiting = total.waiting.saturating_add(x.waiting);
            total.leaving = total.leaving.saturating_add(x.leaving);
        }
        MachineDemand {
            total,
            lead: first_waiting.or(first).is_none_or(|p| p == pid),
        }
    }
}

impl Client {
    /// Publishes this process's demand for listings with these filters and answers the
    /// machine's; `None` when nothing is shared or the file is busy.
    pub async fn machine_demand(
        &self,
        req: &DescribeFlowLogsRequest,
        mine: Demand,
    ) -> Option<MachineDemand> {
        let file = self.machine_file("demand", req).await?;
        let now = self.wall_now();
        let pid = std::process::id();
        file.with(
            |stored: Option<Demands>| stored.filter(|d| d.v == FORMAT).unwrap_or_default(),
            |d| {
                d.v = FORMAT;
                d.by_process.retain(|p, (_, at)| {
                    *p != pid && now - *at <= DEMAND_FRESH && *at <= now + 1.0
                });
                if mine != Demand::default() {
                    d.by_process.insert(pid, (mine, now));
                }
                MachineDemand::of(d.by_process.iter().map(|(p, (x, _))| (*p, *x)), pid)
            },
        )
    }
}

/// A process listing for the machine claims the listing this long at most: the others wait
/// for its listing meanwhile instead of making their own.
const CLAIM_FOR: f64 = 5.0;

/// Who is making a listing for the machine, and since when.
#[derive(Serialize, Deserialize)]
struct Claim {
    v: u32,
    pid: u32,
    at: f64,
}

impl Client {
    /// Whether another process of the machine claimed the listing with these filters within
    /// the last few seconds and after `since` (it is making it, will share it, and its listing
    /// starts after `since`: a claim made before is no use to the caller). When nobody has and
    /// `claim` is set, this process claims it. `false` when nothing is shared.
    pub async fn listing_claimed(
        &self,
        req: &DescribeFlowLogsRequest,
        claim: bool,
        since: f64,
    ) -> bool {
        let Some(file) = self.machine_file("claims", req).await else {
            return false;
        };
        let now = self.wall_now();
        let pid = std::process::id();
        let mut claimed = false;
        file.store_if(|old: Option<Claim>| {
            if let Some(c) = old
                && c.v == FORMAT
                && c.pid != pid
                && c.at <= now + 1.0
                && now - c.at < CLAIM_FOR
                && c.at > since
            {
                claimed = true;
                return None;
            }
            claim.then_some(Claim {
                v: FORMAT,
                pid,
                at: now,
            })
        });
        claimed
    }
}

/// The describes the machine's processes made for reads instead of listing the region count
/// against this window: reads that came together this recently are worth one listing
/// together, though none of the processes alone made enough of them.
const RENT_WINDOW: f64 = 10.0;

/// When each recent describe for a read was made, by any process of the machine.
#[derive(Default, Serialize, Deserialize)]
struct Rents {
    v: u32,
    at: Vec<f64>,
}

impl Client {
    /// Whether a read may still describe its flow log rather than list the region (whose
    /// price is `price` pages): yes while the machine's processes together made fewer than
    /// `price` such describes within the last [`RENT_WINDOW`], counting this one. `None` when
    /// nothing is shared or the file is busy.
    pub async fn rent_describe(&self, req: &DescribeFlowLogsRequest, price: u64) -> Option<bool> {
        let file = self.machine_file("rents", req).await?;
        let now = self.wall_now();
        file.with(
            |stored: Option<Rents>| stored.filter(|r| r.v == FORMAT).unwrap_or_default(),
            |r| {
                r.v = FORMAT;
                r.at.retain(|t| now - *t <= RENT_WINDOW && *t <= now + 1.0);
                let rent = (r.at.len() as u64) < price;
                if rent {
                    r.at.push(now);
                }
                rent
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use crate::alicloud::client::Client;
    use crate::alicloud::rpc::CallOptions;
    use crate::alicloud::secret::Secret;
    use crate::alicloud::settings::{Environment, Settings};
    use crate::alicloud::test_server::{Reply, TestServer};
    use crate::alicloud::vpc::machine::{Demand, MachineDemand};
    use crate::alicloud::vpc::model::{DescribeFlowLogsRequest, FlowLog};
    use crate::alicloud::vpc::status::FlowLogStatus;

    const LISTING: &str = r#"{"RequestId":"LIST-1","TotalCount":2,"PageNumber":1,"PageSize":50,"FlowLogs":{"FlowLog":[
        {"FlowLogId":"fl-a","Status":"Activating","AggregationInterval":10,"Tags":{"Tag":[{"Key":"team","Value":"net"}]},"TrafficPath":{"TrafficPathList":["all"]}},
        {"FlowLogId":"fl-b","Status":"Active","ResourceGroupId":"rg-1"}]}}"#;

    fn client(url: &str, cache: &std::path::Path, key: &str, share: &str) -> Client {
        let vars: HashMap<String, String> = [
            ("XDG_CACHE_HOME", cache.to_str().unwrap()),
            ("ALICLOUD_SHARE_RATE_LIMIT", share),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let settings = Settings {
            access_key: Some(key.into()),
            secret_key: Some(Secret::new("test-secret-key")),
            vpc_endpoint: Some(url.to_owned()),
            ..Settings::default()
        };
        Client::new(settings, Environment::from_map(vars, None)).unwrap()
    }

    fn activating() -> DescribeFlowLogsRequest {
        DescribeFlowLogsRequest {
            region_id: "cn-hangzhou".into(),
            status: Some(FlowLogStatus::Activating),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_listing_one_process_made_serves_another_only_when_recent_enough() {
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let server = TestServer::start(move |_, _| {
            h.fetch_add(1, Ordering::SeqCst);
            Reply::json(200, LISTING)
        })
        .await;
        let cache = tempfile::tempdir().unwrap();
        let (a, b) = (
            client(&server.url, cache.path(), "key-one", "true"),
            client(&server.url, cache.path(), "key-one", "true"),
        );
        let before = b.wall_now();
        let made = a
            .describe_flow_logs_for_machine(&activating(), &CallOptions::default())
            .await
            .unwrap();
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        let got = b.machine_listing(&activating(), before).await.unwrap();
        assert_eq!(got, made, "the same flow logs, from the same answer");
        assert_eq!(got.flow_logs[0].request_id, "LIST-1");
        assert_eq!(got.flow_logs[0].status, FlowLogStatus::Activating);
        assert_eq!(got.flow_logs[1].resource_group_id, "rg-1");
        assert_eq!(hits.load(Ordering::SeqCst), 1, "no call for it");
        // Older than what the caller needs, other filters, another account: not served.
        assert_eq!(b.machine_listing(&activating(), made.started).await, None);
        let active = DescribeFlowLogsRequest {
            status: Some(FlowLogStatus::Active),
            ..activating()
        };
        assert_eq!(b.machine_listing(&active, before).await, None);
        let other = client(&server.url, cache.path(), "key-two", "true");
        assert_eq!(other.machine_listing(&activating(), before).await, None);
        // The file names neither the key nor the filters.
        let dir = cache
            .path()
            .join("terraform-provider-alicloud")
            .join("listings");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                !name.contains("key-one") && !text.contains("key-one"),
                "{name}"
            );
            assert!(!name.contains("Activating"), "{name}");
            // A torn file serves nobody.
            std::fs::write(&path, &text[..text.len() / 2]).unwrap();
        }
        assert_eq!(b.machine_listing(&activating(), before).await, None);
    }

    /// A wait takes a listing's start back as an instant (when its waiters need a newer one)
    /// and passes it again as `since`: its own listing must never count as newer, or the wait
    /// reuses it round after round instead of listing. Two readings of the clocks per
    /// conversion made that happen in a busy process (a round or two lost, every few seconds).
    #[tokio::test(start_paused = true)]
    async fn a_process_never_takes_its_own_listing_for_a_newer_one() {
        let cache = tempfile::tempdir().unwrap();
        let c = client("http://127.0.0.1:9", cache.path(), "key-one", "true");
        for _ in 0..5_000 {
            tokio::time::advance(std::time::Duration::from_nanos(7_919)).await;
            let started_us = super::to_micros(c.wall_now());
            let need = c.instant_of(super::from_micros(started_us));
            let since = c.wall_of(need);
            assert!(
                !super::later_than(started_us, since),
                "{started_us} {since}"
            );
            assert!(
                super::later_than(started_us + 2, since),
                "two microseconds later is newer"
            );
        }
    }

    #[tokio::test]
    async fn nothing_is_shared_when_sharing_is_off() {
        let server = TestServer::start(|_, _| Reply::json(200, LISTING)).await;
        let cache = tempfile::tempdir().unwrap();
        let a = client(&server.url, cache.path(), "key-one", "false");
        let before = a.wall_now();
        a.describe_flow_logs_for_machine(&activating(), &CallOptions::default())
            .await
            .unwrap();
        assert_eq!(a.machine_listing(&activating(), before).await, None);
        assert_eq!(
            a.machine_demand(&activating(), Demand::default()).await,
            None
        );
        assert!(!cache.path().join("terraform-provider-alicloud").exists());
    }

    #[tokio::test]
    async fn a_process_publishes_its_demand_and_reads_the_machines() {
        let server = TestServer::start(|_, _| Reply::json(200, LISTING)).await;
        let cache = tempfile::tempdir().unwrap();
        let a = client(&server.url, cache.path(), "key-one", "true");
        let mine = Demand {
            waiting: 7,
            leaving: 3,
        };
        assert_eq!(
            a.machine_demand(&activating(), mine).await,
            Some(MachineDemand {
                total: mine,
                lead: true
            })
        );
        // Nothing waiting any more: its demand is withdrawn.
        assert_eq!(
            a.machine_demand(&activating(), Demand::default()).await,
            Some(MachineDemand {
                total: Demand::default(),
                lead: true
            })
        );
    }

    #[tokio::test]
    async fn one_process_claims_a_listing_and_others_wait_for_it() {
        let server = TestServer::start(|_, _| Reply::json(200, LISTING)).await;
        let cache = tempfile::tempdir().unwrap();
        let a = client(&server.url, cache.path(), "key-one", "true");
        let since = a.wall_now() - 1.0;
        assert!(!a.listing_claimed(&activating(), false, since).await);
        assert!(!a.listing_claimed(&activating(), true, since).await);
        assert!(
            !a.listing_claimed(&activating(), true, since).await,
            "its own claim"
        );
        // Another process's fresh claim holds.
        let dir = cache
            .path()
            .join("terraform-provider-alicloud")
            .join("claims");
        let file = std::fs::read_dir(&dir)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let pid = std::process::id() + 1;
        let other = serde_json::json!({"v": 1, "pid": pid, "at": a.wall_now()});
        std::fs::write(&file, other.to_string()).unwrap();
        assert!(a.listing_claimed(&activating(), false, since).await);
        assert!(a.listing_claimed(&activating(), true, since).await);
        // Nor one made before the caller needs a listing: its listing would not serve it.
        assert!(
            !a.listing_claimed(&activating(), false, a.wall_now()).await,
            "a claim made before the caller's time"
        );
        // An old one does not.
        let old = serde_json::json!({"v": 1, "pid": pid, "at": a.wall_now() - 60.0});
        std::fs::write(&file, old.to_string()).unwrap();
        assert!(!a.listing_claimed(&activating(), true, since - 60.0).await);
        let off = client(&server.url, cache.path(), "key-one", "false");
        assert!(
            !off.listing_claimed(&activating(), true, since).await,
            "nothing shared"
        );
    }

    #[test]
    fn the_lead_is_the_lowest_process_with_operations_waiting() {
        let d = |waiting, leaving| Demand { waiting, leaving };
        let all = [(10, d(0, 5)), (20, d(3, 0)), (30, d(7, 2))];
        let of = |pid| MachineDemand::of(all, pid);
        assert_eq!(of(20).total, d(10, 7));
        // Process 10 has only leavers: it makes no rounds of listings, so 20 leads.
        assert!(!of(10).lead && of(20).lead && !of(30).lead);
        // With nobody waiting, the lowest with leavers leads.
        let leaving = [(10, d(0, 5)), (30, d(0, 2))];
        assert!(MachineDemand::of(leaving, 10).lead);
        assert!(MachineDemand::of([], 10).lead, "nobody else: alone");
    }

    #[test]
    fn a_flow_log_is_stored_in_the_apis_own_shape() {
        let answer: serde_json::Value = serde_json::from_str(LISTING).unwrap();
        let item = answer["FlowLogs"]["FlowLog"][0].clone();
        let fl: FlowLog = serde_json::from_value(item).unwrap();
        let back: FlowLog = serde_json::from_str(&serde_json::to_string(&fl).unwrap()).unwrap();
        assert_eq!(back, fl);
        let text = serde_json::to_value(&fl).unwrap();
        assert_eq!(text["Status"], "Activating");
        assert_eq!(text["FlowLogId"], "fl-a");
    }
}
