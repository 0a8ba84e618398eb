//! The adaptive client-side rate limiter in front of every API call: a token bucket whose rate
//! converges to the part of the quota that is actually left. On a throttling answer it cuts to
//! below what the API accepted (once per episode), then grows back along a cubic curve to the
//! last good rate within seconds and probes gently above it (the AWS SDKs' "adaptive" mode).
//! When slowing down does not reduce the refusals (they do not depend on our rate), it restores
//! the rate and only retries. Its state can live in a file shared by every provider process of
//! one account, region and product on the machine (`shared_bucket`).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::alicloud::clock::monotonic_now;

use super::shared_bucket::{KEEP, SharedFile};

/// Where the rate starts, and its ceiling unless the user sets one: generous for one
/// Terraform run, and quickly corrected by the first throttling answer.
pub const DEFAULT_RATE: f64 = 200.0;

/// How many requests may go at once after a quiet period: a tenth of a second's worth. More,
/// sent at once before the limiter has learnt anything, is throttled by a quota with a smaller
/// burst than ours, and units of a stack starting together would spend it all at once.
pub const BURST_SECONDS: f64 = 0.1;

/// The rate never drops below this: low enough that 20 processes that do not share a bucket
/// still fit a 10 requests-per-second quota together.
pub const FLOOR: f64 = 0.2;
/// At a cut the rate keeps at most this share of what was being sent (AWS's beta)...
const BETA: f64 = 0.7;
/// ...and at most this share of what the API accepted lately.
const BELOW_ACCEPTED: f64 = 0.9;
/// The cubic's steepness on the way back to the last good rate, per unit of that rate (AWS's
/// C = 0.4 at 100 requests a second). Relative, so that 20 processes at half a request a
/// second each grow back as gently as one at 10: an absolute curve would add the same
/// requests per second to each of them and keep their sum above a small quota.
const CUBIC_C: f64 = 0.004;
/// Above the last good rate it probes more gently: a quota's saved-up burst hides an overshoot
/// for a while, and the steeper the probe the deeper it has gone when refusals start.
const PROBE_C: f64 = 0.002;
/// The send rate is counted in slices this long and smoothed ([`SMOOTH`] to the newest).
const MEASURE_SLICE: f64 = 0.5;
const SMOOTH: f64 = 0.8;
/// The slice under way counts towards the send rate once it is this long.
const MIN_SLICE: f64 = 0.25;
/// How far back "what the API accepted" looks.
const WINDOW: f64 = 1.0;
/// The largest refused share one cut acts on.
const MAX_CUT_SHARE: f64 = 0.75;
/// Answers needed after a cut before telling whether the cut helped.
const MIN_ANSWERS: usize = 10;
/// A cut "did not help" when the refused share after it is still this share of the one after
/// the cut before.
const NO_HELP: f64 = 0.7;
/// Cuts closer together than this are one streak: the rate before the streak is what a
/// useless streak restores.
const STREAK_GAP: f64 = 2.0;
/// While refusals are known not to depend on our rate, a refused share up to this multiple of
/// the one learnt (plus [`BASELINE_SLACK`]) is tolerated without cutting.
const BASELINE_MULTIPLE: f64 = 1.5;
const BASELINE_SLACK: f64 = 0.03;
/// Refusals above this share are taken as rate-dependent whatever the cuts did: a quota that
/// refuses more than a third of the calls at any rate leaves nothing to keep.
const MAX_BASELINE: f64 = 0.35;
/// After a restore, a refused share this much above the baseline shows the refusals did
/// depend on the rate.
const VERIFY_SLACK: f64 = 0.05;
/// How far back the refused share is measured against that baseline.
const BASELINE_WINDOW: f64 = 5.0;
/// A baseline not confirmed for this long is forgotten.
const BASELINE_FORGET: f64 = 60.0;
/// After this long without a request the curve restarts from the last good rate: it keeps
/// what it learnt instead of having probed into the blue while nobody was sending.
const IDLE: f64 = 5.0;
/// Answers older than this are of no use to any rule.
const STATS_KEEP: f64 = 10.0;
/// The version of [`Bucket`]'s stored form; another version is ignored and rebuilt.
pub(crate) const FORMAT: u32 = 1;

