//! STS on the emulator's port, its counters and bulk seeding, over real HTTP against the
//! binary: AssumeRole (with role chaining), AssumeRoleWithOIDC, issued keys on the VPC API
//! until they expire, `/_emulator/stats`, `POST /_emulator/flow-logs`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Creds, Emulator, STS_VERSION};

const VPC_VERSION: &str = "2016-04-28";
const ROLE: &str = "acs:ram::1234567890123456:role/ci-deployer";
const PROVIDER: &str = "acs:ram::1234567890123456:oidc-provider/github";

fn assert_error(status: u16, v: &Value, want_status: u16, want_code: &str) {
    assert_eq!(
        (status, v["Code"].as_str()),
        (want_status, Some(want_code)),
        "{v}"
    );
    let rid = v["RequestId"].as_str().unwrap_or("");
    assert!(rid.len() == 36, "RequestId {rid}");
    for k in ["HostId", "Message", "Recommend"] {
        assert!(v[k].is_string(), "{k} missing in {v}");
    }
}

fn assume_role(emu: &Emulator, creds: &Creds, extra: &[(&str, &str)]) -> (u16, Value) {
    emu.call_with(creds, STS_VERSION, "AssumeRole", extra)
}

fn describe(emu: &Emulator, creds: &Creds) -> (u16, Value) {
    emu.call_with(
        creds,
        VPC_VERSION,
        "DescribeFlowLogs",
        &[("RegionId", "cn-hangzhou")],
    )
}

fn parse_time(s: &str) -> time::OffsetDateTime {
    time::PrimitiveDateTime::parse(
        s,
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"),
    )
    .map(time::PrimitiveDateTime::assume_utc)
    .unwrap_or_else(|e| panic!("Expiration {s:?}: {e}"))
}

/// Seconds from now until the answer's `Expiration`.
fn lifetime_of(v: &Value) -> i64 {
    let exp = parse_time(v["Credentials"]["Expiration"].as_str().unwrap_or(""));
    (exp - time::OffsetDateTime::now_utc()).whole_seconds()
}

#[test]
fn assume_role_issues_keys_the_vpc_api_and_sts_accept() {
    let emu = Emulator::start(&json!([{"FlowLogId": "fl-1"}]), &["--sts-role-arn", ROLE]);
    let base = emu.creds();
    let (s, v) = assume_role(
        &emu,
        &base,
        &[("RoleArn", ROLE), ("RoleSessionName", "terraform")],
    );
    assert_eq!(s, 200, "{v}");
    assert!(
        v["RequestId"].as_str().is_some_and(|r| r.len() == 36),
        "{v}"
    );
    assert_eq!(
        v["AssumedRoleUser"]["Arn"],
        "acs:ram::1234567890123456:role/ci-deployer/terraform"
    );
    let role_id = v["AssumedRoleUser"]["AssumedRoleId"].as_str().unwrap_or("");
    assert!(role_id.ends_with(":terraform"), "{role_id}");
    let key = Creds::from_sts_answer(&v);
    assert!(key.id.starts_with("STS."), "{}", key.id);
    let life = lifetime_of(&v);
    assert!((3590..=3601).contains(&life), "default duration: {life}s");

    // The issued key works on the VPC API, only together with its own token.
    let (s, v) = describe(&emu, &key);
    assert_eq!((s, &v["TotalCount"]), (200, &json!("1")), "{v}");
    for token in [None, Some("CAISnot-the-token".to_owned())] {
        let wrong = Creds {
            token,
            ..key.clone()
        };
        let (s, v) = describe(&emu, &wrong);
        assert_error(s, &v, 400, "InvalidSecurityToken.MismatchWithAccessKey");
    }
    let unknown = Creds {
        id: "STS.unknownkey".to_owned(),
        ..key.clone()
    };
    let (s, v) = describe(&emu, &unknown);
    assert_error(s, &v, 404, "InvalidAccessKeyId.NotFound");

    // Role chaining: AssumeRole signed with the temporary key and its token.
    let (s, v) = assume_role(
        &emu,
        &key,
        &[
            ("RoleArn", ROLE),
            ("RoleSessionName", "chained"),
            ("DurationSeconds", "900"),
        ],
    );
    assert_eq!(s, 200, "{v}");
    assert!((890..=901).contains(&lifetime_of(&v)), "{v}");
    let chained = Creds::from_sts_answer(&v);
    assert_ne!(chained.id, key.id);
    assert_eq!(describe(&emu, &chained).0, 200);
    // The static key keeps working.
    assert_eq!(describe(&emu, &base).0, 200);

    // Versions route to products: an action of the other product is not found.
    let (s, v) = emu.call_with(&base, VPC_VERSION, "AssumeRole", &[("RoleArn", ROLE)]);
    assert_error(s, &v, 404, "InvalidAction.NotFound");
    let (s, v) = emu.call_with(
        &base,
        STS_VERSION,
        "DescribeFlowLogs",
        &[("RegionId", "cn-hangzhou")],
    );
    assert_error(s, &v, 404, "InvalidAction.NotFound");
    let (s, v) = emu.call_with(&base, "2014-01-01", "AssumeRole", &[]);
    assert_error(s, &v, 400, "InvalidVersion");
    // STS errors name STS's host.
    let (s, v) = assume_role(
        &emu,
        &base,
        &[
            ("RoleArn", "acs:ram::1:role/nobody"),
            ("RoleSessionName", "s1"),
        ],
    );
    assert_error(s, &v, 404, "EntityNotExist.Role");
    assert_eq!(v["HostId"], "sts.aliyuncs.com");
    assert!(
        v["Recommend"]
            .as_str()
            .unwrap_or("")
            .contains("product=Sts")
    );
}

