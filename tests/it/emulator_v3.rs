//! The emulator takes signature V3 (`ACS3-HMAC-SHA256`) requests as strictly as v1, over real
//! HTTP against the binary. The client here is written from the rules of
//! `tests/vectors/signature-v3.json` with `sha2` and `hmac` alone, not with the library's
//! signer, and is first checked against those vectors: the emulator's checker (built on the
//! library's signer) and this client agree only if both follow the rules.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::signer::{pairs, v3_vectors};
use crate::support::{Creds, Emulator, HttpResponse, STS_VERSION, timestamp_at, timestamp_now};

const VPC_VERSION: &str = "2016-04-28";
const FL: &str = "fl-v3000000000000000000001";
const ROLE: &str = "acs:ram::1234567890123456:role/ci-deployer";

// --- the independent client -----------------------------------------------------------

/// RFC 3986: unreserved characters stay, every other byte is `%XX` (upper-case hex).
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn hmac_hex(key: &str, data: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn form(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The rules: sorted encoded query; lower-cased, sorted, trimmed headers (a repeated name's
/// values sorted and joined by `,`); method, path, query, headers, names, body hash.
fn authorization(
    method: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
    payload_hash: &str,
    key_id: &str,
    secret: &str,
) -> (String, String) {
    let mut q: Vec<(String, String)> = query.to_vec();
    q.sort();
    let mut h: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (k, v) in headers {
        h.entry(k.to_ascii_lowercase())
            .or_default()
            .push(v.trim().to_owned());
    }
    let mut block = String::new();
    for (k, vs) in &mut h {
        vs.sort();
        block.push_str(&format!("{k}:{}\n", vs.join(",")));
    }
    let names = h.keys().cloned().collect::<Vec<_>>().join(";");
    let canonical = format!(
        "{method}\n/\n{}\n{block}\n{names}\n{payload_hash}",
        form(&q)
    );
    let to_sign = format!("ACS3-HMAC-SHA256\n{}", sha256_hex(canonical.as_bytes()));
    let sig = hmac_hex(secret, &to_sign);
    (
        format!("ACS3-HMAC-SHA256 Credential={key_id},SignedHeaders={names},Signature={sig}"),
        to_sign,
    )
}

/// One V3 call, with every knob a bad variant needs.
#[derive(Clone)]
struct V3 {
    method: &'static str,
    action: String,
    version: String,
    query: Vec<(String, String)>,
    /// Form body parameters (`None`: no body).
    body: Option<Vec<(String, String)>>,
    date: String,
    nonce: String,
    key: Creds,
    /// Extra headers to send and sign.
    extra: Vec<(String, String)>,
    /// Headers sent but left out of the signature.
    unsigned: Vec<String>,
    algorithm: &'static str,
    /// Replaces the body after signing.
    body_after_signing: Option<String>,
    /// Sign with this secret instead of the key's.
    secret_override: Option<String>,
    anonymous: bool,
}

impl V3 {
    fn new(emu: &Emulator, action: &str, params: &[(&str, &str)]) -> V3 {
        V3 {
            method: "POST",
            action: action.to_owned(),
            version: VPC_VERSION.to_owned(),
            query: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: None,
            date: timestamp_now(),
            nonce: uuid::Uuid::new_v4().simple().to_string(),
            key: emu.creds(),
            extra: Vec::new(),
            unsigned: Vec::new(),
            algorithm: "ACS3-HMAC-SHA256",
            body_after_signing: None,
            secret_override: None,
            anonymous: false,
        }
    }

    /// The parameters in a form body instead of the query.
    fn in_body(mut self) -> V3 {
        self.body = Some(std::mem::take(&mut self.query));
        self
    }

    fn send(&self, emu: &Emulator) -> HttpResponse {
        let body = self.body.as_ref().map(|b| form(b)).unwrap_or_default();
        let payload = sha256_hex(body.as_bytes());
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), emu.addr.clone()),
            ("x-acs-action".into(), self.action.clone()),
            ("x-acs-version".into(), self.version.clone()),
            ("x-acs-date".into(), self.date.clone()),
            ("x-acs-signature-nonce".into(), self.nonce.clone()),
            ("x-acs-content-sha256".into(), payload.clone()),
        ];
        if self.body.is_some() {
            headers.push((
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        if let Some(t) = &self.key.token {
            headers.push(("x-acs-security-token".into(), t.clone()));
        }
        headers.extend(self.extra.iter().cloned());
        let signed: Vec<(String, String)> = headers
            .iter()
            .filter(|(k, _)| !self.unsigned.contains(k))
            .cloned()
            .collect();
        let secret = self.secret_override.as_ref().unwrap_or(&self.key.secret);
        let (auth, _) = authorization(
            self.method,
            &self.query,
            &signed,
            &payload,
            &self.key.id,
            secret,
        );
        let auth = auth.replacen("ACS3-HMAC-SHA256", self.algorithm, 1);
        if !self.anonymous {
            headers.push(("authorization".into(), auth));
        }
        let sent: Vec<(&str, &str)> = headers
            .iter()
            .filter(|(k, _)| k != "host")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let target = if self.query.is_empty() {
            "/".to_owned()
        } else {
            format!("/?{}", form(&self.query))
        };
        let body = self.body_after_signing.clone().unwrap_or(body);
        emu.http_with_headers(self.method, &target, &sent, body.as_bytes())
    }

    fn call(&self, emu: &Emulator) -> (u16, Value) {
        let r = self.send(emu);
        let v = r.json();
        (r.status, v)
    }
}

/// The client above follows the vectors' rules: it reproduces every vector with a `/` path.
#[test]
fn the_independent_client_reproduces_the_v3_vectors() {
    let mut n = 0;
    for v in v3_vectors() {
        let (Some(want), "/") = (v["authorization"].as_str(), v["path"].as_str().unwrap()) else {
            continue;
        };
        let (got, to_sign) = authorization(
            v["method"].as_str().unwrap(),
            &pairs(&v["query"]),
            &pairs(&v["headers"]),
            v["payload_hash"].as_str().unwrap(),
            v["access_key_id"].as_str().unwrap(),
            v["secret"].as_str().unwrap(),
        );
        assert_eq!(got, want, "{}", v["name"]);
        if let Some(s) = v["string_to_sign"].as_str() {
            assert_eq!(to_sign, s, "{}", v["name"]);
        }
        n += 1;
    }
    assert!(n >= 7, "only {n} vectors reproduced");
}

// --- against the emulator -------------------------------------------------------------

fn seed() -> Value {
    json!([{"FlowLogId": FL, "RegionId": "cn-hangzhou", "Status": "Inactive", "FlowLogName": "流日志 a+b"}])
}

fn assert_error(r: (u16, Value), want_status: u16, want_code: &str) -> Value {
    let (status, v) = r;
    assert_eq!(
        (status, v["Code"].as_str()),
        (want_status, Some(want_code)),
        "{v}"
    );
    assert_eq!(v["RequestId"].as_str().map(str::len), Some(36), "{v}");
    for k in ["HostId", "Message", "Recommend"] {
        assert!(v[k].is_string(), "{k} missing in {v}");
    }
    v
}

#[test]
fn query_form_body_and_get_requests_are_served_in_json_by_default() {
    let emu = Emulator::start(&seed(), &["--activation-delay", "0"]);
    // As the Tea SDK sends it: parameters in the query, no body, no Format.
    let (s, v) = V3::new(
        &emu,
        "DescribeFlowLogs",
        &[("RegionId", "cn-hangzhou"), ("FlowLogName", "流日志 a+b")],
    )
    .call(&emu);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["TotalCount"], "1", "{v}");
    assert_eq!(v["FlowLogs"]["FlowLog"][0]["FlowLogId"], FL);
    // Parameters in a form body.
    let (s, v) = V3::new(
        &emu,
        "ActiveFlowLog",
        &[("RegionId", "cn-hangzhou"), ("FlowLogId", FL)],
    )
    .in_body()
    .call(&emu);
    assert_eq!((s, v["Success"].as_str()), (200, Some("true")), "{v}");
    assert_eq!(emu.flow_log(FL).unwrap()["Status"], "Active");
    // GET.
    let mut get = V3::new(
        &emu,
        "DescribeFlowLogs",
        &[("RegionId", "cn-hangzhou"), ("FlowLogId", FL)],
    );
    get.method = "GET";
    let (s, v) = get.call(&emu);
    assert_eq!(
        (s, v["FlowLogs"]["FlowLog"][0]["Status"].as_str()),
        (200, Some("Active")),
        "{v}"
    );
    // The request log names the signature and key, never the Authorization header.
    let log = emu.requests();
    assert!(log.iter().all(|r| r["signature"] == "v3"), "{log:?}");
    assert!(
        log.iter().all(|r| r["access_key_id"] == emu.access_key_id),
        "{log:?}"
    );
    assert_eq!(log[0]["action"], "DescribeFlowLogs");
    assert_eq!(log[0]["headers"]["x-acs-action"], "DescribeFlowLogs");
    assert!(!serde_json::to_string(&log).unwrap().contains("Signature="));
}

#[test]
fn tokens_and_sts_keys_work_as_with_v1() {
    let emu = Emulator::start(
        &seed(),
        &[
            "--security-token",
            "static-token-0123",
            "--sts-role-arn",
            ROLE,
        ],
    );
    let (s, v) = V3::new(&emu, "DescribeFlowLogs", &[("RegionId", "cn-hangzhou")]).call(&emu);
    assert_eq!(s, 200, "{v}");
    let mut without = V3::new(&emu, "DescribeFlowLogs", &[("RegionId", "cn-hangzhou")]);
    without.key.token = None;
    assert_error(without.call(&emu), 400, "MissingSecurityToken");
    let mut wrong = V3::new(&emu, "DescribeFlowLogs", &[("RegionId", "cn-hangzhou")]);
    wrong.key.token = Some("static-token-9999".into());
    assert_error(
        wrong.call(&emu),
        400,
        "InvalidSecurityToken.MismatchWithAccessKey",
    );

    // AssumeRole over V3, then the issued key (and its token) on the VPC API over V3.
    let mut assume = V3::new(
        &emu,
        "AssumeRole",
        &[("RoleArn", ROLE), ("RoleSessionName", "v3-test")],
    )
    .in_body();
    assume.version = STS_VERSION.into();
    let (s, v) = assume.call(&emu);
    assert_eq!(s, 200, "{v}");
    let issued = Creds::from_sts_answer(&v);
    let mut call = V3::new(&emu, "DescribeFlowLogs", &[("RegionId", "cn-hangzhou")]);
    call.key = issued.clone();
    assert_eq!(call.call(&emu).0, 200);
    call.key.token = None;
    call.nonce = "another-nonce".into();
    assert_error(
        call.call(&emu),
        400,
        "InvalidSecurityToken.MismatchWithAccessKey",
    );
    // The token never reaches the request log.
    let log = serde_json::to_string(&emu.requests()).unwrap();
    assert!(!log.contains("static-token-0123") && !log.contains(issued.token.as_deref().unwrap()));
}

#[test]
fn anonymous_assume_role_with_oidc_in_v3_shape() {
    let emu = Emulator::start(&seed(), &[]);
    let mut oidc = V3::new(
        &emu,
        "AssumeRoleWithOIDC",
        &[
            ("RoleArn", ROLE),
            (
                "OIDCProviderArn",
                "acs:ram::1234567890123456:oidc-provider/github",
            ),
            ("OIDCToken", "oidc-token-0123456789"),
            ("RoleSessionName", "ci"),
        ],
    )
    .in_body();
    oidc.version = STS_VERSION.into();
    oidc.anonymous = true;
    let (s, v) = oidc.call(&emu);
    assert_eq!(s, 200, "{v}");
    assert!(v["Credentials"]["AccessKeyId"].is_string(), "{v}");
    // Any other action without Authorization is refused.
    let mut anon = V3::new(&emu, "DescribeFlowLogs", &[("RegionId", "cn-hangzhou")]);
    anon.anonymous = true;
    let v = assert_error(anon.call(&emu), 400, "MissingParameter");
    assert!(
        v["Message"].as_str().unwrap().contains("Authorization"),
        "{v}"
    );
}

/// Each bad variant of issue 18 item 4, and a few more, refused with the API's error shape.
#[test]
fn every_bad_variant_is_refused() {
    let emu = Emulator::start(&seed(), &[]);
    let base = || V3::new(&emu, "DescribeFlowLogs", &[("RegionId", "cn-hangzhou")]);

    // Wrong secret.
    let mut v = base();
    v.secret_override = Some("not-the-secret".into());
    let e = assert_error(v.call(&emu), 400, "SignatureDoesNotMatch");
    let msg = e["Message"].as_str().unwrap();
    assert!(
        msg.contains("server string to sign is:ACS3-HMAC-SHA256\n"),
        "{msg}"
    );
    assert!(!msg.contains(&emu.access_key_secret), "{msg}");

    // Body changed after signing: x-acs-content-sha256 no longer matches.
    let mut v = base().in_body();
    v.body_after_signing = Some("RegionId=cn-shanghai".into());
    let e = assert_error(v.call(&emu), 400, "InvalidParameter");
    assert!(
        e["Message"]
            .as_str()
            .unwrap()
            .contains("x-acs-content-sha256"),
        "{e}"
    );

    // A required header, host, or any other x-acs-* header sent but not signed.
    for header in ["x-acs-signature-nonce", "x-acs-date", "host"] {
        let mut v = base();
        v.unsigned = vec![header.into()];
        let e = assert_error(v.call(&emu), 400, "IncompleteSignature");
        assert!(e["Message"].as_str().unwrap().contains(header), "{e}");
    }
    let mut v = base();
    v.extra = vec![("x-acs-extra".into(), "1".into())];
    v.unsigned = vec!["x-acs-extra".into()];
    assert_error(v.call(&emu), 400, "IncompleteSignature");

    // Reused nonce.
    let v = base();
    assert_eq!(v.call(&emu).0, 200);
    assert_error(v.call(&emu), 400, "SignatureNonceUsed");

    // A date more than 15 minutes off, either way; a date that is not one.
    for minutes in [-16, 16] {
        let mut v = base();
        v.date = timestamp_at(time::OffsetDateTime::now_utc() + time::Duration::minutes(minutes));
        assert_error(v.call(&emu), 400, "InvalidTimeStamp.Expired");
    }
    let mut v = base();
    v.date = "Thu, 06 Feb 2020 07:32:54 GMT".into();
    assert_error(v.call(&emu), 400, "InvalidTimeStamp.Format");

    // Unknown algorithms, and real ones the emulator does not check.
    for alg in ["ACS4-HMAC-SHA512", "ACS3-HMAC-SM3"] {
        let mut v = base();
        v.algorithm = alg;
        let e = assert_error(v.call(&emu), 400, "InvalidParameter");
        assert!(e["Message"].as_str().unwrap().contains(alg), "{e}");
    }

    // A malformed Authorization, a missing required header, an unknown key.
    let r = emu.http_with_headers(
        "POST",
        "/?RegionId=cn-hangzhou",
        &[
            ("authorization", "ACS3-HMAC-SHA256 Credential=x"),
            ("x-acs-action", "DescribeFlowLogs"),
            ("x-acs-version", VPC_VERSION),
        ],
        b"",
    );
    assert_error((r.status, r.json()), 400, "IncompleteSignature");
    let mut missing = base();
    missing.date = String::new();
    let e = assert_error(missing.call(&emu), 400, "MissingParameter");
    assert!(e["Message"].as_str().unwrap().contains("x-acs-date"), "{e}");
    let mut v = base();
    v.key.id = "no-such-key".into();
    assert_error(v.call(&emu), 404, "InvalidAccessKeyId.NotFound");

    // Every refusal is counted under its action, as v1's are.
    assert_eq!(emu.stats()["calls"]["DescribeFlowLogs"].as_u64(), Some(16));
}

/// v1 and V3 share the gateway's nonce memory: a nonce used by one is used for the other.
#[test]
fn v1_and_v3_side_by_side_share_nonces() {
    let emu = Emulator::start(&seed(), &[]);
    let (s, v) = emu.call("DescribeFlowLogs", &[("RegionId", "cn-hangzhou")]);
    assert_eq!(s, 200, "{v}");
    let mut v3 = V3::new(&emu, "DescribeFlowLogs", &[("RegionId", "cn-hangzhou")]);
    assert_eq!(v3.call(&emu).0, 200);
    let nonce = uuid::Uuid::new_v4().to_string();
    let mut p = emu.params("DescribeFlowLogs", &[("RegionId", "cn-hangzhou")]);
    for (k, v) in p.iter_mut() {
        if k == "SignatureNonce" {
            *v = nonce.clone();
        }
    }
    crate::support::sign_params("POST", &mut p, &emu.access_key_secret);
    let r = emu.http(
        "POST",
        "/",
        Some("application/x-www-form-urlencoded"),
        crate::support::encode_params(&p).as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    v3.nonce = nonce;
    assert_error(v3.call(&emu), 400, "SignatureNonceUsed");
    let log = emu.requests();
    let shapes: Vec<&str> = log
        .iter()
        .map(|r| r["signature"].as_str().unwrap())
        .collect();
    assert_eq!(shapes, ["v1", "v3", "v1", "v3"]);
}

#[test]
fn the_flow_log_lifecycle_in_v3_shape() {
    let emu = Emulator::start(&json!([]), &["--activation-delay", "0"]);
    let hz = ("RegionId", "cn-hangzhou");
    let (s, v) = V3::new(
        &emu,
        "CreateFlowLog",
        &[
            hz,
            ("ResourceType", "VPC"),
            ("ResourceId", "vpc-abc123"),
            ("TrafficType", "All"),
            ("ProjectName", "my-project"),
            ("LogStoreName", "my-logstore"),
            ("FlowLogName", "流日志 a+b"),
            ("Tag.1.Key", "env"),
            ("Tag.1.Value", "prod"),
        ],
    )
    .call(&emu);
    assert_eq!(s, 200, "{v}");
    let id = v["FlowLogId"].as_str().unwrap_or_default().to_owned();
    assert_eq!(id, "fl-emu00000000000000001");
    let id = id.as_str();
    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "ModifyFlowLogAttribute",
            vec![hz, ("FlowLogId", id), ("Description", "d")],
        ),
        (
            "TagResources",
            vec![
                hz,
                ("ResourceType", "FLOWLOG"),
                ("ResourceId.1", id),
                ("Tag.1.Key", "team"),
            ],
        ),
        (
            "ListTagResources",
            vec![hz, ("ResourceType", "FLOWLOG"), ("ResourceId.1", id)],
        ),
        (
            "UnTagResources",
            vec![
                hz,
                ("ResourceType", "FLOWLOG"),
                ("ResourceId.1", id),
                ("TagKey.1", "env"),
            ],
        ),
        (
            "MoveResourceGroup",
            vec![
                hz,
                ("ResourceType", "FLOWLOG"),
                ("ResourceId", id),
                ("NewResourceGroupId", "rg-abc"),
            ],
        ),
    ];
    for (action, params) in &calls {
        // Parameters in a form body, as in the query: both are signed.
        let (s, v) = V3::new(&emu, action, params).in_body().call(&emu);
        assert_eq!(s, 200, "{action}: {v}");
        let mut wrong = V3::new(&emu, action, params);
        wrong.secret_override = Some("not-the-secret".to_owned());
        assert_error(wrong.call(&emu), 400, "SignatureDoesNotMatch");
    }
    let fl = emu.flow_log(id).expect("created");
    assert_eq!(fl["FlowLogName"], "流日志 a+b");
    assert_eq!(fl["Description"], "d");
    assert_eq!(fl["ResourceGroupId"], "rg-abc");
    assert_eq!(fl["Tags"], json!({"Tag": [{"Key": "team", "Value": ""}]}));
    let (s, v) = V3::new(&emu, "DeleteFlowLog", &[hz, ("FlowLogId", id)]).call(&emu);
    assert_eq!((s, v["Success"].as_str()), (200, Some("true")), "{v}");
    assert!(emu.flow_log(id).is_none());
    assert!(emu.requests().iter().all(|r| r["signature"] == "v3"));
}
