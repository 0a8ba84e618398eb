//! Temporary credentials end to end: the real terraform CLI, the provider and the emulator
//! serving STS on its port. `assume_role`, `assume_role_with_oidc` with a token file, the RRSA
//! variables alone, a `RamRoleArn` profile, renewal during a wait longer than the session,
//! STS failures (no VPC call follows), validation, and secrets kept out of logs and state.

use serde_json::{Value, json};

use crate::support::Emulator;
use crate::tf::{Run, Sign, Tf, header};

const FL: &str = "fl-sts00000000000000000001";
const ROLE: &str = "acs:ram::1234567890123456:role/ci-deployer";
const PROVIDER: &str = "acs:ram::1234567890123456:oidc-provider/github";
const OIDC_TOKEN: &str = "oidc-token-for-the-e2e-tests-0123456789";

fn seed() -> Value {
    json!([{"FlowLogId": FL, "RegionId": "cn-hangzhou", "Status": "Inactive"}])
}

fn resource() -> String {
    format!(
        "resource \"alicloud_vpc_flow_log_activation\" \"this\" {{\n  flow_log_id = \"{FL}\"\n}}\n"
    )
}

/// A provider block talking to `emu` for VPC and STS, with `body` added inside.
fn provider(emu: &Emulator, body: &str) -> String {
    format!(
        "provider \"alicloud\" {{\n  region   = \"cn-hangzhou\"\n  protocol = \"HTTP\"\n  endpoints {{\n    vpc = \"{0}\"\n    sts = \"{0}\"\n  }}\n{body}}}\n",
        emu.base_url
    )
}

fn keys(emu: &Emulator) -> String {
    format!(
        "  access_key = \"{}\"\n  secret_key = \"{}\"\n",
        emu.access_key_id, emu.access_key_secret
    )
}

fn workspace(emu: &Emulator, provider_body: &str) -> Tf {
    Tf::new(&format!(
        "{}\n{}\n{}",
        header(),
        provider(emu, provider_body),
        resource()
    ))
}

fn apply(tf: &Tf) -> Run {
    tf.run(&["apply", "-auto-approve", "-input=false", "-no-color"])
}

fn calls(emu: &Emulator, action: &str) -> u64 {
    emu.stats()["calls"][action].as_u64().unwrap_or(0)
}

fn vpc_calls(emu: &Emulator) -> u64 {
    ["DescribeFlowLogs", "ActiveFlowLog", "DeactiveFlowLog"]
        .iter()
        .map(|a| calls(emu, a))
        .sum()
}

