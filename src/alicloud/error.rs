//! The one error type of the Alibaba Cloud layer, and how an HTTP answer becomes one.
//!
//! Every message here is shown to Terraform users, so each says what happened and where, and
//! none can carry a secret: API messages and body excerpts pass through [`Redactor`] first.

use std::fmt;
use std::path::PathBuf;

use super::secret::Redactor;

/// An error answer from the API gateway or the VPC service: the JSON error envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub http_status: u16,
    pub code: String,
    pub message: String,
    pub request_id: String,
    pub recommend: Option<String>,
    pub host_id: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if !self.request_id.is_empty() {
            write!(f, " (RequestId: {})", self.request_id)?;
        }
        Ok(())
    }
}

/// The underlying error of a failure (I/O, HTTP, JSON), kept as `source` for code that walks
/// the chain; the message already says it in words.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Why no usable credentials were found. Never holds a secret, only names of places; a
/// `source` is built from an error that holds none either (URLs are cut from HTTP errors).
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// Nothing anywhere: every place that was looked at, in order.
    #[error(
        "no Alibaba Cloud credentials found; looked at, in order:\n  - {}\nSet access_key and secret_key in the provider block, the ALICLOUD_ACCESS_KEY and ALICLOUD_SECRET_KEY environment variables, a profile in the credentials file, ecs_role_name, an assume_role_with_oidc block (or the RRSA variables ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN and ALIBABA_CLOUD_OIDC_TOKEN_FILE), or credentials_uri",
        .looked_at.join("\n  - ")
    )]
    Missing { looked_at: Vec<String> },
    /// This source has nothing to offer (not an error by itself): where it looked, for
    /// [`CredentialsError::Missing`] when no source has anything.
    #[error("no credentials in {0}")]
    NotLoaded(String),
    /// An HTTP client for a credential source could not be built.
    #[error("cannot build the HTTP client for credentials: {reason}")]
    Client {
        reason: String,
        #[source]
        source: Cause,
    },
    /// Half a pair: one part present, another missing.
    #[error("incomplete credentials in {source_name}: {present} is set but {missing} is not")]
    Incomplete {
        source_name: String,
        present: String,
        missing: String,
    },
    /// The credentials file could not be read or parsed.
    #[error("cannot use the credentials file {}: {reason}", .path.display())]
    File {
        path: PathBuf,
        reason: String,
        #[source]
        source: Option<Cause>,
    },
    /// A profile was asked for by name and is not in the file.
    #[error("profile \"{profile}\" not found in the credentials file {}", .path.display())]
    ProfileNotFound { profile: String, path: PathBuf },
    /// A profile whose mode this provider cannot use.
    #[error(
        "profile \"{profile}\" in {} uses mode {mode}, which is not supported; supported modes are AK, StsToken, RamRoleArn, EcsRamRole, ChainableRamRoleArn and OIDC",
        .path.display()
    )]
    UnsupportedMode {
        mode: String,
        profile: String,
        path: PathBuf,
    },
    /// An STS call for temporary credentials failed: what was asked (role, base credentials,
    /// token source) and the API's answer (code, message, RequestId).
    #[error("{what} failed: {source}")]
    Sts {
        what: String,
        #[source]
        source: Box<Error>,
    },
    /// The OIDC token file could not be read (or is empty).
    #[error("cannot read the OIDC token file {} ({origin}): {reason}", .path.display())]
    OidcTokenFile {
        path: PathBuf,
        origin: String,
        reason: String,
        #[source]
        source: Option<Cause>,
    },
    /// `credentials_uri` did not answer with credentials.
    #[error("cannot get credentials from credentials_uri {url}: {reason}")]
    Uri {
        url: String,
        reason: String,
        #[source]
        source: Option<Cause>,
    },
    /// A credential setting (block or variable) cannot work; found when the client is built.
    #[error("invalid {setting}: {reason}")]
    Invalid { setting: String, reason: String },
    /// A profile chain (`source_profile`) that loops or goes too deep.
    #[error("profile \"{profile}\" in {}: {reason}", .path.display())]
    ProfileChain {
        profile: String,
        path: PathBuf,
        reason: String,
    },
    /// The ECS metadata service did not give credentials for the role.
    #[error(
        "cannot get credentials of ECS RAM role \"{role}\" from the instance metadata service at {url}: {reason}"
    )]
    Metadata {
        role: String,
        url: String,
        reason: String,
        #[source]
        source: Option<Cause>,
    },
}

