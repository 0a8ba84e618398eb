//! One transport for every RPC-style Alibaba Cloud product: endpoint per product key, timeouts,
//! proxies, the shared adaptive rate limiter, retries with jitter, the error envelope and the
//! redaction of secrets. It knows no product's actions: each [`Product`] supplies its API
//! version and endpoint rule, each [`Request`] the codes its action may also retry.

pub mod endpoint;
pub(crate) mod http;
mod ratelimit;
pub mod retry;
pub mod shared_bucket;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::alicloud::clock::{self, Clock};
use crate::alicloud::credentials::provider::{Cached, Credentials};
use crate::alicloud::error::{Error, body_start, parse_response};
use crate::alicloud::secret::Redactor;
use crate::alicloud::settings::{Environment, Settings};
use crate::alicloud::sign::{self, Call, Key, Scheme, Stamp};

use endpoint::{Endpoint, EndpointRule};
use http::TimeoutSettings;
pub(crate) use ratelimit::Wall;
use ratelimit::{DEFAULT_RATE, Decision, RateLimiter};
use retry::backoff_delay;

/// The code of a call signed with temporary credentials that died before their time.
const EXPIRED_TOKEN: &str = "InvalidSecurityToken.Expired";

/// An RPC-style product: what every request to it names, and where it is.
#[derive(Debug)]
pub struct Product {
    /// As users know it, for messages and logs (`VPC`, `STS`).
    pub name: &'static str,
    /// The `Version` parameter.
    pub version: &'static str,
    pub endpoint: EndpointRule,
    /// Its success answers carry secrets we cannot know in advance (new credentials): an
    /// answer that cannot be decoded is then reported without quoting its body.
    pub secret_answers: bool,
}

/// What a caller can bound one operation with.
#[derive(Clone, Default, Debug)]
pub struct CallOptions {
    /// No attempt starts, and none stays in flight, past this instant.
    pub deadline: Option<Instant>,
    /// Cancels a wait or an in-flight request at once.
    pub cancel: CancellationToken,
}

/// One action to call.
#[derive(Debug)]
pub struct Request<'a> {
    pub action: &'static str,
    /// `RegionId`, and the region whose public endpoint serves the call; `None` for products
    /// without regions in their requests.
    pub region_id: Option<&'a str>,
    /// Names are borrowed: list parameters (`Tag.1.Key`, `TrafficPath.2`) are built per call.
    pub params: &'a [(&'a str, String)],
    /// Codes this action may retry besides the generally transient ones (conflicts that clear
    /// by themselves).
    pub retry_also: &'static [&'static str],
    /// The call creates something and takes no idempotency token: an attempt whose answer was
    /// lost (a timeout, a broken connection) may have taken effect, so it is not made again.
    /// Error answers from the API are retried as usual: the API said it did nothing.
    pub creates: bool,
    /// Many operations wait for its answer (a page of a listing): its token is taken ahead of
    /// this process's other requests waiting for theirs.
    pub ahead: bool,
}

/// How a request is authenticated.
#[derive(Clone, Copy, Debug)]
pub enum Auth<'a> {
    /// Signed, with the transport's signature, with these credentials, renewed by the cache
    /// as they expire.
    Signed(&'a Cached),
    /// No key and no signature (`AssumeRoleWithOIDC`).
    Anonymous,
}

/// A decoded success answer, with a chance to reject a well-formed but unusable one.
pub trait Answer: DeserializeOwned {
    /// Why this answer cannot be used, if it cannot.
    fn problem(&self) -> Option<String> {
        None
    }
}

/// The transport of one provider process. Cheap to share: connections, endpoints and the
/// rate limiter are common to every product and call.
pub struct Transport {
    http_config: http::HttpConfig,
    http: std::sync::OnceLock<reqwest::Client>,
    endpoints: HashMap<&'static str, Endpoint>,
    limits: Limits,
    clock: Arc<dyn Clock>,
    max_retry_timeout: Duration,
    timeouts: TimeoutSettings,
    /// How every call of every product is signed (STS follows the same choice as VPC).
    scheme: &'static Scheme,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("endpoints", &self.endpoints)
            .field("signature", &self.scheme)
            .finish_non_exhaustive()
    }
}