fn status(emu: &Emulator) -> String {
    emu.flow_log(FL).unwrap()["Status"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// VPC requests the emulator received, with the AccessKeyId each was signed with (whatever
/// the signature).
fn vpc_key_ids(emu: &Emulator) -> Vec<String> {
    emu.requests()
        .iter()
        .filter(|r| r["action"] != "AssumeRole" && r["action"] != "AssumeRoleWithOIDC")
        .filter_map(|r| r["access_key_id"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn assume_role_block_signs_vpc_calls_with_the_role() {
    assume_role_block(Sign::Default).assert_signed_with("v1");
}

/// `assume_role` with keys: STS is called with them, VPC with the role's temporary key and
/// token; the emulator, for its log.
pub(crate) fn assume_role_block(sign: Sign) -> Emulator {
    let emu = Emulator::start(
        &seed(),
        &["--activation-delay", "0", "--sts-role-arn", ROLE],
    );
    let mut tf = workspace(
        &emu,
        &format!(
            "{}{}  assume_role {{\n    role_arn = \"{ROLE}\"\n  }}\n",
            keys(&emu),
            sign.block()
        ),
    );
    sign.apply(&mut tf);
    apply(&tf).assert_ok();
    assert_eq!(status(&emu), "Active");
    assert!(calls(&emu, "AssumeRole") >= 1);
    let ids = vpc_key_ids(&emu);
    assert!(
        !ids.is_empty() && ids.iter().all(|k| k.starts_with("STS.")),
        "{ids:?}"
    );
    emu
}

#[test]
fn oidc_block_with_a_token_file() {
    let emu = Emulator::start(
        &seed(),
        &[
            "--activation-delay",
            "0",
            "--sts-oidc-token",
            OIDC_TOKEN,
            "--sts-oidc-provider-arn",
            PROVIDER,
        ],
    );
    let token = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(token.path(), format!("{OIDC_TOKEN}\n")).unwrap();
    let tf = workspace(
        &emu,
        &format!(
            "  assume_role_with_oidc {{\n    oidc_provider_arn = \"{PROVIDER}\"\n    role_arn = \"{ROLE}\"\n    oidc_token_file = \"{}\"\n  }}\n",
            token.path().display()
        ),
    );
    apply(&tf).assert_ok();
    assert_eq!(status(&emu), "Active");
    assert!(calls(&emu, "AssumeRoleWithOIDC") >= 1);
    assert_eq!(calls(&emu, "AssumeRole"), 0);
}

#[test]
fn rrsa_environment_alone() {
    let emu = Emulator::start(
        &seed(),
        &["--activation-delay", "0", "--sts-oidc-token", OIDC_TOKEN],
    );
    let token = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(token.path(), OIDC_TOKEN).unwrap();
    let mut tf = Tf::new(&format!(
        "{}\nprovider \"alicloud\" {{}}\n{}",
        header(),
        resource()
    ));
    for (k, v) in [
        ("ALICLOUD_REGION", "cn-hangzhou"),
        ("ALIBABA_CLOUD_ENDPOINT_VPC", emu.base_url.as_str()),
        ("ALICLOUD_STS_ENDPOINT", emu.base_url.as_str()),
        ("ALIBABA_CLOUD_ROLE_ARN", ROLE),
        ("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", PROVIDER),
        (
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
            token.path().to_str().unwrap(),
        ),
    ] {
        tf.set_env(k, v);
    }
    apply(&tf).assert_ok();
    assert_eq!(status(&emu), "Active");
    assert!(calls(&emu, "AssumeRoleWithOIDC") >= 1);
}

#[test]
fn ram_role_arn_profile() {
    let emu = Emulator::start(
        &seed(),
        &["--activation-delay", "0", "--sts-role-arn", ROLE],
    );
    let mut tf = Tf::new(&format!(
        "{}\n{}\n{}",
        header(),
        provider(&emu, ""),
        resource()
    ));
    let aliyun = tf.home().join(".aliyun");
    std::fs::create_dir_all(&aliyun).unwrap();
    std::fs::write(
        aliyun.join("config.json"),
        json!({"current": "ci", "profiles": [{
            "name": "ci", "mode": "RamRoleArn",
            "access_key_id": emu.access_key_id, "access_key_secret": emu.access_key_secret,
            "ram_role_arn": ROLE, "ram_session_name": "profile-session", "expired_seconds": 900
        }]})
        .to_string(),
    )
    .unwrap();
    tf.set_env("HOME", tf.home().to_str().unwrap());
    apply(&tf).assert_ok();
    assert_eq!(status(&emu), "Active");
    let sessions: Vec<Value> = emu
        .requests()
        .iter()
        .filter(|r| r["action"] == "AssumeRole")
        .map(|r| r["params"]["RoleSessionName"].clone())
        .collect();
    assert!(
        !sessions.is_empty() && sessions.iter().all(|s| s == "profile-session"),
        "{sessions:?}"
    );
}

#[test]
fn renewed_during_a_wait_longer_than_the_session() {
    let emu = Emulator::start(
        &seed(),
        &[
            "--activation-delay",
            "5s",
            "--sts-credential-lifetime",
            "2s",
            "--sts-role-arn",
            ROLE,
        ],
    );
    let tf = workspace(
        &emu,
        &format!(
            "{}  assume_role {{\n    role_arn = \"{ROLE}\"\n  }}\n",
            keys(&emu)
        ),
    );
    apply(&tf).assert_ok();
    assert_eq!(status(&emu), "Active");
    let stats = emu.stats();
    assert!(calls(&emu, "AssumeRole") > 1, "{stats}");
    // No failed call, but at most the one refused as expired and retried after a renewal.
    let errors = stats["errors"].as_object().cloned().unwrap_or_default();
    let other: Vec<_> = errors
        .iter()
        .filter(|(code, _)| *code != "InvalidSecurityToken.Expired")
        .collect();
    assert!(other.is_empty(), "{stats}");
    assert!(
        errors
            .get("InvalidSecurityToken.Expired")
            .and_then(Value::as_u64)
            .unwrap_or(0)
            <= 1,
        "{stats}"
    );
}

#[test]
fn sts_failures_name_code_request_id_and_source_and_stop_before_vpc() {
    let emu = Emulator::start(
        &seed(),
        &["--sts-role-arn", ROLE, "--sts-external-id", "right-id"],
    );
    for (role, external_id, code) in [
        (
            "acs:ram::1234567890123456:role/nobody",
            "right-id",
            "EntityNotExist.Role",
        ),
        (ROLE, "wrong-id", "NoPermission"),
    ] {
        emu.clear_stats();
        let tf = workspace(
            &emu,
            &format!(
                "{}  assume_role {{\n    role_arn = \"{role}\"\n    external_id = \"{external_id}\"\n  }}\n",
                keys(&emu)
            ),
        );
        let r = apply(&tf);
        r.assert_failed();
        let out = r
            .all()
            .replace('\n', " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for needle in [
            code,
            "RequestId",
            &format!("assume_role {role} with base credentials from the provider block"),
        ] {
            assert!(
                out.contains(needle),
                "{needle:?} missing from:\n{}",
                r.all()
            );
        }
        assert!(calls(&emu, "AssumeRole") >= 1);
        assert_eq!(vpc_calls(&emu), 0, "{}", emu.stats());
        assert!(!r.all().contains(&emu.access_key_secret));
    }
}

#[test]
fn validate_names_the_attribute_and_calls_nothing() {
    let emu = Emulator::start(&seed(), &[]);
    let tf = workspace(
        &emu,
        "  assume_role {\n    role_arn = \"arn:aws:iam::1:role/x\"\n    session_expiration = 100\n    session_name = \"a\"\n  }\n  assume_role_with_oidc {\n    oidc_provider_arn = \"acs:ram::1:role/not-a-provider\"\n    role_arn = \"acs:ram::1:role/ok\"\n    oidc_token = \"some-inline-token\"\n    oidc_token_file = \"/tmp/token\"\n    session_expiration = 50000\n  }\n",
    );
    let r = tf.run(&["validate", "-json", "-no-color"]);
    r.assert_failed();
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout));
    let diags = v["diagnostics"].as_array().cloned().unwrap_or_default();
    let lines: Vec<String> = diags
        .iter()
        .map(|d| format!("{} | {}", d["summary"], d["snippet"]["code"]))
        .collect();
    for (summary, code) in [
        ("Invalid role_arn", "role_arn"),
        ("Invalid session_expiration", "session_expiration = 100"),
        ("Invalid session_name", "session_name"),
        ("Invalid oidc_provider_arn", "oidc_provider_arn"),
        ("Invalid session_expiration", "session_expiration = 50000"),
        ("Conflicting OIDC token settings", "oidc_token"),
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(summary) && l.contains(code)),
            "{summary} on {code} missing from {lines:#?}"
        );
    }
    // Terraform quotes the configuration line in its snippet; our own texts never the token.
    for d in &diags {
        assert!(
            !d["detail"].to_string().contains("some-inline-token"),
            "{d}"
        );
    }
    assert_eq!(emu.stats()["calls"], json!({}), "validate made an API call");
}

#[test]
fn secrets_never_in_trace_logs_or_state() {
    oidc_then_role_secrets_kept_out(Sign::Default).assert_signed_with("v1");
}

/// `assume_role_with_oidc` (anonymous) then `assume_role` on top, at trace level: no token,
/// key secret or security token in the output or the state; the emulator, for its log.
pub(crate) fn oidc_then_role_secrets_kept_out(sign: Sign) -> Emulator {
    let emu = Emulator::start(
        &seed(),
        &["--activation-delay", "0", "--sts-oidc-token", OIDC_TOKEN],
    );
    // An inline OIDC token, and a role assumed on top: every kind of STS secret in play.
    let mut tf = workspace(
        &emu,
        &format!(
            "  assume_role_with_oidc {{\n    oidc_provider_arn = \"{PROVIDER}\"\n    role_arn = \"{ROLE}\"\n    oidc_token = \"{OIDC_TOKEN}\"\n  }}\n  assume_role {{\n    role_arn = \"acs:ram::1234567890123456:role/second\"\n  }}\n{}",
            sign.block()
        ),
    );
    sign.apply(&mut tf);
    tf.set_env("TF_LOG", "trace");
    let r = apply(&tf);
    r.assert_ok();
    assert_eq!(calls(&emu, "AssumeRoleWithOIDC"), 1);
    assert_eq!(calls(&emu, "AssumeRole"), 1);
    let out = r.all();
    assert!(
        out.contains("provider.terraform-provider-alicloud"),
        "no provider logs at trace level"
    );
    let state = tf.state_file();
    assert!(state.contains(FL));
    for (what, text) in [("trace output", &out), ("state", &state)] {
        assert!(!text.contains(OIDC_TOKEN), "OIDC token in the {what}");
        // Every security token the emulator issues starts with CAIS (then 600 characters).
        assert!(!text.contains("CAIS"), "a security token in the {what}");
        assert!(
            !text.contains("AccessKeySecret\":\""),
            "a secret in the {what}"
        );
    }
    emu
}

#[test]
fn a_call_refused_as_expired_is_retried_once_after_a_renewal() {
    let emu = Emulator::start(
        &seed(),
        &["--activation-delay", "0", "--sts-role-arn", ROLE],
    );
    // The gateway says the session died early (clock skew, revoked): the provider renews the
    // role and makes the call again, once, and the apply does not notice.
    emu.fail_next(1, "InvalidSecurityToken.Expired", &["ActiveFlowLog"]);
    let tf = workspace(
        &emu,
        &format!(
            "{}  assume_role {{\n    role_arn = \"{ROLE}\"\n  }}\n",
            keys(&emu)
        ),
    );
    apply(&tf).assert_ok();
    assert_eq!(status(&emu), "Active");
    let stats = emu.stats();
    assert_eq!(
        stats["errors"],
        json!({"InvalidSecurityToken.Expired": 1}),
        "{stats}"
    );
    assert_eq!(calls(&emu, "ActiveFlowLog"), 2, "{stats}");
    // The first session, then the one renewed after the refusal (the apply's process only:
    // plan makes no call for a new resource).
    assert_eq!(calls(&emu, "AssumeRole"), 2, "{stats}");
    let ids: Vec<String> = emu
        .requests()
        .iter()
        .filter(|r| r["action"] == "ActiveFlowLog")
        .filter_map(|r| r["params"]["AccessKeyId"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1], "the retry is signed with the renewed key");
}