/// Seconds since the Unix epoch, taken from the monotonic clock after one reading of the
/// system clock: processes agree on it (to the system clock's precision) and it never goes
/// back within a process; under paused tokio time it follows the paused clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Wall {
    anchor_secs: f64,
    anchor: Instant,
}

impl Wall {
    pub(crate) fn new() -> Self {
        let anchor_secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        Wall {
            anchor_secs,
            anchor: monotonic_now(),
        }
    }

    pub(crate) fn now(&self) -> f64 {
        self.of(monotonic_now())
    }

    /// The seconds of `at`, by the same anchor as [`Wall::now`]: converting back and forth
    /// with [`Wall::instant`] gives the same moment (to well under a microsecond), where
    /// going through two readings of the clocks would not.
    pub(crate) fn of(&self, at: Instant) -> f64 {
        match at.checked_duration_since(self.anchor) {
            Some(after) => self.anchor_secs + after.as_secs_f64(),
            None => self.anchor_secs - self.anchor.duration_since(at).as_secs_f64(),
        }
    }

    /// The instant of `secs`, never after now (another process's clock may be a little
    /// ahead), nor before the earliest instant this process has.
    pub(crate) fn instant(&self, secs: f64) -> Instant {
        let d = secs - self.anchor_secs;
        if d >= 0.0 {
            let now = monotonic_now();
            Duration::try_from_secs_f64(d)
                .ok()
                .and_then(|after| self.anchor.checked_add(after))
                .map_or(now, |at| at.min(now))
        } else {
            let back = Duration::try_from_secs_f64(-d).unwrap_or_default();
            self.anchor.checked_sub(back).unwrap_or(self.anchor)
        }
    }
}

/// The bucket and what it learnt: all a process needs to take a token, and all that is shared
/// through the file. Times are [`Wall`] seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Bucket {
    pub v: u32,
    /// Requests per second now (kept up to date by [`Bucket::refill`]).
    pub rate: f64,
    /// May go negative: each waiter reserves its token, so waiters are served in order.
    pub tokens: f64,
    pub last: f64,
    /// Set at the first throttling answer: from then on the rate follows the curve.
    pub throttled: bool,
    /// The curve: from `r0` at `cut_at` back to `w_max` after `k` seconds, then probing.
    pub cut_at: f64,
    pub r0: f64,
    pub w_max: f64,
    pub k: f64,
    /// Bumped when the rate drops: reservations made at the old rate are made again.
    pub generation: u64,
    /// The smoothed send rate, and the slice being counted.
    pub measured: f64,
    pub slice_start: f64,
    pub slice_sent: u32,
    /// Requests sent, and throttling answers received after the episode, since the last cut.
    #[serde(default)]
    pub since_cut_sent: u32,
    #[serde(default)]
    pub since_cut_refused: u32,
    /// The rate before the current streak of cuts, and the refused share after its last cut.
    pub streak_rate: Option<f64>,
    pub prev_share: Option<f64>,
    /// Set by a restore until the refused share at the restored rate has been compared with
    /// the baseline.
    #[serde(default)]
    pub verifying: bool,
    /// The refused share that does not depend on our rate, and when it was last seen.
    pub baseline: Option<f64>,
    pub baseline_at: f64,
    /// When any process last used the bucket.
    pub updated: f64,
    /// Seconds of the probe above the last good rate during which the rate was not what held
    /// the callers back (the bucket overflowed): the probe does not advance meanwhile, or a
    /// stretch of waiting would leave it far above the quota for the next burst.
    #[serde(default)]
    pub probe_paused: f64,
    /// The slice being counted began with the bucket full: nothing was held back before it.
    #[serde(default)]
    pub slice_quiet: bool,
}

/// What one throttling answer led to, for the logs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Decision {
    /// Sent before the last cut, or too soon after it to judge it: nothing changes.
    SameEpisode,
    /// Refusals at the share known not to depend on our rate: retried, no cut.
    Tolerated,
    /// The rate was cut.
    Cut,
    /// The last cuts did not reduce the refusals: the rate before them is back.
    Restored,
}