/// The rate limiters of one process: one bucket per account, region and product, each shared
/// with the machine's other provider processes through a file in `dir` (when sharing is on).
#[derive(Debug)]
struct Limits {
    ceiling: f64,
    /// `None`: sharing is off, or no cache directory is known.
    dir: Option<PathBuf>,
    wall: Wall,
    buckets: Mutex<HashMap<String, Arc<RateLimiter>>>,
    /// Other files shared with the machine's processes (listings), by path.
    files: Mutex<HashMap<PathBuf, Arc<shared_bucket::SharedFile>>>,
}

impl Limits {
    /// The bucket of `account` (an AccessKeyId; hashed into the file name, never written),
    /// `region` and `product` at `endpoint` (another endpoint, such as a local emulator, has
    /// another quota).
    fn bucket(
        &self,
        account: &str,
        region: &str,
        product: &str,
        endpoint: &Url,
    ) -> Arc<RateLimiter> {
        let name = shared_bucket::file_name(
            account,
            region,
            &format!("{product} {endpoint}"),
            self.ceiling,
        );
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        buckets
            .entry(name)
            .or_insert_with_key(|name| {
                let shared = self.dir.as_ref().and_then(|dir| {
                    shared_bucket::SharedFile::open(dir, name)
                        .inspect_err(|e| {
                            tracing::warn!(
                                dir = %dir.display(),
                                error = %e,
                                "cannot open the shared rate-limit bucket: this process limits its own calls only"
                            );
                        })
                        .ok()
                });
                tracing::debug!(
                    product,
                    region,
                    shared = shared.is_some(),
                    "rate-limit bucket for this account, region and product"
                );
                Arc::new(RateLimiter::with(self.ceiling, self.wall, shared))
            })
            .clone()
    }
}

/// Whether the rate-limit bucket is shared with the machine's other provider processes: the
/// `share_rate_limit` argument, else [`shared_bucket::ENV_SHARE`], else on.
pub fn share_rate_limit(settings: &Settings, env: &Environment) -> Result<bool, Error> {
    if let Some(on) = settings.share_rate_limit {
        return Ok(on);
    }
    match env.var(shared_bucket::ENV_SHARE) {
        None => Ok(true),
        Some(v) => shared_bucket::parse_switch(v).ok_or_else(|| {
            Error::Config(format!(
                "the {} environment variable must be true or false, not {v:?}",
                shared_bucket::ENV_SHARE
            ))
        }),
    }
}

/// Environment variable choosing the signature when the provider block does not.
pub const ENV_SIGN_VERSION: &[&str] = &["ALICLOUD_SIGN_VERSION_VPC"];

/// The signature the block (`sign_version { vpc }`) or the environment chooses; v1 if neither.
pub fn sign_scheme(settings: &Settings, env: &Environment) -> Result<&'static Scheme, Error> {
    let (source, value) = match settings.sign_version.as_deref() {
        Some(v) => ("sign_version.vpc".to_owned(), v),
        None => match env.first_var(ENV_SIGN_VERSION) {
            Some((name, v)) => (format!("the {name} environment variable"), v),
            None => return Ok(sign::DEFAULT),
        },
    };
    sign::by_name(value).ok_or_else(|| Error::Config(bad_sign_version(&source, value)))
}

/// Why `value` is not a signature name, said for `source`.
pub fn bad_sign_version(source: &str, value: &str) -> String {
    let hint = if value.trim().eq_ignore_ascii_case("v2") {
        " (Alibaba's newer documents call the HMAC-SHA1 signature, v1 here, \"V2\")"
    } else {
        ""
    };
    format!("{source} must be {}, not {value:?}{hint}", sign::choices())
}

