//! The emulator binary over real HTTP: requests are signed here with the crate's signer and
//! sent with reqwest, independently of the provider's own client.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tfprovider::alicloud::sign::v1 as signer;

use crate::support::{Emulator, encode_params, sign_params, timestamp_at};

const FORM: &str = "application/x-www-form-urlencoded";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        // A proxy from the environment must not sit between a test and its local emulator.
        .no_proxy()
        .build()
        .expect("reqwest client")
}

/// Sends already-built parameters with `method` (query for GET, form body for POST).
async fn send(emu: &Emulator, method: &str, params: &[(String, String)]) -> (u16, Value) {
    let (status, body) = send_raw(emu, method, params).await;
    let v = serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    (status, v)
}

async fn send_raw(emu: &Emulator, method: &str, params: &[(String, String)]) -> (u16, String) {
    let encoded = encode_params(params);
    let req = match method {
        "GET" => http().get(format!("{}/?{encoded}", emu.base_url)),
        _ => http()
            .post(format!("{}/", emu.base_url))
            .header("content-type", FORM)
            .body(encoded),
    };
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body read"))
}

/// A correctly signed call of `action` over `method`.
async fn call(emu: &Emulator, method: &str, action: &str, extra: &[(&str, &str)]) -> (u16, Value) {
    let mut p = emu.params(action, extra);
    sign_params(method, &mut p, &emu.access_key_secret);
    send(emu, method, &p).await
}

async fn describe(emu: &Emulator, extra: &[(&str, &str)]) -> Value {
    let mut args = vec![("RegionId", "cn-hangzhou")];
    args.extend_from_slice(extra);
    let (status, v) = call(emu, "POST", "DescribeFlowLogs", &args).await;
    assert_eq!(status, 200, "{v}");
    v
}