/// Recent answers of this process: when, and whether throttled.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    answers: VecDeque<(f64, bool)>,
}

impl Stats {
    fn push(&mut self, now: f64, refused: bool) {
        self.answers.push_back((now, refused));
        while self
            .answers
            .front()
            .is_some_and(|(t, _)| now - t > STATS_KEEP)
        {
            self.answers.pop_front();
        }
    }

    /// Answers after `since` (exclusive), and how many of them were throttled.
    fn since(&self, since: f64) -> (usize, usize) {
        let mut n = 0;
        let mut refused = 0;
        for (t, r) in self.answers.iter().rev() {
            if *t <= since {
                break;
            }
            n += 1;
            refused += usize::from(*r);
        }
        (n, refused)
    }

    /// The refused share of the last [`WINDOW`], or of a longer stretch when that had too few
    /// answers to say much (a process sending a request a second).
    fn recent_share(&self, now: f64) -> f64 {
        let mut share = 0.0;
        for w in [WINDOW, 2.0 * WINDOW, 5.0 * WINDOW, STATS_KEEP] {
            let (n, s) = self.share_since(now - w);
            share = s;
            if n >= MIN_ANSWERS {
                break;
            }
        }
        share
    }

    fn share_since(&self, since: f64) -> (usize, f64) {
        let (n, r) = self.since(since);
        (n, if n == 0 { 0.0 } else { r as f64 / n as f64 })
    }
}

impl Bucket {
    pub(crate) fn new(ceiling: f64, now: f64) -> Self {
        Bucket {
            v: FORMAT,
            rate: ceiling,
            tokens: burst(ceiling),
            last: now,
            throttled: false,
            cut_at: now,
            r0: ceiling,
            w_max: ceiling,
            k: 0.0,
            generation: 0,
            measured: 0.0,
            slice_start: now,
            slice_sent: 0,
            since_cut_sent: 0,
            since_cut_refused: 0,
            streak_rate: None,
            prev_share: None,
            baseline: None,
            verifying: false,
            baseline_at: now,
            updated: now,
            probe_paused: 0.0,
            slice_quiet: false,
        }
    }

    /// Whether a stored bucket can be used at `now` with this ceiling.
    pub(crate) fn usable(&self, ceiling: f64, now: f64, keep: f64) -> bool {
        let finite = [
            self.rate,
            self.tokens,
            self.last,
            self.cut_at,
            self.r0,
            self.w_max,
            self.k,
            self.measured,
            self.updated,
        ]
        .iter()
        .all(|x| x.is_finite());
        self.v == FORMAT
            && finite
            && self.rate >= FLOOR
            && self.rate <= ceiling
            && now - self.updated <= keep
            // A clock that went back (or a file from another machine's clock).
            && self.updated <= now + 1.0
    }

    /// The curve's rate at `now`.
    fn curve(&self, now: f64, ceiling: f64) -> f64 {
        let t = (now - self.cut_at).max(0.0);
        let w = if t < self.k {
            self.w_max * (1.0 + CUBIC_C * (t - self.k).powi(3))
        } else {
            let probing = (t - self.k - self.probe_paused).max(0.0);
            self.w_max * (1.0 + PROBE_C * probing.powi(3))
        };
        w.clamp(FLOOR, ceiling)
    }

    fn capacity(&self) -> f64 {
        burst(self.rate)
    }

    /// Brings the tokens and the rate to `now`.
    pub(crate) fn refill(&mut self, now: f64, ceiling: f64) {
        if self.throttled && now - self.updated > IDLE {
            // Nobody sent for a while: start again from the last good rate, not from where
            // the curve would have probed to meanwhile.
            let good = self
                .curve(self.updated, ceiling)
                .min(self.w_max.max(self.r0));
            self.cut_at = now;
            self.probe_paused = 0.0;
            self.since_cut_sent = 0;
            self.since_cut_refused = 0;
            self.r0 = good;
            self.w_max = good;
            self.k = 0.0;
            self.streak_rate = None;
            self.prev_share = None;
        }
        let dt = now - self.last;
        if dt > 0.0 {
            if self.throttled {
                self.rate = self.curve(now, ceiling);
                let overflow = self.tokens + dt * self.rate - self.capacity();
                let probing = now - self.cut_at - self.k - self.probe_paused;
                if overflow > 0.0 && probing > 0.0 {
                    // Tokens went unused: callers sent less than the rate allowed, so nothing
                    // was learnt about the quota above the last good rate meanwhile.
                    self.probe_paused += (overflow / self.rate).min(dt).min(probing);
                    self.rate = self.curve(now, ceiling);
                }
            }
            self.tokens = (self.tokens + dt * self.rate).min(self.capacity());
            self.last = now;
        }
        self.updated = self.updated.max(now);
    }