impl CallOptions {
    /// Waits for `fut` (work done for this caller by someone else, such as a call shared with
    /// other operations), unless this caller cancels or its deadline passes first.
    pub async fn bound<T>(
        &self,
        api: &'static str,
        fut: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        bounded(fut, self, api, || {
            "a call shared with other operations".to_owned()
        })
        .await
    }

    /// Options for a call made for several callers: it may run until the latest of their
    /// deadlines (none if one of them has none). Callers leaving is handled by the caller.
    pub fn latest<'a>(all: impl IntoIterator<Item = &'a CallOptions>) -> CallOptions {
        let mut deadline = None;
        let mut unbounded = false;
        for o in all {
            match o.deadline {
                Some(d) => deadline = Some(deadline.map_or(d, |x: Instant| x.max(d))),
                None => unbounded = true,
            }
        }
        CallOptions {
            deadline: if unbounded { None } else { deadline },
            cancel: CancellationToken::new(),
        }
    }
}

/// Waits for `fut`, unless the caller cancels or its deadline passes first.
async fn bounded<T>(
    fut: impl std::future::Future<Output = Result<T, Error>>,
    opts: &CallOptions,
    api: &'static str,
    endpoint: impl FnOnce() -> String,
) -> Result<T, Error> {
    let deadline = async {
        match opts.deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        _ = opts.cancel.cancelled() => Err(Error::Cancelled),
        _ = deadline => Err(Error::Timeout {
            api,
            endpoint: endpoint(),
            reason: "the operation's deadline passed".to_owned(),
        }),
        r = fut => r,
    }
}

impl Transport {
    /// Builds the transport for `products` from the provider block and the environment. No
    /// network: endpoints, proxies and limits are checked here.
    pub fn new(
        settings: &Settings,
        env: &Environment,
        products: &[&Product],
    ) -> Result<Self, Error> {
        for (name, d) in [
            ("client_connect_timeout", settings.client_connect_timeout),
            ("client_read_timeout", settings.client_read_timeout),
        ] {
            if d.is_zero() {
                return Err(Error::Config(format!("{name} must be more than zero")));
            }
        }
        let rate = match settings.max_requests_per_second {
            None => DEFAULT_RATE,
            Some(r) if r.is_finite() && r > 0.0 => r,
            Some(r) => {
                return Err(Error::Config(format!(
                    "max_requests_per_second must be a positive number, not {r}"
                )));
            }
        };
        let mut endpoints = HashMap::new();
        for p in products {
            let setting = settings.endpoint(p.endpoint.key);
            endpoints.insert(
                p.endpoint.key,
                Endpoint::resolve(&p.endpoint, setting, env, settings.protocol)?,
            );
        }
        Ok(Transport {
            http_config: http::HttpConfig::new(settings, env)?,
            http: std::sync::OnceLock::new(),
            endpoints,
            limits: Limits {
                ceiling: rate,
                dir: if share_rate_limit(settings, env)? {
                    shared_bucket::cache_dir(env)
                        .map(|d| d.join(shared_bucket::CACHE_SUBDIR).join("ratelimit"))
                } else {
                    None
                },
                wall: Wall::new(),
                buckets: Mutex::new(HashMap::new()),
                files: Mutex::new(HashMap::new()),
            },
            clock: env.clock().clone(),
            max_retry_timeout: settings.max_retry_timeout,
            timeouts: TimeoutSettings {
                connect: settings.client_connect_timeout,
                read: settings.client_read_timeout,
            },
            scheme: sign_scheme(settings, env)?,
        })
    }

