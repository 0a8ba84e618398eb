//! The gateway's checks, in the order the real one applies them, the dispatch between the two
//! products served on the port (VPC by `Version=2016-04-28`, STS by `2015-04-01`) and the
//! faults every call meets; the VPC operations live in `vpc`, STS's in `sts`.
//!
//! Everything here is synchronous and works on already-decoded parameters; HTTP, bodies and
//! latency belong to `server`.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use serde_json::{Map, Value, json};
use time::{Duration as TimeDuration, OffsetDateTime, PrimitiveDateTime};

use super::config::EmulatorConfig;
use super::faults::Faults;
use super::signature;
use super::store::Store;
use super::sts::{self, Issued, Keys, STS_VERSION};
use super::vpc::{self, Op};
use super::world::World;
use super::xml;
use tfprovider::alicloud::sign::{percent_encode, signatures_equal, v3};

pub const API_VERSION: &str = "2016-04-28";
const TIMESTAMP_WINDOW: TimeDuration = TimeDuration::minutes(15);

/// The answer format the caller asked for: `JSON`, or XML when `Format` is `XML` or absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

/// The product a request addresses, chosen by its `Version` as the real gateway routes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    Vpc,
    Sts,
}

impl Product {
    fn of_version(version: &str) -> Option<Product> {
        match version {
            API_VERSION => Some(Product::Vpc),
            STS_VERSION => Some(Product::Sts),
            _ => None,
        }
    }

    fn has_action(self, action: &str) -> bool {
        match self {
            Product::Vpc => vpc::ACTIONS.contains(&action),
            Product::Sts => sts::ACTIONS.contains(&action),
        }
    }

    fn host_id(self) -> &'static str {
        match self {
            Product::Vpc => "vpc.aliyuncs.com",
            Product::Sts => "sts.aliyuncs.com",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Product::Vpc => "Vpc",
            Product::Sts => "Sts",
        }
    }
}

/// A wire error: HTTP status, `Code` and `Message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    pub fn missing(name: &str) -> ApiError {
        ApiError::new(
            400,
            "MissingParameter",
            format!(
                "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
            ),
        )
    }

    pub fn invalid(name: &str) -> ApiError {
        ApiError::new(
            400,
            "InvalidParameter",
            format!("The specified parameter \"{name}\" is not valid."),
        )
    }

    pub fn action_not_found() -> ApiError {
        ApiError::new(
            404,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        )
    }
}

/// What goes back to the caller, before serialization.
pub struct Reply {
    pub format: Format,
    /// Whose `HostId` and troubleshooting link an error carries.
    pub product: Product,
    pub status: u16,
    pub request_id: String,
    pub action: Option<String>,
    pub result: Result<Map<String, Value>, ApiError>,
}

impl Reply {
    pub fn error(format: Format, err: ApiError) -> Reply {
        Reply {
            format,
            product: Product::Vpc,
            status: err.status,
            request_id: new_request_id(),
            action: None,
            result: Err(err),
        }
    }

    pub fn code(&self) -> Option<&str> {
        self.result.as_ref().err().map(|e| e.code.as_str())
    }

    /// Body and content type.
    pub fn render(&self) -> (String, &'static str) {
        let (root, body) = match &self.result {
            Ok(fields) => {
                let mut m = Map::new();
                m.insert("RequestId".to_owned(), Value::from(self.request_id.clone()));
                m.extend(fields.clone());
                let root = format!("{}Response", self.action.as_deref().unwrap_or(""));
                (root, Value::Object(m))
            }
            Err(e) => (
                "Error".to_owned(),
                json!({
                    "RequestId": self.request_id,
                    "HostId": self.product.host_id(),
                    "Code": e.code,
                    "Message": e.message,
                    "Recommend": format!(
                        "https://next.api.aliyun.com/troubleshoot?q={}&product={}&requestId={}",
                        percent_encode(&e.code),
                        self.product.name(),
                        self.request_id
                    ),
                }),
            ),
        };
        match self.format {
            Format::Json => (body.to_string(), "application/json;charset=utf-8"),
            Format::Xml => (xml::to_xml(&root, &body), "text/xml;charset=utf-8"),
        }
    }
}