    fn count_send(&mut self, now: f64) {
        let elapsed = now - self.slice_start;
        if elapsed >= MEASURE_SLICE {
            let slice_rate = f64::from(self.slice_sent) / elapsed;
            // A long quiet gap counts as one slice: the rate then was low.
            self.measured = SMOOTH * slice_rate + (1.0 - SMOOTH) * self.measured;
            self.slice_start = now;
            self.slice_sent = 0;
            // The token of this send is already taken: full but for it.
            self.slice_quiet = self.tokens >= self.capacity() - 1.0 - 1e-9;
        }
        self.slice_sent += 1;
    }

    /// The send rate as measured, or the bucket's rate before anything was measured.
    fn send_rate(&self, now: f64) -> f64 {
        // After a quiet stretch (the slice began with the bucket full) the slice under way
        // counts too: a burst is not yet in the smoothed rate, and a cut from that rate would
        // fall to the quiet stretch's. (At the quota the smoothed rate is the steadier guide.)
        let elapsed = now - self.slice_start;
        let current = if self.slice_quiet && elapsed >= MIN_SLICE {
            f64::from(self.slice_sent) / elapsed
        } else {
            0.0
        };
        let measured = self.measured.max(current);
        if measured > 0.0 { measured } else { self.rate }
    }

    /// Takes a token now: how long the caller must wait for it, and the generation its
    /// reservation belongs to. The request counts as sent only when it goes
    /// ([`Bucket::granted`]): hundreds queued at once are not a send rate.
    pub(crate) fn reserve(&mut self, now: f64, ceiling: f64) -> (Duration, u64) {
        self.refill(now, ceiling);
        self.tokens -= 1.0;
        let wait = if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        };
        (wait, self.generation)
    }

    /// A request goes at `now`, its token granted.
    pub(crate) fn granted(&mut self, now: f64) {
        self.count_send(now);
        self.since_cut_sent = self.since_cut_sent.saturating_add(1);
    }

    /// A throttling answer at `now` to a request sent at `sent`, with this process's recent
    /// answers (the throttled one included).
    pub(crate) fn on_throttled(
        &mut self,
        now: f64,
        sent: f64,
        ceiling: f64,
        stats: &Stats,
    ) -> Decision {
        self.refill(now, ceiling);
        if self.throttled && sent < self.cut_at {
            // Sent at the rate before the last cut (or restore): it says nothing of the new
            // one, however late its answer comes.
            return Decision::SameEpisode;
        }
        self.since_cut_refused = self.since_cut_refused.saturating_add(1);
        if self
            .baseline
            .is_some_and(|_| now - self.baseline_at > BASELINE_FORGET)
        {
            self.baseline = None;
        }
        if let Some(b) = self.baseline {
            let tolerate = if self.verifying {
                // Back at the rate before the cuts: the refusals must stay at the share seen
                // at the lower rate, or they did depend on the rate after all.
                if self.since_cut_sent < MIN_ANSWERS as u32 {
                    true
                } else {
                    self.verifying = false;
                    let share =
                        f64::from(self.since_cut_refused) / f64::from(self.since_cut_sent.max(1));
                    share <= b + VERIFY_SLACK
                }
            } else {
                let (n, share) = stats.share_since(now - BASELINE_WINDOW);
                // Too few answers to tell: cutting is the safe side.
                n >= MIN_ANSWERS && share <= b * BASELINE_MULTIPLE + BASELINE_SLACK
            };
            if tolerate {
                self.baseline_at = now;
                return Decision::Tolerated;
            }
            self.baseline = None;
            self.verifying = false;
        }
        let in_streak = self.streak_rate.is_some() && now - self.cut_at < STREAK_GAP;
        let mut since_cut_share = None;
        if in_streak {
            // Counted in the bucket, so every process sharing it contributes: ten processes
            // tell whether a cut helped as fast as one.
            let n = self.since_cut_sent as usize;
            let share = f64::from(self.since_cut_refused) / f64::from(self.since_cut_sent.max(1));
            if n < MIN_ANSWERS {
                return Decision::SameEpisode;
            }
            since_cut_share = Some(share.min(1.0));
            if let Some(prev) = self.prev_share
                && share >= NO_HELP * prev
                && share <= MAX_BASELINE
            {
                let back = self.streak_rate.unwrap_or(ceiling).clamp(FLOOR, ceiling);
                self.rate = back;
                self.r0 = back;
                self.w_max = back;
                self.k = 0.0;
                self.cut_at = now;
                self.probe_paused = 0.0;
                self.since_cut_sent = 0;
                self.since_cut_refused = 0;
                self.streak_rate = None;
                self.prev_share = None;
                self.baseline = Some(share);
                self.baseline_at = now;
                self.verifying = true;
                return Decision::Restored;
            }
            self.prev_share = Some(share);
        } else {
            self.streak_rate = Some(self.rate);
            self.prev_share = None;
        }
        // Past the bucket's rate only by a saved-up burst: a cut never raises the rate.
        let sent = self.send_rate(now).min(self.rate);
        // Never below a quarter of what was sent in one cut: a share measured on few answers,
        // or inflated by answers to requests queued before the last cut, can be all refusals.
        let share = since_cut_share
            .unwrap_or_else(|| stats.recent_share(now))
            .min(MAX_CUT_SHARE);
        let accepted = sent * (1.0 - share);
        let new_rate = (BETA * sent).min(BELOW_ACCEPTED * accepted).max(FLOOR);
        self.rate = new_rate.min(ceiling);
        self.r0 = self.rate;
        self.w_max = accepted.max(self.rate).min(ceiling);
        self.k = ((self.w_max - self.r0) / (CUBIC_C * self.w_max)).cbrt();
        self.cut_at = now;
        self.probe_paused = 0.0;
        self.since_cut_sent = 0;
        self.since_cut_refused = 0;
        self.throttled = true;
        self.generation += 1;
        self.tokens = 0.0;
        Decision::Cut
    }
}

