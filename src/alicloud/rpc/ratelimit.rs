//! A token bucket shared by every call of one client that learns the API's quota: it starts
//! generous, and when the API answers "throttled" it drops to what the API actually accepted
//! (multiplicative decrease, once per throttling episode), then creeps back up slowly
//! (additive increase), so a long apply at the quota is throttled a handful of times, not on
//! every burst.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::alicloud::clock::monotonic_now;

/// Where the rate starts, and its ceiling unless the user sets one: generous for one
/// Terraform run, and quickly corrected by the first throttling answer.
pub const DEFAULT_RATE: f64 = 200.0;

/// How many requests may go at once after a quiet period: half a second's worth. A whole
/// second's worth, sent at once, is throttled by a quota with a smaller burst than ours
/// before the limiter has learnt anything.
pub const BURST_SECONDS: f64 = 0.5;

/// The rate never drops below this share of the start rate.
const MIN_SHARE: f64 = 1.0 / 20.0;
/// At each cut the rate keeps at most this share of itself (a quota's saved-up burst can make
/// the last second look better than the quota)...
const CUT: f64 = 0.7;
/// ...and at most this share of what the API accepted in the last [`WINDOW`].
const BELOW_ACCEPTED: f64 = 0.9;
/// Throttling answers this close to a cut belong to the same episode (they were sent before).
const EPISODE: Duration = Duration::from_millis(200);
/// How far back "what the API accepted" looks.
const WINDOW: Duration = Duration::from_secs(1);
/// After a cut the rate grows by this share of the start rate per second.
const INCREASE_SHARE_PER_SEC: f64 = 0.005;

#[derive(Debug)]
struct State {
    /// May go negative: each waiter reserves its token, so waiters are served in order.
    tokens: f64,
    last: Instant,
    /// Requests per second now.
    rate: f64,
    /// Once throttled, the rate grows back only slowly.
    throttled_once: bool,
    last_cut: Option<Instant>,
    /// Bumped at each cut: reservations made at the old rate are made again.
    generation: u64,
    /// When recent answers that were not throttled came back, for [`WINDOW`].
    accepted: VecDeque<Instant>,
}

#[derive(Debug)]
pub(crate) struct RateLimiter {
    start: f64,
    ceiling: f64,
    burst: f64,
    state: Mutex<State>,
}