/// Everything the client can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API answered with an error envelope (boxed: it is the largest variant, and errors
    /// travel through every `Result` of the layer).
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The API (or something in between) answered with a body that is not the expected JSON.
    #[error(
        "invalid response from the {api} API (HTTP {http_status}): {reason}; the body starts with: {body_start:?}"
    )]
    InvalidResponse {
        /// The product's name, as users know it (`VPC`, `STS`).
        api: &'static str,
        http_status: u16,
        reason: String,
        /// The first ~200 characters, with any secret replaced.
        body_start: String,
    },
    /// No answer: connection refused, DNS, TLS, connection reset.
    #[error("cannot reach the {api} API at {endpoint}: {reason}")]
    Transport {
        api: &'static str,
        endpoint: String,
        /// The causes on one line, for users; `source` keeps them for code.
        reason: String,
        /// False for failures another attempt cannot fix (a certificate that does not verify).
        retryable: bool,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Connect or read timeout, or the caller's deadline passed.
    #[error("timed out calling the {api} API at {endpoint}: {reason}")]
    Timeout {
        api: &'static str,
        endpoint: String,
        reason: String,
    },
    /// The caller cancelled the operation (Terraform's Stop, a context cancel).
    #[error("the operation was cancelled")]
    Cancelled,
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// The provider configuration cannot work (bad endpoint, bad rate, bad timeouts).
    #[error("invalid provider configuration: {0}")]
    Config(String),
    /// One call's own input cannot be sent (an empty ID, a region that is not a region ID):
    /// the resource's or data source's input, not the provider's.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

/// An error and its causes on one line, each cause once (reqwest repeats the URL).
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

/// Codes that mean "try again later" whatever the action.
const TRANSIENT_CODES: &[&str] = &[
    "Throttling",
    "Throttling.User",
    "Throttling.Api",
    "Rejected.Throttling",
    "ServiceUnavailable",
    "InternalError",
    "UnknownError",
    "SystemBusy",
    // The client signs every attempt with a fresh nonce, so a replayed nonce (a retrying proxy)
    // is fixed by simply trying again.
    "SignatureNonceUsed",
];

/// Codes that tell the client to slow down.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "Throttling.User",
    "Throttling.Api",
    "Rejected.Throttling",
];

impl Error {
    /// The API error code, when the API gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api(e) => Some(&e.code),
            _ => None,
        }
    }

    /// The RequestId to quote to Alibaba Cloud support, when there is one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) if !e.request_id.is_empty() => Some(&e.request_id),
            _ => None,
        }
    }

    /// Whether the same call may succeed if simply made again (for any action).
    ///
    /// Conflicts specific to an action (`TaskConflict` for ActiveFlowLog, ...) are decided by
    /// the retry policy of that action, not here.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(e) => TRANSIENT_CODES.contains(&e.code.as_str()) || e.http_status >= 500,
            // HTML from a proxy or gateway in trouble: 502/503/504 pages are transient.
            Error::InvalidResponse { http_status, .. } => {
                *http_status >= 500 || *http_status == 429
            }
            Error::Transport { retryable, .. } => *retryable,
            Error::Timeout { .. } => true,
            Error::Cancelled
            | Error::Credentials(_)
            | Error::Config(_)
            | Error::InvalidRequest(_) => false,
        }
    }

    /// Whether the answer asks the client to slow down.
    pub fn is_throttling(&self) -> bool {
        match self {
            Error::Api(e) => THROTTLING_CODES.contains(&e.code.as_str()) || e.http_status == 429,
            Error::InvalidResponse { http_status, .. } => *http_status == 429,
            _ => false,
        }
    }
}

/// How many characters of an unexpected body an error shows.
const BODY_START_CHARS: usize = 200;