/// Upper-case UUID, like the gateway's `RequestId`.
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_ascii_uppercase()
}

/// The mutable part of the emulator, behind one lock.
pub struct State {
    pub store: Store,
    pub faults: Faults,
    /// Temporary keys issued by the STS actions.
    pub sts_keys: Keys,
    /// Which projects, logstores and VPC resources exist.
    pub world: World,
    /// Nonce -> when it can no longer be replayed (its request's timestamp leaves the window).
    nonces: HashMap<String, OffsetDateTime>,
    prune_nonces_at: usize,
}

impl State {
    pub fn new(store: Store, config: &EmulatorConfig) -> State {
        State {
            store,
            faults: Faults::from_config(config, Instant::now()),
            sts_keys: Keys::default(),
            world: config.world.clone(),
            nonces: HashMap::new(),
            prune_nonces_at: 1024,
        }
    }

    /// Records a nonce; false if it was already used inside the window.
    fn use_nonce(&mut self, nonce: &str, timestamp: OffsetDateTime, now: OffsetDateTime) -> bool {
        if self.nonces.get(nonce).is_some_and(|exp| *exp > now) {
            return false;
        }
        if self.nonces.len() >= self.prune_nonces_at {
            self.nonces.retain(|_, exp| *exp > now);
            self.prune_nonces_at = (self.nonces.len() * 2).max(1024);
        }
        self.nonces
            .insert(nonce.to_owned(), timestamp.max(now) + TIMESTAMP_WINDOW);
        true
    }
}

/// A validated call of either product.
enum Call {
    Vpc(Op),
    Sts(sts::StsOp),
}

const REQUIRED_COMMON: &[&str] = &[
    "Action",
    "Version",
    "AccessKeyId",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "Timestamp",
    "Signature",
];

const TIMESTAMP_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

fn non_empty<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// The `Format` asked for; without one, XML for v1 (as the gateway answers) and JSON for V3
/// (whose SDKs ask with `Accept: application/json` instead).
fn format_of(params: &BTreeMap<String, String>, shape: Shape) -> Result<Format, ()> {
    match params.get("Format") {
        None if shape == Shape::V3 => Ok(Format::Json),
        None => Ok(Format::Xml),
        Some(f) if f.eq_ignore_ascii_case("JSON") => Ok(Format::Json),
        Some(f) if f.eq_ignore_ascii_case("XML") => Ok(Format::Xml),
        Some(_) => Err(()),
    }
}

/// Which signature a request carries, told by its shape: an `Authorization` header is V3;
/// without one, an `Action` parameter is v1 (the Tea SDK's v1 requests also carry
/// `x-acs-action`); an `x-acs-action` header alone is an unsigned V3 request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    V1,
    V3,
}

impl Shape {
    pub fn name(self) -> &'static str {
        match self {
            Shape::V1 => "v1",
            Shape::V3 => "v3",
        }
    }
}

/// One API request as received, before any check.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// Query and form body parameters as one map (the body wins on a duplicate name).
    pub params: &'a BTreeMap<String, String>,
    /// The query's own pairs, decoded, in order: V3 signs them apart from the body.
    pub query: &'a [(String, String)],
    /// Names in lower case, in the order received.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl<'a> Incoming<'a> {
    /// The first value of a header, if sent and not empty.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn shape(&self) -> Shape {
        if self.header("authorization").is_some() {
            Shape::V3
        } else if self.params.contains_key("Action") {
            Shape::V1
        } else if self.header("x-acs-action").is_some() {
            Shape::V3
        } else {
            Shape::V1
        }
    }

    fn field(&self, param: &str, header: &str) -> Option<&'a str> {
        match self.shape() {
            Shape::V1 => non_empty(self.params, param),
            Shape::V3 => self.header(header),
        }
    }

    /// `Action`, or `x-acs-action` for V3.
    pub fn action(&self) -> Option<&'a str> {
        self.field("Action", "x-acs-action")
    }

    /// `Version`, or `x-acs-version` for V3.
    pub fn version(&self) -> Option<&'a str> {
        self.field("Version", "x-acs-version")
    }

    /// The key the request is signed with: `AccessKeyId`, or V3's `Credential`.
    pub fn access_key_id(&self) -> Option<&'a str> {
        match self.shape() {
            Shape::V1 => non_empty(self.params, "AccessKeyId"),
            Shape::V3 => self
                .header("authorization")
                .and_then(|a| signature::parse_authorization(a).ok())
                .map(|a| a.access_key_id),
        }
    }
}