fn burst(rate: f64) -> f64 {
    (rate * BURST_SECONDS).max(1.0)
}

/// When a request's token was granted ([`Wall`] seconds): its answer is judged against the rate
/// it was sent at.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sent(f64);

#[cfg(test)]
impl Sent {
    /// A request sent now, whichever limiter it went through.
    pub(crate) fn now(wall: &Wall) -> Sent {
        Sent(wall.now())
    }
}

/// One bucket (one account, region and product): this process's copy and, when sharing is
/// on, the file every process of the machine takes its tokens from.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    ceiling: f64,
    wall: Wall,
    local: Mutex<Local>,
    shared: Option<SharedFile>,
    /// This process's ordinary requests take their turn here, one reservation at a time, so
    /// that a request that goes ahead has at most one of them before it.
    turn: tokio::sync::Mutex<()>,
    /// Requests of this process waiting for their turn: the quota, not the callers, sets the
    /// pace while there are any.
    queued: std::sync::atomic::AtomicUsize,
}

/// Counts a request among those waiting for their turn while it does.
struct Queued<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

#[derive(Debug)]
struct Local {
    /// The last state read from the file, or the only one when not sharing (or when the file
    /// could not be had in time).
    bucket: Bucket,
    stats: Stats,
}

impl RateLimiter {
    /// A bucket of this process only, starting at `ceiling` requests per second and never
    /// above it.
    #[cfg(test)]
    pub(crate) fn new(ceiling: f64) -> Self {
        Self::with(ceiling, Wall::new(), None)
    }

