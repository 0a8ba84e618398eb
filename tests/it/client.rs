//! The Alibaba Cloud client against the real emulator process over HTTP: every operation,
//! paging, the gateway's refusals, retries, deadlines, cancellation and proxies.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use tfprovider::alicloud::FlowLogStatus;
use tfprovider::alicloud::clock::SkewedClock;
use tfprovider::alicloud::{
    CallOptions, Client, DescribeFlowLogsRequest, Environment, Error, Secret, Settings,
};

use crate::support::Emulator;

const REGION: &str = "cn-hangzhou";

fn no_env() -> Environment {
    Environment::from_map(HashMap::new(), None)
}

fn env_with(vars: &[(&str, &str)]) -> Environment {
    Environment::from_map(
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        None,
    )
}

fn settings_for(em: &Emulator) -> Settings {
    Settings {
        access_key: Some(em.access_key_id.clone()),
        secret_key: Some(Secret::new(em.access_key_secret.clone())),
        security_token: em.security_token.clone().map(Secret::new),
        vpc_endpoint: Some(em.base_url.clone()),
        max_retry_timeout: Duration::from_secs(20),
        terraform_version: Some("1.11.4".into()),
        ..Settings::default()
    }
}

fn client_for(em: &Emulator) -> Client {
    Client::new(settings_for(em), no_env()).unwrap()
}

fn opts() -> CallOptions {
    CallOptions::default()
}

fn flow_log(id: &str, status: &str) -> Value {
    json!({
        "FlowLogId": id,
        "FlowLogName": format!("name-{id}"),
        "RegionId": REGION,
        "ResourceType": "VPC",
        "ResourceId": "vpc-emu1",
        "ProjectName": "proj",
        "LogStoreName": "store",
        "Status": status,
        "Tags": {"Tag": [{"Key": "env", "Value": "test"}]},
    })
}

fn fast(seed: &Value) -> Emulator {
    Emulator::start(seed, &["--activation-delay", "0"])
}

/// The emulator's log entries for `action`.
fn logged(em: &Emulator, action: &str) -> Vec<Value> {
    em.requests()
        .into_iter()
        .filter(|r| r["action"] == action)
        .collect()
}

#[tokio::test]
async fn every_operation_round_trip() {
    let em = fast(&json!([
        flow_log("fl-one", "Inactive"),
        flow_log("fl-two", "Active")
    ]));
    let c = client_for(&em);

    let f = c
        .describe_flow_log(REGION, "fl-one", &opts())
        .await
        .unwrap()
        .expect("seeded flow log");
    assert_eq!(f.status, FlowLogStatus::Inactive);
    assert_eq!(f.flow_log_name, "name-fl-one");
    assert_eq!(f.resource_id, "vpc-emu1");
    assert_eq!(f.aggregation_interval, Some(10));
    assert_eq!(f.tags.as_ref().unwrap().tag[0].value, "test");

    let r = c.active_flow_log(REGION, "fl-one", &opts()).await.unwrap();
    assert!(!r.request_id.is_empty());
    let f = c
        .describe_flow_log(REGION, "fl-one", &opts())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f.status, FlowLogStatus::Active);

    c.deactive_flow_log(REGION, "fl-one", &opts())
        .await
        .unwrap();
    let f = c
        .describe_flow_log(REGION, "fl-one", &opts())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f.status, FlowLogStatus::Inactive);

    let active = c
        .describe_flow_logs(
            &DescribeFlowLogsRequest {
                region_id: REGION.into(),
                status: Some("Active".into()),
                ..Default::default()
            },
            &opts(),
        )
        .await
        .unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].flow_log_id, "fl-two");

    // Unknown ids are "not found", not errors; another region sees nothing.
    assert!(
        c.describe_flow_log(REGION, "fl-nope", &opts())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        c.describe_flow_log("cn-beijing", "fl-one", &opts())
            .await
            .unwrap()
            .is_none()
    );

    // A status the API refuses is the resource's business: not retried.
    let err = c
        .active_flow_log(REGION, "fl-two", &opts())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("IncorrectStatus.flowlog"), "{err}");
    assert!(err.request_id().is_some());
    assert_eq!(logged(&em, "ActiveFlowLog").len(), 2);
}

#[tokio::test]
async fn pages_are_read_to_the_end() {
    let seed: Vec<Value> = (0..123)
        .map(|i| flow_log(&format!("fl-{i:04}"), "Inactive"))
        .collect();
    let em = fast(&Value::Array(seed));
    let c = client_for(&em);
    let req = DescribeFlowLogsRequest {
        region_id: REGION.into(),
        ..Default::default()
    };
    let all = c.describe_flow_logs(&req, &opts()).await.unwrap();
    assert_eq!(all.len(), 123);
    let mut ids: Vec<_> = all.iter().map(|f| f.flow_log_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 123, "no duplicates");
    assert_eq!(logged(&em, "DescribeFlowLogs").len(), 3, "50 + 50 + 23");

    em.clear_requests();
    let small = DescribeFlowLogsRequest {
        page_size: Some(20),
        ..req
    };
    assert_eq!(
        c.describe_flow_logs(&small, &opts()).await.unwrap().len(),
        123
    );
    let pages = logged(&em, "DescribeFlowLogs");
    assert_eq!(pages.len(), 7);
    assert_eq!(pages[6]["params"]["PageNumber"], "7");
}