/// Runs one API call through every check and, if it passes them all, the operation.
pub fn handle(
    config: &EmulatorConfig,
    state: &std::sync::Mutex<State>,
    req: &Incoming<'_>,
) -> Reply {
    let format = format_of(req.params, req.shape()).unwrap_or(Format::Json);
    let action = req.action().map(str::to_owned);
    let product = req
        .version()
        .and_then(Product::of_version)
        .unwrap_or(Product::Vpc);
    let mut reply = match check_and_run(config, state, req) {
        Ok(fields) => Reply {
            format,
            product,
            status: 200,
            request_id: new_request_id(),
            action: None,
            result: Ok(fields),
        },
        Err(e) => Reply::error(format, e),
    };
    reply.action = action;
    reply.product = product;
    reply
}

fn check_and_run(
    config: &EmulatorConfig,
    state: &std::sync::Mutex<State>,
    req: &Incoming<'_>,
) -> Result<Map<String, Value>, ApiError> {
    let params = req.params;
    let shape = req.shape();
    // Routing first, as the gateway must know the API before it knows whether it needs a
    // signature: AssumeRoleWithOIDC is anonymous.
    let (action_name, version_name) = match shape {
        Shape::V1 => ("Action", "Version"),
        Shape::V3 => ("x-acs-action", "x-acs-version"),
    };
    let action = req.action().ok_or_else(|| ApiError::missing(action_name))?;
    let version = req
        .version()
        .ok_or_else(|| ApiError::missing(version_name))?;
    if format_of(params, shape).is_err() {
        return Err(ApiError::invalid("Format"));
    }
    let product = Product::of_version(version).ok_or_else(|| {
        ApiError::new(
            400,
            "InvalidVersion",
            "Specified parameter Version is not valid.",
        )
    })?;
    if !product.has_action(action) {
        return Err(ApiError::action_not_found());
    }
    let now = OffsetDateTime::now_utc();
    if product == Product::Sts && action == "AssumeRoleWithOIDC" {
        // Anonymous: a stray AccessKeyId, Signature or Authorization is ignored, like the real
        // service does; a Timestamp (x-acs-date), when sent, must still be sane.
        if let Some(t) = req.field("Timestamp", "x-acs-date") {
            check_timestamp(t, now)?;
        }
    } else {
        match shape {
            Shape::V1 => authenticate(config, state, req.method, params, now)?,
            Shape::V3 => authenticate_v3(config, state, req, now)?,
        }
    }

    let call = match product {
        Product::Vpc => Call::Vpc(vpc::parse_op(action, params)?),
        Product::Sts => Call::Sts(sts::parse_op(action, params)?),
    };
    let mut st = lock(state);
    let instant = Instant::now();
    // Authorization comes before flow control: a refused listing costs no token.
    if st.faults.refuse_listings && is_listing(&call) {
        return Err(ApiError::new(
            403,
            "Forbidden.RAM",
            "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
        ));
    }
    if st.faults.throttled(instant) {
        return Err(ApiError::new(
            400,
            "Throttling.User",
            "Request was denied due to user flow control.",
        ));
    }
    if let Some(inj) = st.faults.check(action) {
        return Err(ApiError::new(inj.http_status, &inj.code, inj.message));
    }
    match call {
        Call::Vpc(op) => {
            let st = &mut *st;
            vpc::run_op(
                &mut st.store,
                &mut st.faults.background,
                &st.world,
                op,
                config.activation_delay,
                instant,
            )
        }
        Call::Sts(op) => sts::run_op(&mut st.sts_keys, op, config, now),
    }
}