    /// The signature calls are made with.
    pub fn scheme(&self) -> &'static Scheme {
        self.scheme
    }

    /// Seconds since the Unix epoch that every provider process of the machine agrees on.
    pub(crate) fn wall(&self) -> Wall {
        self.limits.wall
    }

    /// A file shared with the machine's other provider processes for this account, `product`,
    /// region and endpoint: `kind` names its directory (beside the rate-limit buckets), `what`
    /// tells it from the other files of that kind (hashed with the rest into its name, so no
    /// key and no filter is written in it). `None` when sharing is off (`share_rate_limit`) or
    /// the file cannot be opened.
    pub(crate) async fn shared_file(
        &self,
        kind: &str,
        what: &str,
        product: &Product,
        region_id: &str,
        auth: Auth<'_>,
    ) -> Option<Arc<shared_bucket::SharedFile>> {
        let dir = self.limits.dir.as_ref()?.parent()?.join(kind);
        let account = match auth {
            Auth::Signed(cache) => cache.get().await.ok()?.access_key_id.clone(),
            Auth::Anonymous => String::new(),
        };
        let endpoint = self.url(product, Some(region_id)).ok()?;
        let name = shared_bucket::file_name(
            &account,
            region_id,
            &format!("{} {endpoint} {kind} {what}", product.name),
            0.0,
        );
        let path = dir.join(&name);
        let mut files = self.limits.files.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = files.get(&path) {
            return Some(f.clone());
        }
        match shared_bucket::SharedFile::open(&dir, &name) {
            Ok(f) => {
                let f = Arc::new(f);
                files.insert(path, f.clone());
                Some(f)
            }
            Err(e) => {
                tracing::debug!(dir = %dir.display(), error = %e, "cannot open a file shared with the machine's other provider processes");
                None
            }
        }
    }

    fn url(&self, product: &Product, region_id: Option<&str>) -> Result<Url, Error> {
        match self.endpoints.get(product.endpoint.key) {
            Some(e) => e.url_for(region_id),
            None => Err(Error::Config(format!(
                "no endpoint was set up for the {} API",
                product.name
            ))),
        }
    }

    /// The rate the limiter of this account, region and product allows now, in requests per
    /// second, while this process's requests queue for it (the quota sets the pace); `None`
    /// when none do or the credentials cannot be had.
    pub(crate) async fn current_rate(
        &self,
        product: &Product,
        region_id: &str,
        auth: Auth<'_>,
    ) -> Option<f64> {
        let account = match auth {
            Auth::Signed(cache) => cache.get().await.ok()?.access_key_id.clone(),
            Auth::Anonymous => String::new(),
        };
        let url = self.url(product, Some(region_id)).ok()?;
        let limiter = self.limits.bucket(&account, region_id, product.name, &url);
        limiter.saturated().then(|| limiter.current_rate())
    }

    /// Calls `req.action` of `product` and decodes the answer, retrying transient failures
    /// (and `req.retry_also`) with jittered backoff within `max_retry_timeout` and the caller's
    /// deadline. Temporary credentials refused as expired are renewed and the call made again,
    /// once.
    pub async fn call<T: Answer>(
        &self,
        product: &Product,
        req: &Request<'_>,
        auth: Auth<'_>,
        opts: &CallOptions,
    ) -> Result<T, Error> {
        let api = product.name;
        let url = self.url(product, req.region_id)?;
        let endpoint = || url.to_string();
        // Set when the first attempt goes out: `max_retry_timeout` bounds retrying, not the
        // wait for our own rate limiter's first token (under a small quota, a call queued
        // behind hundreds of others would otherwise give up at its first throttling answer).
        let mut give_up_at = None;
        let mut retry: u32 = 0;
        let mut renewed = false;
        loop {
            if opts.cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let creds = match auth {
                Auth::Signed(cache) => Some(
                    bounded(
                        async { cache.get().await.map_err(Error::from) },
                        opts,
                        api,
                        endpoint,
                    )
                    .await?,
                ),
                Auth::Anonymous => None,
            };
            let limiter = self.limits.bucket(
                creds.as_ref().map_or("", |c| c.access_key_id.as_str()),
                req.region_id.unwrap_or(""),
                api,
                &url,
            );
            let sent = bounded(
                async {
                    Ok(if req.ahead {
                        limiter.acquire_ahead().await
                    } else {
                        limiter.acquire().await
                    })
                },
                opts,
                api,
                endpoint,
            )
            .await?;
            let give_up_at = *give_up_at.get_or_insert_with(|| {
                let retry_until = clock::monotonic_now() + self.max_retry_timeout;
                opts.deadline.map_or(retry_until, |d| d.min(retry_until))
            });
            let attempt = retry + 1;
            let result = bounded(
                self.attempt::<T>(product, &url, req, creds.as_deref(), attempt),
                opts,
                api,
                endpoint,
            )
            .await;
            let err = match result {
                Ok(v) => {
                    limiter.on_accepted();
                    return Ok(v);
                }
                Err(e) => e,
            };
            if matches!(err, Error::Api(_)) && !err.is_throttling() {
                // Refused, but counted against the quota like any answer.
                limiter.on_accepted();
            }
            if let (Auth::Signed(cache), Some(creds)) = (auth, &creds)
                && err.code() == Some(EXPIRED_TOKEN)
                && creds.expires.is_some()
                && !renewed
            {
                tracing::debug!(
                    product = api,
                    action = req.action,
                    request_id = err.request_id().unwrap_or(""),
                    "temporary credentials refused as expired: renewing them and calling again"
                );
                cache.expire(creds);
                renewed = true;
                continue;
            }
            if !(err.is_retryable() || err.code().is_some_and(|c| req.retry_also.contains(&c))) {
                return Err(err);
            }
            if req.creates && matches!(err, Error::Timeout { .. } | Error::Transport { .. }) {
                tracing::warn!(
                    product = api,
                    action = req.action,
                    attempts = attempt,
                    "not retrying: the answer was lost and the call may have taken effect"
                );
                return Err(err);
            }
            if matches!(err, Error::Timeout { .. })
                && opts.deadline.is_some_and(|d| clock::monotonic_now() >= d)
            {
                return Err(err);
            }
            let decision = err.is_throttling().then(|| limiter.on_throttled(sent));
            let delay = backoff_delay(retry);
            if clock::monotonic_now() + delay >= give_up_at {
                tracing::warn!(
                    product = api,
                    action = req.action,
                    attempts = attempt,
                    code = err.code().unwrap_or(""),
                    request_id = err.request_id().unwrap_or(""),
                    "giving up retrying: max_retry_timeout or the operation's timeout reached"
                );
                return Err(err);
            }
            retry += 1;
            let msg = "retrying";
            if let Some(decision) = decision {
                let why = match decision {
                    Decision::Cut => "slowing down",
                    Decision::SameEpisode => "already slowed down",
                    Decision::Tolerated => {
                        "refusals that do not depend on our rate, not slowing down"
                    }
                    Decision::Restored => "slowing down did not reduce the refusals: rate restored",
                };
                tracing::warn!(
                    product = api,
                    action = req.action,
                    region_id = req.region_id.unwrap_or(""),
                    attempt,
                    code = err.code().unwrap_or(""),
                    request_id = err.request_id().unwrap_or(""),
                    wait_ms = delay.as_millis() as u64,
                    rate_per_second = limiter.current_rate(),
                    "throttled by the API ({why}): {msg}"
                );
            } else {
                tracing::debug!(
                    product = api,
                    action = req.action,
                    region_id = req.region_id.unwrap_or(""),
                    attempt,
                    code = err.code().unwrap_or(""),
                    request_id = err.request_id().unwrap_or(""),
                    wait_ms = delay.as_millis() as u64,
                    error = %err,
                    "transient failure: {msg}"
                );
            }
            bounded(
                async {
                    tokio::time::sleep(delay).await;
                    Ok(())
                },
                opts,
                api,
                endpoint,
            )
            .await?;
        }
    }

    /// One request: a fresh nonce and timestamp every time, signed when there are credentials.
    async fn attempt<T: Answer>(
        &self,
        product: &Product,
        url: &Url,
        req: &Request<'_>,
        creds: Option<&Credentials>,
        attempt: u32,
    ) -> Result<T, Error> {
        let api = product.name;
        let mut params: Vec<(&str, &str)> = vec![("Format", "JSON")];
        if let Some(region_id) = req.region_id {
            params.push(("RegionId", region_id));
        }
        params.extend(req.params.iter().map(|(k, v)| (*k, v.as_str())));
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let call = Call {
            method: "POST",
            host: &host,
            action: req.action,
            version: product.version,
            params: &params,
        };
        let key = creds.map(|c| Key {
            access_key_id: &c.access_key_id,
            secret: c.access_key_secret.expose(),
            security_token: c.security_token.as_ref().map(|t| t.expose()),
        });
        let nonce = self.clock.nonce();
        let stamp = Stamp {
            time: self.clock.now_utc(),
            nonce: &nonce,
        };
        let signed = (self.scheme.sign)(&call, key.as_ref(), &stamp);
        // Secrets we sent that an answer might echo: keys, tokens, OIDC tokens.
        let redactor = Redactor::new(
            creds
                .map(|c| {
                    std::iter::once(c.access_key_secret.expose())
                        .chain(c.security_token.as_ref().map(|t| t.expose()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
                .into_iter()
                .chain(
                    req.params
                        .iter()
                        .filter(|(k, _)| SECRET_PARAMS.contains(k))
                        .map(|(_, v)| v.as_str()),
                ),
        );

        let started = clock::monotonic_now();
        let log = |status: u16, request_id: &str, outcome: &str| {
            tracing::debug!(
                product = api,
                action = req.action,
                region_id = req.region_id.unwrap_or(""),
                attempt,
                http_status = status,
                duration_ms = started.elapsed().as_secs_f64() * 1000.0,
                request_id,
                outcome,
                "API call"
            );
        };
        let client = http::lazy_client(&self.http, || self.http_config.build())?;
        let mut target = url.clone();
        if !signed.query.is_empty() {
            target.set_query(Some(&signed.query));
        }
        let mut request = client.post(target);
        for (name, value) in signed.headers {
            request = request.header(name, value);
        }
        if let Some(body) = signed.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, body.content_type)
                .body(body.bytes);
        }
        let sent = request.send().await;
        let resp = sent.map_err(|e| {
            let err = http::transport_error(api, e, url, &self.timeouts);
            log(0, "", &err.to_string());
            err
        })?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(|e| {
            let err = http::transport_error(api, e, url, &self.timeouts);
            log(status, "", &err.to_string());
            err
        })?;
        let obj = answer_object(product, status, &body, &redactor).inspect_err(|e| {
            log(
                status,
                e.request_id().unwrap_or(""),
                e.code().unwrap_or("invalid answer"),
            );
        })?;
        let request_id =
            redactor.apply(obj.get("RequestId").and_then(|v| v.as_str()).unwrap_or(""));
        log(status, &request_id, "ok");
        typed_answer(product, req.action, status, &body, &redactor, obj)
    }
}

/// The first half of how the transport reads an HTTP answer: the JSON object of a success, or
/// the error envelope's error, or why the body is not the expected JSON (without quoting it
/// when the product's answers hold credentials).
pub(crate) fn answer_object(
    product: &Product,
    status: u16,
    body: &[u8],
    redactor: &Redactor,
) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    match parse_response(product.name, status, body, redactor) {
        Err(Error::InvalidResponse {
            api,
            http_status,
            reason,
            ..
        }) if product.secret_answers => Err(Error::InvalidResponse {
            api,
            http_status,
            reason,
            body_start: NOT_QUOTED.to_owned(),
        }),
        other => other,
    }
}

