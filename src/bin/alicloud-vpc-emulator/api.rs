//! The gateway's checks, in the order the real one applies them, the dispatch between the two
//! products served on the port (VPC by `Version=2016-04-28`, STS by `2015-04-01`), and the
//! three VPC operations; STS's own operations live in `sts`.
//!
//! Everything here is synchronous and works on already-decoded parameters; HTTP, bodies and
//! latency belong to `server`.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use serde_json::{Map, Value, json};
use time::{Duration as TimeDuration, OffsetDateTime, PrimitiveDateTime};

use super::config::EmulatorConfig;
use super::faults::Faults;
use super::regions::is_known_region;
use super::signature;
use super::store::{Refusal, Store};
use super::sts::{self, Issued, Keys, STS_VERSION};
use super::xml;
use tfprovider::alicloud::sign::v1 as signer;

pub const API_VERSION: &str = "2016-04-28";
const VPC_ACTIONS: &[&str] = &["ActiveFlowLog", "DeactiveFlowLog", "DescribeFlowLogs"];
const TIMESTAMP_WINDOW: TimeDuration = TimeDuration::minutes(15);
const MAX_PAGE_SIZE: usize = 50;

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
            Product::Vpc => VPC_ACTIONS.contains(&action),
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
                        signer::percent_encode(&e.code),
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

