//! The client of one provider process: the shared [`Transport`] (VPC and STS), the cached
//! credential chain (whose STS sources use the same transport) and the provider's region. Typed operations live with their product (`vpc`); this file only
//! puts the parts together.

use std::fmt;
use std::sync::Arc;

use super::credentials::{Cached, Credentials, StsAccess, default_credentials, profile_region};
use super::error::Error;
use super::rpc::{Auth, Transport};
use super::settings::{Environment, Settings};
use super::sts::{ENV_STS_REGION, STS};
use super::vpc::product::VPC;

/// Environment variables naming the provider region, first set wins.
pub const ENV_REGION: &[&str] = &[
    "ALICLOUD_REGION",
    "ALIBABA_CLOUD_REGION",
    "ALIBABA_CLOUD_REGION_ID",
];

/// The Alibaba Cloud client. Cheap to clone: clones share connections, credentials and the
/// rate limiter.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    /// Shared with the STS credential sources, so role renewals share connections, the rate
    /// limiter and the retry policy with every other call.
    transport: Arc<Transport>,
    region: Option<String>,
    credentials: Arc<Cached>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("transport", &self.inner.transport)
            .field("region", &self.inner.region)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds the client from the provider block and the environment. No network, no
    /// credentials needed yet: endpoints, proxies and limits are checked here, credentials at
    /// the first call.
    pub fn new(settings: Settings, env: Environment) -> Result<Client, Error> {
        let transport = Arc::new(Transport::new(&settings, &env, &[&VPC, &STS])?);
        let region = settings
            .region
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .or_else(|| env.first_var(ENV_REGION).map(|(_, v)| v.trim().to_owned()))
            .or_else(|| profile_region(&settings, &env));
        // STS is asked in its own region's endpoint: ALIBABA_CLOUD_STS_REGION, else the
        // provider's (no region: the central sts.aliyuncs.com).
        let sts = StsAccess {
            transport: transport.clone(),
            region: env
                .first_var(ENV_STS_REGION)
                .map(|(_, v)| v.trim().to_owned())
                .or_else(|| region.clone()),
        };
        let credentials = default_credentials(&settings, &env, &sts)?;
        Ok(Client {
            inner: Arc::new(Inner {
                transport,
                region,
                credentials,
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

    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// How calls are signed: with the process's cached credentials.
    pub(crate) fn auth(&self) -> Auth<'_> {
        Auth::Signed(&self.inner.credentials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alicloud::error::CredentialsError;
    use crate::alicloud::rpc::CallOptions;
    use crate::alicloud::rpc::http::user_agent;
    use crate::alicloud::rpc::retry::{BACKOFF_CAP, backoff_ceiling, backoff_delay};
    use crate::alicloud::secret::Secret;
    use crate::alicloud::sign::v1 as signer;
    use crate::alicloud::sign::v3;
    use crate::alicloud::test_server::{Reply, Request, TestServer};
    use crate::alicloud::vpc::DescribeFlowLogsRequest;
    use crate::alicloud::vpc::FlowLogStatus;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;
    use tokio::time::Instant;

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

    #[tokio::test]
    async fn a_v3_signed_request_has_every_header_and_a_form_body() {
        let server = TestServer::start(|_, _| Reply::json(200, OK)).await;
        let s = Settings {
            security_token: Some(Secret::new("sts-token-value")),
            sign_version: Some("v3".into()),
            ..settings(&server.url)
        };
        let c = client(s);
        c.active_flow_log("cn-hangzhou", "fl-123", &opts())
            .await
            .unwrap();
        let reqs = server.requests();
        let req = &reqs[0];
        assert_eq!((req.method.as_str(), req.target.as_str()), ("POST", "/"));
        let form = req.form();
        for (k, v) in [
            ("Format", "JSON"),
            ("RegionId", "cn-hangzhou"),
            ("FlowLogId", "fl-123"),
        ] {
            assert_eq!(form.get(k).map(String::as_str), Some(v), "{k}");
        }
        // No v1 field anywhere: the action, key and signature are headers.
        for k in [
            "Action",
            "AccessKeyId",
            "Signature",
            "SecurityToken",
            "Timestamp",
        ] {
            assert!(!form.contains_key(k), "{k} in {form:?}");
        }
        let h = |n: &str| req.header(n).unwrap_or_default().to_owned();
        assert_eq!(h("x-acs-action"), "ActiveFlowLog");
        assert_eq!(h("x-acs-version"), "2016-04-28");
        assert_eq!(h("x-acs-security-token"), "sts-token-value");
        assert_eq!(h("x-acs-content-sha256"), v3::hash_hex(req.body.as_bytes()));
        assert!(uuid::Uuid::parse_str(&h("x-acs-signature-nonce")).is_ok());
        assert!(
            time::PrimitiveDateTime::parse(
                &h("x-acs-date"),
                time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z")
            )
            .is_ok()
        );
        // The Authorization the server computes from what it received is the one sent.
        let auth = h("authorization");
        let names = auth
            .split("SignedHeaders=")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            names,
            "content-type;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version"
        );
        let values: Vec<(String, String)> =
            names.split(';').map(|n| (n.to_owned(), h(n))).collect();
        let headers: Vec<(&str, &str)> = values
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let payload = h("x-acs-content-sha256");
        let expected = v3::authorization(
            &v3::Request {
                method: "POST",
                path: "/",
                query: &[],
                headers: &headers,
                payload_hash: &payload,
            },
            "test-ak",
            "test-secret-key",
        );
        assert_eq!(auth, expected);
        assert!(!req.body.contains("test-secret-key") && !auth.contains("test-secret-key"));
    }

    #[test]
    fn the_signature_comes_from_the_block_then_the_environment() {
        let with = |block: Option<&str>, var: Option<&str>| {
            let s = Settings {
                sign_version: block.map(str::to_owned),
                ..settings("http://127.0.0.1:1")
            };
            let vars: Vec<(&str, &str)> = var
                .map(|v| ("ALICLOUD_SIGN_VERSION_VPC", v))
                .into_iter()
                .collect();
            Client::new(s, env(&vars)).map(|c| c.transport().scheme().name)
        };
        assert_eq!(with(None, None).unwrap(), "v1");
        assert_eq!(with(None, Some("v3")).unwrap(), "v3");
        assert_eq!(with(Some("V1"), Some("v3")).unwrap(), "v1");
        assert_eq!(with(Some("v3"), None).unwrap(), "v3");
        let err = with(None, Some("v2")).unwrap_err().to_string();
        assert!(
            err.contains("ALICLOUD_SIGN_VERSION_VPC") && err.contains("\"V2\""),
            "{err}"
        );
        let err = with(Some("ACS3"), None).unwrap_err().to_string();
        assert!(
            err.contains("sign_version.vpc must be \"v1\" or \"v3\""),
            "{err}"
        );
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

        let conflict = Error::Api(Box::new(crate::alicloud::error::ApiError {
            http_status: 400,
            code: "LastTokenProcessing".into(),
            message: String::new(),
            request_id: String::new(),
            recommend: None,
            host_id: None,
        }));
        // Retried by the toggles (their `retry_also`), not by describes (generally transient only).
        assert!(
            crate::alicloud::vpc::product::TOGGLE_CONFLICT_CODES
                .contains(&conflict.code().unwrap())
        );
        assert!(!conflict.is_retryable());
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

    /// `max_retry_timeout` bounds retrying, not the wait for the limiter's first token: a call
    /// that queued behind others for longer than it and is then throttled once is retried.
    #[tokio::test]
    async fn the_wait_for_the_first_token_does_not_count_against_max_retry_timeout() {
        let hits = Arc::new(AtomicUsize::new(0));
        let seen = hits.clone();
        let server = TestServer::start(move |_, _| {
            if seen.fetch_add(1, Ordering::SeqCst) == 9 {
                Reply::error(400, "Throttling.User")
            } else {
                Reply::json(200, OK)
            }
        })
        .await;
        let c = Arc::new(client(Settings {
            max_retry_timeout: Duration::from_millis(800),
            max_requests_per_second: Some(6.0),
            share_rate_limit: Some(false),
            ..settings(&server.url)
        }));
        let calls = (0..12).map(|i| {
            let c = c.clone();
            async move {
                c.active_flow_log("cn-hangzhou", &format!("fl-{i}"), &opts())
                    .await
            }
        });
        let results = futures_util::future::join_all(calls).await;
        for r in &results {
            assert!(r.is_ok(), "{r:?}");
        }
        assert_eq!(hits.load(Ordering::SeqCst), 13, "12 calls and one retry");
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

    /// Once the first page has told how many there are, the other pages are asked for
    /// together (each still through the rate limiter), not one after another.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn describe_asks_for_the_later_pages_together() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let in_flight = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (i, m) = (in_flight.clone(), most.clone());
        let server = TestServer::start(move |_, req: &Request| {
            let f = req.form();
            let page: usize = f["PageNumber"].parse().unwrap();
            let size: usize = f["PageSize"].parse().unwrap();
            let now = i.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(150));
            i.fetch_sub(1, Ordering::SeqCst);
            Reply::json(200, &flow_logs_page(160, page, size))
        })
        .await;
        let c = client(settings(&server.url));
        let req = DescribeFlowLogsRequest {
            region_id: "eu-central-1".into(),
            ..Default::default()
        };
        let all = c.describe_flow_logs(&req, &opts()).await.unwrap();
        assert_eq!(all.len(), 160);
        let pages: Vec<String> = server
            .requests()
            .iter()
            .map(|r| r.form()["PageNumber"].clone())
            .collect();
        assert_eq!(pages.len(), 4, "{pages:?}");
        assert_eq!(pages[0], "1");
        assert!(
            most.load(Ordering::SeqCst) >= 2,
            "pages 2 to 4 one at a time"
        );
    }

    /// A region that grows while it is listed: the pages the first one did not announce are
    /// read too.
    #[tokio::test]
    async fn describe_follows_a_listing_that_grows() {
        let server = TestServer::start(|n, req: &Request| {
            let f = req.form();
            let page: usize = f["PageNumber"].parse().unwrap();
            let size: usize = f["PageSize"].parse().unwrap();
            // The first answer counts 100 flow logs; by the next, 130 exist.
            let total = if n == 0 { 100 } else { 130 };
            Reply::json(200, &flow_logs_page(total, page, size))
        })
        .await;
        let c = client(settings(&server.url));
        let req = DescribeFlowLogsRequest {
            region_id: "eu-central-1".into(),
            ..Default::default()
        };
        let all = c.describe_flow_logs(&req, &opts()).await.unwrap();
        assert_eq!(all.len(), 130);
        assert_eq!(server.count(), 3);
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
        assert_eq!(f.status, FlowLogStatus::Inactive);
        assert!(
            c.describe_flow_log("cn-hangzhou", "fl-nope", &opts())
                .await
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            c.describe_flow_log("cn-hangzhou", " ", &opts()).await,
            Err(Error::InvalidRequest(_))
        ));
        assert!(matches!(
            c.active_flow_log("", "fl-1", &opts()).await,
            Err(Error::InvalidRequest(_))
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
            rustls::crypto::ring::default_provider(),
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