/// `DescribeFlowLogs` without a `FlowLogId`: what a RAM policy allowing describes only by
/// `FlowLogId` refuses under `--refuse-listings`.
fn is_listing(call: &Call) -> bool {
    matches!(call, Call::Vpc(op) if op.is_listing())
}

/// Which credentials a request's AccessKeyId names.
enum Caller {
    /// The configured key, with the token it requires if any.
    Static(Option<String>),
    Issued(Issued),
}

/// The secret of the key a request names, and whose key it is.
fn caller(
    config: &EmulatorConfig,
    state: &std::sync::Mutex<State>,
    key_id: &str,
) -> Result<(String, Caller), ApiError> {
    if key_id == config.access_key_id {
        return Ok((
            config.access_key_secret.clone(),
            Caller::Static(config.security_token.clone()),
        ));
    }
    match lock(state).sts_keys.get(key_id) {
        Some(k) => Ok((k.secret.clone(), Caller::Issued(k.clone()))),
        None => Err(ApiError::new(
            404,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        )),
    }
}

/// The v1 checks: parameters, key, signature, then the checks both signatures share.
fn authenticate(
    config: &EmulatorConfig,
    state: &std::sync::Mutex<State>,
    method: &str,
    params: &BTreeMap<String, String>,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    for name in REQUIRED_COMMON {
        if non_empty(params, name).is_none() {
            return Err(ApiError::missing(name));
        }
    }
    let get = |name: &str| non_empty(params, name).unwrap_or("");
    if get("SignatureMethod") != "HMAC-SHA1" {
        return Err(ApiError::invalid("SignatureMethod"));
    }
    if get("SignatureVersion") != "1.0" {
        return Err(ApiError::invalid("SignatureVersion"));
    }
    let (secret, caller) = caller(config, state, get("AccessKeyId"))?;
    let pairs = params.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    if let Err(m) = signature::verify(method, pairs, &secret) {
        return Err(signature_mismatch(&m.server_string_to_sign, None));
    }
    after_signature(
        state,
        &caller,
        non_empty(params, "SecurityToken"),
        get("Timestamp"),
        get("SignatureNonce"),
        now,
    )
}

/// Headers every signed V3 request sends (`x-acs-action` and `x-acs-version` are checked
/// while routing).
const REQUIRED_V3: &[&str] = &[
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
];

/// The V3 checks: `Authorization` and its algorithm, the headers, which of them are signed,
/// key, signature, body hash, then the checks both signatures share.
fn authenticate_v3(
    config: &EmulatorConfig,
    state: &std::sync::Mutex<State>,
    req: &Incoming<'_>,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    let header = req
        .header("authorization")
        .ok_or_else(|| ApiError::missing("Authorization"))?;
    let auth = signature::parse_authorization(header).map_err(v3_refusal)?;
    if auth.algorithm != v3::ALGORITHM {
        return Err(v3_refusal(signature::V3Refusal::Algorithm(
            auth.algorithm.to_owned(),
        )));
    }
    for name in REQUIRED_V3 {
        if req.header(name).is_none() {
            return Err(ApiError::missing(name));
        }
    }
    let (secret, caller) = caller(config, state, auth.access_key_id)?;
    let v3_req = signature::V3Request {
        method: req.method,
        path: req.path,
        query: req.query,
        headers: req.headers,
        body: req.body,
    };
    signature::verify_v3(&v3_req, &auth, &secret).map_err(v3_refusal)?;
    after_signature(
        state,
        &caller,
        req.header("x-acs-security-token"),
        req.header("x-acs-date").unwrap_or_default(),
        req.header("x-acs-signature-nonce").unwrap_or_default(),
        now,
    )
}

