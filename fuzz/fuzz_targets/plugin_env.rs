//! The plugin's start-up variables (`TF_PLUGIN_MAGIC_COOKIE`, `PLUGIN_PROTOCOL_VERSIONS`,
//! `PLUGIN_MIN_PORT`, `PLUGIN_MAX_PORT`, `PLUGIN_CLIENT_CERT`, and the log levels), read as
//! the binary reads them, the certificate parsed as the server parses it.
//!
//! Input: byte 0 bit 0 is `--debug`; the rest, split at 0xff bytes (never in UTF-8), gives the
//! variables in the order above (lossy UTF-8; a field that is present is set, even if empty).
//! A cookie field of exactly "C" stands for the right cookie. Nothing may panic, and what is
//! accepted must make sense.

#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use tfprovider::fuzzing::{PluginEnvError, plugin_env};
use tfprovider::plugin::handshake::{self, HandshakeError};
use tfprovider::plugin::logging;

const NAMES: [&str; 8] = [
    handshake::MAGIC_COOKIE_KEY,
    "PLUGIN_PROTOCOL_VERSIONS",
    "PLUGIN_MIN_PORT",
    "PLUGIN_MAX_PORT",
    "PLUGIN_CLIENT_CERT",
    "TF_LOG_PROVIDER",
    "TF_LOG",
    logging::DEPS_VARIABLE,
];

fn port(v: Option<&String>) -> Option<u16> {
    v.map(|s| s.trim()).filter(|s| !s.is_empty())?.parse().ok()
}

fuzz_target!(|data: &[u8]| {
    let [flags, rest @ ..] = data else {
        return;
    };
    let debug = flags & 1 == 1;
    let mut vars = HashMap::new();
    if !rest.is_empty() {
        for (name, field) in NAMES.iter().zip(rest.split(|b| *b == 0xff)) {
            let value = if *name == handshake::MAGIC_COOKIE_KEY && field == b"C" {
                handshake::MAGIC_COOKIE_VALUE.to_owned()
            } else {
                String::from_utf8_lossy(field).into_owned()
            };
            vars.insert(name.to_string(), value);
        }
    }
    let var = |k: &str| vars.get(k).map(String::as_str);
    let level = logging::level_from_env(var("TF_LOG_PROVIDER"), var("TF_LOG"));
    let _ = logging::filter(level, var(logging::DEPS_VARIABLE));

    let cookie_ok = var(handshake::MAGIC_COOKIE_KEY) == Some(handshake::MAGIC_COOKIE_VALUE);
    match plugin_env(&vars, debug) {
        Ok(env) => {
            assert!(debug || cookie_ok, "started without the cookie");
            assert_eq!(env.protocol, handshake::APP_PROTOCOL_VERSION);
            let (min, max) = (
                port(vars.get("PLUGIN_MIN_PORT")),
                port(vars.get("PLUGIN_MAX_PORT")),
            );
            match &env.port_range {
                None => assert!(min.is_none() && max.is_none()),
                Some(r) => {
                    assert!(r.start() <= r.end(), "{r:?}");
                    if let (Some(lo), Some(hi)) = (min, max) {
                        assert_eq!(*r, lo.min(hi)..=lo.max(hi));
                    }
                }
            }
            assert_eq!(
                env.client_cert_pem.is_some(),
                var("PLUGIN_CLIENT_CERT").is_some_and(|c| !c.is_empty())
            );
        }
        Err(PluginEnvError::Handshake(HandshakeError::NotAPlugin)) => {
            assert!(!debug && !cookie_ok)
        }
        Err(e) => {
            let _ = format!("{e:?}");
        }
    }
});