#[tokio::test]
async fn wrong_secret_is_not_retried() {
    let em = Emulator::start(
        &json!([flow_log("fl-one", "Inactive")]),
        &["--security-token", "sts-token-that-must-not-leak"],
    );
    let s = Settings {
        secret_key: Some(Secret::new("not-the-emulator-secret")),
        ..settings_for(&em)
    };
    let c = Client::new(s, no_env()).unwrap();
    let err = c
        .active_flow_log(REGION, "fl-one", &opts())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("SignatureDoesNotMatch"), "{err}");
    // The gateway echoes its string to sign, which holds the token: it is redacted.
    let text = err.to_string();
    assert!(text.contains("string to sign"), "{text}");
    assert!(text.contains("** redacted **"), "{text}");
    assert!(
        !text.contains("not-the-emulator-secret") && !text.contains("must-not-leak"),
        "{text}"
    );
    assert_eq!(em.requests().len(), 1);
}

#[tokio::test]
async fn unknown_access_key() {
    let em = fast(&json!([]));
    let s = Settings {
        access_key: Some("who-is-this".into()),
        ..settings_for(&em)
    };
    let err = Client::new(s, no_env())
        .unwrap()
        .describe_flow_log(REGION, "fl-one", &opts())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidAccessKeyId.NotFound"), "{err}");
    assert_eq!(em.requests().len(), 1);
}

#[tokio::test]
async fn a_skewed_clock_gives_an_expired_timestamp() {
    let em = fast(&json!([]));
    let env = no_env().with_clock(Arc::new(SkewedClock::new(time::Duration::minutes(-20))));
    let c = Client::new(settings_for(&em), env).unwrap();
    let err = c
        .describe_flow_log(REGION, "fl-one", &opts())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidTimeStamp.Expired"), "{err}");
    assert_eq!(em.requests().len(), 1);
}

#[tokio::test]
async fn throttling_then_success() {
    let em = fast(&json!([flow_log("fl-one", "Inactive")]));
    em.fail_next(2, "Throttling.User", &["ActiveFlowLog"]);
    let c = client_for(&em);
    c.active_flow_log(REGION, "fl-one", &opts()).await.unwrap();
    let calls = logged(&em, "ActiveFlowLog");
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0]["code"], "Throttling.User");
    // Every attempt was signed afresh: the emulator refuses a reused nonce.
    let nonces: std::collections::HashSet<_> = calls
        .iter()
        .map(|c| c["params"]["SignatureNonce"].to_string())
        .collect();
    assert_eq!(nonces.len(), 3);
}

#[tokio::test]
async fn server_errors_then_success() {
    let em = fast(&json!([flow_log("fl-one", "Active")]));
    em.fail_next(2, "ServiceUnavailable", &[]);
    let c = client_for(&em);
    c.deactive_flow_log(REGION, "fl-one", &opts())
        .await
        .unwrap();
    assert_eq!(logged(&em, "DeactiveFlowLog").len(), 3);

    // Conflicts clear by themselves for Active/Deactive.
    em.clear_requests();
    em.fail_next(1, "TaskConflict", &["ActiveFlowLog"]);
    c.active_flow_log(REGION, "fl-one", &opts()).await.unwrap();
    assert_eq!(logged(&em, "ActiveFlowLog").len(), 2);
}

#[tokio::test]
async fn retries_give_up_at_the_deadline() {
    let em = fast(&json!([flow_log("fl-one", "Inactive")]));
    em.fail_next(10_000, "ServiceUnavailable", &[]);
    let c = client_for(&em);
    let started = Instant::now();
    let o = CallOptions {
        deadline: Some(started + Duration::from_millis(1500)),
        ..CallOptions::default()
    };
    let err = c.active_flow_log(REGION, "fl-one", &o).await.unwrap_err();
    let took = started.elapsed();
    // The last answer, or (on a loaded machine) the attempt the deadline cut short.
    assert!(
        err.code() == Some("ServiceUnavailable") || matches!(err, Error::Timeout { .. }),
        "{err:?}"
    );
    assert!(took <= Duration::from_millis(3000), "{took:?}");
    assert!(em.requests().len() >= 3, "retried before giving up");

    // max_retry_timeout bounds it the same way without a deadline.
    let s = Settings {
        max_retry_timeout: Duration::from_millis(800),
        ..settings_for(&em)
    };
    let c = Client::new(s, no_env()).unwrap();
    let started = Instant::now();
    let err = c
        .active_flow_log(REGION, "fl-one", &opts())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ServiceUnavailable"));
    assert!(started.elapsed() <= Duration::from_millis(3000));
}

