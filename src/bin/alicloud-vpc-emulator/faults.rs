//! Throttling, injected failures and latency (the transient trouble a client must retry
//! through), background faults (changes that fail or whose flow log is deleted after they were
//! accepted) and refused listings; all of it set at start from the command line and changed
//! at run time through `/_emulator/faults`.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{Map, Value, json};

use super::config::{EmulatorConfig, parse_duration};

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

    pub fn qps(&self) -> f64 {
        self.qps
    }

    /// Takes a token for one call at `now`, when one is left after `outside` requests per
    /// second of other clients took theirs (they are served first: theirs is a steady load).
    pub fn try_take(&mut self, now: Instant, outside: f64) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now.max(self.last);
        self.tokens = (self.tokens + elapsed * (self.qps - outside)).clamp(0.0, self.capacity);
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

/// What becomes of a change (`ActiveFlowLog`, `DeactiveFlowLog`) once it is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fate {
    /// Settles in the target status after the activation delay.
    #[default]
    Settle,
    /// Fails in the background: settles back where it started (`Activating` -> `Inactive`,
    /// `Deactivating` -> `Active`).
    Fail,
    /// Deleted while under way, once half the activation delay has passed.
    Vanish,
}

/// Background faults: which accepted changes fail or vanish.
///
/// A draw depends only on the seed, the flow log ID and how many changes of that flow log were
/// accepted since the seed was set, never on the order of calls: the same seed picks the same
/// flow logs however many clients race each other.
#[derive(Debug, Clone, Default)]
pub struct Background {
    pub fail_rate: f64,
    pub fail_ids: BTreeSet<String>,
    pub delete_rate: f64,
    pub delete_ids: BTreeSet<String>,
    seed: u64,
    changes: HashMap<String, u64>,
}

