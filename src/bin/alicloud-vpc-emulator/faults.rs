//! Throttling and injected failures: the transient errors a client must retry through.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{Value, json};

/// A global token bucket: `qps` tokens a second, holding at most one second's worth (at least
/// one), so a burst of exactly `qps` calls passes and the next is throttled.
pub struct TokenBucket {
    qps: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(qps: f64, now: Instant) -> TokenBucket {
        let capacity = qps.max(1.0);
        TokenBucket {
            qps,
            capacity,
            tokens: capacity,
            last: now,
        }
    }

    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now.max(self.last);
        self.tokens = (self.tokens + elapsed * self.qps).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// "Fail the next N matching calls with this code", set through `POST /_emulator/faults`.
#[derive(Debug, Clone)]
pub struct FailNext {
    pub remaining: u64,
    pub code: String,
    pub http_status: u16,
    pub message: String,
    pub actions: Option<Vec<String>>,
}

/// The status the real gateway uses for a code a test asks us to inject.
pub fn default_status(code: &str) -> u16 {
    if code.starts_with("Throttling") || code == "Rejected.Throttling" {
        400
    } else if matches!(
        code,
        "ServiceUnavailable" | "InternalError" | "UnknownError" | "SystemBusy"
    ) {
        503
    } else {
        400
    }
}

fn default_message(code: &str) -> String {
    match code {
        c if c.starts_with("Throttling") => "Request was denied due to user flow control.".into(),
        "ServiceUnavailable" => {
            "The request has failed due to a temporary failure of the server.".into()
        }
        "InternalError" | "UnknownError" => {
            "The request processing has failed due to some unknown error, exception or failure."
                .into()
        }
        other => format!("Injected failure {other} (emulator fault control)."),
    }
}

impl FailNext {
    /// Parses the control body `{"fail_next": N, "code": "...", "actions": [...],
    /// "http_status": 503, "message": "..."}`; only `fail_next` and `code` are required.
    pub fn from_json(v: &Value) -> Result<FailNext, String> {
        let obj = v.as_object().ok_or("expected a JSON object")?;
        for k in obj.keys() {
            if !["fail_next", "code", "actions", "http_status", "message"].contains(&k.as_str()) {
                return Err(format!("unknown field '{k}'"));
            }
        }
        let remaining = obj
            .get("fail_next")
            .and_then(Value::as_u64)
            .ok_or("fail_next must be a non-negative integer")?;
        let code = match obj.get("code") {
            None if remaining == 0 => "ServiceUnavailable".to_owned(),
            Some(Value::String(c)) if !c.is_empty() => c.clone(),
            _ => return Err("code must be a non-empty string".to_owned()),
        };
        let http_status = match obj.get("http_status") {
            None => default_status(&code),
            Some(s) => s
                .as_u64()
                .filter(|s| (400..=599).contains(s))
                .and_then(|s| u16::try_from(s).ok())
                .ok_or("http_status must be an integer from 400 to 599")?,
        };
        let message = match obj.get("message") {
            None => default_message(&code),
            Some(Value::String(m)) => m.clone(),
            Some(_) => return Err("message must be a string".to_owned()),
        };
        let actions = match obj.get("actions") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|a| a.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or("actions must be an array of strings")?,
            ),
            Some(_) => return Err("actions must be an array of strings".to_owned()),
        };
        Ok(FailNext {
            remaining,
            code,
            http_status,
            message,
            actions,
        })
    }

    pub fn to_json(&self) -> Value {
        json!({
            "fail_next": self.remaining,
            "code": self.code,
            "http_status": self.http_status,
            "message": self.message,
            "actions": self.actions,
        })
    }
}

/// Failure injection state: the control's rule first, then the seeded random rate.
pub struct Faults {
    pub fail_next: Option<FailNext>,
    fail_rate: f64,
    rng: StdRng,
}

/// An injected failure to answer with.
pub struct Injected {
    pub http_status: u16,
    pub code: String,
    pub message: String,
}

impl Faults {
    pub fn new(fail_rate: f64, fail_seed: u64) -> Faults {
        Faults {
            fail_next: None,
            fail_rate,
            rng: StdRng::seed_from_u64(fail_seed),
        }
    }

    /// Decides whether this call of `action` fails. The random sequence advances once per call
    /// that reaches this point, so the same seed and call sequence fail the same calls.
    pub fn check(&mut self, action: &str) -> Option<Injected> {
        if let Some(rule) = self.fail_next.as_mut() {
            let applies = rule
                .actions
                .as_ref()
                .is_none_or(|a| a.iter().any(|x| x == action));
            if applies && rule.remaining > 0 {
                rule.remaining -= 1;
                let injected = Injected {
                    http_status: rule.http_status,
                    code: rule.code.clone(),
                    message: rule.message.clone(),
                };
                if rule.remaining == 0 {
                    self.fail_next = None;
                }
                return Some(injected);
            }
        }
        if self.fail_rate > 0.0 && self.rng.random::<f64>() < self.fail_rate {
            return Some(Injected {
                http_status: 503,
                code: "ServiceUnavailable".to_owned(),
                message: default_message("ServiceUnavailable"),
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_refills() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(2.0, t0);
        assert!(b.try_take(t0) && b.try_take(t0));
        assert!(!b.try_take(t0));
        assert!(b.try_take(t0 + Duration::from_millis(600)));
    }

    #[test]
    fn fail_next_counts_only_matching_actions() {
        let mut f = Faults::new(0.0, 0);
        let rule = serde_json::json!({"fail_next": 2, "code": "Throttling.User", "actions": ["ActiveFlowLog"]});
        f.fail_next = FailNext::from_json(&rule).ok();
        assert!(f.check("DescribeFlowLogs").is_none());
        assert_eq!(f.check("ActiveFlowLog").map(|i| i.http_status), Some(400));
        assert!(f.check("ActiveFlowLog").is_some());
        assert!(f.check("ActiveFlowLog").is_none());
        assert!(FailNext::from_json(&serde_json::json!({"fail_next": -1, "code": "X"})).is_err());
        assert!(FailNext::from_json(&serde_json::json!({"fail_next": 1})).is_err());
    }

    #[test]
    fn same_seed_same_failures() {
        let run = |seed| {
            let mut f = Faults::new(0.3, seed);
            (0..50).map(|_| f.check("A").is_some()).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }
}
