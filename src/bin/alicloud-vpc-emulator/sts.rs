//! STS (Version 2015-04-01) on the emulator's port: `AssumeRole` and `AssumeRoleWithOIDC`,
//! the parameter and configuration checks they share, and the temporary keys they issue,
//! which the gateway checks in `api` accept until they expire.
//!
//! Expiry uses the wall clock (`OffsetDateTime::now_utc`) both when issuing and when checking,
//! because the `Expiration` a client sees is wall-clock time and must agree with when the
//! emulator starts answering `InvalidSecurityToken.Expired`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use base64::Engine as _;
use rand::Rng as _;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::api::ApiError;
use super::config::EmulatorConfig;
use super::store::CREATION_TIME_FORMAT;

pub const STS_VERSION: &str = "2015-04-01";
pub const ACTIONS: &[&str] = &["AssumeRole", "AssumeRoleWithOIDC"];

const MIN_DURATION: u64 = 900;
const MAX_DURATION: u64 = 43_200;
const DEFAULT_DURATION: u64 = 3600;
const MAX_POLICY_LEN: usize = 2048;
/// Keys stay known this long after expiring, so a late caller gets `Expired` rather than
/// `InvalidAccessKeyId.NotFound`; older ones are dropped to bound memory.
const KEEP_EXPIRED: time::Duration = time::Duration::hours(24);

/// `acs:ram::<digits>:<kind>/<name>` -> (account, name). Names are 1-64 of `[A-Za-z0-9._-]`,
/// slightly wider than RAM's own rule so a test's name is never refused for a character RAM
/// might accept tomorrow.
fn parse_ram_arn<'a>(arn: &'a str, kind: &str) -> Option<(&'a str, &'a str)> {
    let rest = arn.strip_prefix("acs:ram::")?;
    let (account, resource) = rest.split_once(':')?;
    let name = resource.strip_prefix(kind)?.strip_prefix('/')?;
    let account_ok = !account.is_empty() && account.bytes().all(|b| b.is_ascii_digit());
    let name_ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    (account_ok && name_ok).then_some((account, name))
}

/// A role ARN's account id and role name, or `None` when it is not `acs:ram::<id>:role/<name>`.
pub fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    parse_ram_arn(arn, "role")
}

pub fn parse_oidc_provider_arn(arn: &str) -> Option<(&str, &str)> {
    parse_ram_arn(arn, "oidc-provider")
}

/// 2-64 characters of `[A-Za-z0-9.@_-]`, STS's rule for `RoleSessionName`.
pub fn valid_session_name(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'@' | b'_' | b'-'))
}

/// `DurationSeconds`: absent means 3600; otherwise an integer from 900 to 43200.
pub fn duration_seconds(value: Option<&str>) -> Option<u64> {
    match value {
        None => Some(DEFAULT_DURATION),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|d| (MIN_DURATION..=MAX_DURATION).contains(d)),
    }
}

/// When a key issued at `now` for `life` expires, rounded up to the whole second: `Expiration`
/// has second resolution, and rounding down would let a key die before the time it shows.
pub fn expiry(now: OffsetDateTime, life: Duration) -> OffsetDateTime {
    let life =
        time::Duration::try_from(life).unwrap_or(time::Duration::seconds(MAX_DURATION as i64));
    let at = now.saturating_add(life);
    let whole = at.replace_nanosecond(0).unwrap_or(at);
    if whole < at {
        whole + time::Duration::SECOND
    } else {
        whole
    }
}

pub fn format_time(t: OffsetDateTime) -> String {
    t.format(CREATION_TIME_FORMAT).unwrap_or_default()
}

/// A temporary key the emulator issued.
#[derive(Debug, Clone)]
pub struct Issued {
    pub secret: String,
    pub token: String,
    pub expires_at: OffsetDateTime,
}

impl Issued {
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at
    }
}

/// Every key issued so far, by AccessKeyId.
#[derive(Default)]
pub struct Keys {
    keys: HashMap<String, Issued>,
    prune_at: usize,
}

