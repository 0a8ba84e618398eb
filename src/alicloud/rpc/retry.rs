//! How long to wait before trying again: exponential backoff with "full jitter", so parallel
//! callers that failed together do not come back together.

use std::time::Duration;

use rand::Rng as _;

/// First backoff ceiling; doubled per attempt up to [`BACKOFF_CAP`].
pub const BACKOFF_BASE: Duration = Duration::from_millis(100);
/// Longest single wait between two attempts.
pub const BACKOFF_CAP: Duration = Duration::from_secs(5);

/// The longest wait before attempt `retry + 1` (`retry` counts from 0): exponential, capped.
pub fn backoff_ceiling(retry: u32) -> Duration {
    BACKOFF_BASE
        .saturating_mul(2u32.saturating_pow(retry.min(16)))
        .min(BACKOFF_CAP)
}

/// A uniformly random wait up to the ceiling.
pub fn backoff_delay(retry: u32) -> Duration {
    let ceiling = backoff_ceiling(retry);
    ceiling.mul_f64(rand::rng().random_range(0.0..=1.0))
}
