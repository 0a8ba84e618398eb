//! Cost of signing one API call with each signature: `cargo run --release --example sign_bench
//! [-- ITERATIONS]`.
//!
//! Signs a `DescribeFlowLogs` call as the transport does (its parameters, a fixed time and
//! nonce; a plain access key, then an STS key with a 604-character token) through each
//! scheme's pure function, and prints the median of 5 runs in nanoseconds per signature. Only the signer is timed: no I/O, no clock read
//! inside the loop. A measurement to read, never a test.

use std::hint::black_box;
use std::time::Instant;

use tfprovider::alicloud::sign::{Call, Key, SCHEMES, Stamp};

fn main() {
    let iterations: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let params = [
        ("Format", "JSON"),
        ("RegionId", "cn-hangzhou"),
        ("FlowLogId", "fl-m5e8vhz2t21sel1nq0000"),
        ("PageNumber", "1"),
        ("PageSize", "50"),
    ];
    let call = Call {
        method: "POST",
        host: "vpc.aliyuncs.com",
        action: "DescribeFlowLogs",
        version: "2016-04-28",
        params: &params,
    };
    let token = "CAIS".to_owned() + &"x".repeat(600);
    let keys = [
        (
            "access key",
            Key {
                access_key_id: "LTAI5tQ4nY9nHtYt8Xg2cQ3b",
                secret: "3Y5q6DuyWkKgXfCMgFTFjAE4pd8kXJiV3Krr7nfQ4Aem",
                security_token: None,
            },
        ),
        (
            "STS key + token",
            Key {
                access_key_id: "STS.NUgYrLnoC37mZZCNnAbez2ymy",
                secret: "3Y5q6DuyWkKgXfCMgFTFjAE4pd8kXJiV3Krr7nfQ4Aem",
                security_token: Some(&token),
            },
        ),
    ];
    let stamp = Stamp {
        time: time::macros::datetime!(2026-05-01 08:00:00 UTC),
        nonce: "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
    };
    println!("{iterations} signatures per run, median of 5 runs");
    for scheme in SCHEMES {
        for (what, key) in &keys {
            let mut runs: Vec<f64> = (0..5)
                .map(|_| {
                    let started = Instant::now();
                    for _ in 0..iterations {
                        black_box((scheme.sign)(
                            black_box(&call),
                            black_box(Some(key)),
                            black_box(&stamp),
                        ));
                    }
                    started.elapsed().as_nanos() as f64 / f64::from(iterations)
                })
                .collect();
            runs.sort_by(f64::total_cmp);
            println!(
                "{:<3} {:<17} {:<16} {:>7.0} ns per signature",
                scheme.name, scheme.algorithm, what, runs[2]
            );
        }
    }
}
