//! The STS product (Version 2015-04-01) on the shared transport: its endpoint rule, the rules
//! its parameters follow (checked at validate time too), and the two typed calls the
//! credential sources make, `AssumeRole` (signed with base credentials) and
//! `AssumeRoleWithOIDC` (anonymous).

use serde::Deserialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::alicloud::credentials::provider::Cached;
use crate::alicloud::error::Error;
use crate::alicloud::rpc::endpoint::EndpointRule;
use crate::alicloud::rpc::{Answer, Auth, CallOptions, Product, Request, Transport};
use crate::alicloud::secret::Secret;

/// Environment variables naming the STS endpoint, first set wins (the official names).
pub const ENV_STS_ENDPOINT: &[&str] = &["ALICLOUD_STS_ENDPOINT", "ALIBABA_CLOUD_STS_ENDPOINT"];
/// The region whose STS endpoint is used when it should differ from the provider's
/// (credentials-go reads it).
pub const ENV_STS_REGION: &[&str] = &["ALIBABA_CLOUD_STS_REGION"];

pub const STS: Product = Product {
    name: "STS",
    version: "2015-04-01",
    endpoint: EndpointRule {
        key: "sts",
        setting: "endpoints.sts",
        env: ENV_STS_ENDPOINT,
        default_host: host_for_region,
    },
    secret_answers: true,
};

/// The public STS host: the region's when one is known, else the central one.
pub fn host_for_region(region: Option<&str>) -> String {
    match region {
        Some(r) => format!("sts.{r}.aliyuncs.com"),
        None => "sts.aliyuncs.com".to_owned(),
    }
}

pub const MIN_SESSION_SECONDS: i64 = 900;
pub const MAX_SESSION_SECONDS: i64 = 43_200;
pub const DEFAULT_SESSION_SECONDS: i64 = 3600;
pub const DEFAULT_SESSION_NAME: &str = "terraform";

/// `acs:ram::<digits>:<kind>/<name>`, the shape RAM gives roles and OIDC providers.
fn check_ram_arn(arn: &str, kind: &str, example: &str) -> Result<(), String> {
    let ok = arn
        .strip_prefix("acs:ram::")
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(account, resource)| {
            !account.is_empty()
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource
                    .strip_prefix(kind)
                    .and_then(|r| r.strip_prefix('/'))
                    .is_some_and(|name| {
                        !name.is_empty()
                            && name.len() <= 64
                            && !name.bytes().any(|b| b.is_ascii_whitespace() || b == b'/')
                    })
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{arn:?} is not a RAM {kind} ARN; it looks like \"{example}\""
        ))
    }
}

/// A role ARN: `acs:ram::<account id>:role/<role name>`.
pub fn check_role_arn(arn: &str) -> Result<(), String> {
    check_ram_arn(arn, "role", "acs:ram::123456789012****:role/terraform-ci")
}

/// An OIDC provider ARN: `acs:ram::<account id>:oidc-provider/<name>`.
pub fn check_oidc_provider_arn(arn: &str) -> Result<(), String> {
    check_ram_arn(
        arn,
        "oidc-provider",
        "acs:ram::123456789012****:oidc-provider/github",
    )
}

/// STS's `RoleSessionName` rule: 2-64 of `[A-Za-z0-9.@_-]`.
pub fn check_session_name(name: &str) -> Result<(), String> {
    let ok = (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'@' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid session name: 2 to 64 characters of letters, digits and . @ _ -"
        ))
    }
}

/// `DurationSeconds`: 900 to 43200.
pub fn check_session_expiration(seconds: i64) -> Result<(), String> {
    if (MIN_SESSION_SECONDS..=MAX_SESSION_SECONDS).contains(&seconds) {
        Ok(())
    } else {
        Err(format!(
            "{seconds} is out of range: a session lasts {MIN_SESSION_SECONDS} to {MAX_SESSION_SECONDS} seconds"
        ))
    }
}

/// What `AssumeRole` is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRoleInput {
    pub role_arn: String,
    pub session_name: String,
    pub duration_seconds: i64,
    pub policy: Option<String>,
    pub external_id: Option<String>,
}

