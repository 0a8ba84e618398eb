//! The limiter's rules on paused time, against a simulated API: a token bucket of Q requests a
//! second (holding one second's worth, as the emulator's), optionally with an outside load
//! spending part of it, or refusing every Nth call whatever the rate.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::alicloud::rpc::ratelimit::{BURST_SECONDS, Decision, FLOOR, RateLimiter, Sent, Wall};
use crate::alicloud::rpc::shared_bucket::KEEP;
use crate::alicloud::rpc::shared_bucket::SharedFile;

/// The simulated API's quota.
struct Api {
    qps: f64,
    tokens: f64,
    last: f64,
    /// Requests per second of other clients, taken from the same quota first.
    outside: f64,
    /// Refuse every Nth call, whatever the rate.
    every: Option<u64>,
    calls: u64,
}

impl Api {
    fn new(qps: f64) -> Self {
        Api {
            qps,
            tokens: qps.max(1.0),
            last: 0.0,
            outside: 0.0,
            every: None,
            calls: 0,
        }
    }

    fn unlimited() -> Self {
        Self::new(f64::INFINITY)
    }

    /// Whether a call at `t` (seconds since the start) is accepted.
    fn call(&mut self, t: f64) -> bool {
        self.calls += 1;
        if self.every.is_some_and(|n| self.calls.is_multiple_of(n)) {
            return false;
        }
        if self.qps.is_infinite() {
            return true;
        }
        let dt = (t - self.last).max(0.0);
        self.last = t;
        let net = self.qps - self.outside;
        self.tokens = (self.tokens + dt * net).clamp(0.0, self.qps.max(1.0));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Per second of the run: answers accepted and refused.
#[derive(Default)]
struct Tally {
    accepted: Vec<u64>,
    refused: Vec<u64>,
}

impl Tally {
    fn add(&mut self, sec: usize, ok: bool) {
        for v in [&mut self.accepted, &mut self.refused] {
            if v.len() <= sec {
                v.resize(sec + 1, 0);
            }
        }
        if ok {
            self.accepted[sec] += 1;
        } else {
            self.refused[sec] += 1;
        }
    }

    /// Accepted per second and the refused share, over seconds `from..to`.
    fn over(&self, from: usize, to: usize) -> (f64, f64) {
        let a: u64 = self.accepted[from..to].iter().sum();
        let r: u64 = self.refused[from..to].iter().sum();
        let n = (a + r).max(1) as f64;
        (a as f64 / (to - from) as f64, r as f64 / n)
    }
}

const RTT: Duration = Duration::from_millis(20);
const RETRY_PAUSE: Duration = Duration::from_millis(50);

/// `workers` callers per limiter, each sending as fast as its limiter lets it, for `secs`;
/// `change` may alter the API at each whole second.
async fn run(
    limiters: &[Arc<RateLimiter>],
    api: Arc<Mutex<Api>>,
    workers: usize,
    secs: u64,
    change: impl Fn(u64, &mut Api) + Send + 'static,
) -> Tally {
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut tasks = Vec::new();
    for l in limiters {
        for _ in 0..workers {
            let (l, api, tally) = (l.clone(), api.clone(), tally.clone());
            tasks.push(tokio::spawn(async move {
                while Instant::now() < end {
                    let sent = l.acquire().await;
                    let t = start.elapsed().as_secs_f64();
                    let ok = api.lock().unwrap().call(t);
                    tokio::time::sleep(RTT).await;
                    tally
                        .lock()
                        .unwrap()
                        .add(start.elapsed().as_secs() as usize, ok);
                    if ok {
                        l.on_accepted();
                    } else {
                        l.on_throttled(sent);
                        tokio::time::sleep(RETRY_PAUSE).await;
                    }
                }
            }));
        }
    }
    let api2 = api.clone();
    let changer = tokio::spawn(async move {
        for s in 0..secs {
            change(s, &mut api2.lock().unwrap());
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    for t in tasks {
        t.await.unwrap();
    }
    changer.abort();
    std::mem::take(&mut *tally.lock().unwrap())
}

fn limiter(ceiling: f64) -> Arc<RateLimiter> {
    Arc::new(RateLimiter::new(ceiling))
}

#[tokio::test(start_paused = true)]
async fn alone_at_the_quota_it_takes_it_with_few_refusals() {
    let l = limiter(200.0);
    let api = Arc::new(Mutex::new(Api::new(100.0)));
    let t = run(std::slice::from_ref(&l), api, 40, 120, |_, _| {}).await;
    let (_, refused_all) = t.over(0, 120);
    let (rate, _) = t.over(60, 120);
    assert!(refused_all <= 0.02, "refused {refused_all}");
    assert!(rate >= 85.0, "accepted {rate}/s of a 100/s quota");
}

#[tokio::test(start_paused = true)]
async fn beside_an_outside_load_it_settles_near_what_is_left() {
    let l = limiter(200.0);
    let mut a = Api::new(100.0);
    a.outside = 60.0;
    let t = run(
        std::slice::from_ref(&l),
        Arc::new(Mutex::new(a)),
        40,
        120,
        |_, _| {},
    )
    .await;
    let (rate, refused) = t.over(30, 120);
    assert!(
        (32.0..=41.0).contains(&rate),
        "accepted {rate}/s of the 40/s left"
    );
    assert!(refused <= 0.05, "refused {refused}");
    let (_, refused_all) = t.over(0, 120);
    assert!(
        refused_all <= 0.05,
        "refused {refused_all} over the whole run"
    );
}

/// `workers` callers of one limiter for `secs` against an API that refuses every 7th call
/// whatever the rate.
async fn every_seventh_refused(workers: usize, secs: u64) -> (Arc<RateLimiter>, Tally) {
    let l = limiter(200.0);
    let mut a = Api::unlimited();
    a.every = Some(7);
    let t = run(
        std::slice::from_ref(&l),
        Arc::new(Mutex::new(a)),
        workers,
        secs,
        |_, _| {},
    )
    .await;
    (l, t)
}

#[tokio::test(start_paused = true)]
async fn refusals_that_do_not_depend_on_its_rate_do_not_slow_it_down() {
    let (l, t) = every_seventh_refused(40, 60).await;
    let (rate, refused) = t.over(10, 60);
    // Every 7th refused: 6/7 of the 200/s ceiling gets through.
    assert!(rate >= 0.8 * 200.0 * 6.0 / 7.0, "accepted {rate}/s");
    assert!((0.12..0.17).contains(&refused), "refused {refused}");
    assert!(l.current_rate() >= 150.0, "rate {}", l.current_rate());
}

#[tokio::test(start_paused = true)]
async fn it_tells_useless_cuts_apart_and_restores_the_rate() {
    let l = limiter(200.0);
    let mut decisions = Vec::new();
    // Steady sending at 100/s, every 7th answer refused.
    let mut calls = 0u64;
    for _ in 0..400 {
        let sent = l.acquire().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
        calls += 1;
        if calls.is_multiple_of(7) {
            decisions.push(l.on_throttled(sent));
        } else {
            l.on_accepted();
        }
    }
    let cuts = decisions.iter().filter(|d| **d == Decision::Cut).count();
    assert_eq!(cuts, 2, "{decisions:?}");
    assert!(decisions.contains(&Decision::Restored), "{decisions:?}");
    assert!(
        decisions
            .iter()
            .rev()
            .take(10)
            .all(|d| *d == Decision::Tolerated),
        "{decisions:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn it_recovers_within_seconds_when_the_quota_frees_up() {
    let l = limiter(200.0);
    let api = Arc::new(Mutex::new(Api::new(100.0)));
    // 60 of the 100 taken by others for 40 s, then nothing.
    let t = run(std::slice::from_ref(&l), api, 40, 60, |s, a| {
        a.outside = if s < 40 { 60.0 } else { 0.0 }
    })
    .await;
    let (before, _) = t.over(30, 40);
    assert!(before <= 42.0, "accepted {before}/s before");
    let (after, _) = t.over(48, 60);
    assert!(
        after >= 80.0,
        "accepted {after}/s 8 s after the quota freed up"
    );
}

#[tokio::test(start_paused = true)]
async fn twenty_processes_without_sharing_fit_a_small_quota() {
    const { assert!(20.0 * FLOOR < 10.0) };
    let ls: Vec<_> = (0..20).map(|_| limiter(200.0)).collect();
    let api = Arc::new(Mutex::new(Api::new(10.0)));
    let t = run(&ls, api, 2, 240, |_, _| {}).await;
    let (rate, refused) = t.over(120, 240);
    assert!(rate >= 6.0, "accepted {rate}/s of 10/s");
    assert!(refused <= 0.3, "refused {refused}");
}

#[tokio::test(start_paused = true)]
async fn two_limiters_sharing_one_file_stay_within_the_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let wall = Wall::new();
    let open = || SharedFile::open(dir.path(), "bucket.json").unwrap();
    let ceiling = 20.0;
    let a = Arc::new(RateLimiter::with(ceiling, wall, Some(open())));
    let b = Arc::new(RateLimiter::with(ceiling, wall, Some(open())));
    let t = run(
        &[a, b],
        Arc::new(Mutex::new(Api::unlimited())),
        10,
        10,
        |_, _| {},
    )
    .await;
    let (rate, _) = t.over(0, 10);
    let most = ceiling + ceiling * BURST_SECONDS / 10.0 + 0.2;
    assert!(rate <= most, "{rate}/s together, bucket {ceiling}/s");
    assert!(
        rate >= ceiling * 0.9,
        "{rate}/s together, bucket {ceiling}/s"
    );
    // Without the file, each would take the whole bucket.
    let (c, d) = (limiter(ceiling), limiter(ceiling));
    let t = run(
        &[c, d],
        Arc::new(Mutex::new(Api::unlimited())),
        10,
        10,
        |_, _| {},
    )
    .await;
    let (rate, _) = t.over(0, 10);
    assert!(rate >= 1.8 * ceiling, "{rate}/s apart");
}

#[tokio::test(start_paused = true)]
async fn ten_processes_sharing_one_file_learn_one_quota() {
    let dir = tempfile::tempdir().unwrap();
    let wall = Wall::new();
    let ls: Vec<_> = (0..10)
        .map(|_| {
            let f = SharedFile::open(dir.path(), "bucket.json").unwrap();
            Arc::new(RateLimiter::with(200.0, wall, Some(f)))
        })
        .collect();
    let api = Arc::new(Mutex::new(Api::new(50.0)));
    let t = run(&ls, api, 5, 60, |_, _| {}).await;
    let (_, refused_all) = t.over(0, 60);
    let (rate, refused) = t.over(20, 60);
    eprintln!(
        "ten sharing: refused {refused_all} in all, {} in the first 15 s, {refused} and {rate}/s settled",
        t.over(0, 15).1
    );
    assert!(refused_all <= 0.05, "refused {refused_all} in all");
    assert!(refused <= 0.05, "refused {refused} once settled");
    assert!(rate >= 40.0, "accepted {rate}/s of 50/s");
}

async fn time_for(limiter: &RateLimiter, n: usize) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        limiter.acquire().await;
    }
    start.elapsed()
}

#[tokio::test(start_paused = true)]
async fn burst_then_steady_rate() {
    let l = RateLimiter::new(100.0);
    let burst = (100.0 * BURST_SECONDS) as usize;
    assert_eq!(time_for(&l, burst).await, Duration::ZERO);
    let t = time_for(&l, 100).await;
    assert!(
        t >= Duration::from_millis(990) && t <= Duration::from_millis(1010),
        "{t:?}"
    );
    // A quiet period refills the bucket, but never above the burst.
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(time_for(&l, burst).await, Duration::ZERO);
    let t = time_for(&l, 1).await;
    assert!(t >= Duration::from_millis(9), "{t:?}");
}

#[tokio::test(start_paused = true)]
async fn waiters_queued_at_the_old_rate_queue_again_after_a_cut() {
    let l = Arc::new(RateLimiter::new(100.0));
    time_for(&l, (100.0 * BURST_SECONDS) as usize).await; // the burst
    // 10 waiters queued at 100/s: they would all be done within 100 ms.
    let start = Instant::now();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let l = l.clone();
            tokio::spawn(async move { l.acquire().await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1)).await;
    for _ in 0..10 {
        l.on_accepted();
    }
    // Nothing measured yet: 0.7 x 100/s, and 10 answers of the last second, 1 refused.
    let sent = Sent::now(&Wall::new());
    assert_eq!(l.on_throttled(sent), Decision::Cut);
    let cut = l.current_rate();
    assert!(cut < 80.0, "{cut}");
    for t in tasks {
        t.await.unwrap();
    }
    // At the cut rate, 10 requests take longer than the 100 ms of the old rate (the new
    // bucket starts empty; the first waiter may find a token refilled meanwhile).
    let t = start.elapsed();
    assert!(t >= Duration::from_secs_f64(9.0 / cut), "{t:?}");
}

#[tokio::test(start_paused = true)]
async fn what_was_learnt_outlives_the_process_for_a_while() {
    let dir = tempfile::tempdir().unwrap();
    let wall = Wall::new();
    let open = || SharedFile::open(dir.path(), "bucket.json").unwrap();
    let first = RateLimiter::with(200.0, wall, Some(open()));
    let mut sent = None;
    for _ in 0..20 {
        sent = Some(first.acquire().await);
        first.on_accepted();
    }
    assert_eq!(first.on_throttled(sent.unwrap()), Decision::Cut);
    let learnt = first.current_rate();
    assert!(learnt < 150.0, "{learnt}");
    drop(first);
    // The next run, a minute later, starts at what was learnt, not at the ceiling.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let next = RateLimiter::with(200.0, wall, Some(open()));
    let rate = next.current_rate();
    assert!(rate <= learnt + 1e-9, "{rate} after learning {learnt}");
    drop(next);
    // Long after the last process: forgotten.
    tokio::time::sleep(Duration::from_secs_f64(KEEP + 60.0)).await;
    let late = RateLimiter::with(200.0, wall, Some(open()));
    assert_eq!(late.current_rate(), 200.0);
}

#[test]
fn a_restore_is_undone_when_the_refusals_grow_with_the_restored_rate() {
    use crate::alicloud::rpc::ratelimit::{Bucket, Stats};
    let restored = |refused: u32| {
        let mut b = Bucket::new(200.0, 0.0);
        b.throttled = true;
        b.baseline = Some(0.1);
        b.verifying = true;
        b.cut_at = 9.0;
        b.updated = 9.9;
        b.since_cut_sent = 20;
        b.since_cut_refused = refused;
        let mut stats = Stats::default();
        for i in 0..20 {
            stats.push(9.5 + f64::from(i) * 0.01, i % 10 == 0);
        }
        let d = b.on_throttled(10.0, 9.95, 200.0, &stats);
        (d, b)
    };
    // 2 of 20 at the restored rate (3 with this one): about the share seen at the lower
    // rate, so it stands.
    let (d, b) = restored(2);
    assert_eq!(d, Decision::Tolerated);
    assert!(!b.verifying && b.baseline == Some(0.1));
    // 8 of 20: they grew with the rate: back to cutting.
    let (d, b) = restored(8);
    assert_eq!(d, Decision::Cut);
    assert_eq!(b.baseline, None);
    assert!(b.rate < 200.0);
}

/// Hundreds of calls queued at once (Terraform at `-parallelism=100` and more, the waits'
/// listings besides) against a quota far below the ceiling: the queue must not make the cuts
/// look useless (the restore rule once put it back at the ceiling, then a storm of cuts left it
/// far below the quota).
#[tokio::test(start_paused = true)]
async fn a_long_queue_at_a_small_quota_settles_at_the_quota() {
    let l = limiter(200.0);
    let api = Arc::new(Mutex::new(Api::new(15.0)));
    let t = run(std::slice::from_ref(&l), api, 500, 90, |_, _| {}).await;
    let (_, refused_all) = t.over(0, 90);
    let (rate, refused) = t.over(10, 90);
    eprintln!("long queue: refused {refused_all} in all, {refused} and {rate}/s after 10 s");
    assert!(rate >= 12.5, "accepted {rate}/s of 15/s");
    assert!(refused <= 0.05, "refused {refused} after 10 s");
    assert!(refused_all <= 0.08, "refused {refused_all} in all");
}

#[tokio::test(start_paused = true)]
async fn a_long_queue_with_refusals_that_do_not_depend_on_its_rate_keeps_its_rate() {
    let (_, t) = every_seventh_refused(500, 30).await;
    let (rate, _) = t.over(5, 30);
    assert!(rate >= 0.8 * 200.0 * 6.0 / 7.0, "accepted {rate}/s");
}

/// A stack's units at the quota, then mostly waiting (a trickle of calls while flow logs
/// activate), then all listing at once: the rate must not have probed far above the quota
/// while it was not in use, and a throttling answer in the burst must not cut to the trickle's
/// rate (a measured rate that lags the burst once left the tail of a stack at a tenth of the
/// quota for seconds).
#[tokio::test(start_paused = true)]
async fn a_burst_after_a_quiet_stretch_keeps_near_the_quota() {
    let l = limiter(200.0);
    let api = Arc::new(Mutex::new(Api::new(50.0)));
    run(std::slice::from_ref(&l), api.clone(), 40, 10, |_, _| {}).await;
    let learnt = l.current_rate();
    assert!(learnt <= 60.0, "learnt {learnt}/s at a 50/s quota");
    // Four calls a second for 4 s: the bucket is never what holds them back. (Each phase
    // counts the simulated API's time from its own start.)
    api.lock().unwrap().last = 0.0;
    let start = Instant::now();
    for _ in 0..16 {
        let sent = l.acquire().await;
        let ok = api.lock().unwrap().call(start.elapsed().as_secs_f64());
        if ok {
            l.on_accepted();
        } else {
            l.on_throttled(sent);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let probed = l.current_rate();
    assert!(
        probed <= 1.5 * learnt.max(50.0),
        "probed to {probed}/s while sending 4/s (learnt {learnt}/s)"
    );
    api.lock().unwrap().last = 0.0;
    let t = run(std::slice::from_ref(&l), api, 40, 8, |_, _| {}).await;
    let (_, burst_refused) = t.over(0, 2);
    assert!(burst_refused <= 0.1, "{burst_refused} refused in the burst");
    let (after, _) = t.over(3, 8);
    assert!(after >= 40.0, "accepted {after}/s after the burst");
}

/// A throttling answer early in a burst that follows a quiet stretch: the cut is judged by the
/// burst's rate, not by the quiet stretch's, which the smoothed rate still shows.
#[test]
fn a_cut_in_a_burst_after_a_quiet_stretch_is_judged_by_the_burst() {
    use crate::alicloud::rpc::ratelimit::{Bucket, Stats};
    let mut b = Bucket::new(200.0, 0.0);
    let mut stats = Stats::default();
    let send = |b: &mut Bucket, stats: &mut Stats, t: f64| {
        let (wait, _) = b.reserve(t, 200.0);
        assert!(wait.is_zero(), "held back at {t}");
        b.granted(t);
        stats.push(t + 0.02, false);
    };
    // Learnt a quota of about 50/s.
    b.throttled = true;
    b.rate = 50.0;
    b.r0 = 50.0;
    b.w_max = 50.0;
    b.measured = 50.0;
    // Four calls a second for 5 s.
    let mut t = 0.0;
    while t < 5.0 {
        send(&mut b, &mut stats, t);
        t += 0.25;
    }
    // Then 40/s for 0.3 s, and the API refuses one.
    let start = t;
    while t < start + 0.3 {
        send(&mut b, &mut stats, t);
        t += 0.025;
    }
    stats.push(t, true);
    assert_eq!(b.on_throttled(t, t - 0.02, 200.0, &stats), Decision::Cut);
    assert!(b.rate >= 20.0, "cut to {}/s from a 40/s burst", b.rate);
}

/// A page of a listing that many operations wait for takes its token ahead of the process's
/// other requests queued for theirs (behind at most one of them), at the same rate.
#[tokio::test(start_paused = true)]
async fn a_listing_page_goes_ahead_of_the_queue() {
    let l = Arc::new(RateLimiter::new(10.0));
    time_for(&l, 1).await; // the burst
    let start = Instant::now();
    let queued: Vec<_> = (0..20)
        .map(|_| {
            let l = l.clone();
            tokio::spawn(async move {
                l.acquire().await;
                start.elapsed()
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1)).await;
    l.acquire_ahead().await;
    let ahead = start.elapsed();
    // Twenty queued at 10/s take two seconds; the page waited for one of them.
    assert!(ahead <= Duration::from_millis(250), "{ahead:?}");
    let mut last = Duration::ZERO;
    for t in queued {
        last = last.max(t.await.unwrap());
    }
    // The rate held: 21 tokens at 10/s.
    assert!(last >= Duration::from_millis(1900), "{last:?}");
}