/// The second half: a success object as the action's answer type, which may still reject it.
pub(crate) fn typed_answer<T: Answer>(
    product: &Product,
    action: &str,
    status: u16,
    body: &[u8],
    redactor: &Redactor,
    obj: serde_json::Map<String, serde_json::Value>,
) -> Result<T, Error> {
    let invalid = |reason: String| Error::InvalidResponse {
        api: product.name,
        http_status: status,
        reason,
        body_start: if product.secret_answers {
            NOT_QUOTED.to_owned()
        } else {
            body_start(body, redactor)
        },
    };
    // serde's message quotes the value it could not read, which may echo what we sent.
    let answer: T = serde_json::from_value(serde_json::Value::Object(obj)).map_err(|e| {
        invalid(redactor.apply(&format!(
            "the {action} answer does not have the expected shape ({e})"
        )))
    })?;
    if let Some(problem) = answer.problem() {
        return Err(invalid(problem));
    }
    Ok(answer)
}

/// What an error shows instead of the start of a body that may hold new credentials.
const NOT_QUOTED: &str = "(not shown: this API's answers hold credentials)";

/// Request parameters that are secrets and must not come back in an error message.
const SECRET_PARAMS: &[&str] = &["OIDCToken"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alicloud::test_server::{Reply, TestServer};

    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Creds {
        #[allow(dead_code)]
        credentials: serde_json::Value,
    }
    impl Answer for Creds {}

    const SECRET_ANSWERS: Product = Product {
        name: "STS-like",
        version: "2015-04-01",
        endpoint: EndpointRule {
            key: "sts-like",
            setting: "sts_like_endpoint",
            env: &[],
            default_host: |_| "sts.invalid".to_owned(),
        },
        secret_answers: true,
    };

    #[tokio::test]
    async fn answers_holding_credentials_are_never_quoted() {
        for body in [
            // Truncated success: not JSON.
            r#"{"RequestId":"R","Credentials":{"AccessKeySecret":"brand-new-secret-value"#,
            // Well-formed, wrong shape.
            r#"{"RequestId":"R","Creds":{"AccessKeySecret":"brand-new-secret-value"}}"#,
        ] {
            let server = TestServer::start(move |_, _| Reply::json(200, body)).await;
            let settings = Settings {
                sts_endpoint: Some(server.url.clone()),
                ..Settings::default()
            };
            let env = Environment::from_map(Default::default(), None);
            let mut product = SECRET_ANSWERS;
            product.endpoint.key = "sts";
            let t = Transport::new(&settings, &env, &[&product]).unwrap();
            let req = Request {
                action: "AssumeRoleWithOIDC",
                region_id: None,
                params: &[],
                retry_also: &[],
                creates: false,
                ahead: false,
            };
            let err = t
                .call::<Creds>(&product, &req, Auth::Anonymous, &CallOptions::default())
                .await
                .err()
                .expect("an invalid answer");
            let text = err.to_string();
            assert!(matches!(err, Error::InvalidResponse { .. }), "{text}");
            assert!(!text.contains("brand-new-secret-value"), "{text}");
            assert!(text.contains(NOT_QUOTED), "{text}");
        }
    }

    /// Found by the api_response fuzz target: the shape error quoted an unredacted value.
    #[test]
    fn shape_errors_never_show_a_sent_secret() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(rename_all = "PascalCase")]
        struct Toggled {
            #[allow(dead_code)]
            success: bool,
        }
        impl Answer for Toggled {}
        let secret = "CAIS/sent+token==";
        let redactor = Redactor::new([secret]);
        let mut product = SECRET_ANSWERS;
        product.secret_answers = false;
        let body = format!(r#"{{"RequestId":"R","Success":"echo {secret}"}}"#);
        let obj = answer_object(&product, 200, body.as_bytes(), &redactor).unwrap();
        let err = typed_answer::<Toggled>(
            &product,
            "ActiveFlowLog",
            200,
            body.as_bytes(),
            &redactor,
            obj,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("expected shape"), "{err}");
        assert!(!err.contains(secret), "{err}");
        assert!(err.contains(crate::alicloud::secret::REDACTED), "{err}");
    }

    #[test]
    fn the_expired_token_code_is_not_retried_as_transient() {
        let e = Error::Api(Box::new(crate::alicloud::error::ApiError {
            http_status: 400,
            code: EXPIRED_TOKEN.into(),
            message: String::new(),
            request_id: String::new(),
            recommend: None,
            host_id: None,
        }));
        assert!(!e.is_retryable());
    }
}
