//! A token bucket shared by every call of one client, so a plan refreshing hundreds of flow
//! logs in parallel does not turn into a throttling storm, and that slows down for a while
//! after the API says "throttled".

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::alicloud::clock::monotonic_now;

/// Generous for one Terraform run: Terraform runs at most 10 operations at once by default, so
/// the bucket matters when many calls come together and, above all, once the API pushes back
/// (each throttling answer halves the rate). A lower start made a 100-resource apply against a
/// fast endpoint wait on the bucket alone for ~6 s (300 calls at 50/s).
pub const DEFAULT_RATE: f64 = 200.0;

/// After throttling, the rate never drops below this share of the configured rate.
const MIN_FACTOR: f64 = 1.0 / 8.0;
/// How long a quiet period takes to bring a slowed-down rate back from zero to full.
const RECOVERY: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct State {
    /// May go negative: each waiter reserves its token, so waiters are served in order.
    tokens: f64,
    last: Instant,
    /// 1.0 = full rate; halved on each throttling answer, recovering linearly.
    factor: f64,
}

#[derive(Debug)]
pub(crate) struct RateLimiter {
    rate: f64,
    burst: f64,
    state: Mutex<State>,
}

impl RateLimiter {
    /// `rate` requests per second on average, up to `burst` at once after a quiet period.
    pub(crate) fn new(rate: f64, burst: f64) -> Self {
        let burst = burst.max(1.0);
        Self {
            rate,
            burst,
            state: Mutex::new(State {
                tokens: burst,
                last: monotonic_now(),
                factor: 1.0,
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
            s.tokens = (s.tokens + dt * self.rate * s.factor).min(self.burst);
            s.factor = (s.factor + dt / RECOVERY.as_secs_f64()).min(1.0);
            s.last = now;
        }
    }

    /// How long the caller must wait for its token (reserved now).
    fn reserve(&self) -> Duration {
        let mut s = self.lock();
        self.refill(&mut s, monotonic_now());
        s.tokens -= 1.0;
        if s.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-s.tokens / (self.rate * s.factor))
        }
    }

    /// Waits for a token. Dropping the future gives up the wait (the token stays spent).
    pub(crate) async fn acquire(&self) {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// The API said "throttled": halve the rate and drop any saved-up burst.
    pub(crate) fn on_throttled(&self) {
        let mut s = self.lock();
        self.refill(&mut s, monotonic_now());
        s.factor = (s.factor / 2.0).max(MIN_FACTOR);
        s.tokens = s.tokens.min(0.0);
    }

    /// The current rate in requests per second, for logs and tests.
    pub(crate) fn current_rate(&self) -> f64 {
        let mut s = self.lock();
        self.refill(&mut s, monotonic_now());
        self.rate * s.factor
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
    async fn throttling_halves_the_rate_then_recovers() {
        let l = RateLimiter::new(10.0, 10.0);
        l.on_throttled();
        assert!((l.current_rate() - 5.0).abs() < 1e-9);
        // The saved-up burst is gone: the next request waits at the halved rate.
        let t = time_for(&l, 1).await;
        assert!(
            t >= Duration::from_millis(190) && t <= Duration::from_millis(210),
            "{t:?}"
        );
        for _ in 0..10 {
            l.on_throttled();
        }
        assert!(
            (l.current_rate() - 10.0 * MIN_FACTOR).abs() < 1e-9,
            "{}",
            l.current_rate()
        );
        tokio::time::sleep(RECOVERY).await;
        assert!(
            (l.current_rate() - 10.0).abs() < 1e-9,
            "{}",
            l.current_rate()
        );
    }
}