#[test]
fn assume_role_refusals() {
    let emu = Emulator::start(
        &json!([]),
        &[
            "--sts-role-arn",
            &format!("acs:ram::1:role/other,{ROLE}"),
            "--sts-external-id",
            "ext-42",
        ],
    );
    let base = emu.creds();
    let ok = [("RoleArn", ROLE), ("RoleSessionName", "terraform")];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut p: Vec<(&str, &str)> = ok
            .iter()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .copied()
            .collect();
        p.extend_from_slice(extra);
        assume_role(&emu, &base, &p)
    };

    // External id: missing or wrong is NoPermission; right passes.
    let (s, v) = with(&[]);
    assert_error(s, &v, 403, "NoPermission");
    let (s, v) = with(&[("ExternalId", "ext-41")]);
    assert_error(s, &v, 403, "NoPermission");
    let (s, v) = with(&[("ExternalId", "ext-42")]);
    assert_eq!(s, 200, "{v}");

    let cases: &[(&str, &str, u16, &str)] = &[
        (
            "RoleArn",
            "acs:ram::1:role/unknown",
            404,
            "EntityNotExist.Role",
        ),
        (
            "RoleArn",
            "arn:aws:iam::1:role/x",
            400,
            "InvalidParameter.RoleArn",
        ),
        (
            "RoleArn",
            "acs:ram::abc:role/x",
            400,
            "InvalidParameter.RoleArn",
        ),
        (
            "RoleSessionName",
            "a",
            400,
            "InvalidParameter.RoleSessionName",
        ),
        (
            "RoleSessionName",
            "has space",
            400,
            "InvalidParameter.RoleSessionName",
        ),
        (
            "DurationSeconds",
            "899",
            400,
            "InvalidParameter.DurationSeconds",
        ),
        (
            "DurationSeconds",
            "43201",
            400,
            "InvalidParameter.DurationSeconds",
        ),
        (
            "DurationSeconds",
            "1h",
            400,
            "InvalidParameter.DurationSeconds",
        ),
        ("Policy", "{not json", 400, "InvalidParameter.PolicyGrammar"),
    ];
    for (name, value, status, code) in cases {
        let (s, v) = with(&[("ExternalId", "ext-42"), (name, value)]);
        assert_error(s, &v, *status, code);
    }
    let (s, v) = assume_role(&emu, &base, &[("RoleSessionName", "terraform")]);
    assert_error(s, &v, 400, "MissingParameter");
    // AssumeRole is never anonymous.
    let (s, v) = emu.call_anonymous(STS_VERSION, "AssumeRole", &ok);
    assert_error(s, &v, 400, "MissingParameter");
    assert!(
        v["Message"].as_str().unwrap_or("").contains("AccessKeyId"),
        "{v}"
    );
}

#[test]
fn assume_role_with_oidc() {
    let emu = Emulator::start(
        &json!([]),
        &[
            "--sts-role-arn",
            ROLE,
            "--sts-oidc-provider-arn",
            PROVIDER,
            "--sts-oidc-token",
            "good-oidc-token",
            "--sts-oidc-expired-token",
            "old-oidc-token",
        ],
    );
    let oidc = |role: &'static str, provider: &'static str, token: &'static str| {
        emu.call_anonymous(
            STS_VERSION,
            "AssumeRoleWithOIDC",
            &[
                ("RoleArn", role),
                ("OIDCProviderArn", provider),
                ("OIDCToken", token),
                ("RoleSessionName", "github-actions"),
                ("DurationSeconds", "1800"),
            ],
        )
    };
    let (s, v) = oidc(ROLE, PROVIDER, "good-oidc-token");
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["AssumedRoleUser"]["Arn"],
        "acs:ram::1234567890123456:role/ci-deployer/github-actions"
    );
    for k in ["Subject", "Issuer", "ClientIds"] {
        assert!(v["OIDCTokenInfo"][k].is_string(), "{k} missing in {v}");
    }
    assert!((1790..=1801).contains(&lifetime_of(&v)), "{v}");
    let key = Creds::from_sts_answer(&v);
    assert_eq!(describe(&emu, &key).0, 200);

    let (s, v) = oidc(ROLE, PROVIDER, "someone-elses-token");
    assert_error(s, &v, 400, "AuthenticationFail.OIDCToken.Invalid");
    let (s, v) = oidc(ROLE, PROVIDER, "old-oidc-token");
    assert_error(s, &v, 400, "AuthenticationFail.OIDCToken.Expired");
    let (s, v) = oidc(
        ROLE,
        "acs:ram::1234567890123456:oidc-provider/gitlab",
        "good-oidc-token",
    );
    assert_error(s, &v, 404, "EntityNotExist.OIDCProvider");
    let (s, v) = oidc("acs:ram::1:role/nobody", PROVIDER, "good-oidc-token");
    assert_error(s, &v, 404, "EntityNotExist.Role");
    let (s, v) = oidc(ROLE, "acs:ram::1:role/github", "good-oidc-token");
    assert_error(s, &v, 400, "InvalidParameter.OIDCProviderArn");
}

