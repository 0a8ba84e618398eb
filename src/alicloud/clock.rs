//! The only place in the client that reads the time or makes a nonce, so tests can inject both.
//!
//! Wall-clock time goes into request timestamps and credential expiry checks; it is behind the
//! [`Clock`] trait so a test can skew it. Monotonic time (deadlines, backoff, rate limiting) is
//! tokio's, so tests can pause and advance it.

use std::fmt;
use std::sync::Arc;

use time::OffsetDateTime;
use time::macros::format_description;

/// Where the client gets the wall-clock time and request nonces from.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current UTC time, used for `Timestamp` and credential expiry.
    fn now_utc(&self) -> OffsetDateTime;
    /// A value never used before for `SignatureNonce`.
    fn nonce(&self) -> String;
}

/// The real clock and a random UUID v4 per nonce.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_utc(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn nonce(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// The system clock shifted by a fixed offset: how tests reproduce a machine whose clock is
/// wrong (the API refuses timestamps more than 15 minutes off).
#[derive(Debug, Clone, Copy)]
pub struct SkewedClock {
    offset: time::Duration,
}

impl SkewedClock {
    /// A clock `offset` ahead of the real one (negative: behind).
    pub fn new(offset: time::Duration) -> Self {
        Self { offset }
    }
}

impl Clock for SkewedClock {
    fn now_utc(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.offset
    }

    fn nonce(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// The default clock shared by clients that were not given one.
pub fn system() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// Monotonic "now" for deadlines, backoff and the rate limiter (tokio's, so it can be paused).
pub(crate) fn monotonic_now() -> tokio::time::Instant {
    tokio::time::Instant::now()
}

/// `YYYY-MM-DDThh:mm:ssZ` in UTC, the only form the RPC gateway accepts.
pub fn format_timestamp(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(fmt)
        // Formatting a UTC date with only numeric components cannot fail for years 0..=9999.
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn timestamp_is_utc_seconds_with_z() {
        assert_eq!(
            format_timestamp(datetime!(2024-03-05 07:08:09.123 +02:00)),
            "2024-03-05T05:08:09Z"
        );
    }

    #[test]
    fn nonces_differ() {
        let c = SystemClock;
        assert_ne!(c.nonce(), c.nonce());
        assert_eq!(c.nonce().len(), 36);
    }

    #[test]
    fn skew_moves_the_clock() {
        let skewed = SkewedClock::new(time::Duration::minutes(-20));
        let behind = skewed.now_utc();
        let diff = SystemClock.now_utc() - behind;
        assert!(diff >= time::Duration::minutes(20) && diff < time::Duration::minutes(21));
    }
}