/// The start of a body for an error message: lossy UTF-8, at most ~200 characters, redacted.
pub(crate) fn body_start(body: &[u8], redactor: &Redactor) -> String {
    // Redact before cutting so a secret straddling the cut is not half shown.
    let text = String::from_utf8_lossy(body);
    let redacted = redactor.apply(&text);
    let mut out: String = redacted.chars().take(BODY_START_CHARS).collect();
    if redacted.chars().nth(BODY_START_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// A short description of what a body that is not the expected JSON looks like.
fn describe_unexpected(body: &[u8], json_error: Option<&serde_json::Error>) -> String {
    let trimmed = String::from_utf8_lossy(body);
    let trimmed = trimmed.trim_start();
    let lower: String = trimmed
        .chars()
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    if trimmed.is_empty() {
        "expected a JSON object, got an empty body".to_owned()
    } else if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        "expected a JSON object, got an HTML page (a proxy or gateway answered instead of the API?)"
            .to_owned()
    } else if lower.starts_with("<?xml") || lower.starts_with('<') {
        "expected a JSON object, got XML (was Format=JSON lost on the way?)".to_owned()
    } else if let Some(e) = json_error {
        if e.is_eof() {
            "expected a JSON object, got a truncated JSON document".to_owned()
        } else {
            format!("expected a JSON object, got malformed JSON ({e})")
        }
    } else {
        "expected a JSON object, got another JSON value".to_owned()
    }
}

fn string_field(obj: &serde_json::Map<String, serde_json::Value>, name: &str) -> Option<String> {
    match obj.get(name)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Turns an HTTP answer into the JSON object of a success, or the matching error.
pub(crate) fn parse_response(
    api: &'static str,
    http_status: u16,
    body: &[u8],
    redactor: &Redactor,
) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    let invalid = |reason: String| Error::InvalidResponse {
        api,
        http_status,
        reason,
        body_start: body_start(body, redactor),
    };
    let obj = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(obj)) => obj,
        Ok(_) => return Err(invalid(describe_unexpected(body, None))),
        Err(e) => return Err(invalid(describe_unexpected(body, Some(&e)))),
    };
    let code = string_field(&obj, "Code").filter(|c| !c.is_empty());
    if (200..300).contains(&http_status) {
        return Ok(obj);
    }
    let Some(code) = code else {
        return Err(invalid(format!(
            "HTTP {http_status} with a JSON body that is not an error envelope (no Code)"
        )));
    };
    Err(Error::Api(Box::new(ApiError {
        http_status,
        code: redactor.apply(&code),
        message: redactor.apply(&string_field(&obj, "Message").unwrap_or_default()),
        // Every field, even those that should be IDs: an answer may echo what we sent anywhere.
        request_id: redactor.apply(&string_field(&obj, "RequestId").unwrap_or_default()),
        recommend: string_field(&obj, "Recommend").map(|r| redactor.apply(&r)),
        host_id: string_field(&obj, "HostId").map(|h| redactor.apply(&h)),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alicloud::secret::REDACTED;

    fn none() -> Redactor {
        Redactor::default()
    }

    #[test]
    fn api_error_envelope() {
        let body = br#"{"RequestId":"R-1","HostId":"vpc.aliyuncs.com","Code":"InvalidRegionId.NotFound","Message":"The specified region does not exist.","Recommend":"https://api.example/troubleshoot"}"#;
        let err = parse_response("VPC", 404, body, &none()).unwrap_err();
        assert_eq!(err.code(), Some("InvalidRegionId.NotFound"));
        assert_eq!(err.request_id(), Some("R-1"));
        assert!(!err.is_retryable());
        assert_eq!(
            err.to_string(),
            "InvalidRegionId.NotFound: The specified region does not exist. (RequestId: R-1)"
        );
        let Error::Api(api) = err else { panic!() };
        assert_eq!(api.host_id.as_deref(), Some("vpc.aliyuncs.com"));
        assert_eq!(
            api.recommend.as_deref(),
            Some("https://api.example/troubleshoot")
        );
        assert_eq!(api.http_status, 404);
    }

    #[test]
    fn success_is_the_object() {
        let obj = parse_response(
            "VPC",
            200,
            br#"{"RequestId":"R","Success":"true"}"#,
            &none(),
        )
        .unwrap();
        assert_eq!(obj["RequestId"], "R");
    }

    fn invalid(status: u16, body: &[u8]) -> (String, String, String) {
        match parse_response("VPC", status, body, &none()).unwrap_err() {
            e @ Error::InvalidResponse { .. } => {
                let text = e.to_string();
                let Error::InvalidResponse {
                    reason, body_start, ..
                } = e
                else {
                    unreachable!()
                };
                (reason, body_start, text)
            }
            other => panic!("expected InvalidResponse, got {other:?}"),
        }
    }

    #[test]
    fn html_from_a_proxy() {
        let (reason, start, text) = invalid(
            502,
            b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head></html>",
        );
        assert!(reason.contains("HTML"), "{reason}");
        assert!(start.starts_with("<!DOCTYPE html>"));
        assert!(
            text.contains("HTTP 502") && text.contains("502 Bad Gateway"),
            "{text}"
        );
        assert!(
            parse_response("VPC", 502, b"<html></html>", &none())
                .unwrap_err()
                .is_retryable()
        );
        assert!(
            !parse_response("VPC", 200, b"<html></html>", &none())
                .unwrap_err()
                .is_retryable()
        );
    }

    #[test]
    fn empty_body() {
        let (reason, start, _) = invalid(200, b"");
        assert!(reason.contains("empty"), "{reason}");
        assert_eq!(start, "");
        let (reason, _, _) = invalid(500, b"  \n");
        assert!(reason.contains("empty"), "{reason}");
    }

    #[test]
    fn truncated_json() {
        let (reason, start, _) = invalid(200, br#"{"RequestId":"R","FlowLogs":{"Flow"#);
        assert!(reason.contains("truncated"), "{reason}");
        assert!(start.starts_with(r#"{"RequestId""#));
    }

    #[test]
    fn xml_body() {
        let (reason, _, _) = invalid(
            200,
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><DescribeFlowLogsResponse/>",
        );
        assert!(reason.contains("XML"), "{reason}");
    }

    #[test]
    fn malformed_and_other_json() {
        let (reason, _, _) = invalid(200, b"not json at all");
        assert!(reason.contains("malformed"), "{reason}");
        let (reason, _, _) = invalid(200, b"[1,2]");
        assert!(reason.contains("another JSON value"), "{reason}");
        let (reason, _, _) = invalid(403, br#"{"message":"forbidden"}"#);
        assert!(reason.contains("no Code"), "{reason}");
    }

    #[test]
    fn long_and_binary_bodies_are_cut_without_panic() {
        let body = "é".repeat(1000);
        let (_, start, _) = invalid(200, body.as_bytes());
        assert_eq!(start.chars().count(), 201);
        let (_, start, _) = invalid(200, &[0xff, 0xfe, 0x00, b'<']);
        assert!(start.contains('\u{fffd}'));
    }

    #[test]
    fn secrets_are_redacted_in_messages_and_bodies() {
        let token = "CAIS/token+with=chars";
        let r = Redactor::new([token, "shh-secret-value"]);
        let encoded_twice = crate::alicloud::sign::v1::percent_encode(
            &crate::alicloud::sign::v1::percent_encode(token),
        );
        let body = format!(
            r#"{{"RequestId":"R","Code":"SignatureDoesNotMatch","Message":"server string to sign is:POST&%2F&SecurityToken%3D{encoded_twice}"}}"#
        );
        let err = parse_response("VPC", 400, body.as_bytes(), &r).unwrap_err();
        let text = err.to_string();
        assert!(!text.contains(&encoded_twice), "{text}");
        assert!(text.contains(REDACTED), "{text}");
        let (_, start, _) = {
            let e = parse_response("VPC", 502, b"<html>shh-secret-value</html>", &r).unwrap_err();
            let Error::InvalidResponse { body_start, .. } = &e else {
                panic!()
            };
            (0, body_start.clone(), 0)
        };
        assert_eq!(start, "<html>** redacted **</html>");
    }

    /// Found by the api_response fuzz target: the RequestId of an error envelope was shown
    /// as the API sent it.
    #[test]
    fn request_id_and_host_id_are_redacted_too() {
        let r = Redactor::new(["shh-secret-value"]);
        let body = br#"{"RequestId":"shh-secret-value-R","HostId":"shh-secret-value","Code":"Throttling.User","Message":"m"}"#;
        let err = parse_response("VPC", 400, body, &r).unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("shh-secret-value"), "{text}");
        let Error::Api(api) = err else { panic!() };
        assert_eq!(api.request_id, format!("{REDACTED}-R"));
        assert_eq!(api.host_id.as_deref(), Some(REDACTED));
    }

    #[test]
    fn classification() {
        let api = |status: u16, code: &str| {
            Error::Api(Box::new(ApiError {
                http_status: status,
                code: code.into(),
                message: String::new(),
                request_id: String::new(),
                recommend: None,
                host_id: None,
            }))
        };
        for code in TRANSIENT_CODES {
            assert!(api(400, code).is_retryable(), "{code}");
        }
        for code in [
            "SignatureDoesNotMatch",
            "InvalidAccessKeyId.NotFound",
            "InvalidAccessKeyId.Inactive",
            "MissingParameter",
            "InvalidParameter",
            "InvalidRegionId.NotFound",
            "IncorrectStatus.flowlog",
            "IncorrectStatus",
            "InvalidStatus",
            "InvalidTimeStamp.Expired",
            "TaskConflict",
            "Forbidden.OperateManagedFlowLog",
        ] {
            assert!(!api(400, code).is_retryable(), "{code}");
        }
        assert!(api(503, "Whatever").is_retryable());
        assert!(api(400, "Throttling.User").is_throttling());
        assert!(!api(400, "InternalError").is_throttling());
        assert!(!Error::Cancelled.is_retryable());
        assert!(!Error::Config("x".into()).is_retryable());
        assert!(
            Error::Timeout {
                api: "VPC",
                endpoint: "e".into(),
                reason: "r".into()
            }
            .is_retryable()
        );
        assert_eq!(Error::Cancelled.code(), None);
        assert_eq!(api(400, "X").request_id(), None);
    }
}