    /// With `shared`, tokens come from that file (the local copy steps in when the file cannot
    /// be had within a few milliseconds).
    pub(crate) fn with(ceiling: f64, wall: Wall, shared: Option<SharedFile>) -> Self {
        let now = wall.now();
        Self {
            ceiling,
            wall,
            local: Mutex::new(Local {
                bucket: Bucket::new(ceiling, now),
                stats: Stats::default(),
            }),
            shared,
            turn: tokio::sync::Mutex::new(()),
            queued: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Local> {
        // The state stays consistent even if a holder panicked: every update is one step.
        self.local.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the bucket: the shared one when it can be had, else this process's copy.
    fn update<R>(&self, f: impl FnOnce(&mut Bucket, &Stats, f64) -> R) -> R {
        let mut local = self.lock();
        let now = self.wall.now();
        let Local { bucket, stats } = &mut *local;
        if let Some(shared) = &self.shared {
            let mut f = Some(f);
            let ceiling = self.ceiling;
            let load = |stored: Option<Bucket>| {
                stored
                    .filter(|b| b.usable(ceiling, now, KEEP))
                    .unwrap_or_else(|| Bucket::new(ceiling, now))
            };
            let got = shared.with(load, |b| {
                let r = (f.take().expect("called once"))(b, stats, now);
                b.updated = b.updated.max(now);
                (r, b.clone())
            });
            if let Some((r, b)) = got {
                *bucket = b;
                return r;
            }
            if let Some(f) = f {
                return f(bucket, stats, now);
            }
            unreachable!("the shared bucket ran the update but gave no answer");
        }
        f(bucket, stats, now)
    }

    /// Waits for a token: the request may go now. Dropping the future gives up the wait (the
    /// token stays spent). This process's requests get their tokens in turn.
    pub(crate) async fn acquire(&self) -> Sent {
        let turn = {
            self.queued
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let _queued = Queued(&self.queued);
            self.turn.lock().await
        };
        let sent = self.reserve_and_wait().await;
        drop(turn);
        sent
    }

    /// Whether requests of this process are waiting for their turn at the limiter.
    pub(crate) fn saturated(&self) -> bool {
        self.queued.load(std::sync::atomic::Ordering::Relaxed) > 0
    }

    /// Waits for a token ahead of this process's requests queued in [`RateLimiter::acquire`]
    /// (behind at most one of them): for a listing whose answer many operations wait for.
    /// The rate is the same; only the order changes.
    pub(crate) async fn acquire_ahead(&self) -> Sent {
        self.reserve_and_wait().await
    }

    async fn reserve_and_wait(&self) -> Sent {
        let ceiling = self.ceiling;
        loop {
            let (wait, generation, now) = self.update(|b, _, now| {
                let (wait, generation) = b.reserve(now, ceiling);
                if wait.is_zero() {
                    b.granted(now);
                }
                (wait, generation, now)
            });
            if wait.is_zero() {
                return Sent(now);
            }
            tokio::time::sleep(wait).await;
            // A cut while we slept voided reservations made at the old rate: queue again.
            let (same, now) = self.update(|b, _, now| {
                b.refill(now, ceiling);
                let same = b.generation == generation;
                if same {
                    b.granted(now);
                }
                (same, now)
            });
            if same {
                return Sent(now);
            }
        }
    }

    /// An answer that was not a throttling one: the API accepted the request.
    pub(crate) fn on_accepted(&self) {
        let now = self.wall.now();
        self.lock().stats.push(now, false);
    }

    /// The API said "throttled" to the request sent at `sent`: what the bucket made of it.
    pub(crate) fn on_throttled(&self, sent: Sent) -> Decision {
        let now = self.wall.now();
        self.lock().stats.push(now, true);
        let ceiling = self.ceiling;
        self.update(|b, stats, now| b.on_throttled(now, sent.0, ceiling, stats))
    }

    /// The current rate in requests per second, for logs and tests.
    pub(crate) fn current_rate(&self) -> f64 {
        let ceiling = self.ceiling;
        self.update(|b, _, now| {
            b.refill(now, ceiling);
            b.rate
        })
    }
}

#[cfg(test)]
mod tests;