fn random_alnum(n: usize) -> String {
    rand::rng()
        .sample_iter(&rand::distr::Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

impl Keys {
    pub fn get(&self, access_key_id: &str) -> Option<&Issued> {
        self.keys.get(access_key_id)
    }

    /// Issues a fresh key living `life` from `now`; returns its id and the key.
    pub fn issue(&mut self, life: Duration, now: OffsetDateTime) -> (String, Issued) {
        if self.keys.len() >= self.prune_at.max(1024) {
            self.keys.retain(|_, k| k.expires_at + KEEP_EXPIRED > now);
            self.prune_at = self.keys.len() * 2;
        }
        let id = format!("STS.{}", random_alnum(28));
        let issued = Issued {
            secret: random_alnum(44),
            // Real tokens are long opaque base64 blobs starting with "CAIS"; clients must not
            // assume a length, so make it long enough to catch a truncating buffer.
            token: format!("CAIS{}", random_alnum(600)),
            expires_at: expiry(now, life),
        };
        self.keys.insert(id.clone(), issued.clone());
        (id, issued)
    }
}

/// What an OIDC token claims, when it is a JWT; other tokens get neutral values.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenClaims {
    pub subject: String,
    pub issuer: String,
    pub client_ids: String,
    pub expires: Option<i64>,
}

/// Reads (without verifying: the emulator trusts its configured token, not a key set) the
/// claims of a JWT so answers carry the subject and issuer a CI token really had.
pub fn token_claims(token: &str) -> TokenClaims {
    let payload = token
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .unwrap_or(Value::Null);
    let text = |k: &str, default: &str| {
        payload
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_owned()
    };
    let client_ids = match payload.get("aud") {
        Some(Value::String(a)) => a.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        _ => "sts.aliyuncs.com".to_owned(),
    };
    TokenClaims {
        subject: text("sub", "emulator-subject"),
        issuer: text("iss", "https://oidc.emulator.invalid"),
        client_ids,
        expires: payload.get("exp").and_then(Value::as_i64),
    }
}

/// A validated STS call.
#[derive(Debug)]
pub struct StsOp {
    role_arn: String,
    session: String,
    duration: u64,
    external_id: Option<String>,
    oidc: Option<Oidc>,
}

#[derive(Debug)]
struct Oidc {
    provider_arn: String,
    token: String,
}

fn non_empty<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

fn invalid(code: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(400, code, message)
}

/// The parameter checks, which need no state: shapes and ranges.
pub fn parse_op(action: &str, params: &BTreeMap<String, String>) -> Result<StsOp, ApiError> {
    let required = |name: &str| non_empty(params, name).ok_or_else(|| ApiError::missing(name));
    let role_arn = required("RoleArn")?;
    if parse_role_arn(role_arn).is_none() {
        return Err(invalid(
            "InvalidParameter.RoleArn",
            "The parameter RoleArn is invalid: expected acs:ram::<account id>:role/<role name>.",
        ));
    }
    let oidc = if action == "AssumeRoleWithOIDC" {
        let provider_arn = required("OIDCProviderArn")?;
        if parse_oidc_provider_arn(provider_arn).is_none() {
            return Err(invalid(
                "InvalidParameter.OIDCProviderArn",
                "The parameter OIDCProviderArn is invalid: expected acs:ram::<account id>:oidc-provider/<name>.",
            ));
        }
        let token = required("OIDCToken")?;
        if !(4..=20_000).contains(&token.len()) {
            return Err(invalid(
                "InvalidParameter.OIDCToken",
                "The parameter OIDCToken must be 4 to 20000 characters long.",
            ));
        }
        Some(Oidc {
            provider_arn: provider_arn.to_owned(),
            token: token.to_owned(),
        })
    } else {
        None
    };
    let session = required("RoleSessionName")?;
    if !valid_session_name(session) {
        return Err(invalid(
            "InvalidParameter.RoleSessionName",
            "The parameter RoleSessionName must be 2 to 64 characters of letters, digits, '.', '@', '_' and '-'.",
        ));
    }
    let duration = duration_seconds(non_empty(params, "DurationSeconds")).ok_or_else(|| {
        invalid(
            "InvalidParameter.DurationSeconds",
            format!(
                "The parameter DurationSeconds must be an integer from {MIN_DURATION} to {MAX_DURATION}."
            ),
        )
    })?;
    if let Some(policy) = non_empty(params, "Policy")
        && (policy.len() > MAX_POLICY_LEN || serde_json::from_str::<Value>(policy).is_err())
    {
        return Err(invalid(
            "InvalidParameter.PolicyGrammar",
            "The parameter Policy must be a JSON policy document of at most 2048 characters.",
        ));
    }
    Ok(StsOp {
        role_arn: role_arn.to_owned(),
        session: session.to_owned(),
        duration,
        external_id: non_empty(params, "ExternalId").map(str::to_owned),
        oidc,
    })
}

/// The checks against what the emulator was told exists, then the issue of a key.
pub fn run_op(
    keys: &mut Keys,
    op: StsOp,
    config: &EmulatorConfig,
    now: OffsetDateTime,
) -> Result<Map<String, Value>, ApiError> {
    let mut claims = None;
    if let Some(oidc) = &op.oidc {
        if let Some(want) = &config.sts_oidc_provider_arn
            && !want.eq_ignore_ascii_case(&oidc.provider_arn)
        {
            return Err(ApiError::new(
                404,
                "EntityNotExist.OIDCProvider",
                format!(
                    "The specified OIDC provider does not exist: {}.",
                    oidc.provider_arn
                ),
            ));
        }
        let c = token_claims(&oidc.token);
        let expired_by_claim = c.expires.is_some_and(|exp| exp <= now.unix_timestamp());
        if expired_by_claim || config.sts_oidc_expired_tokens.contains(&oidc.token) {
            return Err(invalid(
                "AuthenticationFail.OIDCToken.Expired",
                "The OIDC token is expired.",
            ));
        }
        if let Some(want) = &config.sts_oidc_token
            && !tfprovider::alicloud::sign::v1::signatures_equal(want, &oidc.token)
        {
            return Err(invalid(
                "AuthenticationFail.OIDCToken.Invalid",
                "The OIDC token is invalid.",
            ));
        }
        claims = Some(c);
    }
    if !config.sts_role_arns.is_empty()
        && !config
            .sts_role_arns
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&op.role_arn))
    {
        return Err(ApiError::new(
            404,
            "EntityNotExist.Role",
            format!("The specified Role not exists: {}.", op.role_arn),
        ));
    }
    if op.oidc.is_none()
        && let Some(want) = &config.sts_external_id
        && op.external_id.as_deref() != Some(want.as_str())
    {
        return Err(ApiError::new(
            403,
            "NoPermission",
            "You are not authorized to assume this role: the ExternalId does not match the role's trust policy.",
        ));
    }

    let (account, role_name) = parse_role_arn(&op.role_arn).unwrap_or(("0", "role"));
    let requested = Duration::from_secs(op.duration);
    let life = config
        .sts_credential_lifetime
        .map_or(requested, |cap| cap.min(requested));
    let (id, issued) = keys.issue(life, now);
    let mut out = Map::new();
    out.insert(
        "AssumedRoleUser".to_owned(),
        json!({
            "Arn": format!("acs:ram::{account}:role/{role_name}/{}", op.session),
            "AssumedRoleId": format!("{}:{}", role_id(&op.role_arn), op.session),
        }),
    );
    out.insert(
        "Credentials".to_owned(),
        json!({
            "AccessKeyId": id,
            "AccessKeySecret": issued.secret,
            "SecurityToken": issued.token,
            "Expiration": format_time(issued.expires_at),
        }),
    );
    if let Some(c) = claims {
        out.insert(
            "OIDCTokenInfo".to_owned(),
            json!({
                "Subject": c.subject,
                "Issuer": c.issuer,
                "ClientIds": c.client_ids,
            }),
        );
    }
    Ok(out)
}