fn ids(v: &Value) -> Vec<String> {
    v["FlowLogs"]["FlowLog"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["FlowLogId"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Checks an error answer's shape and returns it.
fn assert_error(status: u16, v: &Value, want_status: u16, want_code: &str) {
    assert_eq!(
        (status, v["Code"].as_str()),
        (want_status, Some(want_code)),
        "{v}"
    );
    let rid = v["RequestId"].as_str().unwrap_or("");
    assert!(
        rid.len() == 36 && rid == rid.to_ascii_uppercase(),
        "RequestId {rid}"
    );
    for k in ["HostId", "Message", "Recommend"] {
        assert!(v[k].is_string(), "{k} missing in {v}");
    }
}

fn seed_one(id: &str) -> Value {
    json!([{"FlowLogId": id, "FlowLogName": "one", "ResourceType": "VPC", "ResourceId": "vpc-1"}])
}

async fn status_of(emu: &Emulator, id: &str) -> String {
    let v = describe(emu, &[("FlowLogId", id)]).await;
    v["FlowLogs"]["FlowLog"][0]["Status"]
        .as_str()
        .unwrap_or("<none>")
        .to_owned()
}

async fn wait_for_status(emu: &Emulator, id: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = status_of(emu, id).await;
        if s == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{id} stuck in {s}, wanted {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn operations_over_get_and_post_with_immediate_transitions() {
    let emu = Emulator::start(&seed_one("fl-1"), &["--activation-delay", "0"]);
    for method in ["GET", "POST"] {
        let (s, v) = call(
            &emu,
            method,
            "ActiveFlowLog",
            &[("RegionId", "cn-hangzhou"), ("FlowLogId", "fl-1")],
        )
        .await;
        assert_eq!((s, &v["Success"]), (200, &json!("true")), "{method}: {v}");
        assert!(v["RequestId"].is_string());
        // Delay 0: final before the answer is sent.
        assert_eq!(status_of(&emu, "fl-1").await, "Active");

        let (s, v) = call(
            &emu,
            method,
            "DescribeFlowLogs",
            &[("RegionId", "cn-hangzhou")],
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["Success"], "true");
        assert_eq!(v["TotalCount"], "1");
        assert_eq!(v["PageNumber"], "1");
        assert_eq!(v["PageSize"], "20");
        let fl = &v["FlowLogs"]["FlowLog"][0];
        assert_eq!(fl["FlowLogId"], "fl-1");
        assert_eq!(fl["Status"], "Active");
        assert_eq!(fl["AggregationInterval"], 10);
        assert_eq!(fl["BusinessStatus"], "Normal");

        let (s, v) = call(
            &emu,
            method,
            "DeactiveFlowLog",
            &[("RegionId", "cn-hangzhou"), ("FlowLogId", "fl-1")],
        )
        .await;
        assert_eq!((s, &v["Success"]), (200, &json!("true")), "{method}: {v}");
        assert_eq!(status_of(&emu, "fl-1").await, "Inactive");
    }
}

#[tokio::test]
async fn state_machine_with_a_short_delay() {
    // Long enough that the probing calls below land before the flow log settles even on a
    // loaded machine: a DeactiveFlowLog arriving after it would succeed and derail the test.
    let emu = Emulator::start(&seed_one("fl-1"), &["--activation-delay", "1s"]);
    let args = [("RegionId", "cn-hangzhou"), ("FlowLogId", "fl-1")];

    let (s, v) = call(&emu, "POST", "DeactiveFlowLog", &args).await;
    assert_error(s, &v, 400, "IncorrectStatus.flowlog");

    let (s, v) = call(&emu, "POST", "ActiveFlowLog", &args).await;
    assert_eq!(s, 200, "{v}");
    let st = status_of(&emu, "fl-1").await;
    assert!(st == "Activating" || st == "Active", "{st}");
    if st == "Activating" {
        for action in ["ActiveFlowLog", "DeactiveFlowLog"] {
            let (s, v) = call(&emu, "POST", action, &args).await;
            // Still racing the timer: only check while it is surely not settled.
            if status_of(&emu, "fl-1").await == "Activating" {
                assert_error(s, &v, 400, "IncorrectStatus.flowlog");
            }
        }
    }
    wait_for_status(&emu, "fl-1", "Active").await;
    assert_eq!(emu.flow_log("fl-1").expect("present")["Status"], "Active");

    let (s, v) = call(&emu, "POST", "ActiveFlowLog", &args).await;
    assert_error(s, &v, 400, "IncorrectStatus.flowlog");

    let (s, v) = call(&emu, "GET", "DeactiveFlowLog", &args).await;
    assert_eq!(s, 200, "{v}");
    let st = status_of(&emu, "fl-1").await;
    assert!(st == "Deactivating" || st == "Inactive", "{st}");
    wait_for_status(&emu, "fl-1", "Inactive").await;

    // A transitional status set through the controls stays until changed.
    emu.upsert("fl-1", &json!({"Status": "Deactivating"}));
    let (s, v) = call(&emu, "POST", "DeactiveFlowLog", &args).await;
    assert_error(s, &v, 400, "IncorrectStatus.flowlog");
    let (s, v) = call(&emu, "POST", "ActiveFlowLog", &args).await;
    assert_error(s, &v, 400, "IncorrectStatus.flowlog");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status_of(&emu, "fl-1").await, "Deactivating");
}

#[tokio::test]
async fn pagination() {
    let seed: Vec<Value> = (0..45)
        .map(|i| json!({"FlowLogId": format!("fl-{i:02}")}))
        .collect();
    let emu = Emulator::start(&Value::from(seed), &[]);

    let v = describe(&emu, &[]).await;
    assert_eq!((v["TotalCount"].as_str(), ids(&v).len()), (Some("45"), 20));
    assert_eq!(ids(&v)[0], "fl-00");
    let v = describe(&emu, &[("PageNumber", "3")]).await;
    assert_eq!(ids(&v), ["fl-40", "fl-41", "fl-42", "fl-43", "fl-44"]);
    assert_eq!(v["PageNumber"], "3");
    let v = describe(&emu, &[("PageSize", "50")]).await;
    assert_eq!((ids(&v).len(), &v["PageSize"]), (45, &json!("50")));
    let v = describe(&emu, &[("PageSize", "10"), ("PageNumber", "2")]).await;
    assert_eq!(ids(&v).first().map(String::as_str), Some("fl-10"));
    let v = describe(&emu, &[("PageNumber", "9")]).await;
    assert_eq!((ids(&v).len(), &v["TotalCount"]), (0, &json!("45")));

    for bad in [
        ("PageSize", "51"),
        ("PageSize", "0"),
        ("PageSize", "x"),
        ("PageNumber", "0"),
        ("PageNumber", "-1"),
    ] {
        let (s, v) = call(
            &emu,
            "POST",
            "DescribeFlowLogs",
            &[("RegionId", "cn-hangzhou"), bad],
        )
        .await;
        assert_error(s, &v, 400, "InvalidParameter");
        assert!(v["Message"].as_str().unwrap_or("").contains(bad.0), "{v}");
    }
}

#[tokio::test]
async fn filters_and_unknown_ids() {
    let seed = json!([
        {"FlowLogId": "fl-a", "FlowLogName": "alpha", "ResourceType": "VPC", "ResourceId": "vpc-1",
         "TrafficType": "All", "ProjectName": "p1", "LogStoreName": "s1", "ResourceGroupId": "rg-1",
         "Status": "Active"},
        {"FlowLogId": "fl-b", "FlowLogName": "beta", "ResourceType": "VSwitch", "ResourceId": "vsw-1",
         "TrafficType": "Drop", "ProjectName": "p2", "LogStoreName": "s2", "ResourceGroupId": "rg-2",
         "VpcId": "vpc-1"},
        {"FlowLogId": "fl-c", "FlowLogName": "gamma", "ResourceType": "NetworkInterface",
         "ResourceId": "eni-1", "TrafficType": "Allow", "ProjectName": "p1", "LogStoreName": "s2",
         "Tags": {"Tag": [{"Key": "k", "Value": "v"}]}}
    ]);
    let emu = Emulator::start(&seed, &[]);
    let cases: &[(&str, &str, &[&str])] = &[
        ("FlowLogId", "fl-b", &["fl-b"]),
        ("FlowLogName", "gamma", &["fl-c"]),
        ("ResourceType", "VSwitch", &["fl-b"]),
        ("ResourceId", "eni-1", &["fl-c"]),
        ("TrafficType", "Drop", &["fl-b"]),
        ("ProjectName", "p1", &["fl-a", "fl-c"]),
        ("LogStoreName", "s2", &["fl-b", "fl-c"]),
        ("Status", "Active", &["fl-a"]),
        ("Status", "Inactive", &["fl-b", "fl-c"]),
        ("ResourceGroupId", "rg-2", &["fl-b"]),
        ("VpcId", "vpc-1", &["fl-a", "fl-b"]),
        ("FlowLogId", "fl-missing", &[]),
    ];
    for (field, value, want) in cases {
        let v = describe(&emu, &[(field, value)]).await;
        assert_eq!(ids(&v), *want, "{field}={value}");
        assert_eq!(v["TotalCount"], want.len().to_string());
    }
    let v = describe(&emu, &[("ProjectName", "p1"), ("LogStoreName", "s2")]).await;
    assert_eq!(ids(&v), ["fl-c"]);
    // Fields we do not model pass through.
    let v = describe(&emu, &[("FlowLogId", "fl-c")]).await;
    assert_eq!(v["FlowLogs"]["FlowLog"][0]["Tags"]["Tag"][0]["Key"], "k");
}

#[tokio::test]
async fn regions_are_isolated_and_checked() {
    let seed = json!([
        {"FlowLogId": "fl-bj", "RegionId": "cn-beijing"},
        {"FlowLogId": "fl-hz"}
    ]);
    let emu = Emulator::start(&seed, &["--activation-delay", "0"]);
    assert_eq!(ids(&describe(&emu, &[]).await), ["fl-hz"]);
    let (s, v) = call(
        &emu,
        "GET",
        "DescribeFlowLogs",
        &[("RegionId", "cn-beijing")],
    )
    .await;
    assert_eq!((s, ids(&v)), (200, vec!["fl-bj".to_owned()]));

    let (s, v) = call(
        &emu,
        "POST",
        "ActiveFlowLog",
        &[("RegionId", "cn-hangzhou"), ("FlowLogId", "fl-bj")],
    )
    .await;
    assert_error(s, &v, 404, "InvalidInstanceId.NotFound");
    let (s, v) = call(
        &emu,
        "POST",
        "ActiveFlowLog",
        &[("RegionId", "cn-beijing"), ("FlowLogId", "fl-bj")],
    )
    .await;
    assert_eq!(s, 200, "{v}");

    for action in ["ActiveFlowLog", "DeactiveFlowLog", "DescribeFlowLogs"] {
        let (s, v) = call(
            &emu,
            "POST",
            action,
            &[("RegionId", "mars-north-1"), ("FlowLogId", "fl-hz")],
        )
        .await;
        assert_error(s, &v, 404, "InvalidRegionId.NotFound");
        let (s, v) = call(&emu, "POST", action, &[("FlowLogId", "fl-hz")]).await;
        assert_error(s, &v, 400, "MissingParameter");
        assert!(
            v["Message"].as_str().unwrap_or("").contains("\"RegionId\""),
            "{v}"
        );
    }
}

#[tokio::test]
async fn business_errors() {
    let seed = json!([
        {"FlowLogId": "fl-sls", "ServiceType": "sls", "Status": "Active"},
        {"FlowLogId": "fl-sls-off", "ServiceType": "sls"},
        {"FlowLogId": "fl-locked", "BusinessStatus": "FinancialLocked"}
    ]);
    let emu = Emulator::start(&seed, &["--activation-delay", "0"]);
    let hz = |id| [("RegionId", "cn-hangzhou"), ("FlowLogId", id)];
    for action in ["ActiveFlowLog", "DeactiveFlowLog"] {
        let (s, v) = call(&emu, "POST", action, &hz("fl-nope")).await;
        assert_error(s, &v, 404, "InvalidInstanceId.NotFound");
        for id in ["fl-sls", "fl-sls-off"] {
            let (s, v) = call(&emu, "POST", action, &hz(id)).await;
            assert_error(s, &v, 403, "Forbidden.OperateManagedFlowLog");
        }
        let (s, v) = call(&emu, "POST", action, &hz("fl-locked")).await;
        assert_error(s, &v, 400, "IncorrectBusinessStatus.FlowLog");
        let (s, v) = call(&emu, "POST", action, &[("RegionId", "cn-hangzhou")]).await;
        assert_error(s, &v, 400, "MissingParameter");
        assert!(
            v["Message"]
                .as_str()
                .unwrap_or("")
                .contains("\"FlowLogId\""),
            "{v}"
        );
    }
}

#[tokio::test]
async fn gateway_errors() {
    let emu = Emulator::start(&json!([]), &[]);
    let region = [("RegionId", "cn-hangzhou")];

    // Every required common parameter, missing.
    for name in [
        "Action",
        "Version",
        "AccessKeyId",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "Timestamp",
        "Signature",
    ] {
        let mut p = emu.params("DescribeFlowLogs", &region);
        sign_params("POST", &mut p, &emu.access_key_secret);
        p.retain(|(k, _)| k != name);
        if name != "Signature" {
            sign_params("POST", &mut p, &emu.access_key_secret);
        }
        let (s, v) = send(&emu, "POST", &p).await;
        assert_error(s, &v, 400, "MissingParameter");
        assert!(
            v["Message"]
                .as_str()
                .unwrap_or("")
                .contains(&format!("\"{name}\"")),
            "{v}"
        );
    }

    // Parameters with a wrong value, each correctly signed.
    let cases: &[(&str, &str, u16, &str)] = &[
        ("Format", "YAML", 400, "InvalidParameter"),
        ("Version", "2014-05-26", 400, "InvalidVersion"),
        ("SignatureMethod", "HMAC-SHA256", 400, "InvalidParameter"),
        ("SignatureVersion", "2.0", 400, "InvalidParameter"),
        (
            "AccessKeyId",
            "someone-else",
            404,
            "InvalidAccessKeyId.NotFound",
        ),
        (
            "Timestamp",
            "2024-01-01 00:00:00",
            400,
            "InvalidTimeStamp.Format",
        ),
        ("Timestamp", "yesterday", 400, "InvalidTimeStamp.Format"),
        ("Action", "CreateVpc", 404, "InvalidAction.NotFound"),
    ];
    for (name, value, status, code) in cases {
        let mut p = emu.params("DescribeFlowLogs", &region);
        p.retain(|(k, _)| k != name);
        p.push((name.to_string(), value.to_string()));
        sign_params("POST", &mut p, &emu.access_key_secret);
        let (s, v) = send(&emu, "POST", &p).await;
        assert_error(s, &v, *status, code);
    }

    // Timestamps outside the 15-minute window, either way.
    for skew in [-16i64, 16] {
        let t = time::OffsetDateTime::now_utc() + time::Duration::minutes(skew);
        let mut p = emu.params("DescribeFlowLogs", &region);
        p.retain(|(k, _)| k != "Timestamp");
        p.push(("Timestamp".to_owned(), timestamp_at(t)));
        sign_params("GET", &mut p, &emu.access_key_secret);
        let (s, v) = send(&emu, "GET", &p).await;
        assert_error(s, &v, 400, "InvalidTimeStamp.Expired");
    }
    // Inside the window is fine.
    let mut p = emu.params("DescribeFlowLogs", &region);
    p.retain(|(k, _)| k != "Timestamp");
    let t = time::OffsetDateTime::now_utc() - time::Duration::minutes(10);
    p.push(("Timestamp".to_owned(), timestamp_at(t)));
    sign_params("GET", &mut p, &emu.access_key_secret);
    assert_eq!(send(&emu, "GET", &p).await.0, 200);

    // Nonce reuse: the identical request twice.
    let mut p = emu.params("DescribeFlowLogs", &region);
    sign_params("POST", &mut p, &emu.access_key_secret);
    assert_eq!(send(&emu, "POST", &p).await.0, 200);
    let (s, v) = send(&emu, "POST", &p).await;
    assert_error(s, &v, 400, "SignatureNonceUsed");
}

#[tokio::test]
async fn signature_mismatch_reports_the_server_string_to_sign() {
    let emu = Emulator::start(&json!([]), &[]);
    let region = [("RegionId", "cn-hangzhou")];
    let strip = |p: &[(String, String)]| -> Vec<(String, String)> {
        p.iter()
            .filter(|(k, _)| k != "Signature")
            .cloned()
            .collect()
    };

    // Wrong secret.
    let mut p = emu.params("DescribeFlowLogs", &region);
    sign_params("POST", &mut p, "not-the-secret");
    let (s, v) = send(&emu, "POST", &p).await;
    assert_error(s, &v, 400, "SignatureDoesNotMatch");
    let sp = strip(&p);
    let expected = signer::string_to_sign("POST", sp.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let msg = v["Message"].as_str().unwrap_or("");
    assert!(
        msg.ends_with(&format!("server string to sign is:{expected}")),
        "{msg}"
    );

    // Signed for GET, sent as POST: the method is part of the string to sign.
    let mut p = emu.params("DescribeFlowLogs", &region);
    sign_params("GET", &mut p, &emu.access_key_secret);
    let (s, v) = send(&emu, "POST", &p).await;
    assert_error(s, &v, 400, "SignatureDoesNotMatch");
    assert!(
        v["Message"]
            .as_str()
            .unwrap_or("")
            .contains("server string to sign is:POST&%2F&")
    );

    // A parameter changed after signing.
    let mut p = emu.params(
        "DescribeFlowLogs",
        &[("RegionId", "cn-hangzhou"), ("FlowLogName", "a b*c")],
    );
    sign_params("GET", &mut p, &emu.access_key_secret);
    for (k, v) in p.iter_mut() {
        if k == "FlowLogName" {
            *v = "a b*d".to_owned();
        }
    }
    let (s, v) = send(&emu, "GET", &p).await;
    assert_error(s, &v, 400, "SignatureDoesNotMatch");
    let expected = signer::string_to_sign(
        "GET",
        strip(&p).iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
    assert!(v["Message"].as_str().unwrap_or("").ends_with(&expected));

    // Special characters and UTF-8 survive the round trip when signed correctly.
    let (s, v) = call(
        &emu,
        "GET",
        "DescribeFlowLogs",
        &[
            ("RegionId", "cn-hangzhou"),
            ("FlowLogName", "a b*c~d/e+f 中"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn custom_credentials_and_security_token() {
    let emu = Emulator::start(
        &seed_one("fl-1"),
        &[
            "--access-key-id",
            "AK1",
            "--access-key-secret=SK1",
            "--security-token",
            "CAIS+tok/en=",
        ],
    );
    assert_eq!(emu.access_key_id, "AK1");
    let region = [("RegionId", "cn-hangzhou")];

    let (s, v) = call(&emu, "POST", "DescribeFlowLogs", &region).await;
    assert_eq!(s, 200, "{v}");

    let mut p = emu.params("DescribeFlowLogs", &region);
    p.retain(|(k, _)| k != "SecurityToken");
    sign_params("POST", &mut p, &emu.access_key_secret);
    let (s, v) = send(&emu, "POST", &p).await;
    assert_error(s, &v, 400, "MissingSecurityToken");

    let mut p = emu.params("DescribeFlowLogs", &region);
    p.retain(|(k, _)| k != "SecurityToken");
    p.push(("SecurityToken".to_owned(), "stolen".to_owned()));
    sign_params("POST", &mut p, &emu.access_key_secret);
    let (s, v) = send(&emu, "POST", &p).await;
    assert_error(s, &v, 400, "InvalidSecurityToken.MismatchWithAccessKey");

    // The default key is not accepted once another is configured.
    let mut p = emu.params("DescribeFlowLogs", &region);
    p.retain(|(k, _)| k != "AccessKeyId");
    p.push((
        "AccessKeyId".to_owned(),
        "emulator-access-key-id".to_owned(),
    ));
    sign_params("POST", &mut p, &emu.access_key_secret);
    let (s, v) = send(&emu, "POST", &p).await;
    assert_error(s, &v, 404, "InvalidAccessKeyId.NotFound");

    // The log never shows the token or the signature.
    let log = emu.requests();
    assert_eq!(log.len(), 4);
    for entry in &log {
        let params = entry["params"].as_object().expect("params object");
        assert!(!params.contains_key("Signature"), "{entry}");
        if let Some(t) = params.get("SecurityToken") {
            assert_eq!(t, "<redacted>");
        }
        assert!(!entry.to_string().contains("CAIS+tok/en="), "{entry}");
    }
    assert!(!emu.stderr().contains("CAIS+tok/en="));
}

#[tokio::test]
async fn throttling() {
    let emu = Emulator::start(&json!([]), &["--throttle-qps", "2"]);
    let region = [("RegionId", "cn-hangzhou")];
    let mut codes = Vec::new();
    for _ in 0..8 {
        let (s, v) = call(&emu, "POST", "DescribeFlowLogs", &region).await;
        if s != 200 {
            assert_error(s, &v, 400, "Throttling.User");
        }
        codes.push(s);
    }
    assert!(codes.contains(&400), "never throttled: {codes:?}");
    assert_eq!(codes[0], 200, "{codes:?}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(call(&emu, "POST", "DescribeFlowLogs", &region).await.0, 200);
    // A rejected request is not throttled: it never reaches the bucket.
    let mut p = emu.params("DescribeFlowLogs", &region);
    sign_params("POST", &mut p, "wrong");
    assert_eq!(
        send(&emu, "POST", &p).await.1["Code"],
        "SignatureDoesNotMatch"
    );
}

#[tokio::test]
async fn throttle_every_nth_call_from_the_command_line_and_the_control() {
    let emu = Emulator::start(&json!([]), &["--throttle-every", "3"]);
    let region = [("RegionId", "cn-hangzhou")];
    let mut codes = Vec::new();
    for _ in 0..6 {
        let (s, v) = call(&emu, "POST", "DescribeFlowLogs", &region).await;
        if s != 200 {
            assert_error(s, &v, 400, "Throttling.User");
        }
        codes.push(s);
        // Slow calls too: the refusals do not depend on the rate.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(codes, [200, 200, 400, 200, 200, 400]);
    assert_eq!(emu.faults()["throttle_every"], 3);
    let v = emu.set_faults(&json!({"throttle_every": null}));
    assert_eq!(v["throttle_every"], Value::Null);
    for _ in 0..4 {
        assert_eq!(call(&emu, "POST", "DescribeFlowLogs", &region).await.0, 200);
    }
}

#[tokio::test]
async fn an_outside_load_leaves_less_of_the_quota() {
    // 20 a second, 15 of them spent by others: after the first second's burst of 20, about 5
    // a second are left.
    let emu = Emulator::start(
        &json!([]),
        &["--throttle-qps", "20", "--outside-load", "15"],
    );
    let region = [("RegionId", "cn-hangzhou")];
    let start = std::time::Instant::now();
    let mut accepted = 0;
    while start.elapsed() < Duration::from_millis(2500) {
        if call(&emu, "POST", "DescribeFlowLogs", &region).await.0 == 200 {
            accepted += 1;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // 20 at once, then 5 a second for 2.5 s: far below the 70 of the quota alone.
    assert!((20..=45).contains(&accepted), "{accepted} accepted");
    assert_eq!(emu.faults()["outside_load"], 15.0);
}

#[tokio::test]
async fn fail_rate_is_deterministic_for_a_seed() {
    async fn outcomes(seed: &str) -> Vec<u16> {
        let emu = Emulator::start(&json!([]), &["--fail-rate", "0.5", "--fail-seed", seed]);
        let mut out = Vec::new();
        for _ in 0..24 {
            let (s, v) = call(
                &emu,
                "POST",
                "DescribeFlowLogs",
                &[("RegionId", "cn-hangzhou")],
            )
            .await;
            if s != 200 {
                assert_error(s, &v, 503, "ServiceUnavailable");
            }
            out.push(s);
        }
        out
    }
    let a = outcomes("42").await;
    assert!(a.contains(&200) && a.contains(&503), "{a:?}");
    assert_eq!(a, outcomes("42").await);
    assert_ne!(a, outcomes("43").await);
}

#[tokio::test]
async fn fail_next_control() {
    let emu = Emulator::start(&seed_one("fl-1"), &["--activation-delay", "0"]);
    let args = [("RegionId", "cn-hangzhou"), ("FlowLogId", "fl-1")];

    emu.fail_next(2, "ServiceUnavailable", &["ActiveFlowLog"]);
    assert_eq!(call(&emu, "POST", "DescribeFlowLogs", &args).await.0, 200);
    for _ in 0..2 {
        let (s, v) = call(&emu, "POST", "ActiveFlowLog", &args).await;
        assert_error(s, &v, 503, "ServiceUnavailable");
    }
    assert_eq!(status_of(&emu, "fl-1").await, "Inactive");
    assert_eq!(call(&emu, "POST", "ActiveFlowLog", &args).await.0, 200);

    for (code, status) in [
        ("Throttling.User", 400),
        ("InternalError", 503),
        ("TaskConflict", 400),
    ] {
        emu.fail_next(1, code, &[]);
        let (s, v) = call(&emu, "GET", "DescribeFlowLogs", &args).await;
        assert_error(s, &v, status, code);
        assert_eq!(call(&emu, "GET", "DescribeFlowLogs", &args).await.0, 200);
    }

    emu.fail_next(5, "ServiceUnavailable", &[]);
    emu.clear_faults();
    assert_eq!(call(&emu, "GET", "DescribeFlowLogs", &args).await.0, 200);

    let r = emu.control(
        "POST",
        "/faults",
        Some(&json!({"fail_next": "two", "code": "X"})),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.json()["error"].is_string());
}

#[tokio::test]
async fn malformed_requests_get_error_documents() {
    let emu = Emulator::start(&json!([]), &[]);
    let api_error = |r: &crate::support::HttpResponse, status: u16, code: &str| {
        assert_eq!(r.status, status, "{}", r.body);
        assert_eq!(r.json()["Code"], code, "{}", r.body);
    };
    api_error(
        &emu.http("POST", "/", Some(FORM), b"Action=%ZZ"),
        400,
        "InvalidParameter",
    );
    api_error(
        &emu.http("POST", "/", Some(FORM), b"Action=%FF%FE"),
        400,
        "InvalidParameter",
    );
    api_error(
        &emu.http("POST", "/", Some(FORM), b"Action=\xff\xfe"),
        400,
        "InvalidParameter",
    );
    api_error(
        &emu.http("GET", "/?Action=%E4%B8", None, b""),
        400,
        "InvalidParameter",
    );
    api_error(
        &emu.http("POST", "/", Some("application/json"), b"{\"Action\":1}"),
        400,
        "InvalidParameter",
    );
    let big = vec![b'a'; 1024 * 1024 + 1];
    api_error(
        &emu.http("POST", "/", Some(FORM), &big),
        413,
        "InvalidParameter",
    );
    api_error(
        &emu.http("GET", "/nope", None, b""),
        404,
        "InvalidAction.NotFound",
    );
    api_error(
        &emu.http("PUT", "/", Some(FORM), b"Action=DescribeFlowLogs"),
        404,
        "InvalidAction.NotFound",
    );
    api_error(
        &emu.http("DELETE", "/?Format=JSON", None, b""),
        404,
        "InvalidAction.NotFound",
    );

    // Controls answer JSON errors of their own.
    let control_error = |r: crate::support::HttpResponse, status: u16| {
        assert_eq!(r.status, status, "{}", r.body);
        assert!(r.json()["error"].is_string(), "{}", r.body);
    };
    let put = |body: &[u8]| {
        emu.http(
            "PUT",
            "/_emulator/flow-logs/fl-x",
            Some("application/json"),
            body,
        )
    };
    control_error(put(b"not json"), 400);
    control_error(put(b"[1,2]"), 400);
    control_error(put(b"{\"Status\":\"Running\"}"), 400);
    control_error(put(b"{\"AggregationInterval\":\"ten\"}"), 400);
    control_error(put(b"{\"FlowLogId\":\"fl-y\"}"), 400);
    control_error(put(b"{\"RegionId\":\"moon-1\"}"), 400);
    control_error(
        emu.http("POST", "/_emulator/faults", Some("application/json"), b"{"),
        400,
    );
    control_error(emu.control("GET", "/nope", None), 404);
    // POST /flow-logs is the bulk upsert: an empty body is not a JSON array.
    control_error(emu.control("POST", "/flow-logs", None), 400);
    control_error(emu.control("PATCH", "/flow-logs", None), 405);
    control_error(emu.control("PATCH", "/flow-logs/fl-x", None), 405);
    control_error(emu.control("GET", "/flow-logs/fl-x", None), 404);
    control_error(emu.control("GET", "/flow-logs/%ZZ", None), 400);

    // A client that stalls mid-body holds only its own connection.
    let mut stalled = std::net::TcpStream::connect(&emu.addr).expect("connect");
    std::io::Write::write_all(
        &mut stalled,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nAction=Des",
    )
    .expect("partial write");

    // Still alive and well.
    assert!(emu.flow_logs().is_empty());
    assert_eq!(
        emu.call("DescribeFlowLogs", &[("RegionId", "cn-hangzhou")])
            .0,
        200
    );
}

#[tokio::test]
async fn sdk_style_requests_and_xml() {
    let emu = Emulator::start(&seed_one("fl-1"), &[]);
    // tea-openapi sends the common parameters in the query and the action's in the body.
    let mut p = emu.params(
        "DescribeFlowLogs",
        &[("RegionId", "cn-hangzhou"), ("FlowLogName", "one")],
    );
    sign_params("POST", &mut p, &emu.access_key_secret);
    let (body, query): (Vec<_>, Vec<_>) = p
        .into_iter()
        .partition(|(k, _)| k == "RegionId" || k == "FlowLogName");
    let resp = http()
        .post(format!("{}/?{}", emu.base_url, encode_params(&query)))
        .form(&body)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers().get("x-acs-request-id").is_some());
    let v: Value = resp.json().await.expect("json");
    assert_eq!(ids(&v), ["fl-1"]);

    // Form bodies may encode spaces as '+'.
    let mut p = emu.params(
        "DescribeFlowLogs",
        &[("RegionId", "cn-hangzhou"), ("FlowLogName", "a b")],
    );
    sign_params("POST", &mut p, &emu.access_key_secret);
    let resp = http()
        .post(format!("{}/", emu.base_url))
        .form(&p)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status().as_u16(), 200);

    // XML when asked for, and when Format is absent.
    for format in [Some("XML"), None] {
        let mut p = emu.params("DescribeFlowLogs", &[("RegionId", "cn-hangzhou")]);
        p.retain(|(k, _)| k != "Format");
        if let Some(f) = format {
            p.push(("Format".to_owned(), f.to_owned()));
        }
        sign_params("GET", &mut p, &emu.access_key_secret);
        let (s, text) = send_raw(&emu, "GET", &p).await;
        assert_eq!(s, 200, "{text}");
        assert!(text.starts_with("<?xml"), "{text}");
        assert!(text.contains("<DescribeFlowLogsResponse>"), "{text}");
        assert!(
            text.contains("<FlowLogs><FlowLog><AggregationInterval>10</AggregationInterval>"),
            "{text}"
        );
    }
    let mut p = emu.params("Nope", &[]);
    p.retain(|(k, _)| k != "Format");
    sign_params("GET", &mut p, &emu.access_key_secret);
    let (s, text) = send_raw(&emu, "GET", &p).await;
    assert_eq!(s, 404);
    assert!(
        text.contains("<Error>") && text.contains("<Code>InvalidAction.NotFound</Code>"),
        "{text}"
    );
}

#[tokio::test]
async fn controls_upsert_delete_and_request_log() {
    let emu = Emulator::start(&seed_one("fl-1"), &["--activation-delay", "0"]);
    let args = [("RegionId", "cn-hangzhou"), ("FlowLogId", "fl-1")];
    assert_eq!(call(&emu, "POST", "ActiveFlowLog", &args).await.0, 200);

    // Someone stops it outside Terraform: merged, other fields kept.
    let v = emu.upsert(
        "fl-1",
        &json!({"Status": "Inactive", "Description": "changed"}),
    );
    assert_eq!(
        (v["Status"].as_str(), v["FlowLogName"].as_str()),
        (Some("Inactive"), Some("one"))
    );
    assert_eq!(status_of(&emu, "fl-1").await, "Inactive");

    // Created with defaults.
    let v = emu.upsert(
        "fl-new",
        &json!({"RegionId": "cn-shanghai", "AggregationInterval": 1}),
    );
    assert_eq!(
        (v["Status"].as_str(), v["AggregationInterval"].as_i64()),
        (Some("Inactive"), Some(1))
    );
    assert_eq!(emu.flow_logs().len(), 2);
    assert_eq!(
        emu.flow_log("fl-new").expect("created")["RegionId"],
        "cn-shanghai"
    );

    // Gone from the API too: an empty list, not an error.
    assert!(emu.delete("fl-1"));
    assert!(!emu.delete("fl-1"));
    assert!(emu.flow_log("fl-1").is_none());
    let v = describe(&emu, &[("FlowLogId", "fl-1")]).await;
    assert_eq!((ids(&v).len(), &v["TotalCount"]), (0, &json!("0")));

    let log = emu.requests();
    assert_eq!(log.len(), 3, "{log:?}");
    let first = &log[0];
    assert_eq!(first["method"], "POST");
    assert_eq!(first["action"], "ActiveFlowLog");
    assert_eq!(first["status"], 200);
    assert!(first["code"].is_null());
    assert_eq!(first["params"]["FlowLogId"], "fl-1");
    assert!(first["params"].get("Signature").is_none());
    assert!(first["time"].is_string() && first["request_id"].is_string());

    let (s, _) = call(&emu, "GET", "Nope", &[]).await;
    assert_eq!(s, 404);
    let last = emu.requests().pop().expect("logged");
    assert_eq!(
        (last["method"].as_str(), last["code"].as_str()),
        (Some("GET"), Some("InvalidAction.NotFound"))
    );
    emu.clear_requests();
    assert!(emu.requests().is_empty());
}

#[tokio::test]
async fn latency_delays_answers() {
    let emu = Emulator::start(&json!([]), &["--latency", "300ms"]);
    let t = Instant::now();
    assert_eq!(
        call(
            &emu,
            "POST",
            "DescribeFlowLogs",
            &[("RegionId", "cn-hangzhou")]
        )
        .await
        .0,
        200
    );
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    // Controls are not delayed (no timing assertion: only that they work).
    assert!(emu.flow_logs().is_empty());
}

fn run_binary(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_alicloud-vpc-emulator"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run alicloud-vpc-emulator")
}

#[test]
fn command_line_errors_exit_2() {
    let help = run_binary(&["--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--activation-delay"));

    for args in [
        &["--bogus"][..],
        &["--listen", "nowhere"],
        &["--activation-delay", "fast"],
        &["--fail-rate", "1.5"],
        &["--throttle-qps"],
    ] {
        let out = run_binary(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(!out.stderr.is_empty(), "{args:?}: no message");
    }

    let dir = tempfile::tempdir().expect("tempdir");
    for (name, content, needle) in [
        ("bad-json.json", "[{", "JSON"),
        (
            "no-id.json",
            "[{\"RegionId\":\"cn-hangzhou\"}]",
            "FlowLogId",
        ),
        ("not-array.json", "{}", "array"),
        (
            "bad-status.json",
            "[{\"FlowLogId\":\"a\",\"Status\":\"On\"}]",
            "Status",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, content).expect("write seed");
        let out = run_binary(&["--seed", path.to_str().unwrap_or_default()]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle) && err.contains(name), "{name}: {err}");
    }
    let out = run_binary(&["--seed", "/nonexistent/seed.json"]);
    assert_eq!(out.status.code(), Some(2));
}

// ---- Faults for issue 14: background failures, deletions mid-wait, refused listings, and
// their run-time control. Delays are short; nothing here asserts a timing: a change is watched
// until it leaves its transitional status, and where it went is checked.

const FORBIDDEN_RAM_MESSAGE: &str =
    "User not authorized to operate on the specified resource, or this API doesn't support RAM.";

/// Polls `id` (described by ID) until it leaves `transitional`; returns its status then, or
/// `<none>` once it is gone.
async fn settled_status(emu: &Emulator, id: &str, transitional: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = status_of(emu, id).await;
        if s != transitional {
            return s;
        }
        assert!(Instant::now() < deadline, "{id} stuck in {s}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn toggle(emu: &Emulator, action: &str, id: &str) {
    let (s, v) = call(
        emu,
        "POST",
        action,
        &[("RegionId", "cn-hangzhou"), ("FlowLogId", id)],
    )
    .await;
    assert_eq!(
        (s, &v["Success"]),
        (200, &json!("true")),
        "{action} {id}: {v}"
    );
}

#[tokio::test]
async fn background_failures_settle_back_where_they_started() {
    let emu = Emulator::start(
        &json!([
            {"FlowLogId": "fl-1"},
            {"FlowLogId": "fl-2", "Status": "Active"},
            {"FlowLogId": "fl-3"}
        ]),
        &[
            "--activation-delay",
            "200ms",
            "--background-fail-id",
            "fl-1",
        ],
    );
    // Accepted like any activation, then back to Inactive instead of Active.
    toggle(&emu, "ActiveFlowLog", "fl-1").await;
    assert_eq!(settled_status(&emu, "fl-1", "Activating").await, "Inactive");
    toggle(&emu, "ActiveFlowLog", "fl-3").await;
    assert_eq!(settled_status(&emu, "fl-3", "Activating").await, "Active");

    // At run time: the list is replaced, and a deactivation fails back to Active.
    let v = emu.set_faults(&json!({"background_fail_ids": ["fl-2"]}));
    assert_eq!(v["background_fail_ids"], json!(["fl-2"]));
    toggle(&emu, "DeactiveFlowLog", "fl-2").await;
    assert_eq!(settled_status(&emu, "fl-2", "Deactivating").await, "Active");
    toggle(&emu, "ActiveFlowLog", "fl-1").await;
    assert_eq!(settled_status(&emu, "fl-1", "Activating").await, "Active");

    // A rate of 1 fails every change.
    emu.set_faults(&json!({"background_fail_ids": [], "background_fail_rate": 1}));
    toggle(&emu, "DeactiveFlowLog", "fl-3").await;
    assert_eq!(settled_status(&emu, "fl-3", "Deactivating").await, "Active");
    emu.clear_faults();
    toggle(&emu, "DeactiveFlowLog", "fl-3").await;
    assert_eq!(
        settled_status(&emu, "fl-3", "Deactivating").await,
        "Inactive"
    );
    assert_eq!(emu.stats()["errors"], json!({}));
}

#[tokio::test]
async fn deletion_mid_wait() {
    let emu = Emulator::start(
        &json!([
            {"FlowLogId": "fl-1"},
            {"FlowLogId": "fl-2"},
            {"FlowLogId": "fl-3", "Status": "Active"}
        ]),
        &["--activation-delay", "200ms"],
    );
    emu.set_faults(&json!({"background_delete_ids": ["fl-1", "fl-3"]}));
    toggle(&emu, "ActiveFlowLog", "fl-1").await;
    toggle(&emu, "ActiveFlowLog", "fl-2").await;
    // Gone from every answer before it would have settled: never Active, never Inactive.
    assert_eq!(settled_status(&emu, "fl-1", "Activating").await, "<none>");
    assert!(emu.flow_log("fl-1").is_none());
    assert_eq!(settled_status(&emu, "fl-2", "Activating").await, "Active");
    let v = describe(&emu, &[]).await;
    assert_eq!(ids(&v), ["fl-2", "fl-3"]);
    let (s, v) = call(
        &emu,
        "POST",
        "ActiveFlowLog",
        &[("RegionId", "cn-hangzhou"), ("FlowLogId", "fl-1")],
    )
    .await;
    assert_error(s, &v, 404, "InvalidInstanceId.NotFound");

    // The same while deactivating.
    toggle(&emu, "DeactiveFlowLog", "fl-3").await;
    assert_eq!(settled_status(&emu, "fl-3", "Deactivating").await, "<none>");

    // Restored through the bulk control, it is an ordinary flow log again.
    emu.clear_faults();
    emu.upsert_many(&json!([{"FlowLogId": "fl-1", "Status": "Inactive"}]));
    toggle(&emu, "ActiveFlowLog", "fl-1").await;
    assert_eq!(settled_status(&emu, "fl-1", "Activating").await, "Active");
}

#[tokio::test]
async fn refused_listings_answer_forbidden_ram_while_describes_by_id_work() {
    let emu = Emulator::start(&seed_one("fl-1"), &["--refuse-listings"]);
    let region = ("RegionId", "cn-hangzhou");
    for extra in [&[region][..], &[region, ("Status", "Active")]] {
        let (s, v) = call(&emu, "POST", "DescribeFlowLogs", extra).await;
        assert_error(s, &v, 403, "Forbidden.RAM");
        assert_eq!(v["Message"], FORBIDDEN_RAM_MESSAGE);
    }
    // By ID: served as usual, as are the changes.
    let v = describe(&emu, &[("FlowLogId", "fl-1")]).await;
    assert_eq!(ids(&v), ["fl-1"]);
    toggle(&emu, "ActiveFlowLog", "fl-1").await;
    let stats = emu.stats();
    assert_eq!(stats["errors"], json!({"Forbidden.RAM": 2}), "{stats}");
    assert_eq!(stats["calls"]["DescribeFlowLogs"], 3, "{stats}");
    let log = emu.requests();
    assert_eq!(log[0]["status"], 403);
    assert_eq!(log[0]["code"], "Forbidden.RAM");

    // Toggled at run time.
    assert_eq!(emu.faults()["refuse_listings"], true);
    emu.set_faults(&json!({"refuse_listings": false}));
    assert_eq!(ids(&describe(&emu, &[]).await), ["fl-1"]);
    emu.set_faults(&json!({"refuse_listings": true}));
    let (s, v) = call(&emu, "GET", "DescribeFlowLogs", &[region]).await;
    assert_error(s, &v, 403, "Forbidden.RAM");
    emu.clear_faults();
    assert_eq!(ids(&describe(&emu, &[]).await), ["fl-1"]);
}

#[tokio::test]
async fn fault_control_round_trip() {
    let emu = Emulator::start(
        &seed_one("fl-1"),
        &[
            "--throttle-qps",
            "50",
            "--latency",
            "10ms",
            "--background-fail-rate",
            "0.1",
            "--background-seed",
            "3",
            "--fail-seed",
            "8",
        ],
    );
    let region = [("RegionId", "cn-hangzhou")];
    let start = emu.faults();
    assert_eq!(
        start,
        json!({
            "fail_next": 0, "code": null, "http_status": null, "message": null, "actions": null,
            "fail_rate": 0.0, "fail_seed": 8, "latency": 10, "throttle_qps": 50.0,
            "outside_load": 0.0, "throttle_every": null,
            "background_fail_rate": 0.1, "background_fail_ids": [],
            "background_delete_rate": 0.0, "background_delete_ids": [],
            "background_seed": 3, "refuse_listings": false
        })
    );
    // What GET shows, posted back, changes nothing.
    assert_eq!(emu.set_faults(&start), start);

    // Fields not given keep their value.
    let v = emu.set_faults(
        &json!({"throttle_qps": null, "background_delete_ids": ["fl-9"],
                                   "latency": "1.5ms"}),
    );
    assert_eq!(v["throttle_qps"], Value::Null);
    assert_eq!(v["latency"], 1.5);
    assert_eq!(v["background_delete_ids"], json!(["fl-9"]));
    assert_eq!(v["background_fail_rate"], 0.1);
    assert_eq!(emu.faults(), v);

    // Unknown fields and bad values: 400, a message naming them, nothing changed.
    for (body, needle) in [
        (json!({"fail_nxt": 1}), "unknown field 'fail_nxt'"),
        (
            json!({"refuse_listings": true, "latency": "soon"}),
            "latency",
        ),
        (json!({"background_fail_rate": 1.5}), "background_fail_rate"),
        (json!({"message": "no rule"}), "fail_next"),
    ] {
        let r = emu.control("POST", "/faults", Some(&body));
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        let e = r.json()["error"].as_str().unwrap_or_default().to_owned();
        assert!(e.contains(needle), "{body}: {e}");
    }
    assert_eq!(emu.faults(), v);

    // Each fault takes effect: throttling (a bucket refilling once in 1,000 s), 5xx, the rule.
    emu.set_faults(&json!({"throttle_qps": 0.001}));
    assert_eq!(call(&emu, "POST", "DescribeFlowLogs", &region).await.0, 200);
    let (s, v) = call(&emu, "POST", "DescribeFlowLogs", &region).await;
    assert_error(s, &v, 400, "Throttling.User");
    emu.set_faults(&json!({"throttle_qps": null, "fail_rate": 1}));
    let (s, v) = call(&emu, "POST", "DescribeFlowLogs", &region).await;
    assert_error(s, &v, 503, "ServiceUnavailable");
    let v = emu.set_faults(&json!({"fail_rate": 0, "fail_next": 1, "code": "InternalError"}));
    assert_eq!(
        (v["fail_next"].as_u64(), v["http_status"].as_u64()),
        (Some(1), Some(503))
    );
    let (s, v) = call(&emu, "POST", "DescribeFlowLogs", &region).await;
    assert_error(s, &v, 503, "InternalError");
    assert_eq!(emu.faults()["fail_next"], 0);
    assert_eq!(call(&emu, "POST", "DescribeFlowLogs", &region).await.0, 200);

    // DELETE turns every fault off; the seeds stay.
    emu.set_faults(
        &json!({"refuse_listings": true, "background_fail_ids": ["fl-1"],
                           "fail_next": 3, "code": "Throttling.User"}),
    );
    emu.clear_faults();
    let off = emu.faults();
    assert_eq!(
        off,
        json!({
            "fail_next": 0, "code": null, "http_status": null, "message": null, "actions": null,
            "fail_rate": 0.0, "fail_seed": 8, "latency": 0, "throttle_qps": null,
            "outside_load": 0.0, "throttle_every": null,
            "background_fail_rate": 0.0, "background_fail_ids": [],
            "background_delete_rate": 0.0, "background_delete_ids": [],
            "background_seed": 3, "refuse_listings": false
        })
    );
    assert_eq!(ids(&describe(&emu, &[]).await), ["fl-1"]);
}

/// Activates 30 flow logs (in reverse order if asked) with background faults set by `args` or
/// by `body` through the control, and returns where each ended: `(id, status or "gone")`.
async fn background_outcomes(
    args: &[&str],
    body: Option<Value>,
    reverse: bool,
) -> Vec<(String, String)> {
    let ids: Vec<String> = (0..30).map(|i| format!("fl-{i:02}")).collect();
    let seed: Vec<Value> = ids.iter().map(|id| json!({"FlowLogId": id})).collect();
    let mut all_args = vec!["--activation-delay", "200ms"];
    all_args.extend_from_slice(args);
    let emu = Emulator::start(&Value::from(seed), &all_args);
    if let Some(b) = body {
        emu.set_faults(&b);
    }
    let mut order = ids.clone();
    if reverse {
        order.reverse();
    }
    for id in &order {
        toggle(&emu, "ActiveFlowLog", id).await;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let logs = emu.flow_logs();
        if logs.iter().all(|f| f["Status"] != "Activating") {
            return ids
                .iter()
                .map(|id| {
                    let st = logs
                        .iter()
                        .find(|f| f["FlowLogId"] == id.as_str())
                        .and_then(|f| f["Status"].as_str())
                        .unwrap_or("gone");
                    (id.clone(), st.to_owned())
                })
                .collect();
        }
        assert!(Instant::now() < deadline, "still activating: {logs:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn background_faults_repeat_for_a_seed() {
    let flags = [
        "--background-fail-rate",
        "0.3",
        "--background-delete-rate",
        "0.2",
        "--background-seed",
    ];
    let a = background_outcomes(&[&flags[..], &["42"]].concat(), None, false).await;
    for want in ["Active", "Inactive", "gone"] {
        assert!(a.iter().any(|(_, s)| s == want), "no {want} in {a:?}");
    }
    // The same seed through the control, activations in the other order: the same outcomes.
    let body = json!({"background_fail_rate": 0.3, "background_delete_rate": 0.2,
                      "background_seed": 42});
    assert_eq!(a, background_outcomes(&[], Some(body), true).await);
    assert_ne!(
        a,
        background_outcomes(&[&flags[..], &["43"]].concat(), None, false).await
    );
}

#[test]
fn fault_flags_in_help_and_their_errors() {
    let help = String::from_utf8_lossy(&run_binary(&["--help"]).stdout).into_owned();
    for flag in [
        "--background-fail-rate",
        "--background-fail-id",
        "--background-delete-rate",
        "--background-delete-id",
        "--background-seed",
        "--refuse-listings",
        "/_emulator/faults",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("read README.md");
    // The flags' rows are checked by emulator_sts::every_flag_in_the_help_is_in_the_readme_table.
    for documented in [
        "DELETE $E/_emulator/faults",
        "`throttle_qps`",
        "`latency`",
        "`background_fail_ids`",
        "`background_delete_ids`",
        "`refuse_listings`",
    ] {
        assert!(readme.contains(documented), "README.md lacks {documented}");
    }
    for args in [
        &["--background-fail-rate", "2"][..],
        &["--background-delete-rate", "x"],
        &["--background-seed", "-1"],
        &["--refuse-listings=maybe"],
    ] {
        let out = run_binary(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}: no message");
    }
}
