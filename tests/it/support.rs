//! Shared test support: runs the `alicloud-vpc-emulator` binary as a child process and drives
//! its `/_emulator/` controls (and, if wanted, signed API calls) over plain HTTP/1.1 with std
//! only, so any test module can use it with or without an async runtime.

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use serde_json::{Value, json};
use tfprovider::alicloud::sign::v1 as signer;

const START_TIMEOUT: Duration = Duration::from_secs(10);
const IO_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_STDERR: usize = 1 << 20;

/// A running emulator; dropping it kills the process.
pub struct Emulator {
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    /// `127.0.0.1:PORT`
    pub addr: String,
    pub access_key_id: String,
    pub access_key_secret: String,
    pub security_token: Option<String>,
    child: Child,
    stderr: Arc<Mutex<String>>,
    _seed: tempfile::NamedTempFile,
}

/// A raw HTTP answer.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; `Value::Null` when empty, panics (test failure) when not JSON.
    pub fn json(&self) -> Value {
        if self.body.is_empty() {
            return Value::Null;
        }
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): HTTP {} {}", self.status, self.body))
    }
}

/// Value of `--flag VALUE` or `--flag=VALUE` in `args`, the last one winning like the binary.
fn flag_value(args: &[&str], flag: &str) -> Option<String> {
    let mut found = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if *a == flag {
            found = it.next().map(|v| v.to_string());
        } else if let Some(v) = a.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
            found = Some(v.to_owned());
        }
    }
    found
}

/// The signature v1 timestamp for now.
pub fn timestamp_now() -> String {
    timestamp_at(time::OffsetDateTime::now_utc())
}

pub fn timestamp_at(t: time::OffsetDateTime) -> String {
    t.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .expect("timestamp formats")
}