/// What `AssumeRoleWithOIDC` is asked; the token was read just before the call.
#[derive(Debug)]
pub struct OidcInput<'a> {
    pub role_arn: &'a str,
    pub oidc_provider_arn: &'a str,
    pub oidc_token: &'a Secret,
    pub session_name: &'a str,
    pub duration_seconds: i64,
    pub policy: Option<&'a str>,
}

/// Temporary credentials STS issued.
#[derive(Debug, Clone)]
pub struct Issued {
    pub request_id: String,
    pub access_key_id: String,
    pub access_key_secret: Secret,
    pub security_token: Secret,
    pub expires: OffsetDateTime,
    /// `AssumedRoleUser.Arn`, for debug logs.
    pub assumed_role_arn: Option<String>,
}

/// The answer as a plain object: the transport would quote a body it cannot decode in its
/// error, and this body holds the new secret, so decoding happens here, without quoting.
#[derive(Deserialize)]
#[serde(transparent)]
pub(crate) struct RawAnswer(Map<String, Value>);

impl Answer for RawAnswer {}

fn text<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    obj.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

pub(crate) fn decode(action: &str, answer: RawAnswer) -> Result<Issued, Error> {
    let invalid = |reason: String| Error::InvalidResponse {
        api: "STS",
        http_status: 200,
        reason: format!("the {action} answer {reason}"),
        // Never the body: it holds the issued secret and token.
        body_start: "(not shown: it holds credentials)".to_owned(),
    };
    let obj = answer.0;
    let request_id = text(&obj, "RequestId").unwrap_or("").to_owned();
    let creds = obj
        .get("Credentials")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("has no Credentials object".to_owned()))?;
    let field = |name: &str| {
        text(creds, name)
            .map(str::to_owned)
            .ok_or_else(|| invalid(format!("has no Credentials.{name}")))
    };
    let access_key_id = field("AccessKeyId")?;
    let access_key_secret = Secret::new(field("AccessKeySecret")?);
    let security_token = Secret::new(field("SecurityToken")?);
    let expiration = field("Expiration")?;
    let expires =
        OffsetDateTime::parse(&expiration, &time::format_description::well_known::Rfc3339)
            // Not quoted either: whatever the API put there may echo what we sent.
            .map_err(|e| {
                invalid(format!(
                    "has an Expiration that is not an RFC 3339 time ({e})"
                ))
            })?;
    let assumed_role_arn = obj
        .get("AssumedRoleUser")
        .and_then(Value::as_object)
        .and_then(|u| text(u, "Arn"))
        .map(str::to_owned);
    Ok(Issued {
        request_id,
        access_key_id,
        access_key_secret,
        security_token,
        expires,
        assumed_role_arn,
    })
}

/// `AssumeRole`, signed with `base` (its security token included when it is temporary).
pub async fn assume_role(
    transport: &Transport,
    base: &Cached,
    region: Option<&str>,
    input: &AssumeRoleInput,
) -> Result<Issued, Error> {
    let mut params = vec![
        ("RoleArn", input.role_arn.clone()),
        ("RoleSessionName", input.session_name.clone()),
        ("DurationSeconds", input.duration_seconds.to_string()),
    ];
    if let Some(p) = input.policy.as_deref().filter(|p| !p.trim().is_empty()) {
        params.push(("Policy", p.to_owned()));
    }
    if let Some(e) = input.external_id.as_deref().filter(|e| !e.is_empty()) {
        params.push(("ExternalId", e.to_owned()));
    }
    let req = Request {
        action: "AssumeRole",
        region_id: region,
        params: &params,
        retry_also: &[],
        creates: false,
        ahead: false,
    };
    let answer: RawAnswer = transport
        .call(&STS, &req, Auth::Signed(base), &CallOptions::default())
        .await?;
    decode("AssumeRole", answer)
}

