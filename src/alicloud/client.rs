//! The signed RPC transport: one [`Client`] per provider process, shared by every resource
//! call, that signs each attempt afresh, retries transient failures with jittered backoff and
//! stays under a shared request rate.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng as _;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::clock::{self, Clock};
use super::credentials::{CredentialChain, Credentials, error_chain, profile_region};
use super::endpoint::Endpoint;
use super::error::{Error, body_start, parse_response};
use super::ratelimit::{DEFAULT_RATE, RateLimiter};
use super::settings::{Environment, Settings};
use super::sign::v1 as signer;

/// The VPC API version every request names.
pub const API_VERSION: &str = "2016-04-28";

/// Environment variables naming the provider region, first set wins.
pub const ENV_REGION: &[&str] = &[
    "ALICLOUD_REGION",
    "ALIBABA_CLOUD_REGION",
    "ALIBABA_CLOUD_REGION_ID",
];

/// First backoff ceiling; doubled per attempt up to [`BACKOFF_CAP`].
pub const BACKOFF_BASE: Duration = Duration::from_millis(100);
/// Longest single wait between two attempts.
pub const BACKOFF_CAP: Duration = Duration::from_secs(5);

/// What a caller can bound one operation with.
#[derive(Clone, Default, Debug)]
pub struct CallOptions {
    /// No attempt starts, and none stays in flight, past this instant.
    pub deadline: Option<Instant>,
    /// Cancels a wait or an in-flight request at once.
    pub cancel: CancellationToken,
}

/// Which extra answers an action may retry beyond the generally transient ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetryPolicy {
    /// Only transient failures.
    Default,
    /// ActiveFlowLog / DeactiveFlowLog: also the conflicts of a flow log being changed by
    /// another task, which clear by themselves. Status errors are not retried: the resource
    /// describes the flow log again and decides.
    FlowLogToggle,
}

const TOGGLE_CONFLICT_CODES: &[&str] =
    &["TaskConflict", "LastTokenProcessing", "OperationConflict"];

impl RetryPolicy {
    pub(crate) fn should_retry(self, err: &Error) -> bool {
        err.is_retryable()
            || (self == RetryPolicy::FlowLogToggle
                && err
                    .code()
                    .is_some_and(|c| TOGGLE_CONFLICT_CODES.contains(&c)))
    }
}

/// The longest wait before attempt `retry + 1` (`retry` counts from 0): exponential, capped.
pub(crate) fn backoff_ceiling(retry: u32) -> Duration {
    BACKOFF_BASE
        .saturating_mul(2u32.saturating_pow(retry.min(16)))
        .min(BACKOFF_CAP)
}

/// "Full jitter": a uniformly random wait up to the ceiling, so parallel callers that failed
/// together do not come back together.
pub(crate) fn backoff_delay(retry: u32) -> Duration {
    let ceiling = backoff_ceiling(retry);
    ceiling.mul_f64(rand::rng().random_range(0.0..=1.0))
}

/// A decoded success answer, with a chance to reject a well-formed but unusable one.
pub(crate) trait Answer: DeserializeOwned {
    /// Why this answer cannot be used, if it cannot.
    fn problem(&self) -> Option<String> {
        None
    }
}

/// The Alibaba Cloud VPC client. Cheap to clone: clones share connections, credentials and
/// the rate limiter.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    endpoint: Endpoint,
    region: Option<String>,
    credentials: CredentialChain,
    limiter: RateLimiter,
    clock: Arc<dyn Clock>,
    max_retry_timeout: Duration,
    timeouts: TimeoutSettings,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.endpoint)
            .field("region", &self.inner.region)
            .finish_non_exhaustive()
    }
}