#[tokio::test]
async fn cancellation_stops_a_slow_call_at_once() {
    let em = Emulator::start(
        &json!([flow_log("fl-one", "Inactive")]),
        &["--latency", "10s"],
    );
    let c = client_for(&em);
    let o = CallOptions::default();
    let cancel = o.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let err = c.describe_flow_log(REGION, "fl-one", &o).await.unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn security_token_is_sent() {
    let em = Emulator::start(
        &json!([flow_log("fl-one", "Inactive")]),
        &[
            "--activation-delay",
            "0",
            "--security-token",
            "sts-token-for-tests",
        ],
    );
    let c = client_for(&em);
    c.active_flow_log(REGION, "fl-one", &opts()).await.unwrap();
    let calls = logged(&em, "ActiveFlowLog");
    assert!(
        calls[0]["params"].get("SecurityToken").is_some(),
        "{}",
        calls[0]
    );

    // Without it the gateway refuses, and that is not retried.
    let s = Settings {
        security_token: None,
        ..settings_for(&em)
    };
    let err = Client::new(s, no_env())
        .unwrap()
        .deactive_flow_log(REGION, "fl-one", &opts())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("MissingSecurityToken"), "{err}");
    assert_eq!(logged(&em, "DeactiveFlowLog").len(), 1);
}

/// A local server answering every request with `body` as `content_type`.
async fn canned_server(status_line: &str, content_type: &str, body: &str) -> String {
    let answer: Arc<Vec<u8>> = Arc::new(
        format!(
            "HTTP/1.1 {status_line}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let _ = read_head_and_body(&mut s).await;
                let _ = s.write_all(&answer).await;
                let _ = s.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_non_json_answer_is_reported_not_panicked() {
    let url = canned_server(
        "200 OK",
        "text/html",
        "<html><body>Corporate proxy: please log in</body></html>\n",
    )
    .await;
    let s = Settings {
        access_key: Some("ak".into()),
        secret_key: Some(Secret::new("sk")),
        vpc_endpoint: Some(url),
        ..Settings::default()
    };
    let err = Client::new(s, no_env())
        .unwrap()
        .describe_flow_log(REGION, "fl-1", &opts())
        .await
        .unwrap_err();
    let Error::InvalidResponse {
        http_status,
        body_start,
        ..
    } = &err
    else {
        panic!("expected InvalidResponse, got {err:?}");
    };
    assert_eq!(*http_status, 200);
    assert!(body_start.contains("Corporate proxy"), "{body_start}");
    assert!(err.to_string().contains("HTML"), "{err}");
}

#[tokio::test]
async fn connection_refused() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = Settings {
        access_key: Some("ak".into()),
        secret_key: Some(Secret::new("sk")),
        vpc_endpoint: Some(format!("127.0.0.1:{port}")),
        protocol: tfprovider::alicloud::Protocol::Http,
        max_retry_timeout: Duration::from_millis(500),
        ..Settings::default()
    };
    let err = Client::new(s, no_env())
        .unwrap()
        .active_flow_log(REGION, "fl-1", &opts())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}

/// Reads one HTTP/1.1 request (head and Content-Length body).
async fn read_head_and_body(s: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let len: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = buf[end + 4..].to_vec();
    while body.len() < len {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok((head, body))
}

/// A minimal HTTP forward proxy: records each request line (`POST http://host:port/ ...`),
/// forwards the request to that host in origin form, and relays the answer.
async fn forward_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let Ok((head, body)) = read_head_and_body(&mut client).await else {
                    return;
                };
                let mut lines = head.split("\r\n");
                let request_line = lines.next().unwrap_or_default().to_owned();
                log.lock().unwrap().push(request_line.clone());
                let mut parts = request_line.split(' ');
                let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                let Ok(url) = url::Url::parse(target) else {
                    let _ = client
                        .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                        .await;
                    return;
                };
                let upstream = format!(
                    "{}:{}",
                    url.host_str().unwrap_or_default(),
                    url.port_or_known_default().unwrap_or(80)
                );
                let Ok(mut up) = TcpStream::connect(&upstream).await else {
                    return;
                };
                let mut out = format!("{method} {} HTTP/1.1\r\n", url.path());
                for l in lines.filter(|l| {
                    let k = l.split(':').next().unwrap_or("").to_ascii_lowercase();
                    k != "connection" && k != "proxy-connection"
                }) {
                    out.push_str(l);
                    out.push_str("\r\n");
                }
                out.push_str("Connection: close\r\n\r\n");
                let _ = up.write_all(out.as_bytes()).await;
                let _ = up.write_all(&body).await;
                let mut answer = Vec::new();
                let _ = up.read_to_end(&mut answer).await;
                let _ = client.write_all(&answer).await;
                let _ = client.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn requests_go_through_the_proxy_unless_no_proxy() {
    let em = fast(&json!([flow_log("fl-one", "Inactive")]));
    let (proxy_url, seen) = forward_proxy().await;

    let c = Client::new(settings_for(&em), env_with(&[("HTTP_PROXY", &proxy_url)])).unwrap();
    let f = c
        .describe_flow_log(REGION, "fl-one", &opts())
        .await
        .unwrap();
    assert!(f.is_some());
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(
            seen[0].starts_with(&format!("POST {}/ HTTP/1.1", em.base_url)),
            "{}",
            seen[0]
        );
    }
    assert_eq!(em.requests().len(), 1);

    let env = env_with(&[("HTTP_PROXY", &proxy_url), ("NO_PROXY", "127.0.0.1")]);
    let c = Client::new(settings_for(&em), env).unwrap();
    c.describe_flow_log(REGION, "fl-one", &opts())
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1, "NO_PROXY bypasses the proxy");
    assert_eq!(em.requests().len(), 2);
}

#[tokio::test]
async fn user_agent_and_form_body_as_the_sdks_send() {
    let em = fast(&json!([]));
    // Through a recording relay, only to see the headers: the emulator logs parameters only.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::<String>::new()));
    let h = heads.clone();
    let upstream = em.addr.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let (h, upstream) = (h.clone(), upstream.clone());
            tokio::spawn(async move {
                let Ok((head, body)) = read_head_and_body(&mut s).await else {
                    return;
                };
                h.lock().unwrap().push(head.clone());
                let Ok(mut up) = TcpStream::connect(&upstream).await else {
                    return;
                };
                let head: String = head
                    .split("\r\n")
                    .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
                    .collect::<Vec<_>>()
                    .join("\r\n");
                let _ = up
                    .write_all(format!("{head}\r\nConnection: close\r\n\r\n").as_bytes())
                    .await;
                let _ = up.write_all(&body).await;
                let mut answer = Vec::new();
                let _ = up.read_to_end(&mut answer).await;
                let _ = s.write_all(&answer).await;
            });
        }
    });
    let s = Settings {
        vpc_endpoint: Some(format!("http://{addr}")),
        configuration_source: Some("stack/main".into()),
        ..settings_for(&em)
    };
    let c = Client::new(s, no_env()).unwrap();
    c.describe_flow_log(REGION, "fl-one", &opts())
        .await
        .unwrap();
    let heads = heads.lock().unwrap();
    let head = heads[0].to_ascii_lowercase();
    assert!(head.starts_with("post / http/1.1"), "{head}");
    assert!(
        head.contains("content-type: application/x-www-form-urlencoded"),
        "{head}"
    );
    assert!(
        head.contains(&format!(
            "user-agent: terraform-provider-alicloud-rs/{} terraform/1.11.4 stack/main",
            env!("CARGO_PKG_VERSION")
        )),
        "{head}"
    );
}