/// A 17-digit role id derived from the ARN (FNV-1a), stable across calls like a real role's.
fn role_id(role_arn: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in role_arn.to_ascii_lowercase().bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("3{:016}", h % 10_u64.pow(16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns() {
        assert_eq!(
            parse_role_arn("acs:ram::1234567890:role/ci-deployer"),
            Some(("1234567890", "ci-deployer"))
        );
        assert!(parse_role_arn("acs:ram::1:role/a.b_c-d").is_some());
        for bad in [
            "",
            "acs:ram::abc:role/x",
            "acs:ram:::role/x",
            "acs:ram::1:role/",
            "acs:ram::1:user/x",
            "acs:ram::1:role/x/y",
            "acs:ecs::1:role/x",
            "arn:aws:iam::1:role/x",
            "acs:ram::1:oidc-provider/x",
        ] {
            assert!(parse_role_arn(bad).is_none(), "{bad:?} accepted");
        }
        let long = format!("acs:ram::1:role/{}", "r".repeat(65));
        assert!(parse_role_arn(&long).is_none());
        assert!(parse_oidc_provider_arn("acs:ram::1:oidc-provider/github").is_some());
        assert!(parse_oidc_provider_arn("acs:ram::1:role/github").is_none());
    }

    #[test]
    fn session_names() {
        for ok in ["ab", "terraform", "a.b@c_d-e", &"s".repeat(64)] {
            assert!(valid_session_name(ok), "{ok:?} refused");
        }
        for bad in ["", "a", "has space", "slash/no", "ü-name", &"s".repeat(65)] {
            assert!(!valid_session_name(bad), "{bad:?} accepted");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration_seconds(None), Some(3600));
        assert_eq!(duration_seconds(Some("900")), Some(900));
        assert_eq!(duration_seconds(Some("43200")), Some(43200));
        for bad in ["899", "43201", "-1", "1h", "3600.0", ""] {
            assert_eq!(duration_seconds(Some(bad)), None, "{bad:?}");
        }
    }

    #[test]
    fn expiry_rounds_up_to_the_second_and_compares_on_the_same_clock() {
        let t = OffsetDateTime::from_unix_timestamp(1_800_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(
            expiry(t, Duration::from_secs(2)),
            t + time::Duration::seconds(2)
        );
        let t_half = t + time::Duration::milliseconds(500);
        let e = expiry(t_half, Duration::from_secs(1));
        assert_eq!(e, t + time::Duration::seconds(2));
        assert_eq!(format_time(e), "2027-01-15T08:00:02Z");
        let key = Issued {
            secret: String::new(),
            token: String::new(),
            expires_at: e,
        };
        assert!(!key.is_expired(e - time::Duration::milliseconds(1)));
        assert!(key.is_expired(e));
    }

    #[test]
    fn issued_keys_look_like_sts_keys() {
        let mut keys = Keys::default();
        let now = OffsetDateTime::now_utc();
        let (id, k) = keys.issue(Duration::from_secs(900), now);
        assert!(id.starts_with("STS.") && id.len() == 32, "{id}");
        assert!(k.token.len() > 500 && k.secret.len() == 44);
        assert_eq!(keys.get(&id).map(|k| k.expires_at), Some(k.expires_at));
        let (id2, _) = keys.issue(Duration::from_secs(900), now);
        assert_ne!(id, id2);
    }

    #[test]
    fn jwt_claims_and_opaque_tokens() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            r#"{"sub":"repo:org/app:ref:refs/heads/main","iss":"https://token.actions.githubusercontent.com","aud":["sts.aliyuncs.com","x"],"exp":1}"#,
        );
        let c = token_claims(&format!("eyJhbGciOiJSUzI1NiJ9.{payload}.sig"));
        assert_eq!(c.subject, "repo:org/app:ref:refs/heads/main");
        assert_eq!(c.client_ids, "sts.aliyuncs.com,x");
        assert_eq!(c.expires, Some(1));
        let c = token_claims("opaque-token");
        assert_eq!(
            (c.client_ids.as_str(), c.expires),
            ("sts.aliyuncs.com", None)
        );
    }
}