/// `k=v&...` with the RPC percent-encoding (valid for both query strings and form bodies).
pub fn encode_params(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                signer::percent_encode(k),
                signer::percent_encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Adds `Signature` for `method`, replacing any already there.
pub fn sign_params(method: &str, params: &mut Vec<(String, String)>, secret: &str) {
    params.retain(|(k, _)| k != "Signature");
    let sig = signer::sign(
        method,
        params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        secret,
    );
    params.push(("Signature".to_owned(), sig));
}

impl Emulator {
    /// Starts the emulator with `seed` (a JSON array of flow logs) and extra flags, e.g.
    /// `&["--activation-delay", "0"]`. Panics with the emulator's stderr if it does not print
    /// its URL within 10 s.
    pub fn start(seed: &Value, extra_args: &[&str]) -> Emulator {
        let mut seed_file = tempfile::NamedTempFile::new().expect("create seed file");
        seed_file
            .write_all(seed.to_string().as_bytes())
            .and_then(|_| seed_file.flush())
            .expect("write seed file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_alicloud-vpc-emulator"))
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--seed")
            .arg(seed_file.path())
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn alicloud-vpc-emulator");

        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(err) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    let mut s = sink.lock().unwrap_or_else(|p| p.into_inner());
                    if s.len() < MAX_STDERR {
                        s.push_str(&line);
                        s.push('\n');
                    }
                }
            });
        }
        let (tx, rx) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(out);
                let mut first = String::new();
                let _ = reader.read_line(&mut first);
                let _ = tx.send(first);
                // Keep draining so the emulator never blocks on a full pipe.
                let _ = std::io::copy(&mut reader, &mut std::io::sink());
            });
        }
        let line = rx.recv_timeout(START_TIMEOUT);
        let fail = |child: &mut Child, why: String| -> ! {
            let _ = child.kill();
            let status = child.wait();
            std::thread::sleep(Duration::from_millis(100));
            let err = stderr.lock().map(|s| s.clone()).unwrap_or_default();
            panic!("alicloud-vpc-emulator {why} (exit: {status:?})\n--- stderr ---\n{err}");
        };
        let base_url = match line {
            Ok(l) if l.trim_end().starts_with("http://") => l.trim_end().to_owned(),
            Ok(l) => fail(&mut child, format!("printed {l:?} instead of its URL")),
            Err(_) => fail(
                &mut child,
                format!("printed no URL within {START_TIMEOUT:?}"),
            ),
        };
        let addr = base_url.trim_start_matches("http://").to_owned();
        Emulator {
            addr,
            base_url,
            access_key_id: flag_value(extra_args, "--access-key-id")
                .unwrap_or_else(|| "emulator-access-key-id".to_owned()),
            access_key_secret: flag_value(extra_args, "--access-key-secret")
                .unwrap_or_else(|| "emulator-access-key-secret".to_owned()),
            security_token: flag_value(extra_args, "--security-token"),
            child,
            stderr,
            _seed: seed_file,
        }
    }

    /// What the emulator wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// One HTTP/1.1 request on a fresh connection (`Connection: close`).
    pub fn http(
        &self,
        method: &str,
        path_and_query: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> HttpResponse {
        let headers: Vec<(&str, &str)> = content_type
            .map(|ct| ("Content-Type", ct))
            .into_iter()
            .collect();
        self.http_with_headers(method, path_and_query, &headers, body)
    }

    /// One HTTP/1.1 request with `Host` (this emulator's address), `Connection: close`,
    /// `Content-Length` and `headers`, on a fresh connection.
    pub fn http_with_headers(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpResponse {
        let mut stream = TcpStream::connect(&self.addr).expect("connect to the emulator");
        stream.set_read_timeout(Some(IO_TIMEOUT)).ok();
        stream.set_write_timeout(Some(IO_TIMEOUT)).ok();
        let mut head = format!(
            "{method} {path_and_query} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream
            .write_all(head.as_bytes())
            .and_then(|_| stream.write_all(body))
            .expect("send request");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read response");
        parse_response(&raw)
    }

    /// A control call with an optional JSON body.
    pub fn control(&self, method: &str, path: &str, body: Option<&Value>) -> HttpResponse {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let ct = (!body.is_empty()).then_some("application/json");
        self.http(method, &format!("/_emulator{path}"), ct, body.as_bytes())
    }

    /// Creates or merges into a flow log (`PUT /_emulator/flow-logs/{id}`); returns it.
    pub fn upsert(&self, id: &str, fields: &Value) -> Value {
        let r = self.control(
            "PUT",
            &format!("/flow-logs/{}", signer::percent_encode(id)),
            Some(fields),
        );
        assert!(
            r.status == 200 || r.status == 201,
            "upsert {id}: HTTP {} {}",
            r.status,
            r.body
        );
        r.json()
    }

    /// Deletes a flow log; false if there was none.
    pub fn delete(&self, id: &str) -> bool {
        let r = self.control(
            "DELETE",
            &format!("/flow-logs/{}", signer::percent_encode(id)),
            None,
        );
        assert!(
            r.status == 204 || r.status == 404,
            "delete {id}: HTTP {} {}",
            r.status,
            r.body
        );
        r.status == 204
    }

    /// Every flow log, all regions, with its current status.
    pub fn flow_logs(&self) -> Vec<Value> {
        let r = self.control("GET", "/flow-logs", None);
        assert_eq!(r.status, 200, "{}", r.body);
        r.json().as_array().cloned().unwrap_or_default()
    }

    pub fn flow_log(&self, id: &str) -> Option<Value> {
        let r = self.control(
            "GET",
            &format!("/flow-logs/{}", signer::percent_encode(id)),
            None,
        );
        match r.status {
            200 => Some(r.json()),
            404 => None,
            s => panic!("flow_log {id}: HTTP {s} {}", r.body),
        }
    }

    /// The API request log: `time`, `method`, `path`, `action`, `params` (no `Signature`,
    /// `SecurityToken` redacted), `status`, `code`, `request_id`.
    pub fn requests(&self) -> Vec<Value> {
        let r = self.control("GET", "/requests", None);
        assert_eq!(r.status, 200, "{}", r.body);
        r.json().as_array().cloned().unwrap_or_default()
    }

    /// Every API request so far carried signature `name` (`v1`, `v3`), and there was one.
    #[track_caller]
    pub fn assert_signed_with(&self, name: &str) {
        let log = self.requests();
        assert!(!log.is_empty(), "no API request reached the emulator");
        for r in &log {
            assert_eq!(r["signature"], name, "{r}");
        }
    }

    pub fn clear_requests(&self) {
        let r = self.control("DELETE", "/requests", None);
        assert_eq!(r.status, 204, "{}", r.body);
    }

    /// Makes the next `n` API calls (of `actions`, or any action when empty) fail with `code`.
    pub fn fail_next(&self, n: u64, code: &str, actions: &[&str]) {
        let mut body = json!({ "fail_next": n, "code": code });
        if !actions.is_empty() {
            body["actions"] = json!(actions);
        }
        let r = self.control("POST", "/faults", Some(&body));
        assert_eq!(r.status, 200, "{}", r.body);
    }

    pub fn clear_faults(&self) {
        let r = self.control("DELETE", "/faults", None);
        assert_eq!(r.status, 204, "{}", r.body);
    }

    /// Common parameters (JSON, fresh nonce and timestamp, this emulator's key and token) plus
    /// `extra`, unsigned.
    pub fn params(&self, action: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = [
            ("Action", action.to_owned()),
            ("Version", "2016-04-28".to_owned()),
            ("Format", "JSON".to_owned()),
            ("AccessKeyId", self.access_key_id.clone()),
            ("SignatureMethod", "HMAC-SHA1".to_owned()),
            ("SignatureVersion", "1.0".to_owned()),
            ("SignatureNonce", uuid::Uuid::new_v4().to_string()),
            ("Timestamp", timestamp_now()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if let Some(t) = &self.security_token {
            p.push(("SecurityToken".to_owned(), t.clone()));
        }
        p.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        p
    }

    /// A signed API call the way the official SDKs send it (POST form body); returns the HTTP
    /// status and the JSON answer.
    pub fn call(&self, action: &str, extra: &[(&str, &str)]) -> (u16, Value) {
        let mut p = self.params(action, extra);
        sign_params("POST", &mut p, &self.access_key_secret);
        let r = self.http(
            "POST",
            "/",
            Some("application/x-www-form-urlencoded"),
            encode_params(&p).as_bytes(),
        );
        let v = r.json();
        (r.status, v)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP header end in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {head:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    HttpResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size_hex = size_text.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_hex, 16) else {
            return out;
        };
        data = &data[eol + 2..];
        if size == 0 || data.len() < size {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or_default();
    }
}

/// Credentials to sign a call with: the emulator's own, or a temporary key it issued.
#[derive(Debug, Clone)]
pub struct Creds {
    pub id: String,
    pub secret: String,
    pub token: Option<String>,
}

impl Creds {
    /// The `Credentials` object of an AssumeRole* answer.
    pub fn from_sts_answer(v: &Value) -> Creds {
        let c = &v["Credentials"];
        let text = |k: &str| {
            c[k].as_str()
                .unwrap_or_else(|| panic!("Credentials.{k} missing in {v}"))
                .to_owned()
        };
        Creds {
            id: text("AccessKeyId"),
            secret: text("AccessKeySecret"),
            token: Some(text("SecurityToken")),
        }
    }
}

/// STS's API version, served on the emulator's port next to VPC's `2016-04-28`.
pub const STS_VERSION: &str = "2015-04-01";

impl Emulator {
    /// The emulator's configured key (and `--security-token`, if any).
    pub fn creds(&self) -> Creds {
        Creds {
            id: self.access_key_id.clone(),
            secret: self.access_key_secret.clone(),
            token: self.security_token.clone(),
        }
    }

    fn post_form(&self, params: &[(String, String)]) -> (u16, Value) {
        let r = self.http(
            "POST",
            "/",
            Some("application/x-www-form-urlencoded"),
            encode_params(params).as_bytes(),
        );
        let v = r.json();
        (r.status, v)
    }

    /// A signed POST of `action` under API `version` with `creds`.
    pub fn call_with(
        &self,
        creds: &Creds,
        version: &str,
        action: &str,
        extra: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut p: Vec<(String, String)> = self
            .params(action, extra)
            .into_iter()
            .filter(|(k, _)| !matches!(k.as_str(), "Version" | "AccessKeyId" | "SecurityToken"))
            .collect();
        p.push(("Version".to_owned(), version.to_owned()));
        p.push(("AccessKeyId".to_owned(), creds.id.clone()));
        if let Some(t) = &creds.token {
            p.push(("SecurityToken".to_owned(), t.clone()));
        }
        sign_params("POST", &mut p, &creds.secret);
        self.post_form(&p)
    }

    /// An unsigned POST, as STS's anonymous AssumeRoleWithOIDC is sent: `Action`, `Version`,
    /// `Format`, `Timestamp` and `extra`, no key, no signature.
    pub fn call_anonymous(
        &self,
        version: &str,
        action: &str,
        extra: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut p: Vec<(String, String)> = vec![
            ("Action".to_owned(), action.to_owned()),
            ("Version".to_owned(), version.to_owned()),
            ("Format".to_owned(), "JSON".to_owned()),
            ("Timestamp".to_owned(), timestamp_now()),
        ];
        p.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self.post_form(&p)
    }

    /// `GET /_emulator/stats`: `{"calls":{action:n},"throttled":n,"errors":{code:n}}`.
    pub fn stats(&self) -> Value {
        let r = self.control("GET", "/stats", None);
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }

    pub fn clear_stats(&self) {
        let r = self.control("DELETE", "/stats", None);
        assert_eq!(r.status, 204, "{}", r.body);
    }

    /// `POST /_emulator/flow-logs` with an array; returns `{"created":n,"updated":n}`.
    pub fn upsert_many(&self, items: &Value) -> Value {
        let r = self.control("POST", "/flow-logs", Some(items));
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }
}

/// The fault controls (`/_emulator/faults`).
impl Emulator {
    /// `GET /_emulator/faults`: every fault setting.
    pub fn faults(&self) -> Value {
        let r = self.control("GET", "/faults", None);
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }

    /// `POST /_emulator/faults` with `body` (fields not given keep their value); returns the
    /// settings after the change.
    pub fn set_faults(&self, body: &Value) -> Value {
        let r = self.control("POST", "/faults", Some(body));
        assert_eq!(r.status, 200, "{body}: {}", r.body);
        r.json()
    }
}
