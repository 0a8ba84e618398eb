//! Logs on stderr in the hclog JSON shape go-plugin parses and Terraform relays into its own
//! log (`TF_LOG_PROVIDER`, else `TF_LOG`). Nothing is formatted when logging is off.

use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, SubscriberExt};

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

/// Installs the hclog JSON layer as the global subscriber.
pub fn init(level: LevelFilter) {
    let subscriber = tracing_subscriber::registry().with(HclogLayer.with_filter(level));
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

impl<S: Subscriber> Layer<S> for HclogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields(Map::new());
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