impl RateLimiter {
    /// Starts at `rate` requests per second on average, up to `burst` at once after a quiet
    /// period; never above `rate`.
    pub(crate) fn new(rate: f64, burst: f64) -> Self {
        let burst = burst.max(1.0);
        Self {
            start: rate,
            ceiling: rate,
            burst,
            state: Mutex::new(State {
                tokens: burst,
                last: monotonic_now(),
                rate,
                throttled_once: false,
                last_cut: None,
                generation: 0,
                accepted: VecDeque::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every update is one step.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn refill(&self, s: &mut State, now: Instant) {
        let dt = now.saturating_duration_since(s.last).as_secs_f64();
        if dt > 0.0 {
            if s.throttled_once {
                s.rate = (s.rate + dt * INCREASE_SHARE_PER_SEC * self.start).min(self.ceiling);
            }
            s.tokens = (s.tokens + dt * s.rate).min(self.burst);
            s.last = now;
        }
    }

    /// How long the caller must wait for its token (reserved now), and the generation the
    /// reservation belongs to.
    fn reserve(&self) -> (Duration, u64) {
        let mut s = self.lock();
        self.refill(&mut s, monotonic_now());
        s.tokens -= 1.0;
        let wait = if s.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-s.tokens / s.rate)
        };
        (wait, s.generation)
    }

    /// Waits for a token. Dropping the future gives up the wait (the token stays spent).
    pub(crate) async fn acquire(&self) {
        loop {
            let (wait, generation) = self.reserve();
            if wait.is_zero() {
                return;
            }
            tokio::time::sleep(wait).await;
            // A cut while we slept voided reservations made at the old rate: queue again.
            if self.lock().generation == generation {
                return;
            }
        }
    }

    /// An answer that was not a throttling one: the API accepted the request.
    pub(crate) fn on_accepted(&self) {
        let now = monotonic_now();
        let mut s = self.lock();
        s.accepted.push_back(now);
        while s
            .accepted
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > WINDOW)
        {
            s.accepted.pop_front();
        }
    }

    /// The API said "throttled": once per episode, drop below what it accepted lately and
    /// forget any saved-up burst.
    pub(crate) fn on_throttled(&self) {
        let now = monotonic_now();
        let mut s = self.lock();
        self.refill(&mut s, now);
        if s.last_cut
            .is_some_and(|t| now.saturating_duration_since(t) < EPISODE)
        {
            return;
        }
        let accepted = s
            .accepted
            .iter()
            .filter(|t| now.saturating_duration_since(**t) <= WINDOW)
            .count() as f64;
        let floor = self.start * MIN_SHARE;
        s.rate = (s.rate * CUT)
            .min(accepted.max(floor) * BELOW_ACCEPTED)
            .max(floor);
        s.throttled_once = true;
        s.last_cut = Some(now);
        s.generation += 1;
        s.tokens = 0.0;
    }

    /// The current rate in requests per second, for logs and tests.
    pub(crate) fn current_rate(&self) -> f64 {
        let mut s = self.lock();
        self.refill(&mut s, monotonic_now());
        s.rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    async fn time_for(limiter: &RateLimiter, n: usize) -> Duration {
        let start = Instant::now();
        for _ in 0..n {
            limiter.acquire().await;
        }
        start.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn burst_then_steady_rate() {
        let l = RateLimiter::new(10.0, 10.0);
        assert_eq!(time_for(&l, 10).await, Duration::ZERO);
        let t = time_for(&l, 10).await;
        assert!(
            t >= Duration::from_millis(990) && t <= Duration::from_millis(1010),
            "{t:?}"
        );
        // A quiet period refills the bucket, but never above the burst.
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(time_for(&l, 10).await, Duration::ZERO);
        let t = time_for(&l, 1).await;
        assert!(t >= Duration::from_millis(99), "{t:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn parallel_waiters_share_one_bucket() {
        let l = Arc::new(RateLimiter::new(5.0, 5.0));
        let start = Instant::now();
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let l = l.clone();
                tokio::spawn(async move { l.acquire().await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        // 5 at once, then 15 at 5 per second.
        let t = start.elapsed();
        assert!(
            t >= Duration::from_millis(2990) && t <= Duration::from_millis(3010),
            "{t:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttling_episode_cuts_once_to_below_what_was_accepted() {
        let l = RateLimiter::new(200.0, 200.0);
        // The API accepted 100 answers in the last second, then throttled.
        for _ in 0..100 {
            l.on_accepted();
        }
        l.on_throttled();
        // 200 * 0.7 = 140, but below 0.9 * 100 accepted: 90.
        assert!(
            (l.current_rate() - 90.0).abs() < 1e-6,
            "{}",
            l.current_rate()
        );
        // More throttling answers of the same episode (sent before the cut) change nothing.
        for _ in 0..10 {
            l.on_throttled();
        }
        assert!(
            (l.current_rate() - 90.0).abs() < 1e-6,
            "{}",
            l.current_rate()
        );
        // The saved-up burst is gone: the next request waits at the new rate.
        let t = time_for(&l, 1).await;
        assert!(
            t >= Duration::from_millis(10) && t <= Duration::from_millis(13),
            "{t:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn later_episodes_cut_again_down_to_a_floor() {
        let l = RateLimiter::new(200.0, 200.0);
        for _ in 0..1000 {
            l.on_accepted();
        }
        l.on_throttled();
        assert!(
            (l.current_rate() - 140.0).abs() < 0.1,
            "{}",
            l.current_rate()
        );
        tokio::time::sleep(EPISODE).await;
        l.on_throttled();
        // 140 * 0.7: what was accepted shows the API takes more, but the rate still drops.
        assert!(l.current_rate() <= 98.0 + 0.2, "{}", l.current_rate());
        for _ in 0..50 {
            tokio::time::sleep(EPISODE).await;
            l.on_throttled();
        }
        let floor = 200.0 * MIN_SHARE;
        assert!(
            (l.current_rate() - floor).abs() < 0.2,
            "{}",
            l.current_rate()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn recovers_additively_up_to_the_start_rate() {
        let l = RateLimiter::new(200.0, 200.0);
        for _ in 0..100 {
            l.on_accepted();
        }
        l.on_throttled();
        let cut = l.current_rate();
        tokio::time::sleep(Duration::from_secs(10)).await;
        let grown = l.current_rate() - cut;
        let want = 10.0 * INCREASE_SHARE_PER_SEC * 200.0;
        assert!((grown - want).abs() < 0.1, "grew {grown}, want {want}");
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert!(
            (l.current_rate() - 200.0).abs() < 1e-9,
            "{}",
            l.current_rate()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_queued_at_the_old_rate_queue_again_after_a_cut() {
        let l = Arc::new(RateLimiter::new(100.0, 1.0));
        l.acquire().await; // the burst
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
        l.on_throttled(); // to 0.9 * 10 accepted = 9/s
        for t in tasks {
            t.await.unwrap();
        }
        // At 9 per second, 10 requests take more than a second, not 100 ms.
        let t = start.elapsed();
        assert!(t >= Duration::from_millis(1000), "{t:?}");
    }
}