/// `AssumeRoleWithOIDC`: anonymous, the OIDC token is the proof (and is redacted from any
/// error text by the transport).
pub async fn assume_role_with_oidc(
    transport: &Transport,
    region: Option<&str>,
    input: &OidcInput<'_>,
) -> Result<Issued, Error> {
    let mut params = vec![
        ("RoleArn", input.role_arn.to_owned()),
        ("OIDCProviderArn", input.oidc_provider_arn.to_owned()),
        ("OIDCToken", input.oidc_token.expose().to_owned()),
        ("RoleSessionName", input.session_name.to_owned()),
        ("DurationSeconds", input.duration_seconds.to_string()),
    ];
    if let Some(p) = input.policy.filter(|p| !p.trim().is_empty()) {
        params.push(("Policy", p.to_owned()));
    }
    let req = Request {
        action: "AssumeRoleWithOIDC",
        region_id: region,
        params: &params,
        retry_also: &[],
        creates: false,
        ahead: false,
    };
    let answer: RawAnswer = transport
        .call(&STS, &req, Auth::Anonymous, &CallOptions::default())
        .await?;
    decode("AssumeRoleWithOIDC", answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(check_role_arn("acs:ram::1234567890123456:role/ci-deployer").is_ok());
        for bad in [
            "",
            "arn:aws:iam::1:role/x",
            "acs:ram::abc:role/x",
            "acs:ram:::role/x",
            "acs:ram::1:role/",
            "acs:ram::1:user/x",
            "acs:ram::1:role/a b",
        ] {
            assert!(check_role_arn(bad).is_err(), "{bad:?}");
        }
        assert!(check_oidc_provider_arn("acs:ram::1:oidc-provider/github").is_ok());
        assert!(check_oidc_provider_arn("acs:ram::1:role/github").is_err());
        for good in ["terraform", "ci@github.run-1_2", "ab"] {
            assert!(check_session_name(good).is_ok(), "{good}");
        }
        for bad in ["a", "has space", "slash/no", &"x".repeat(65)] {
            assert!(check_session_name(bad).is_err(), "{bad}");
        }
        assert!(check_session_expiration(900).is_ok() && check_session_expiration(43200).is_ok());
        assert!(check_session_expiration(899).is_err() && check_session_expiration(43201).is_err());
        assert_eq!(host_for_region(None), "sts.aliyuncs.com");
        assert_eq!(
            host_for_region(Some("cn-shanghai")),
            "sts.cn-shanghai.aliyuncs.com"
        );
    }

    #[test]
    fn decode_never_quotes_the_body() {
        let raw = |v: Value| RawAnswer(v.as_object().unwrap().clone());
        let ok = decode(
            "AssumeRole",
            raw(serde_json::json!({"RequestId":"R","AssumedRoleUser":{"Arn":"acs:ram::1:role/x/s"},
                "Credentials":{"AccessKeyId":"STS.k","AccessKeySecret":"sec-ret","SecurityToken":"tok-en","Expiration":"2030-01-01T00:00:00Z"}})),
        )
        .unwrap();
        assert_eq!(ok.access_key_id, "STS.k");
        assert_eq!(ok.security_token.expose(), "tok-en");
        let err = decode(
            "AssumeRole",
            raw(serde_json::json!({"Credentials":{"AccessKeyId":"STS.k","AccessKeySecret":"sec-ret","SecurityToken":"tok-en","Expiration":"soon"}})),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("Expiration") && !err.contains("sec-ret") && !err.contains("tok-en"),
            "{err}"
        );
    }

    /// Found by the api_response fuzz target: the Expiration was quoted, and an answer may
    /// echo there what the request carried (the OIDC token, the base security token).
    #[test]
    fn decode_never_quotes_the_expiration() {
        let echoed = "CAIS/sent+token==";
        let err = decode(
            "AssumeRoleWithOIDC",
            RawAnswer(
                serde_json::json!({"Credentials":{"AccessKeyId":"STS.k","AccessKeySecret":"s","SecurityToken":"t","Expiration":format!("2030-01-01T{echoed}")}})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("Expiration"), "{err}");
        assert!(!err.contains(echoed), "{err}");
    }
}