/// `SignatureDoesNotMatch`, with the server's string to sign (as the gateway says it) and,
/// for V3, its canonical request, the token's value left out.
fn signature_mismatch(string_to_sign: &str, canonical_request: Option<&str>) -> ApiError {
    let mut message = format!(
        "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
    );
    if let Some(c) = canonical_request {
        let shown: Vec<String> = c
            .split('\n')
            .map(|line| match line.split_once(':') {
                Some(("x-acs-security-token", _)) => "x-acs-security-token:<redacted>".to_owned(),
                _ => line.to_owned(),
            })
            .collect();
        message.push_str(" server canonical request is:");
        message.push_str(&shown.join("\n"));
    }
    ApiError::new(400, "SignatureDoesNotMatch", message)
}

/// The API error for each way a V3 request fails its signature checks.
fn v3_refusal(r: signature::V3Refusal) -> ApiError {
    use signature::V3Refusal;
    match r {
        V3Refusal::Malformed(why) => ApiError::new(
            400,
            "IncompleteSignature",
            format!("The request signature does not conform to Aliyun standards: {why}."),
        ),
        V3Refusal::Algorithm(alg) => ApiError::new(
            400,
            "InvalidParameter",
            format!(
                "The specified parameter \"Authorization\" is not valid: signature algorithm {alg:?} is not supported; sign with {}.",
                v3::ALGORITHM
            ),
        ),
        V3Refusal::Unsigned(why) => ApiError::new(
            400,
            "IncompleteSignature",
            format!("The request signature does not conform to Aliyun standards: {why}."),
        ),
        V3Refusal::ContentHash { sent, computed } => ApiError::new(
            400,
            "InvalidParameter",
            format!(
                "The specified parameter \"x-acs-content-sha256\" is not valid: it says {sent} but the body received hashes to {computed}; the body was changed after signing."
            ),
        ),
        V3Refusal::Mismatch {
            server_string_to_sign,
            server_canonical_request,
        } => signature_mismatch(&server_string_to_sign, Some(&server_canonical_request)),
    }
}

/// What both signatures check once the signature holds: the token for the key, the
/// timestamp's window, the nonce's first use.
fn after_signature(
    state: &std::sync::Mutex<State>,
    caller: &Caller,
    token: Option<&str>,
    timestamp: &str,
    nonce: &str,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    let mismatch = || {
        ApiError::new(
            400,
            "InvalidSecurityToken.MismatchWithAccessKey",
            "Specified SecurityToken mismatch with the AccessKey.",
        )
    };
    match (caller, token) {
        (Caller::Static(None), _) => {}
        (Caller::Static(Some(_)), None) => {
            return Err(ApiError::new(
                400,
                "MissingSecurityToken",
                "SecurityToken is mandatory for this action.",
            ));
        }
        (Caller::Static(Some(expected)), Some(t)) => {
            if !signatures_equal(t, expected) {
                return Err(mismatch());
            }
        }
        // A temporary key is only half a credential: without its own token it is refused.
        (Caller::Issued(_), None) => return Err(mismatch()),
        (Caller::Issued(k), Some(t)) => {
            if !signatures_equal(t, &k.token) {
                return Err(mismatch());
            }
            if k.is_expired(now) {
                return Err(ApiError::new(
                    400,
                    "InvalidSecurityToken.Expired",
                    "Specified SecurityToken is expired.",
                ));
            }
        }
    }
    let timestamp = check_timestamp(timestamp, now)?;
    if !lock(state).use_nonce(nonce, timestamp, now) {
        return Err(ApiError::new(
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        ));
    }
    Ok(())
}

fn check_timestamp(text: &str, now: OffsetDateTime) -> Result<OffsetDateTime, ApiError> {
    let timestamp = PrimitiveDateTime::parse(text, TIMESTAMP_FORMAT)
        .map(PrimitiveDateTime::assume_utc)
        .map_err(|_| {
            ApiError::new(
                400,
                "InvalidTimeStamp.Format",
                "Specified time stamp or date value is not well formatted.",
            )
        })?;
    if (now - timestamp).abs() > TIMESTAMP_WINDOW {
        return Err(ApiError::new(
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    Ok(timestamp)
}

fn lock(state: &std::sync::Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
