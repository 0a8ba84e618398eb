//! What every credential source provides ([`Credentials`]) through one trait
//! ([`ProvideCredentials`]), and [`Cached`], which hands out one answer until shortly before it
//! expires and renews it once for all concurrent callers.

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::alicloud::clock::Clock;
use crate::alicloud::error::CredentialsError;
use crate::alicloud::secret::Secret;

/// A usable access key, with the STS token that goes with it when temporary.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub access_key_id: String,
    pub access_key_secret: Secret,
    pub security_token: Option<Secret>,
    /// Where they came from, for debug logs and errors ("environment", "profile \"x\"", ...).
    pub source: String,
    /// When temporary credentials stop working; `None` for long-lived keys.
    pub expires: Option<OffsetDateTime>,
    /// How long before `expires` the source itself wants them renewed (the ECS metadata
    /// service rotates its credentials well ahead); `None` follows [`RENEW_AT_MOST`].
    pub renew_before: Option<time::Duration>,
}

impl Credentials {
    /// Long-lived credentials from a named source.
    pub fn new(
        access_key_id: impl Into<String>,
        access_key_secret: Secret,
        security_token: Option<Secret>,
        source: impl Into<String>,
    ) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            access_key_secret,
            security_token,
            source: source.into(),
            expires: None,
            renew_before: None,
        }
    }
}

/// A source of credentials: the provider block, the environment, a profile, the ECS role, an
/// STS role... Each call asks the source afresh; [`Cached`] decides when to call.
///
/// A source with nothing to offer answers [`CredentialsError::NotLoaded`], so a chain moves on
/// to the next; any other error stops the chain (a half-set source is a mistake to report).
#[async_trait]
pub trait ProvideCredentials: Send + Sync + fmt::Debug {
    async fn provide(&self) -> Result<Credentials, CredentialsError>;
}

/// Renew temporary credentials at most this long before they expire (credentials-go's
/// margin), and no earlier than half their lifetime, so short sessions are not renewed on
/// every call.
pub const RENEW_AT_MOST: time::Duration = time::Duration::seconds(180);

struct Entry {
    creds: Arc<Credentials>,
    fetched: OffsetDateTime,
}

/// Caches a source's answer; renews temporary credentials before they expire. Concurrent
/// callers wait for one renewal instead of each starting their own.
pub struct Cached {
    inner: Box<dyn ProvideCredentials>,
    clock: Arc<dyn Clock>,
    entry: Mutex<Option<Entry>>,
    /// Held while asking the source, so only one caller does.
    refresh: tokio::sync::Mutex<()>,
}

impl fmt::Debug for Cached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cached")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl Cached {
    pub fn new(inner: Box<dyn ProvideCredentials>, clock: Arc<dyn Clock>) -> Self {
        Cached {
            inner,
            clock,
            entry: Mutex::new(None),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Entry>> {
        // A panic elsewhere while holding the lock leaves a valid Option behind.
        self.entry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached credentials if they are still good for a while.
    fn fresh(&self, now: OffsetDateTime) -> Option<Arc<Credentials>> {
        let guard = self.lock();
        let entry = guard.as_ref()?;
        let Some(expires) = entry.creds.expires else {
            return Some(entry.creds.clone());
        };
        let margin = entry
            .creds
            .renew_before
            .unwrap_or_else(|| RENEW_AT_MOST.min((expires - entry.fetched) / 2));
        (expires - margin > now).then(|| entry.creds.clone())
    }

    /// The credentials to sign with: cached, or fetched now (once, for every waiting caller).
    pub async fn get(&self) -> Result<Arc<Credentials>, CredentialsError> {
        if let Some(c) = self.fresh(self.clock.now_utc()) {
            return Ok(c);
        }
        let _one_at_a_time = self.refresh.lock().await;
        // Someone else may have renewed while we waited.
        let now = self.clock.now_utc();
        if let Some(c) = self.fresh(now) {
            return Ok(c);
        }
        match self.inner.provide().await {
            Ok(creds) => {
                tracing::debug!(
                    source = %creds.source,
                    access_key_id = %creds.access_key_id,
                    expires = ?creds.expires,
                    "using Alibaba Cloud credentials"
                );
                let creds = Arc::new(creds);
                *self.lock() = Some(Entry {
                    creds: creds.clone(),
                    fetched: now,
                });
                Ok(creds)
            }
            // A renewal that fails while the current credentials still work is not fatal: use
            // them and try again at the next call.
            Err(e) => {
                let still_valid = self.lock().as_ref().and_then(|entry| {
                    entry
                        .creds
                        .expires
                        .filter(|exp| *exp > now)
                        .map(|_| entry.creds.clone())
                });
                match still_valid {
                    Some(c) => {
                        tracing::warn!(error = %e, "renewing temporary credentials failed; using the current ones until they expire");
                        Ok(c)
                    }
                    None => Err(e),
                }
            }
        }
    }

    /// The API refused `stale` as expired before its announced time (clock skew, revoked
    /// session): forget it so the next [`Cached::get`] renews.
    pub fn expire(&self, stale: &Arc<Credentials>) {
        let mut guard = self.lock();
        if guard.as_ref().is_some_and(|e| Arc::ptr_eq(&e.creds, stale)) && stale.expires.is_some() {
            *guard = None;
        }
    }
}
