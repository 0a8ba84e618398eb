//! HTTP for the emulator: the API endpoint at `/` (VPC and STS), the unsigned `/_emulator/`
//! test controls, the request log and call counters, and the rules every malformed request falls under (bounded bodies, a read
//! deadline, an error document instead of a crash).

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use futures_util::StreamExt as _;
use serde_json::{Value, json};

use super::EmulatorError;
use super::api::{self, ApiError, Format, Reply, State};
use super::config::EmulatorConfig;
use super::faults::FaultUpdate;
use super::params::{decode_component, decode_form};
use super::store::{CREATION_TIME_FORMAT, Store, load_seed};

const MAX_BODY: usize = 1024 * 1024;
/// Past the limit we keep reading (and dropping) this much more so the client sees our 413
/// instead of a connection reset; beyond it we give up on the connection.
const MAX_DRAIN: usize = 8 * MAX_BODY;
const BODY_DEADLINE: Duration = Duration::from_secs(10);
/// The request log is for tests; a long-running emulator must not grow without bound.
const MAX_LOGGED_REQUESTS: usize = 10_000;

struct App {
    config: EmulatorConfig,
    state: Mutex<State>,
    requests: Mutex<VecDeque<Value>>,
    stats: Mutex<Stats>,
}

/// Counters for `/_emulator/stats`: what a benchmark of thousands of calls needs, without
/// fetching (or the emulator keeping) every request.
#[derive(Default)]
struct Stats {
    calls: BTreeMap<String, u64>,
    errors: BTreeMap<String, u64>,
    throttled: u64,
}

impl Stats {
    fn record(&mut self, reply: &Reply) {
        if let Some(action) = &reply.action {
            *self.calls.entry(action.clone()).or_default() += 1;
        }
        if let Some(code) = reply.code() {
            *self.errors.entry(code.to_owned()).or_default() += 1;
            if code.starts_with("Throttling") || code == "Rejected.Throttling" {
                self.throttled += 1;
            }
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "calls": self.calls,
            "throttled": self.throttled,
            "errors": self.errors,
        })
    }
}

/// Parameters never written to the request log: the signature is noise in assertions, the
/// rest are secrets a CI log must not show.
const REDACTED: &[&str] = &["SecurityToken", "OIDCToken", "AccessKeySecret"];
/// The same for V3's headers (`Authorization` is never logged: only `x-acs-*` headers are).
const REDACTED_HEADERS: &[&str] = &["x-acs-security-token", "x-acs-bearer-token"];

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A bound, not yet serving emulator: lets a caller learn the port before serving.
pub struct Bound {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    app: Arc<App>,
}

impl Bound {
    /// `http://HOST:PORT`, what clients use as the VPC endpoint.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn serve(self) -> Result<(), EmulatorError> {
        let router = Router::new().fallback(handle).with_state(self.app);
        axum::serve(self.listener, router)
            .await
            .map_err(EmulatorError::Serve)
    }
}

/// Loads the seed and binds the listener.
pub async fn bind(config: EmulatorConfig) -> Result<Bound, EmulatorError> {
    let store = match &config.seed {
        Some(path) => load_seed(path)?,
        None => Store::default(),
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| EmulatorError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind {
            addr: config.listen,
            source,
        })?;
    let app = Arc::new(App {
        state: Mutex::new(State::new(store, &config)),
        config,
        requests: Mutex::new(VecDeque::new()),
        stats: Mutex::new(Stats::default()),
    });
    Ok(Bound {
        listener,
        addr,
        app,
    })
}

async fn handle(AxState(app): AxState<Arc<App>>, req: Request) -> Response {
    let path = req.uri().path();
    if path == "/_emulator" || path.starts_with("/_emulator/") {
        controls(&app, req).await
    } else {
        api_request(&app, req).await
    }
}

enum BodyError {
    TooLarge,
    TimedOut,
    Broken(String),
}

async fn read_body(body: Body) -> Result<Vec<u8>, BodyError> {
    let read = async {
        let mut stream = body.into_data_stream();
        let mut buf = Vec::new();
        let mut seen = 0usize;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| BodyError::Broken(e.to_string()))?;
            seen = seen.saturating_add(chunk.len());
            if seen > MAX_BODY + MAX_DRAIN {
                return Err(BodyError::TooLarge);
            }
            if seen <= MAX_BODY {
                buf.extend_from_slice(&chunk);
            }
        }
        if seen > MAX_BODY {
            Err(BodyError::TooLarge)
        } else {
            Ok(buf)
        }
    };
    tokio::time::timeout(BODY_DEADLINE, read)
        .await
        .unwrap_or(Err(BodyError::TimedOut))
}