#[test]
fn issued_keys_expire_and_the_vpc_api_says_so() {
    let emu = Emulator::start(&json!([]), &["--sts-credential-lifetime", "1s"]);
    let base = emu.creds();
    let t0 = Instant::now();
    let (s, v) = assume_role(
        &emu,
        &base,
        &[("RoleArn", ROLE), ("RoleSessionName", "short")],
    );
    assert_eq!(s, 200, "{v}");
    // The answer shows the real, shortened expiry, not the 3600 s asked for.
    let expiration = parse_time(v["Credentials"]["Expiration"].as_str().unwrap_or(""));
    let left = expiration - time::OffsetDateTime::now_utc();
    assert!(left <= time::Duration::seconds(2), "{v}");
    let key = Creds::from_sts_answer(&v);
    if t0.elapsed() < Duration::from_millis(900) {
        assert_eq!(describe(&emu, &key).0, 200);
    }

    // Wait just past the shown expiry, no longer.
    let wait = (expiration - time::OffsetDateTime::now_utc()).max(time::Duration::ZERO);
    std::thread::sleep(Duration::try_from(wait).unwrap_or_default() + Duration::from_millis(50));
    let (s, v) = describe(&emu, &key);
    assert_error(s, &v, 400, "InvalidSecurityToken.Expired");
    assert_eq!(v["Message"], "Specified SecurityToken is expired.");
    let (s, v) = assume_role(
        &emu,
        &key,
        &[("RoleArn", ROLE), ("RoleSessionName", "renew")],
    );
    assert_error(s, &v, 400, "InvalidSecurityToken.Expired");
    // Renewal from the base credentials works.
    let (s, v) = assume_role(
        &emu,
        &base,
        &[("RoleArn", ROLE), ("RoleSessionName", "renew")],
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(emu.stats()["errors"]["InvalidSecurityToken.Expired"], 2);
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
}

#[test]
fn stats_count_calls_errors_and_throttling() {
    let emu = Emulator::start(&json!([{"FlowLogId": "fl-1"}]), &[]);
    let base = emu.creds();
    assert_eq!(
        emu.stats(),
        json!({"calls": {}, "throttled": 0, "errors": {}})
    );
    for _ in 0..3 {
        assert_eq!(describe(&emu, &base).0, 200);
    }
    emu.fail_next(1, "Throttling.User", &["DescribeFlowLogs"]);
    assert_eq!(describe(&emu, &base).0, 400);
    let (s, _) = assume_role(
        &emu,
        &base,
        &[("RoleArn", ROLE), ("RoleSessionName", "stats")],
    );
    assert_eq!(s, 200);
    let (s, _) = emu.call_with(
        &base,
        VPC_VERSION,
        "ActiveFlowLog",
        &[("RegionId", "cn-hangzhou"), ("FlowLogId", "fl-missing")],
    );
    assert_eq!(s, 404);
    assert_eq!(
        emu.stats(),
        json!({
            "calls": {"DescribeFlowLogs": 4, "AssumeRole": 1, "ActiveFlowLog": 1},
            "throttled": 1,
            "errors": {"Throttling.User": 1, "InvalidInstanceId.NotFound": 1},
        })
    );
    emu.clear_stats();
    assert_eq!(emu.stats()["calls"], json!({}));
    assert_eq!(emu.control("PUT", "/stats", None).status, 405);
}

#[test]
fn secrets_never_reach_the_request_log() {
    let emu = Emulator::start(&json!([]), &["--sts-oidc-token", "oidc-secret-token"]);
    let (s, v) = assume_role(
        &emu,
        &emu.creds(),
        &[("RoleArn", ROLE), ("RoleSessionName", "logged")],
    );
    assert_eq!(s, 200, "{v}");
    let key = Creds::from_sts_answer(&v);
    assert_eq!(describe(&emu, &key).0, 200);
    let (s, v) = emu.call_anonymous(
        STS_VERSION,
        "AssumeRoleWithOIDC",
        &[
            ("RoleArn", ROLE),
            ("OIDCProviderArn", PROVIDER),
            ("OIDCToken", "oidc-secret-token"),
            ("RoleSessionName", "logged"),
        ],
    );
    assert_eq!(s, 200, "{v}");
    let oidc_key = Creds::from_sts_answer(&v);

    let log = emu.control("GET", "/requests", None).body;
    for secret in [
        key.secret.as_str(),
        key.token.as_deref().unwrap_or("-"),
        oidc_key.secret.as_str(),
        oidc_key.token.as_deref().unwrap_or("-"),
        "oidc-secret-token",
        emu.access_key_secret.as_str(),
    ] {
        assert!(!log.contains(secret), "secret {secret:.12}... in the log");
    }
    let entries = emu.requests();
    let actions: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        ["AssumeRole", "DescribeFlowLogs", "AssumeRoleWithOIDC"]
    );
    assert_eq!(entries[1]["params"]["SecurityToken"], "<redacted>");
    assert_eq!(entries[1]["params"]["AccessKeyId"], json!(key.id));
    assert_eq!(entries[2]["params"]["OIDCToken"], "<redacted>");
    assert_eq!(entries[2]["params"]["RoleSessionName"], "logged");
    let stderr = emu.stderr();
    assert!(!stderr.contains("oidc-secret-token") && !stderr.contains(&key.secret));
}