/// A local server that reads each request, counts it, and hangs up without answering.
async fn hang_up_server() -> (String, Arc<Mutex<u32>>) {
    let seen = Arc::new(Mutex::new(0));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = read_head_and_body(&mut s).await;
            *count.lock().unwrap() += 1;
            drop(s);
        }
    });
    (format!("http://{addr}"), seen)
}

/// A CreateFlowLog whose answer is lost may have created a flow log: it is not sent again (a
/// second flow log would be left behind). A describe in the same situation is retried.
#[tokio::test]
async fn a_creation_whose_answer_is_lost_is_not_sent_again() {
    let (url, seen) = hang_up_server().await;
    let s = Settings {
        access_key: Some("ak".into()),
        secret_key: Some(Secret::new("sk")),
        vpc_endpoint: Some(url),
        max_retry_timeout: Duration::from_secs(3),
        ..Settings::default()
    };
    let client = Client::new(s, no_env()).unwrap();
    let req = tfprovider::alicloud::CreateFlowLogRequest {
        region_id: REGION.into(),
        resource_type: "VPC".into(),
        resource_id: "vpc-bp1qpo0kug3a20qqe0000".into(),
        traffic_type: "All".into(),
        project_name: "flow-project".into(),
        log_store_name: "flow-store".into(),
        ..Default::default()
    };
    let err = client.create_flow_log(&req, &opts()).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(*seen.lock().unwrap(), 1, "sent once");

    *seen.lock().unwrap() = 0;
    client
        .describe_flow_log(REGION, "fl-1", &opts())
        .await
        .unwrap_err();
    assert!(*seen.lock().unwrap() > 1, "a describe is retried");
}