impl BodyError {
    fn status_and_message(&self) -> (u16, String) {
        match self {
            BodyError::TooLarge => (413, format!("The request body exceeds {MAX_BODY} bytes.")),
            BodyError::TimedOut => (
                408,
                format!(
                    "The request body did not arrive within {}s.",
                    BODY_DEADLINE.as_secs()
                ),
            ),
            BodyError::Broken(e) => (400, format!("The request body could not be read: {e}")),
        }
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(CREATION_TIME_FORMAT)
        .unwrap_or_default()
}

/// Decoded `name=value` pairs in the order received.
type Pairs = Vec<(String, String)>;

/// Decodes the query and (for a form or untyped body) the body into one parameter map; the
/// body wins on a duplicate name, as both are signed as one set. Also returns the query's own
/// pairs, which V3 signs apart from the body.
fn request_params(
    query: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<(BTreeMap<String, String>, Pairs), ApiError> {
    let bad = |msg: String| ApiError::new(400, "InvalidParameter", msg);
    let mut params = BTreeMap::new();
    let query_pairs =
        decode_form(query).map_err(|e| bad(format!("Malformed query string: {e}.")))?;
    for (k, v) in &query_pairs {
        params.insert(k.clone(), v.clone());
    }
    if !body.is_empty() {
        let is_form = content_type.is_none_or(|ct| {
            ct.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
        if !is_form {
            return Err(bad(format!(
                "Unsupported Content-Type {:?}; send application/x-www-form-urlencoded.",
                content_type.unwrap_or_default()
            )));
        }
        let text = std::str::from_utf8(body)
            .map_err(|_| bad("The request body is not valid UTF-8.".to_owned()))?;
        for (k, v) in decode_form(text).map_err(|e| bad(format!("Malformed form body: {e}.")))? {
            params.insert(k, v);
        }
    }
    Ok((params, query_pairs))
}

/// What the request log and the counters keep of a request, whatever its signature.
#[derive(Default)]
struct Seen {
    params: BTreeMap<String, String>,
    /// `x-acs-*` headers (V3).
    headers: BTreeMap<String, String>,
    signature: Option<&'static str>,
    access_key_id: Option<String>,
}

async fn api_request(app: &App, req: Request) -> Response {
    let latency = lock(&app.state).faults.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let content_type = headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.clone());
    let mut seen = Seen::default();
    let reply = if path != "/" || !(method == Method::GET || method == Method::POST) {
        Reply::error(Format::Json, ApiError::action_not_found())
    } else {
        match read_body(req.into_body()).await {
            Err(e) => {
                let (status, message) = e.status_and_message();
                Reply::error(
                    Format::Json,
                    ApiError::new(status, "InvalidParameter", message),
                )
            }
            Ok(body) => match request_params(&query, content_type.as_deref(), &body) {
                Err(e) => Reply::error(Format::Json, e),
                Ok((params, query_pairs)) => {
                    let incoming = api::Incoming {
                        method: method.as_str(),
                        path: &path,
                        params: &params,
                        query: &query_pairs,
                        headers: &headers,
                        body: &body,
                    };
                    let shape = incoming.shape();
                    seen.signature = Some(shape.name());
                    seen.access_key_id = incoming.access_key_id().map(str::to_owned);
                    if shape == api::Shape::V3 {
                        seen.headers = headers
                            .iter()
                            .filter(|(k, _)| k.starts_with("x-acs-"))
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect();
                    }
                    let reply = api::handle(&app.config, &app.state, &incoming);
                    seen.params = params;
                    reply
                }
            },
        }
    };
    let (body, content_type) = reply.render();
    tracing::info!(
        method = %method,
        action = reply.action.as_deref().unwrap_or("-"),
        signature = seen.signature.unwrap_or("-"),
        status = reply.status,
        code = reply.code().unwrap_or("-"),
        request_id = %reply.request_id,
        "api request"
    );
    log_request(app, &method, &path, &seen, &reply);
    lock(&app.stats).record(&reply);
    let mut resp = text_response(reply.status, body, content_type);
    if let Ok(v) = HeaderValue::from_str(&reply.request_id) {
        resp.headers_mut().insert("x-acs-request-id", v);
    }
    resp
}

fn log_request(app: &App, method: &Method, path: &str, seen: &Seen, reply: &Reply) {
    let redact =
        |map: &BTreeMap<String, String>, secret: &[&str]| -> serde_json::Map<String, Value> {
            map.iter()
                .filter(|(k, _)| k.as_str() != "Signature")
                .map(|(k, v)| {
                    let v = if secret.contains(&k.as_str()) {
                        "<redacted>"
                    } else {
                        v.as_str()
                    };
                    (k.clone(), Value::from(v))
                })
                .collect()
        };
    let entry = json!({
        "time": now_rfc3339(),
        "method": method.as_str(),
        "path": path,
        "action": reply.action,
        "signature": seen.signature,
        "access_key_id": seen.access_key_id,
        "params": redact(&seen.params, REDACTED),
        "headers": redact(&seen.headers, REDACTED_HEADERS),
        "status": reply.status,
        "code": reply.code(),
        "request_id": reply.request_id,
    });
    let mut log = lock(&app.requests);
    if log.len() >= MAX_LOGGED_REQUESTS {
        log.pop_front();
    }
    log.push_back(entry);
}

fn text_response(status: u16, body: String, content_type: &'static str) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn json_response(status: u16, value: &Value) -> Response {
    text_response(status, value.to_string(), "application/json")
}

fn control_error(status: u16, message: impl Into<String>) -> Response {
    json_response(status, &json!({ "error": message.into() }))
}

fn no_content() -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}

async fn json_body(req: Request) -> Result<Value, Response> {
    let bytes = read_body(req.into_body()).await.map_err(|e| {
        let (status, message) = e.status_and_message();
        control_error(status, message)
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| control_error(400, format!("the body is not valid JSON: {e}")))
}

async fn controls(app: &App, req: Request) -> Response {
    let method = req.method().clone();
    let rest = req
        .uri()
        .path()
        .strip_prefix("/_emulator")
        .unwrap_or_default()
        .to_owned();
    tracing::debug!(method = %method, path = %rest, "control request");
    let not_allowed = || {
        control_error(
            405,
            format!("{method} is not supported on /_emulator{rest}"),
        )
    };
    match rest.as_str() {
        "/flow-logs" => match method {
            Method::GET => json_response(
                200,
                &Value::from(lock(&app.state).store.all(Instant::now())),
            ),
            // Bulk creation for benchmarks: one request and one lock for thousands of flow logs.
            Method::POST => {
                let body = match json_body(req).await {
                    Ok(b) => b,
                    Err(resp) => return resp,
                };
                match lock(&app.state).store.upsert_many(&body, Instant::now()) {
                    Ok((created, updated)) => {
                        json_response(200, &json!({"created": created, "updated": updated}))
                    }
                    Err(e) => control_error(400, e.to_string()),
                }
            }
            _ => not_allowed(),
        },
        "/stats" => match method {
            Method::GET => json_response(200, &lock(&app.stats).to_json()),
            Method::DELETE => {
                *lock(&app.stats) = Stats::default();
                no_content()
            }
            _ => not_allowed(),
        },
        "/requests" => match method {
            Method::GET => {
                let log: Vec<Value> = lock(&app.requests).iter().cloned().collect();
                json_response(200, &Value::from(log))
            }
            Method::DELETE => {
                lock(&app.requests).clear();
                no_content()
            }
            _ => not_allowed(),
        },
        "/faults" => match method {
            Method::GET => json_response(200, &lock(&app.state).faults.to_json()),
            // Fields not given keep their value; the answer is every setting, as GET shows.
            Method::POST => {
                let body = match json_body(req).await {
                    Ok(b) => b,
                    Err(resp) => return resp,
                };
                match FaultUpdate::from_json(&body) {
                    Ok(update) => {
                        let mut st = lock(&app.state);
                        st.faults.apply(update, Instant::now());
                        tracing::info!(faults = %st.faults.to_json(), "faults changed");
                        json_response(200, &st.faults.to_json())
                    }
                    Err(e) => control_error(400, e),
                }
            }
            // Every fault off (seeds kept).
            Method::DELETE => {
                lock(&app.state).faults.clear();
                tracing::info!("faults cleared");
                no_content()
            }
            _ => not_allowed(),
        },
        // What exists around the flow logs: each list named replaces its own, null opens it.
        "/world" => match method {
            Method::GET => json_response(200, &lock(&app.state).world.to_json()),
            Method::POST => {
                let body = match json_body(req).await {
                    Ok(b) => b,
                    Err(resp) => return resp,
                };
                let mut st = lock(&app.state);
                match st.world.apply_json(&body) {
                    Ok(()) => {
                        tracing::info!(world = %st.world.to_json(), "world changed");
                        json_response(200, &st.world.to_json())
                    }
                    Err(e) => control_error(400, e),
                }
            }
            _ => not_allowed(),
        },
        r if r.starts_with("/flow-logs/") => {
            let raw = &r["/flow-logs/".len()..];
            let id = match decode_component(raw, false) {
                Ok(id) if !id.is_empty() && !raw.contains('/') => id,
                Ok(_) => return control_error(404, format!("no control at /_emulator{rest}")),
                Err(e) => return control_error(400, e),
            };
            flow_log_control(app, method, &id, req).await
        }
        _ => control_error(404, format!("no control at /_emulator{rest}")),
    }
}

async fn flow_log_control(app: &App, method: Method, id: &str, req: Request) -> Response {
    match method {
        Method::GET => match lock(&app.state).store.get(id, Instant::now()) {
            Some(v) => json_response(200, &v),
            None => control_error(404, format!("no flow log {id}")),
        },
        Method::PUT => {
            let body = match json_body(req).await {
                Ok(b) => b,
                Err(resp) => return resp,
            };
            let Some(obj) = body.as_object() else {
                return control_error(400, "expected a JSON object of flow log fields");
            };
            match lock(&app.state).store.upsert(id, obj, Instant::now()) {
                Ok((v, created)) => json_response(if created { 201 } else { 200 }, &v),
                Err(e) => control_error(400, e.to_string()),
            }
        }
        Method::DELETE => {
            if lock(&app.state).store.delete(id) {
                no_content()
            } else {
                control_error(404, format!("no flow log {id}"))
            }
        }
        _ => control_error(
            405,
            format!("{method} is not supported on /_emulator/flow-logs/{id}"),
        ),
    }
}
