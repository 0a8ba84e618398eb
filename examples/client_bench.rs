//! Throughput of the Alibaba client against the emulator, and of the emulator itself:
//! `cargo run --release --example client_bench [-- SECONDS]` (after `cargo build --release --bins`).
//!
//! Reports requests per second for DescribeFlowLogs made through `alicloud::Client` with 1 and
//! 16 calls in flight (the client's rate limiter lifted, so the figure is the client's own
//! cost), then the emulator's capacity under a bare signed-request load generator (64 in
//! flight). Both sides share this machine's cores, so the figures are a floor, not a ceiling.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tfprovider::alicloud::sign::v1 as signer;
use tfprovider::alicloud::{CallOptions, Client, Environment, Protocol, Secret, Settings};

const KEY: &str = "emulator-access-key-id";
const SECRET: &str = "emulator-access-key-secret";
const FLOW_LOG: &str = "fl-bench000001";

fn start_emulator() -> (std::process::Child, String, tempfile::NamedTempFile) {
    let seed = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        seed.path(),
        format!(r#"[{{"FlowLogId":"{FLOW_LOG}","RegionId":"cn-hangzhou","Status":"Active"}}]"#),
    )
    .unwrap();
    let bin = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("alicloud-vpc-emulator");
    let mut child = std::process::Command::new(&bin)
        .arg("--seed")
        .arg(seed.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {} ({e}); run `cargo build --release --bins` first",
                bin.display()
            )
        });
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    (child, line.trim().to_owned(), seed)
}

async fn client_rps(client: &Client, concurrency: usize, secs: f64) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, done) = (client.clone(), done.clone());
            tokio::spawn(async move {
                let opts = CallOptions::default();
                while Instant::now() < until {
                    let fl = client
                        .describe_flow_log("cn-hangzhou", FLOW_LOG, &opts)
                        .await
                        .unwrap();
                    assert!(fl.is_some());
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / secs
}

/// A minimal signed-request generator: what the emulator sustains with little client overhead.
async fn raw_rps(base: &str, concurrency: usize, secs: f64) -> f64 {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, done, base) = (http.clone(), done.clone(), base.to_owned());
            tokio::spawn(async move {
                while Instant::now() < until {
                    let nonce = uuid::Uuid::new_v4().to_string();
                    let ts = time::OffsetDateTime::now_utc().format(&fmt).unwrap();
                    let mut params = vec![
                        ("Action", "DescribeFlowLogs"),
                        ("Version", "2016-04-28"),
                        ("Format", "JSON"),
                        ("AccessKeyId", KEY),
                        ("SignatureMethod", "HMAC-SHA1"),
                        ("SignatureVersion", "1.0"),
                        ("SignatureNonce", nonce.as_str()),
                        ("Timestamp", ts.as_str()),
                        ("RegionId", "cn-hangzhou"),
                        ("FlowLogId", FLOW_LOG),
                    ];
                    let sig = signer::sign("POST", params.iter().copied(), SECRET);
                    params.push(("Signature", &sig));
                    let r = http.post(&base).form(&params).send().await.unwrap();
                    assert!(r.status().is_success());
                    r.bytes().await.unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / secs
}

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let (mut emu, base, _seed) = start_emulator();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let settings = Settings {
            access_key: Some(KEY.into()),
            secret_key: Some(Secret::new(SECRET)),
            region: Some("cn-hangzhou".into()),
            protocol: Protocol::Http,
            vpc_endpoint: Some(base.clone()),
            max_requests_per_second: Some(1e9),
            ..Settings::default()
        };
        let client =
            Client::new(settings, Environment::from_map(Default::default(), None)).unwrap();
        client_rps(&client, 1, 0.5).await; // warm up: connections, credentials
        println!(
            "client, DescribeFlowLogs, 1 in flight:  {:>8.0} requests/s",
            client_rps(&client, 1, secs).await
        );
        println!(
            "client, DescribeFlowLogs, 16 in flight: {:>8.0} requests/s",
            client_rps(&client, 16, secs).await
        );
        println!(
            "emulator, bare signed POSTs, 64 in flight: {:>8.0} requests/s",
            raw_rps(&base, 64, secs).await
        );
    });
    let _ = emu.kill();
    let _ = emu.wait();
}