/// A validated VPC operation.
enum Op {
    Toggle {
        activate: bool,
        region: String,
        id: String,
    },
    Describe {
        region: String,
        filters: Vec<(&'static str, String)>,
        page_number: usize,
        page_size: usize,
    },
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

const DESCRIBE_FILTERS: &[&str] = &[
    "FlowLogId",
    "FlowLogName",
    "ResourceType",
    "ResourceId",
    "TrafficType",
    "ProjectName",
    "LogStoreName",
    "Status",
    "VpcId",
    "ResourceGroupId",
];

const TIMESTAMP_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

fn non_empty<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

fn format_of(params: &BTreeMap<String, String>) -> Result<Format, ()> {
    match params.get("Format") {
        None => Ok(Format::Xml),
        Some(f) if f.eq_ignore_ascii_case("JSON") => Ok(Format::Json),
        Some(f) if f.eq_ignore_ascii_case("XML") => Ok(Format::Xml),
        Some(_) => Err(()),
    }
}

/// Runs one API call through every check and, if it passes them all, the operation.
pub fn handle(
    config: &EmulatorConfig,
    state: &std::sync::Mutex<State>,
    method: &str,
    params: &BTreeMap<String, String>,
) -> Reply {
    let format = format_of(params).unwrap_or(Format::Json);
    let action = params.get("Action").cloned();
    let product = params
        .get("Version")
        .and_then(|v| Product::of_version(v))
        .unwrap_or(Product::Vpc);
    let mut reply = match check_and_run(config, state, method, params) {
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
    method: &str,
    params: &BTreeMap<String, String>,
) -> Result<Map<String, Value>, ApiError> {
    // Routing first, as the gateway must know the API before it knows whether it needs a
    // signature: AssumeRoleWithOIDC is anonymous.
    for name in ["Action", "Version"] {
        if non_empty(params, name).is_none() {
            return Err(ApiError::missing(name));
        }
    }
    let get = |name: &str| non_empty(params, name).unwrap_or("");
    if format_of(params).is_err() {
        return Err(ApiError::invalid("Format"));
    }
    let product = Product::of_version(get("Version")).ok_or_else(|| {
        ApiError::new(
            400,
            "InvalidVersion",
            "Specified parameter Version is not valid.",
        )
    })?;
    let action = get("Action");
    if !product.has_action(action) {
        return Err(ApiError::action_not_found());
    }
    let now = OffsetDateTime::now_utc();
    if product == Product::Sts && action == "AssumeRoleWithOIDC" {
        // Anonymous: a stray AccessKeyId or Signature is ignored, like the real service does;
        // a Timestamp, when sent, must still be sane.
        if non_empty(params, "Timestamp").is_some() {
            check_timestamp(get("Timestamp"), now)?;
        }
    } else {
        authenticate(config, state, method, params, now)?;
    }

    let call = match product {
        Product::Vpc => Call::Vpc(parse_op(action, params)?),
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
    if let Some(bucket) = st.faults.throttle.as_mut()
        && !bucket.try_take(instant)
    {
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
        Call::Vpc(op) => run_op(&mut st, op, config, instant),
        Call::Sts(op) => sts::run_op(&mut st.sts_keys, op, config, now),
    }
}

/// `DescribeFlowLogs` without a `FlowLogId`: what a RAM policy allowing describes only by
/// `FlowLogId` refuses under `--refuse-listings`.
fn is_listing(call: &Call) -> bool {
    match call {
        Call::Vpc(Op::Describe { filters, .. }) => !filters.iter().any(|(f, _)| *f == "FlowLogId"),
        _ => false,
    }
}

/// Which credentials a request's AccessKeyId names.
enum Caller {
    /// The configured key, with the token it requires if any.
    Static(Option<String>),
    Issued(Issued),
}

/// The signed-request checks: parameters, key, signature, token, timestamp, nonce.
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
    let key_id = get("AccessKeyId");
    let (secret, caller) = if key_id == config.access_key_id {
        (
            config.access_key_secret.clone(),
            Caller::Static(config.security_token.clone()),
        )
    } else {
        match lock(state).sts_keys.get(key_id) {
            Some(k) => (k.secret.clone(), Caller::Issued(k.clone())),
            None => {
                return Err(ApiError::new(
                    404,
                    "InvalidAccessKeyId.NotFound",
                    "Specified access key is not found.",
                ));
            }
        }
    };
    let pairs = params.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    if let Err(m) = signature::verify(method, pairs, &secret) {
        return Err(ApiError::new(
            400,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{}",
                m.server_string_to_sign
            ),
        ));
    }
    let mismatch = || {
        ApiError::new(
            400,
            "InvalidSecurityToken.MismatchWithAccessKey",
            "Specified SecurityToken mismatch with the AccessKey.",
        )
    };
    match (&caller, non_empty(params, "SecurityToken")) {
        (Caller::Static(None), _) => {}
        (Caller::Static(Some(_)), None) => {
            return Err(ApiError::new(
                400,
                "MissingSecurityToken",
                "SecurityToken is mandatory for this action.",
            ));
        }
        (Caller::Static(Some(expected)), Some(t)) => {
            if !signer::signatures_equal(t, expected) {
                return Err(mismatch());
            }
        }
        // A temporary key is only half a credential: without its own token it is refused.
        (Caller::Issued(_), None) => return Err(mismatch()),
        (Caller::Issued(k), Some(t)) => {
            if !signer::signatures_equal(t, &k.token) {
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
    let timestamp = check_timestamp(get("Timestamp"), now)?;
    if !lock(state).use_nonce(get("SignatureNonce"), timestamp, now) {
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

fn parse_op(action: &str, params: &BTreeMap<String, String>) -> Result<Op, ApiError> {
    let activate = match action {
        "ActiveFlowLog" => Some(true),
        "DeactiveFlowLog" => Some(false),
        "DescribeFlowLogs" => None,
        _ => return Err(ApiError::action_not_found()),
    };
    let region = non_empty(params, "RegionId").ok_or_else(|| ApiError::missing("RegionId"))?;
    if !is_known_region(region) {
        return Err(ApiError::new(
            404,
            "InvalidRegionId.NotFound",
            "The specified RegionId does not exist.",
        ));
    }
    let region = region.to_owned();
    if let Some(activate) = activate {
        let id = non_empty(params, "FlowLogId").ok_or_else(|| ApiError::missing("FlowLogId"))?;
        return Ok(Op::Toggle {
            activate,
            region,
            id: id.to_owned(),
        });
    }
    let number = |name: &str, default: usize, max: usize| match non_empty(params, name) {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::invalid(name)),
    };
    let page_number = number("PageNumber", 1, usize::MAX)?;
    let page_size = number("PageSize", 20, MAX_PAGE_SIZE)?;
    let filters = DESCRIBE_FILTERS
        .iter()
        .filter_map(|f| non_empty(params, f).map(|v| (*f, v.to_owned())))
        .collect();
    Ok(Op::Describe {
        region,
        filters,
        page_number,
        page_size,
    })
}

fn run_op(
    st: &mut State,
    op: Op,
    config: &EmulatorConfig,
    now: Instant,
) -> Result<Map<String, Value>, ApiError> {
    let mut out = Map::new();
    out.insert("Success".to_owned(), Value::from("true"));
    match op {
        Op::Toggle {
            activate,
            region,
            id,
        } => {
            let background = &mut st.faults.background;
            st.store
                .toggle(&region, &id, activate, config.activation_delay, now, || {
                    background.fate(&id)
                })
                .map_err(refusal_error)?;
        }
        Op::Describe {
            region,
            filters,
            page_number,
            page_size,
        } => {
            let filters: Vec<(&str, &str)> =
                filters.iter().map(|(f, v)| (*f, v.as_str())).collect();
            let (total, page) = st
                .store
                .describe(&region, &filters, page_number, page_size, now);
            out.insert("TotalCount".to_owned(), total.to_string().into());
            out.insert("PageNumber".to_owned(), page_number.to_string().into());
            out.insert("PageSize".to_owned(), page_size.to_string().into());
            out.insert("FlowLogs".to_owned(), json!({ "FlowLog": page }));
        }
    }
    Ok(out)
}

fn refusal_error(r: Refusal) -> ApiError {
    match r {
        Refusal::NotFound => ApiError::new(
            404,
            "InvalidInstanceId.NotFound",
            "The specified flow log does not exist.",
        ),
        Refusal::Managed => ApiError::new(
            403,
            "Forbidden.OperateManagedFlowLog",
            "The flow log is managed by Log Service and cannot be operated through the VPC API.",
        ),
        Refusal::FinanciallyLocked => ApiError::new(
            400,
            "IncorrectBusinessStatus.FlowLog",
            "The business status of the flow log is incorrect.",
        ),
        Refusal::WrongStatus(s) => ApiError::new(
            400,
            "IncorrectStatus.flowlog",
            format!(
                "The status of the flow log is incorrect (current status: {}).",
                s.as_str()
            ),
        ),
    }
}
