//! Logs on stderr in the hclog JSON shape go-plugin parses and Terraform relays into its own
//! log (`TF_LOG_PROVIDER`, else `TF_LOG`). Only the provider's own events follow that level;
//! its dependencies (gRPC, HTTP/2, TLS, HTTP client) log warnings and errors only, unless
//! [`DEPS_VARIABLE`] asks for more. Each line carries the fields of the spans it happened in
//! (`tf_rpc`, `tf_req_id`, `tf_resource_type`...). Nothing is formatted when logging is off.

use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// The variable that sets the log level of the provider's dependencies (h2, hyper, tonic,
/// rustls, reqwest); unset means warnings and errors only, whatever `TF_LOG` says.
pub const DEPS_VARIABLE: &str = "TF_LOG_PROVIDER_ALICLOUD_DEPS";

/// The crates whose events are the provider's own.
const OWN_TARGETS: &[&str] = &["tfprovider", "terraform_provider_alicloud"];

/// Maps Terraform's log variables to a level; unset or unknown values mean errors only.
pub fn level_from_env(provider: Option<&str>, general: Option<&str>) -> LevelFilter {
    let v = provider.filter(|s| !s.is_empty()).or(general).unwrap_or("");
    match v.trim().to_ascii_uppercase().as_str() {
        "TRACE" | "JSON" => LevelFilter::TRACE,
        "DEBUG" => LevelFilter::DEBUG,
        "INFO" => LevelFilter::INFO,
        "WARN" => LevelFilter::WARN,
        "OFF" => LevelFilter::OFF,
        _ => LevelFilter::ERROR,
    }
}

/// Which events are written: ours at `level`, the dependencies' at `deps` (WARN by default).
pub fn filter(level: LevelFilter, deps: Option<&str>) -> Targets {
    let deps = match deps.map(|d| level_from_env(Some(d), None)) {
        Some(d) if deps.is_some_and(|v| !v.trim().is_empty()) => d,
        _ => LevelFilter::WARN,
    };
    // Dependencies never log more than the provider was asked to.
    let deps = deps.min(level);
    OWN_TARGETS
        .iter()
        .fold(Targets::new().with_default(deps), |t, own| {
            t.with_target(*own, level)
        })
}

/// Installs the hclog JSON layer as the global subscriber.
pub fn init(filter: Targets) {
    let subscriber = tracing_subscriber::registry().with(HclogLayer.with_filter(filter));
    let _ = tracing::subscriber::set_global_default(subscriber);
}

struct HclogLayer;

struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(key(field), Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(key(field), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(key(field), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(key(field), Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut s = String::new();
        let _ = write!(s, "{value:?}");
        self.0.insert(key(field), Value::String(s));
    }
}

fn key(field: &Field) -> String {
    match field.name() {
        "message" => "@message".to_owned(),
        n => n.to_owned(),
    }
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

impl<S> Layer<S> for HclogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields(Map::new());
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut map = Map::new();
        // Outermost span first, so inner spans and the event itself win on a shared name.
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<Fields>() {
                    map.extend(fields.0.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        let mut fields = Fields(map);
        event.record(&mut fields);
        let mut map = fields.0;
        map.insert("@level".into(), level_name(event.metadata().level()).into());
        map.insert("@module".into(), "alicloud".into());
        map.insert("@timestamp".into(), timestamp().into());
        map.entry("@message")
            .or_insert_with(|| Value::String(String::new()));
        let mut line = Value::Object(map).to_string();
        line.push('\n');
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

fn timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    now.format(&fmt).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_stay_at_warn_unless_asked() {
        let f = filter(LevelFilter::DEBUG, None);
        assert!(f.would_enable("tfprovider::alicloud::rpc", &Level::DEBUG));
        assert!(f.would_enable("terraform_provider_alicloud", &Level::DEBUG));
        assert!(!f.would_enable("h2::codec", &Level::DEBUG));
        assert!(!f.would_enable("hyper_util::client", &Level::INFO));
        assert!(f.would_enable("rustls::conn", &Level::WARN));
        let f = filter(LevelFilter::TRACE, Some("debug"));
        assert!(f.would_enable("h2::codec", &Level::DEBUG));
        assert!(!f.would_enable("h2::codec", &Level::TRACE));
        // Never more than the provider's own level.
        let f = filter(LevelFilter::ERROR, Some("trace"));
        assert!(!f.would_enable("h2::codec", &Level::WARN));
        assert!(f.would_enable("h2::codec", &Level::ERROR));
    }

    #[test]
    fn levels() {
        assert_eq!(
            level_from_env(Some("debug"), Some("TRACE")),
            LevelFilter::DEBUG
        );
        assert_eq!(level_from_env(None, Some("TRACE")), LevelFilter::TRACE);
        assert_eq!(level_from_env(Some(""), Some("json")), LevelFilter::TRACE);
        assert_eq!(level_from_env(None, None), LevelFilter::ERROR);
    }
}