fn user_agent(settings: &Settings) -> String {
    let mut ua = format!(
        "terraform-provider-alicloud-rs/{}",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(v) = settings
        .terraform_version
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        ua.push_str(" Terraform/");
        ua.push_str(v);
    }
    if let Some(s) = settings
        .configuration_source
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        ua.push(' ');
        ua.push_str(s);
    }
    // A header value must be visible ASCII; anything else the user wrote becomes '_'.
    ua.chars()
        .take(512)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Proxies from the injected environment (never reqwest's own reading of the process).
fn with_proxies(
    mut builder: reqwest::ClientBuilder,
    env: &Environment,
) -> Result<reqwest::ClientBuilder, Error> {
    builder = builder.no_proxy();
    let no_proxy = env
        .first_var(&["NO_PROXY", "no_proxy"])
        .and_then(|(_, v)| reqwest::NoProxy::from_string(v));
    // The proxy URL may carry a password: errors name the variable, never its value.
    let bad = |name: &str| {
        Error::Config(format!(
            "the {name} environment variable is not a valid proxy URL"
        ))
    };
    if let Some((name, v)) =
        env.first_var(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"])
    {
        let p = reqwest::Proxy::https(v).map_err(|_| bad(name))?;
        builder = builder.proxy(p.no_proxy(no_proxy.clone()));
    }
    if let Some((name, v)) = env.first_var(&["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
    {
        let p = reqwest::Proxy::http(v).map_err(|_| bad(name))?;
        builder = builder.proxy(p.no_proxy(no_proxy));
    }
    Ok(builder)
}

/// A certificate or TLS failure: another attempt would fail the same way.
fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    if e.downcast_ref::<rustls::Error>().is_some() {
        return true;
    }
    // An io::Error's `source()` skips the error it wraps (hyper nests io::Errors around
    // rustls's), so look inside it explicitly.
    let next = match e.downcast_ref::<std::io::Error>() {
        Some(io) => io
            .get_ref()
            .map(|inner| inner as &(dyn std::error::Error + 'static)),
        None => e.source(),
    };
    next.is_some_and(is_tls_failure)
}

fn transport_error(e: reqwest::Error, url: &Url, settings: &TimeoutSettings) -> Error {
    let endpoint = url.to_string();
    // reqwest's top line repeats the URL; the causes say what happened.
    let reason = match std::error::Error::source(&e) {
        Some(src) => error_chain(src),
        None => e.to_string(),
    };
    if e.is_timeout() {
        let which = if e.is_connect() {
            format!(
                "no connection within client_connect_timeout ({:?})",
                settings.connect
            )
        } else {
            format!("no answer within client_read_timeout ({:?})", settings.read)
        };
        return Error::Timeout {
            endpoint,
            reason: which,
        };
    }
    Error::Transport {
        endpoint,
        retryable: !is_tls_failure(&e),
        reason,
    }
}

#[derive(Clone, Copy)]
struct TimeoutSettings {
    connect: Duration,
    read: Duration,
}

/// Waits for `fut`, unless the caller cancels or its deadline passes first.
async fn bounded<T>(
    fut: impl std::future::Future<Output = Result<T, Error>>,
    opts: &CallOptions,
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
            endpoint: endpoint(),
            reason: "the operation's deadline passed".to_owned(),
        }),
        r = fut => r,
    }
}

impl Client {
    /// Builds the client from the provider block and the environment. No network, no
    /// credentials needed yet: endpoints, proxies and limits are checked here, credentials at
    /// the first call.
    pub fn new(settings: Settings, env: Environment) -> Result<Client, Error> {
        let endpoint =
            Endpoint::resolve(settings.vpc_endpoint.as_deref(), &env, settings.protocol)?;
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
        let region = settings
            .region
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .or_else(|| env.first_var(ENV_REGION).map(|(_, v)| v.trim().to_owned()))
            .or_else(|| profile_region(&settings, &env));

        let builder = reqwest::Client::builder()
            .user_agent(user_agent(&settings))
            .connect_timeout(settings.client_connect_timeout)
            .read_timeout(settings.client_read_timeout)
            // A signed POST is never re-sent somewhere else; a redirect is an invalid answer.
            .redirect(reqwest::redirect::Policy::none());
        let http = with_proxies(builder, &env)?.build().map_err(|e| {
            Error::Config(format!("cannot build the HTTP client: {}", error_chain(&e)))
        })?;
        let clock = env.clock().clone();
        let timeouts = TimeoutSettings {
            connect: settings.client_connect_timeout,
            read: settings.client_read_timeout,
        };
        let max_retry_timeout = settings.max_retry_timeout;
        let credentials = CredentialChain::new(settings, env).map_err(|e| {
            Error::Config(format!(
                "cannot build the metadata HTTP client: {}",
                error_chain(&e)
            ))
        })?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                endpoint,
                region,
                credentials,
                limiter: RateLimiter::new(rate, rate.max(1.0)),
                clock,
                max_retry_timeout,
                timeouts,
            }),
        })
    }

    /// The provider region: the block's, else the environment's, else the profile's.
    pub fn region(&self) -> Option<&str> {
        self.inner.region.as_deref()
    }

    /// The credentials the next call will sign with (resolving them if not done yet).
    pub async fn credentials(&self) -> Result<Arc<Credentials>, Error> {
        Ok(self.inner.credentials.get().await?)
    }

    /// Calls `action` in `region_id` and decodes the answer, retrying per `policy`.
    pub(crate) async fn call<T: Answer>(
        &self,
        action: &'static str,
        region_id: &str,
        params: &[(&'static str, String)],
        policy: RetryPolicy,
        opts: &CallOptions,
    ) -> Result<T, Error> {
        let url = self.inner.endpoint.url_for(region_id)?;
        let endpoint = || url.to_string();
        let started = clock::monotonic_now();
        let retry_until = started + self.inner.max_retry_timeout;
        let give_up_at = match opts.deadline {
            Some(d) => d.min(retry_until),
            None => retry_until,
        };
        let mut retry: u32 = 0;
        loop {
            if opts.cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let creds = bounded(self.credentials(), opts, endpoint).await?;
            bounded(
                async {
                    self.inner.limiter.acquire().await;
                    Ok(())
                },
                opts,
                endpoint,
            )
            .await?;
            let result = bounded(
                self.attempt::<T>(&url, action, region_id, params, &creds),
                opts,
                endpoint,
            )
            .await;
            let err = match result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if !policy.should_retry(&err) {
                return Err(err);
            }
            if matches!(err, Error::Timeout { .. })
                && opts.deadline.is_some_and(|d| clock::monotonic_now() >= d)
            {
                return Err(err);
            }
            if err.is_throttling() {
                self.inner.limiter.on_throttled();
                tracing::debug!(
                    rate_per_second = self.inner.limiter.current_rate(),
                    "throttled: slowing down"
                );
            }
            let delay = backoff_delay(retry);
            if clock::monotonic_now() + delay >= give_up_at {
                tracing::debug!(
                    action,
                    attempts = retry + 1,
                    code = err.code().unwrap_or(""),
                    request_id = err.request_id().unwrap_or(""),
                    "giving up retrying: out of time"
                );
                return Err(err);
            }
            retry += 1;
            tracing::debug!(
                action,
                region_id,
                attempt = retry,
                code = err.code().unwrap_or(""),
                request_id = err.request_id().unwrap_or(""),
                delay_ms = delay.as_millis() as u64,
                error = %err,
                "retrying a transient failure"
            );
            bounded(
                async {
                    tokio::time::sleep(delay).await;
                    Ok(())
                },
                opts,
                endpoint,
            )
            .await?;
        }
    }

    /// One signed request: a fresh nonce and timestamp every time.
    async fn attempt<T: Answer>(
        &self,
        url: &Url,
        action: &'static str,
        region_id: &str,
        params: &[(&'static str, String)],
        creds: &Credentials,
    ) -> Result<T, Error> {
        let mut form: Vec<(&str, String)> = vec![
            ("Action", action.to_owned()),
            ("Version", API_VERSION.to_owned()),
            ("Format", "JSON".to_owned()),
            ("AccessKeyId", creds.access_key_id.clone()),
            ("SignatureMethod", "HMAC-SHA1".to_owned()),
            ("SignatureVersion", "1.0".to_owned()),
            ("SignatureNonce", self.inner.clock.nonce()),
            (
                "Timestamp",
                clock::format_timestamp(self.inner.clock.now_utc()),
            ),
            ("RegionId", region_id.to_owned()),
        ];
        if let Some(token) = &creds.security_token {
            form.push(("SecurityToken", token.expose().to_owned()));
        }
        form.extend(params.iter().map(|(k, v)| (*k, v.clone())));
        let signature = signer::sign(
            "POST",
            form.iter().map(|(k, v)| (*k, v.as_str())),
            creds.access_key_secret.expose(),
        );
        form.push(("Signature", signature));
        tracing::trace!(action, region_id, url = %url, "calling the VPC API");

        let timeouts = &self.inner.timeouts;
        let resp = self
            .inner
            .http
            .post(url.clone())
            .form(&form)
            .send()
            .await
            .map_err(|e| transport_error(e, url, timeouts))?;
        let status = resp.status().as_u16();
        let body = resp
            .bytes()
            .await
            .map_err(|e| transport_error(e, url, timeouts))?;
        let redactor = creds.redactor();
        let obj = parse_response(status, &body, &redactor)?;
        let invalid = |reason: String| Error::InvalidResponse {
            http_status: status,
            reason,
            body_start: body_start(&body, &redactor),
        };
        let answer: T = serde_json::from_value(serde_json::Value::Object(obj)).map_err(|e| {
            invalid(format!(
                "the {action} answer does not have the expected shape ({e})"
            ))
        })?;
        if let Some(problem) = answer.problem() {
            return Err(invalid(problem));
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alicloud::credentials::Secret;
    use crate::alicloud::error::CredentialsError;
    use crate::alicloud::test_server::{Reply, Request, TestServer};
    use crate::alicloud::vpc::DescribeFlowLogsRequest;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const OK: &str = r#"{"RequestId":"req-ok","Success":"true"}"#;

    fn env(vars: &[(&str, &str)]) -> Environment {
        Environment::from_map(
            vars.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>(),
            None,
        )
    }

    fn settings(endpoint: &str) -> Settings {
        Settings {
            access_key: Some("test-ak".into()),
            secret_key: Some(Secret::new("test-secret-key")),
            vpc_endpoint: Some(endpoint.to_owned()),
            max_retry_timeout: Duration::from_secs(10),
            ..Settings::default()
        }
    }

    fn client(s: Settings) -> Client {
        Client::new(s, env(&[])).unwrap()
    }

    fn opts() -> CallOptions {
        CallOptions::default()
    }

    #[tokio::test]
    async fn a_signed_request_has_every_common_parameter() {
        let server = TestServer::start(|_, _| Reply::json(200, OK)).await;
        let s = Settings {
            security_token: Some(Secret::new("sts-token-value")),
            terraform_version: Some("1.11.4".into()),
            configuration_source: Some("team/stack ü".into()),
            ..settings(&server.url)
        };
        let c = client(s);
        let r = c
            .active_flow_log("cn-hangzhou", "fl-123", &opts())
            .await
            .unwrap();
        assert_eq!(r.request_id, "req-ok");
        let reqs = server.requests();
        assert_eq!(reqs.len(), 1);
        let req = &reqs[0];
        assert_eq!(req.method, "POST");
        assert_eq!(req.target, "/");
        assert!(
            req.header("content-type")
                .unwrap()
                .starts_with("application/x-www-form-urlencoded")
        );
        let ua = req.header("user-agent").unwrap();
        assert_eq!(
            ua,
            format!(
                "terraform-provider-alicloud-rs/{} Terraform/1.11.4 team/stack _",
                env!("CARGO_PKG_VERSION")
            )
        );
        let form = req.form();
        for (k, v) in [
            ("Action", "ActiveFlowLog"),
            ("Version", "2016-04-28"),
            ("Format", "JSON"),
            ("AccessKeyId", "test-ak"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("RegionId", "cn-hangzhou"),
            ("FlowLogId", "fl-123"),
            ("SecurityToken", "sts-token-value"),
        ] {
            assert_eq!(form.get(k).map(String::as_str), Some(v), "{k}");
        }
        assert!(uuid::Uuid::parse_str(&form["SignatureNonce"]).is_ok());
        let ts = &form["Timestamp"];
        assert!(
            time::PrimitiveDateTime::parse(
                ts,
                time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z")
            )
            .is_ok(),
            "{ts}"
        );
        let expected = signer::sign(
            "POST",
            form.iter()
                .filter(|(k, _)| *k != "Signature")
                .map(|(k, v)| (k.as_str(), v.as_str())),
            "test-secret-key",
        );
        assert_eq!(form["Signature"], expected);
        assert!(!req.body.contains("test-secret-key"));
    }

    fn nth_then_ok(
        fail: usize,
        reply: fn() -> Reply,
    ) -> impl Fn(usize, &Request) -> Reply + Send + Sync {
        move |i, _| {
            if i < fail {
                reply()
            } else {
                Reply::json(200, OK)
            }
        }
    }

    #[tokio::test]
    async fn transient_failures_are_retried_with_fresh_signatures() {
        let server =
            TestServer::start(nth_then_ok(2, || Reply::error(400, "Throttling.User"))).await;
        let c = client(settings(&server.url));
        c.deactive_flow_log("cn-hangzhou", "fl-1", &opts())
            .await
            .unwrap();
        let reqs = server.requests();
        assert_eq!(reqs.len(), 3);
        let nonces: std::collections::HashSet<_> = reqs
            .iter()
            .map(|r| r.form()["SignatureNonce"].clone())
            .collect();
        assert_eq!(nonces.len(), 3, "each attempt has its own nonce");

        let server =
            TestServer::start(nth_then_ok(1, || Reply::html(503, "<html>busy</html>"))).await;
        let c = client(settings(&server.url));
        c.active_flow_log("cn-hangzhou", "fl-1", &opts())
            .await
            .unwrap();
        assert_eq!(server.count(), 2);

        let server = TestServer::start(nth_then_ok(1, || Reply::error(500, "InternalError"))).await;
        let c = client(settings(&server.url));
        c.describe_flow_logs(
            &DescribeFlowLogsRequest {
                region_id: "cn-hangzhou".into(),
                ..Default::default()
            },
            &opts(),
        )
        .await
        .unwrap();
        assert_eq!(server.count(), 2);
    }

    #[tokio::test]
    async fn conflicts_are_retried_only_for_toggles() {
        let server = TestServer::start(nth_then_ok(1, || Reply::error(400, "TaskConflict"))).await;
        let c = client(settings(&server.url));
        c.active_flow_log("cn-hangzhou", "fl-1", &opts())
            .await
            .unwrap();
        assert_eq!(server.count(), 2);

        let conflict = Error::Api(Box::new(crate::alicloud::ApiError {
            http_status: 400,
            code: "LastTokenProcessing".into(),
            message: String::new(),
            request_id: String::new(),
            recommend: None,
            host_id: None,
        }));
        assert!(RetryPolicy::FlowLogToggle.should_retry(&conflict));
        assert!(!RetryPolicy::Default.should_retry(&conflict));
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        for code in [
            "SignatureDoesNotMatch",
            "InvalidAccessKeyId.NotFound",
            "InvalidParameter",
            "IncorrectStatus.flowlog",
            "InvalidStatus",
            "InvalidTimeStamp.Expired",
        ] {
            let server = TestServer::start(move |_, _| Reply::error(400, code)).await;
            let c = client(settings(&server.url));
            let err = c
                .active_flow_log("cn-hangzhou", "fl-1", &opts())
                .await
                .unwrap_err();
            assert_eq!(err.code(), Some(code));
            assert_eq!(err.request_id(), Some(format!("req-{code}").as_str()));
            assert_eq!(server.count(), 1, "{code} must not be retried");
        }
    }

    #[tokio::test]
    async fn retries_stop_at_max_retry_timeout() {
        let server = TestServer::start(|_, _| Reply::error(503, "ServiceUnavailable")).await;
        let c = client(Settings {
            max_retry_timeout: Duration::from_millis(700),
            ..settings(&server.url)
        });
        let start = std::time::Instant::now();
        let err = c
            .active_flow_log("cn-hangzhou", "fl-1", &opts())
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("ServiceUnavailable"));
        assert!(
            start.elapsed() < Duration::from_millis(3000),
            "{:?}",
            start.elapsed()
        );
        assert!(server.count() >= 2, "{}", server.count());
    }

    #[tokio::test]
    async fn retries_stop_at_the_callers_deadline() {
        let server = TestServer::start(|_, _| Reply::error(400, "Throttling")).await;
        let c = client(Settings {
            max_retry_timeout: Duration::from_secs(60),
            ..settings(&server.url)
        });
        let start = std::time::Instant::now();
        let o = CallOptions {
            deadline: Some(Instant::now() + Duration::from_millis(600)),
            ..CallOptions::default()
        };
        let err = c
            .active_flow_log("cn-hangzhou", "fl-1", &o)
            .await
            .unwrap_err();
        // The last answer, or (on a loaded machine) the attempt the deadline cut short.
        assert!(
            err.code() == Some("Throttling") || matches!(err, Error::Timeout { .. }),
            "{err:?}"
        );
        assert!(
            start.elapsed() < Duration::from_millis(2500),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test]
    async fn a_deadline_interrupts_a_request_in_flight() {
        let server = TestServer::start(|_, _| Reply::Hang).await;
        let c = client(settings(&server.url));
        let start = std::time::Instant::now();
        let o = CallOptions {
            deadline: Some(Instant::now() + Duration::from_millis(300)),
            ..CallOptions::default()
        };
        let err = c
            .describe_flow_log("cn-hangzhou", "fl-1", &o)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
        assert!(err.to_string().contains("deadline"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn cancellation_interrupts_requests_and_sleeps() {
        let server = TestServer::start(|_, _| Reply::Hang).await;
        let c = client(settings(&server.url));
        let o = CallOptions::default();
        let cancel = o.cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            cancel.cancel();
        });
        let start = std::time::Instant::now();
        let err = c
            .active_flow_log("cn-hangzhou", "fl-1", &o)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Cancelled), "{err:?}");
        assert!(start.elapsed() < Duration::from_secs(2));

        // During a backoff sleep.
        let server = TestServer::start(|_, _| Reply::error(400, "Throttling")).await;
        let c = client(Settings {
            max_retry_timeout: Duration::from_secs(600),
            ..settings(&server.url)
        });
        let o = CallOptions::default();
        let cancel = o.cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(400)).await;
            cancel.cancel();
        });
        let err = c
            .active_flow_log("cn-hangzhou", "fl-1", &o)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Cancelled), "{err:?}");

        // Already cancelled: nothing is sent.
        let server = TestServer::start(|_, _| Reply::json(200, OK)).await;
        let c = client(settings(&server.url));
        let o = CallOptions::default();
        o.cancel.cancel();
        assert!(matches!(
            c.active_flow_log("cn-hangzhou", "fl-1", &o).await,
            Err(Error::Cancelled)
        ));
        assert_eq!(server.count(), 0);
    }

    #[tokio::test]
    async fn read_timeout_is_a_timeout_error() {
        let server = TestServer::start(|_, _| {
            Reply::Delayed(Duration::from_secs(5), Box::new(Reply::json(200, OK)))
        })
        .await;
        let c = client(Settings {
            client_read_timeout: Duration::from_millis(200),
            max_retry_timeout: Duration::ZERO,
            ..settings(&server.url)
        });
        let err = c
            .active_flow_log("cn-hangzhou", "fl-1", &opts())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
        assert!(err.to_string().contains("client_read_timeout"), "{err}");
        assert!(err.to_string().contains(&server.url), "{err}");
    }

    #[tokio::test]
    async fn connection_refused_names_the_endpoint() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let c = client(Settings {
            max_retry_timeout: Duration::from_millis(300),
            ..settings(&format!("http://127.0.0.1:{port}"))
        });
        let err = c
            .active_flow_log("cn-hangzhou", "fl-1", &opts())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Transport {
                    retryable: true,
                    ..
                }
            ),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    }

    #[tokio::test]
    async fn broken_bodies_are_invalid_responses() {
        for (reply, needle) in [
            (
                (|| Reply::html(200, "<!DOCTYPE html><html>login portal</html>")) as fn() -> Reply,
                "HTML",
            ),
            ((|| Reply::json(200, "")) as fn() -> Reply, "empty"),
            (
                (|| Reply::json(200, r#"{"RequestId":"x","FlowLogs":{"#)) as fn() -> Reply,
                "truncated",
            ),
            (
                (|| Reply::Http {
                    status: 200,
                    content_type: "text/xml",
                    body: b"<?xml version=\"1.0\"?><R/>".to_vec(),
                }) as fn() -> Reply,
                "XML",
            ),
            (
                (|| Reply::json(200, r#"{"RequestId":"x","Success":"maybe"}"#)) as fn() -> Reply,
                "expected shape",
            ),
            (
                (|| Reply::json(200, r#"{"RequestId":"x","Success":false}"#)) as fn() -> Reply,
                "Success=false",
            ),
        ] {
            let server = TestServer::start(move |_, _| reply()).await;
            let c = client(settings(&server.url));
            let err = c
                .active_flow_log("cn-hangzhou", "fl-1", &opts())
                .await
                .unwrap_err();
            assert!(matches!(err, Error::InvalidResponse { .. }), "{err:?}");
            assert!(err.to_string().contains(needle), "{needle}: {err}");
            assert_eq!(server.count(), 1);
        }
        // A connection closed mid-body.
        let server = TestServer::start(|_, _| {
            Reply::Raw(
                b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\nConnection: close\r\n\r\n{\"Req"
                    .to_vec(),
            )
        })
        .await;
        let c = client(Settings {
            max_retry_timeout: Duration::ZERO,
            ..settings(&server.url)
        });
        let err = c
            .active_flow_log("cn-hangzhou", "fl-1", &opts())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn missing_credentials_fail_at_the_first_call_not_at_new() {
        let server = TestServer::start(|_, _| Reply::json(200, OK)).await;
        let c = Client::new(
            Settings {
                vpc_endpoint: Some(server.url.clone()),
                ..Settings::default()
            },
            env(&[]),
        )
        .unwrap();
        let err = c
            .active_flow_log("cn-hangzhou", "fl-1", &opts())
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Credentials(CredentialsError::Missing { .. })),
            "{err:?}"
        );
        assert!(!err.is_retryable());
        assert_eq!(server.count(), 0);
    }

    fn flow_logs_page(total: usize, page: usize, size: usize) -> String {
        let start = (page - 1) * size;
        let items: Vec<String> = (start..total.min(start + size))
            .map(|i| {
                format!(
                    r#"{{"FlowLogId":"fl-{i:03}","Status":"Active","AggregationInterval":"10"}}"#
                )
            })
            .collect();
        format!(
            r#"{{"RequestId":"r{page}","Success":"true","TotalCount":"{total}","PageNumber":"{page}","PageSize":"{size}","FlowLogs":{{"FlowLog":[{}]}}}}"#,
            items.join(",")
        )
    }

    #[tokio::test]
    async fn describe_reads_every_page() {
        let server = TestServer::start(|_, req: &Request| {
            let f = req.form();
            let page: usize = f["PageNumber"].parse().unwrap();
            let size: usize = f["PageSize"].parse().unwrap();
            Reply::json(200, &flow_logs_page(120, page, size))
        })
        .await;
        let c = client(settings(&server.url));
        let req = DescribeFlowLogsRequest {
            region_id: "eu-central-1".into(),
            vpc_id: Some("vpc-1".into()),
            status: Some("Active".into()),
            ..Default::default()
        };
        let all = c.describe_flow_logs(&req, &opts()).await.unwrap();
        assert_eq!(all.len(), 120);
        assert_eq!(all[119].flow_log_id, "fl-119");
        let reqs = server.requests();
        assert_eq!(reqs.len(), 3);
        for r in &reqs {
            let f = r.form();
            assert_eq!(f["PageSize"], "50");
            assert_eq!(f["VpcId"], "vpc-1");
            assert_eq!(f["Status"], "Active");
            assert!(!f.contains_key("FlowLogName"));
        }
    }

    #[tokio::test]
    async fn describe_one_found_or_not() {
        let server = TestServer::start(|_, req: &Request| {
            if req.form()["FlowLogId"] == "fl-known" {
                Reply::json(200, r#"{"RequestId":"r","TotalCount":1,"FlowLogs":{"FlowLog":[{"FlowLogId":"fl-known","Status":"Inactive"}]}}"#)
            } else {
                Reply::json(200, r#"{"RequestId":"r","TotalCount":"0","PageNumber":"1","PageSize":"50","FlowLogs":{"FlowLog":[]}}"#)
            }
        })
        .await;
        let c = client(settings(&server.url));
        let f = c
            .describe_flow_log("cn-hangzhou", "fl-known", &opts())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(f.status, "Inactive");
        assert!(
            c.describe_flow_log("cn-hangzhou", "fl-nope", &opts())
                .await
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            c.describe_flow_log("cn-hangzhou", " ", &opts()).await,
            Err(Error::Config(_))
        ));
        assert!(matches!(
            c.active_flow_log("", "fl-1", &opts()).await,
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn new_validates_configuration_without_network() {
        let bad = |s: Settings, e: Environment| match Client::new(s, e) {
            Err(Error::Config(msg)) => msg,
            other => panic!("expected a config error, got {other:?}"),
        };
        assert!(
            bad(
                Settings {
                    vpc_endpoint: Some("ftp://x".into()),
                    ..Settings::default()
                },
                env(&[])
            )
            .contains("vpc_endpoint")
        );
        assert!(
            bad(
                Settings {
                    max_requests_per_second: Some(0.0),
                    ..Settings::default()
                },
                env(&[])
            )
            .contains("max_requests_per_second")
        );
        assert!(
            bad(
                Settings {
                    max_requests_per_second: Some(f64::NAN),
                    ..Settings::default()
                },
                env(&[])
            )
            .contains("max_requests_per_second")
        );
        assert!(
            bad(
                Settings {
                    client_read_timeout: Duration::ZERO,
                    ..Settings::default()
                },
                env(&[])
            )
            .contains("client_read_timeout")
        );
        let msg = bad(
            Settings::default(),
            env(&[("HTTPS_PROXY", "http://user:pw@[bad")]),
        );
        assert!(msg.contains("HTTPS_PROXY") && !msg.contains("pw"), "{msg}");
        // No credentials, no region, no endpoint: still fine.
        assert!(Client::new(Settings::default(), env(&[])).is_ok());
    }

    #[test]
    fn region_precedence() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".aliyun")).unwrap();
        std::fs::write(
            home.path().join(".aliyun/config.json"),
            r#"{"current":"p","profiles":[{"name":"p","mode":"AK","access_key_id":"a","access_key_secret":"b","region_id":"cn-shanghai"}]}"#,
        )
        .unwrap();
        let e = |vars: &[(&str, &str)]| {
            Environment::from_map(
                vars.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                Some(home.path().to_path_buf()),
            )
        };
        let region =
            |s: Settings, e: Environment| Client::new(s, e).unwrap().region().map(str::to_owned);
        let with_region = Settings {
            region: Some("eu-west-1".into()),
            ..Settings::default()
        };
        let vars = [
            ("ALIBABA_CLOUD_REGION", "ap-south-1"),
            ("ALIBABA_CLOUD_REGION_ID", "ap-south-2"),
        ];
        assert_eq!(region(with_region, e(&vars)).as_deref(), Some("eu-west-1"));
        assert_eq!(
            region(Settings::default(), e(&vars)).as_deref(),
            Some("ap-south-1")
        );
        assert_eq!(
            region(Settings::default(), e(&vars[1..])).as_deref(),
            Some("ap-south-2")
        );
        assert_eq!(
            region(Settings::default(), e(&[])).as_deref(),
            Some("cn-shanghai")
        );
        assert_eq!(region(Settings::default(), env(&[])), None);
    }

    #[tokio::test]
    async fn requests_go_through_the_environments_proxy_unless_no_proxy() {
        let proxy = TestServer::start(|_, _| Reply::json(200, OK)).await;
        let api = TestServer::start(|_, _| Reply::json(200, OK)).await;
        // The API host does not resolve: only a proxy can answer for it.
        let s = settings("http://vpc.test.invalid");
        let c = Client::new(s, env(&[("HTTP_PROXY", &proxy.url)])).unwrap();
        c.active_flow_log("cn-hangzhou", "fl-1", &opts())
            .await
            .unwrap();
        let reqs = proxy.requests();
        assert_eq!(reqs.len(), 1);
        assert_eq!(reqs[0].target, "http://vpc.test.invalid/");
        assert_eq!(reqs[0].form()["Action"], "ActiveFlowLog");

        let c = Client::new(
            settings(&api.url),
            env(&[
                ("http_proxy", &proxy.url),
                ("NO_PROXY", "localhost,127.0.0.1"),
            ]),
        )
        .unwrap();
        c.active_flow_log("cn-hangzhou", "fl-1", &opts())
            .await
            .unwrap();
        assert_eq!(proxy.count(), 1, "NO_PROXY must bypass the proxy");
        assert_eq!(api.count(), 1);
    }

    #[tokio::test]
    async fn clones_share_one_client() {
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let server = TestServer::start(move |_, _| {
            h.fetch_add(1, Ordering::SeqCst);
            Reply::json(200, OK)
        })
        .await;
        let c = client(settings(&server.url));
        let c2 = c.clone();
        assert!(Arc::ptr_eq(&c.inner, &c2.inner));
        let o = opts();
        let (a, b) = tokio::join!(
            c.active_flow_log("cn-hangzhou", "fl-1", &o),
            c2.active_flow_log("cn-hangzhou", "fl-2", &o)
        );
        a.unwrap();
        b.unwrap();
        assert_eq!(hits.load(Ordering::SeqCst), 2);
        assert!(!format!("{c:?}").contains("test-secret-key"));
    }

    #[tokio::test]
    async fn https_certificates_are_verified_and_failures_not_retried() {
        use rustls::pki_types::PrivateKeyDer;
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let key = PrivateKeyDer::try_from(ck.signing_key.serialize_der()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let handshakes = Arc::new(AtomicUsize::new(0));
        let h = handshakes.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                h.fetch_add(1, Ordering::SeqCst);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A self-signed certificate: a verifying client refuses the handshake.
                    let _ = acceptor.accept(stream).await;
                });
            }
        });
        let c = client(Settings {
            max_retry_timeout: Duration::from_secs(30),
            ..settings(&format!("https://localhost:{port}"))
        });
        let start = std::time::Instant::now();
        let err = c
            .active_flow_log("cn-hangzhou", "fl-1", &opts())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Transport {
                    retryable: false,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().to_ascii_lowercase().contains("certificate"),
            "{err}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "a bad certificate is not retried"
        );
        assert_eq!(handshakes.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn backoff_is_exponential_capped_and_jittered() {
        assert_eq!(backoff_ceiling(0), Duration::from_millis(100));
        assert_eq!(backoff_ceiling(1), Duration::from_millis(200));
        assert_eq!(backoff_ceiling(5), Duration::from_millis(3200));
        assert_eq!(backoff_ceiling(6), BACKOFF_CAP);
        assert_eq!(backoff_ceiling(u32::MAX), BACKOFF_CAP);
        for retry in 0..40 {
            for _ in 0..50 {
                assert!(backoff_delay(retry) <= backoff_ceiling(retry));
            }
        }
        let delays: std::collections::HashSet<_> = (0..50).map(|_| backoff_delay(4)).collect();
        assert!(delays.len() > 10, "jitter should spread the delays");
    }

    #[test]
    fn user_agent_forms() {
        let v = env!("CARGO_PKG_VERSION");
        assert_eq!(
            user_agent(&Settings::default()),
            format!("terraform-provider-alicloud-rs/{v}")
        );
        let s = Settings {
            terraform_version: Some("1.11.4".into()),
            ..Settings::default()
        };
        assert_eq!(
            user_agent(&s),
            format!("terraform-provider-alicloud-rs/{v} Terraform/1.11.4")
        );
        let s = Settings {
            configuration_source: Some("src\r\nX-Evil: 1".into()),
            ..Settings::default()
        };
        assert!(!user_agent(&s).contains('\n'));
    }
}