impl Background {
    pub fn new(seed: u64) -> Background {
        Background {
            seed,
            ..Background::default()
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Sets the seed and starts counting changes afresh, so the draws repeat from the start.
    pub fn reseed(&mut self, seed: u64) {
        self.seed = seed;
        self.changes.clear();
    }

    /// Decides the fate of a change of `id` that was just accepted, and counts it. A listed ID
    /// always gets its fault; a deletion wins over a failure.
    pub fn fate(&mut self, id: &str) -> Fate {
        let n = self.changes.entry(id.to_owned()).or_default();
        let nth = *n;
        *n += 1;
        if self.delete_ids.contains(id)
            || unit_draw(self.seed, "delete", id, nth) < self.delete_rate
        {
            Fate::Vanish
        } else if self.fail_ids.contains(id)
            || unit_draw(self.seed, "fail", id, nth) < self.fail_rate
        {
            Fate::Fail
        } else {
            Fate::Settle
        }
    }
}

/// A number in [0, 1) from the seed, a tag, the ID and the change count: FNV-1a over them,
/// finished with splitmix64. Spelled out here so a seed means the same across Rust versions.
fn unit_draw(seed: u64, tag: &str, id: &str, nth: u64) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = seed
        .to_le_bytes()
        .into_iter()
        .chain(tag.bytes())
        .chain([0])
        .chain(id.bytes())
        .chain([0])
        .chain(nth.to_le_bytes());
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    // The top 53 bits, exactly representable.
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Every fault, behind the emulator's one lock: the control's rule first, then the seeded
/// random rate; throttling, latency, background faults and refused listings.
pub struct Faults {
    pub fail_next: Option<FailNext>,
    fail_rate: f64,
    fail_seed: u64,
    rng: StdRng,
    pub throttle: Option<TokenBucket>,
    /// Requests per second of the `throttle` quota spent by other clients.
    pub outside_load: f64,
    /// Every Nth call is throttled, whatever the rate; `throttle_count` counts the calls.
    pub throttle_every: Option<u64>,
    throttle_count: u64,
    pub latency: Duration,
    pub background: Background,
    /// `DescribeFlowLogs` without a `FlowLogId` is answered `Forbidden.RAM`.
    pub refuse_listings: bool,
}

/// An injected failure to answer with.
pub struct Injected {
    pub http_status: u16,
    pub code: String,
    pub message: String,
}

impl Faults {
    /// Only the random failure rate set, everything else off.
    pub fn new(fail_rate: f64, fail_seed: u64) -> Faults {
        Faults {
            fail_next: None,
            fail_rate,
            fail_seed,
            rng: StdRng::seed_from_u64(fail_seed),
            throttle: None,
            outside_load: 0.0,
            throttle_every: None,
            throttle_count: 0,
            latency: Duration::ZERO,
            background: Background::new(0),
            refuse_listings: false,
        }
    }

    /// As the command line asks.
    pub fn from_config(config: &EmulatorConfig, now: Instant) -> Faults {
        let mut f = Faults::new(config.fail_rate, config.fail_seed);
        f.throttle = config.throttle_qps.map(|q| TokenBucket::new(q, now));
        f.outside_load = config.outside_load;
        f.throttle_every = config.throttle_every;
        f.latency = config.latency;
        f.background = Background::new(config.background_seed);
        f.background.fail_rate = config.background_fail_rate;
        f.background.fail_ids = config.background_fail_ids.iter().cloned().collect();
        f.background.delete_rate = config.background_delete_rate;
        f.background.delete_ids = config.background_delete_ids.iter().cloned().collect();
        f.refuse_listings = config.refuse_listings;
        f
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

    /// Whether flow control refuses a call at `now`: every Nth call, then the quota (what the
    /// outside load leaves of it).
    pub fn throttled(&mut self, now: Instant) -> bool {
        if let Some(n) = self.throttle_every {
            self.throttle_count += 1;
            if self.throttle_count.is_multiple_of(n) {
                return true;
            }
        }
        let outside = self.outside_load;
        self.throttle
            .as_mut()
            .is_some_and(|bucket| !bucket.try_take(now, outside))
    }

    /// Turns every fault off; the seeds stay as they are.
    pub fn clear(&mut self) {
        self.fail_next = None;
        self.fail_rate = 0.0;
        self.throttle = None;
        self.outside_load = 0.0;
        self.throttle_every = None;
        self.latency = Duration::ZERO;
        self.background.fail_rate = 0.0;
        self.background.fail_ids.clear();
        self.background.delete_rate = 0.0;
        self.background.delete_ids.clear();
        self.refuse_listings = false;
    }

    /// The current settings, in the shape `FaultUpdate::from_json` takes (`GET
    /// /_emulator/faults`; posting it back changes nothing).
    pub fn to_json(&self) -> Value {
        let mut m = match self.fail_next.as_ref().map(FailNext::to_json) {
            Some(Value::Object(m)) => m,
            _ => {
                let mut m = Map::new();
                m.insert("fail_next".to_owned(), 0.into());
                for k in ["code", "http_status", "message", "actions"] {
                    m.insert(k.to_owned(), Value::Null);
                }
                m
            }
        };
        let ms = self.latency.as_secs_f64() * 1000.0;
        let latency = if ms.fract() == 0.0 && ms <= u64::MAX as f64 {
            Value::from(ms as u64)
        } else {
            Value::from(ms)
        };
        let ids = |set: &BTreeSet<String>| Value::from(set.iter().cloned().collect::<Vec<_>>());
        for (k, v) in [
            ("fail_rate", Value::from(self.fail_rate)),
            ("fail_seed", Value::from(self.fail_seed)),
            ("latency", latency),
            (
                "throttle_qps",
                self.throttle
                    .as_ref()
                    .map_or(Value::Null, |b| Value::from(b.qps())),
            ),
            ("outside_load", Value::from(self.outside_load)),
            (
                "throttle_every",
                self.throttle_every.map_or(Value::Null, Value::from),
            ),
            (
                "background_fail_rate",
                Value::from(self.background.fail_rate),
            ),
            ("background_fail_ids", ids(&self.background.fail_ids)),
            (
                "background_delete_rate",
                Value::from(self.background.delete_rate),
            ),
            ("background_delete_ids", ids(&self.background.delete_ids)),
            ("background_seed", Value::from(self.background.seed())),
            ("refuse_listings", Value::from(self.refuse_listings)),
        ] {
            m.insert(k.to_owned(), v);
        }
        Value::Object(m)
    }

    /// Applies a checked update: what it names changes, the rest stays.
    pub fn apply(&mut self, u: FaultUpdate, now: Instant) {
        if let Some(rule) = u.fail_next {
            self.fail_next = rule;
        }
        if let Some(p) = u.fail_rate {
            self.fail_rate = p;
        }
        if let Some(seed) = u.fail_seed {
            self.fail_seed = seed;
            self.rng = StdRng::seed_from_u64(seed);
        }
        if let Some(d) = u.latency {
            self.latency = d;
        }
        if let Some(q) = u.throttle_qps {
            self.throttle = q.map(|q| TokenBucket::new(q, now));
        }
        if let Some(q) = u.outside_load {
            self.outside_load = q;
        }
        if let Some(n) = u.throttle_every {
            self.throttle_every = n;
            self.throttle_count = 0;
        }
        if let Some(p) = u.background_fail_rate {
            self.background.fail_rate = p;
        }
        if let Some(ids) = u.background_fail_ids {
            self.background.fail_ids = ids;
        }
        if let Some(p) = u.background_delete_rate {
            self.background.delete_rate = p;
        }
        if let Some(ids) = u.background_delete_ids {
            self.background.delete_ids = ids;
        }
        if let Some(seed) = u.background_seed {
            self.background.reseed(seed);
        }
        if let Some(on) = u.refuse_listings {
            self.refuse_listings = on;
        }
    }
}

/// The fields of the `fail_next` rule, which only come with `fail_next`.
const RULE_FIELDS: &[&str] = &["fail_next", "code", "actions", "http_status", "message"];

/// Every field `POST /_emulator/faults` takes.
const CONTROL_FIELDS: &[&str] = &[
    "fail_next",
    "code",
    "actions",
    "http_status",
    "message",
    "fail_rate",
    "fail_seed",
    "latency",
    "throttle_qps",
    "outside_load",
    "throttle_every",
    "background_fail_rate",
    "background_fail_ids",
    "background_delete_rate",
    "background_delete_ids",
    "background_seed",
    "refuse_listings",
];

/// A checked `POST /_emulator/faults` body: `None` leaves a setting as it is.
#[derive(Debug, Default)]
pub struct FaultUpdate {
    /// `Some(None)`: no rule (`"fail_next": 0`).
    pub fail_next: Option<Option<FailNext>>,
    pub fail_rate: Option<f64>,
    pub fail_seed: Option<u64>,
    pub latency: Option<Duration>,
    /// `Some(None)`: throttling off (`"throttle_qps": null`).
    pub throttle_qps: Option<Option<f64>>,
    pub outside_load: Option<f64>,
    /// `Some(None)`: off (`"throttle_every": null`).
    pub throttle_every: Option<Option<u64>>,
    pub background_fail_rate: Option<f64>,
    pub background_fail_ids: Option<BTreeSet<String>>,
    pub background_delete_rate: Option<f64>,
    pub background_delete_ids: Option<BTreeSet<String>>,
    pub background_seed: Option<u64>,
    pub refuse_listings: Option<bool>,
}

fn rate(name: &str, v: &Value) -> Result<f64, String> {
    v.as_f64()
        .filter(|p| (0.0..=1.0).contains(p))
        .ok_or_else(|| format!("{name} must be a number from 0 to 1, got {v}"))
}

fn seed(name: &str, v: &Value) -> Result<u64, String> {
    v.as_u64()
        .ok_or_else(|| format!("{name} must be a non-negative integer, got {v}"))
}

fn id_set(name: &str, v: &Value) -> Result<BTreeSet<String>, String> {
    let bad = || format!("{name} must be an array of flow log IDs (non-empty strings), got {v}");
    v.as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|x| {
            x.as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or_else(bad)
        })
        .collect()
}

impl FaultUpdate {
    /// Parses the body of `POST /_emulator/faults`, all or nothing: an unknown field or a bad
    /// value is an error and nothing changes.
    pub fn from_json(v: &Value) -> Result<FaultUpdate, String> {
        let obj = v.as_object().ok_or("expected a JSON object")?;
        for k in obj.keys() {
            if !CONTROL_FIELDS.contains(&k.as_str()) {
                return Err(format!(
                    "unknown field '{k}'; known fields: {}",
                    CONTROL_FIELDS.join(", ")
                ));
            }
        }
        let mut u = FaultUpdate::default();
        // The rule's fields; null ones count as absent, as `GET` shows them when there is none.
        let rule: Map<String, Value> = obj
            .iter()
            .filter(|(k, v)| RULE_FIELDS.contains(&k.as_str()) && !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if rule.contains_key("fail_next") {
            let rule = FailNext::from_json(&Value::Object(rule))?;
            u.fail_next = Some((rule.remaining > 0).then_some(rule));
        } else if let Some(k) = rule.keys().next() {
            return Err(format!("{k} only goes with fail_next"));
        }
        for (k, v) in obj {
            match k.as_str() {
                "fail_rate" => u.fail_rate = Some(rate(k, v)?),
                "fail_seed" => u.fail_seed = Some(seed(k, v)?),
                "background_seed" => u.background_seed = Some(seed(k, v)?),
                "background_fail_rate" => u.background_fail_rate = Some(rate(k, v)?),
                "background_delete_rate" => u.background_delete_rate = Some(rate(k, v)?),
                "background_fail_ids" => u.background_fail_ids = Some(id_set(k, v)?),
                "background_delete_ids" => u.background_delete_ids = Some(id_set(k, v)?),
                "latency" => {
                    let d = match v {
                        Value::String(s) => parse_duration(s).map_err(|e| format!("latency: {e}")),
                        Value::Number(n) => n
                            .as_f64()
                            .filter(|ms| ms.is_finite() && *ms >= 0.0)
                            .and_then(|ms| Duration::try_from_secs_f64(ms / 1000.0).ok())
                            .ok_or_else(|| {
                                format!("latency in milliseconds must be 0 or more, got {v}")
                            }),
                        _ => Err(format!(
                            "latency must be a duration such as \"250ms\" or a number of milliseconds, got {v}"
                        )),
                    }?;
                    u.latency = Some(d);
                }
                "throttle_qps" => {
                    u.throttle_qps = Some(match v {
                        Value::Null => None,
                        _ => Some(v.as_f64().filter(|q| q.is_finite() && *q > 0.0).ok_or_else(
                            || format!("throttle_qps must be a positive number or null (off), got {v}"),
                        )?),
                    });
                }
                "outside_load" => {
                    u.outside_load = Some(v.as_f64().filter(|q| q.is_finite() && *q >= 0.0).ok_or_else(
                        || format!("outside_load must be a number of requests per second, 0 or more, got {v}"),
                    )?);
                }
                "throttle_every" => {
                    u.throttle_every = Some(match v {
                        Value::Null => None,
                        _ => Some(v.as_u64().filter(|n| *n >= 2).ok_or_else(|| {
                            format!("throttle_every must be a whole number, 2 or more, or null (off), got {v}")
                        })?),
                    });
                }
                "refuse_listings" => {
                    u.refuse_listings = Some(v.as_bool().ok_or_else(|| {
                        format!("refuse_listings must be true or false, got {v}")
                    })?);
                }
                _ => {}
            }
        }
        Ok(u)
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
        assert!(b.try_take(t0, 0.0) && b.try_take(t0, 0.0));
        assert!(!b.try_take(t0, 0.0));
        assert!(b.try_take(t0 + Duration::from_millis(600), 0.0));
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
    fn background_draws_depend_on_seed_id_and_count_not_order() {
        let ids: Vec<String> = (0..200).map(|i| format!("fl-{i}")).collect();
        let fates = |seed, reverse: bool| {
            let mut b = Background::new(seed);
            b.fail_rate = 0.3;
            b.delete_rate = 0.1;
            let mut order: Vec<&String> = ids.iter().collect();
            if reverse {
                order.reverse();
            }
            let mut out: Vec<(String, Fate)> = order
                .into_iter()
                .map(|id| (id.clone(), b.fate(id)))
                .collect();
            out.sort_by(|a, b| a.0.cmp(&b.0));
            out
        };
        let a = fates(42, false);
        assert_eq!(a, fates(42, true));
        assert_ne!(a, fates(43, false));
        let count = |f: Fate| a.iter().filter(|(_, x)| *x == f).count();
        // 200 draws: far from the rates only if the draw were broken.
        assert!(
            (30..=90).contains(&count(Fate::Fail)),
            "{}",
            count(Fate::Fail)
        );
        assert!(
            (5..=40).contains(&count(Fate::Vanish)),
            "{}",
            count(Fate::Vanish)
        );

        // The n-th change of a flow log is a new draw; a reseed starts counting again.
        let mut b = Background::new(1);
        b.fail_rate = 0.5;
        let first: Vec<Fate> = (0..20).map(|_| b.fate("fl-x")).collect();
        assert!(first.contains(&Fate::Fail) && first.contains(&Fate::Settle));
        b.reseed(1);
        assert_eq!(first, (0..20).map(|_| b.fate("fl-x")).collect::<Vec<_>>());
    }

    #[test]
    fn listed_ids_always_get_their_fault() {
        let mut b = Background::new(0);
        assert_eq!(b.fate("fl-1"), Fate::Settle);
        b.fail_ids = ["fl-1".to_owned(), "fl-2".to_owned()].into();
        b.delete_ids = ["fl-2".to_owned()].into();
        for _ in 0..3 {
            assert_eq!(b.fate("fl-1"), Fate::Fail);
            assert_eq!(b.fate("fl-2"), Fate::Vanish);
            assert_eq!(b.fate("fl-3"), Fate::Settle);
        }
        b.fail_rate = 1.0;
        assert_eq!(b.fate("fl-3"), Fate::Fail);
    }

    fn update(v: &Value) -> FaultUpdate {
        FaultUpdate::from_json(v).unwrap_or_else(|e| panic!("{v}: {e}"))
    }

    #[test]
    fn control_updates_keep_what_they_do_not_name() {
        let t0 = Instant::now();
        let mut f = Faults::new(0.0, 0);
        let off = f.to_json();
        assert_eq!(off["fail_next"], 0);
        assert_eq!(off["throttle_qps"], Value::Null);
        assert_eq!(off["outside_load"], 0.0);
        assert_eq!(off["throttle_every"], Value::Null);
        assert_eq!(off["refuse_listings"], false);
        // GET's answer posted back changes nothing.
        f.apply(update(&off), t0);
        assert_eq!(f.to_json(), off);

        let body = json!({
            "fail_rate": 0.1, "latency": "250ms", "throttle_qps": 5, "outside_load": 2,
            "throttle_every": 7,
            "background_fail_rate": 0.5, "background_fail_ids": ["fl-2", "fl-1"],
            "background_delete_ids": ["fl-9"], "background_seed": 7, "refuse_listings": true
        });
        f.apply(update(&body), t0);
        let on = f.to_json();
        assert_eq!(on["latency"], 250);
        assert_eq!(on["throttle_qps"], 5.0);
        assert_eq!(on["outside_load"], 2.0);
        assert_eq!(on["throttle_every"], 7);
        assert_eq!(on["background_fail_ids"], json!(["fl-1", "fl-2"]));
        assert_eq!(on["background_seed"], 7);
        assert_eq!(on["fail_next"], 0);
        // A rule alone leaves the rest; latency in milliseconds; null throttles nothing.
        let rule =
            json!({"fail_next": 1, "code": "InternalError", "latency": 1.5, "throttle_qps": null});
        f.apply(update(&rule), t0);
        let v = f.to_json();
        assert_eq!(
            (v["fail_next"].as_u64(), v["http_status"].as_u64()),
            (Some(1), Some(503))
        );
        assert_eq!(v["latency"], 1.5);
        assert_eq!(v["throttle_qps"], Value::Null);
        assert_eq!(v["refuse_listings"], true);
        assert_eq!(v["background_delete_ids"], json!(["fl-9"]));
        // And it round-trips with a rule too.
        f.apply(update(&v), t0);
        assert_eq!(f.to_json(), v);

        f.clear();
        let cleared = f.to_json();
        assert_eq!(cleared["fail_next"], 0);
        assert_eq!(cleared["latency"], 0);
        assert_eq!(cleared["background_fail_ids"], json!([]));
        assert_eq!(cleared["refuse_listings"], false);
        assert_eq!(cleared["throttle_every"], Value::Null);
        assert_eq!(cleared["outside_load"], 0.0);
        assert_eq!(cleared["background_seed"], 7, "seeds stay");
    }

    #[test]
    fn bad_control_bodies() {
        for (body, needle) in [
            (json!([]), "object"),
            (json!({"nope": 1}), "unknown field 'nope'"),
            (json!({"code": "X"}), "only goes with fail_next"),
            (json!({"fail_rate": 2}), "fail_rate"),
            (
                json!({"background_delete_rate": "0.1"}),
                "background_delete_rate",
            ),
            (json!({"latency": "5"}), "latency"),
            (json!({"latency": -1}), "latency"),
            (json!({"latency": true}), "latency"),
            (json!({"throttle_qps": 0}), "throttle_qps"),
            (json!({"outside_load": -1}), "outside_load"),
            (json!({"throttle_every": 1}), "throttle_every"),
            (json!({"throttle_every": "7"}), "throttle_every"),
            (
                json!({"background_fail_ids": "fl-1"}),
                "background_fail_ids",
            ),
            (json!({"background_fail_ids": [""]}), "background_fail_ids"),
            (json!({"background_seed": -3}), "background_seed"),
            (json!({"refuse_listings": "yes"}), "refuse_listings"),
            (json!({"fail_next": 2}), "code"),
        ] {
            match FaultUpdate::from_json(&body) {
                Err(e) => assert!(e.contains(needle), "{body}: {e}"),
                Ok(_) => panic!("{body} accepted"),
            }
        }
    }

    #[test]
    fn every_nth_call_is_throttled_whatever_the_rate() {
        let t0 = Instant::now();
        let mut f = Faults::new(0.0, 0);
        f.apply(update(&json!({"throttle_every": 3})), t0);
        let refused: Vec<bool> = (0..9).map(|_| f.throttled(t0)).collect();
        assert_eq!(
            refused,
            [false, false, true, false, false, true, false, false, true]
        );
        // An hour later, as slowly as anyone could call: still every third.
        let later = t0 + Duration::from_secs(3600);
        assert!(!f.throttled(later) && !f.throttled(later) && f.throttled(later));
    }

    #[test]
    fn an_outside_load_spends_the_quota_first() {
        let t0 = Instant::now();
        let mut f = Faults::new(0.0, 0);
        f.apply(update(&json!({"throttle_qps": 10, "outside_load": 6})), t0);
        // The first second's burst of 10, then 4 a second are left for us.
        let burst = (0..20).filter(|_| !f.throttled(t0)).count();
        assert_eq!(burst, 10);
        let mut ours = 0;
        for ms in (0..10_000).step_by(10) {
            let t = t0 + Duration::from_millis(ms + 10);
            ours += usize::from(!f.throttled(t));
        }
        assert!((39..=41).contains(&ours), "{ours} in 10 s");
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