#[test]
fn bulk_seeding_paging_and_filters_at_scale() {
    let emu = Emulator::start(&json!([]), &[]);
    let items: Vec<Value> = (0..2000)
        .map(|i| {
            json!({
                "FlowLogId": format!("fl-{i:05}"),
                "ResourceType": "VSwitch",
                "ResourceId": format!("vsw-{i}"),
                "VpcId": format!("vpc-{}", i % 4),
                "Status": if i % 2 == 0 { "Active" } else { "Inactive" },
            })
        })
        .collect();
    let t = Instant::now();
    assert_eq!(
        emu.upsert_many(&Value::from(items)),
        json!({"created": 2000, "updated": 0})
    );
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // Merging into existing ones counts as updates; a bad entry changes nothing.
    assert_eq!(
        emu.upsert_many(&json!([{"FlowLogId": "fl-00000", "FlowLogName": "first"}])),
        json!({"created": 0, "updated": 1})
    );
    let r = emu.control(
        "POST",
        "/flow-logs",
        Some(&json!([{"FlowLogId": "fl-new"}, {"FlowLogId": "fl-bad", "Status": "On"}])),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(emu.flow_log("fl-new").is_none());

    let base = emu.creds();
    let page = |extra: &[(&str, &str)]| {
        let mut args = vec![("RegionId", "cn-hangzhou")];
        args.extend_from_slice(extra);
        let (s, v) = emu.call_with(&base, VPC_VERSION, "DescribeFlowLogs", &args);
        assert_eq!(s, 200, "{v}");
        v
    };
    let v = page(&[("PageSize", "50"), ("PageNumber", "40")]);
    assert_eq!(v["TotalCount"], "2000");
    let last = &v["FlowLogs"]["FlowLog"][49]["FlowLogId"];
    assert_eq!(last, "fl-01999", "stable (creation) order");
    let v = page(&[
        ("VpcId", "vpc-1"),
        ("Status", "Inactive"),
        ("PageSize", "50"),
    ]);
    assert_eq!(v["TotalCount"], "500");
    assert_eq!(v["FlowLogs"]["FlowLog"][0]["FlowLogId"], "fl-00001");
    let (s, v) = emu.call_with(
        &base,
        VPC_VERSION,
        "DescribeFlowLogs",
        &[("RegionId", "cn-hangzhou"), ("PageSize", "51")],
    );
    assert_error(s, &v, 400, "InvalidParameter");
}

#[test]
fn every_flag_in_the_help_is_in_the_readme_table() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_alicloud-vpc-emulator"))
        .arg("--help")
        .output()
        .expect("run alicloud-vpc-emulator --help");
    let help = String::from_utf8_lossy(&out.stdout);
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md readable");
    let flags: Vec<&str> = help
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| w.starts_with("--") && *w != "--help")
        .collect();
    assert!(flags.len() >= 16, "help lists too few flags: {flags:?}");
    for flag in flags {
        // `--flag VALUE`, or a switch such as `--refuse-listings` alone.
        assert!(
            readme.contains(&format!("| `{flag} ")) || readme.contains(&format!("| `{flag}` |")),
            "README table lacks {flag}"
        );
    }
}
