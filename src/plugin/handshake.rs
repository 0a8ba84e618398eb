//! go-plugin's start-up contract: the magic cookie, protocol negotiation, the port range and
//! the one handshake line on stdout. Pure functions of the environment they are given.

use std::collections::HashMap;
use std::ops::RangeInclusive;

pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// go-plugin's own protocol version (the first field of the handshake line).
pub const CORE_PROTOCOL_VERSION: u32 = 1;
/// The Terraform plugin protocol major version we speak.
pub const APP_PROTOCOL_VERSION: u32 = 5;

pub const NOT_A_PLUGIN_MESSAGE: &str = "This binary is a plugin for Terraform (the alicloud provider). It is not meant to be run by hand: \
Terraform starts it when a configuration uses the provider. See the README for how to install it.";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum HandshakeError {
    #[error("{NOT_A_PLUGIN_MESSAGE}")]
    NotAPlugin,
    #[error(
        "Terraform offered plugin protocol versions {offered:?}; this provider speaks only protocol 5 (Terraform 0.12 or newer)"
    )]
    NoCommonProtocol { offered: String },
    #[error("invalid {name}={value:?}: expected a port number")]
    BadPort { name: &'static str, value: String },
}

/// Checks the cookie Terraform sets; without it the process was started by hand.
pub fn check_cookie(value: Option<&str>) -> Result<(), HandshakeError> {
    match value {
        Some(v) if v == MAGIC_COOKIE_VALUE => Ok(()),
        _ => Err(HandshakeError::NotAPlugin),
    }
}

/// Picks protocol 5 from `PLUGIN_PROTOCOL_VERSIONS` (absent: the client takes our default).
pub fn negotiate_protocol(offered: Option<&str>) -> Result<u32, HandshakeError> {
    let Some(offered) = offered.filter(|s| !s.trim().is_empty()) else {
        return Ok(APP_PROTOCOL_VERSION);
    };
    let speaks_5 = offered
        .split(',')
        .any(|v| v.trim().parse::<u32>() == Ok(APP_PROTOCOL_VERSION));
    if speaks_5 {
        Ok(APP_PROTOCOL_VERSION)
    } else {
        Err(HandshakeError::NoCommonProtocol {
            offered: offered.to_owned(),
        })
    }
}

/// The inclusive port range from `PLUGIN_MIN_PORT`/`PLUGIN_MAX_PORT`; `None` means any port.
pub fn port_range(
    min: Option<&str>,
    max: Option<&str>,
) -> Result<Option<RangeInclusive<u16>>, HandshakeError> {
    let parse = |name: &'static str, v: Option<&str>| -> Result<Option<u16>, HandshakeError> {
        match v.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => s
                .parse::<u16>()
                .map(Some)
                .map_err(|_| HandshakeError::BadPort {
                    name,
                    value: s.to_owned(),
                }),
        }
    };
    let lo = parse("PLUGIN_MIN_PORT", min)?;
    let hi = parse("PLUGIN_MAX_PORT", max)?;
    Ok(match (lo, hi) {
        (None, None) => None,
        (lo, hi) => {
            let (lo, hi) = (lo.unwrap_or(1024), hi.unwrap_or(u16::MAX));
            Some(lo.min(hi)..=hi.max(lo))
        }
    })
}

/// What go-plugin's variables tell the process at start-up.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginEnv {
    /// The plugin protocol agreed on.
    pub protocol: u32,
    /// Where to listen; `None` means any port.
    pub port_range: Option<RangeInclusive<u16>>,
    /// Terraform's certificate (PEM) for AutoMTLS, as given (parsed when serving); `None` when
    /// it is unset or empty.
    pub client_cert_pem: Option<String>,
}

/// Reads the variables Terraform sets for a plugin: the magic cookie (not checked in
/// `--debug` mode, where a person starts the process), `PLUGIN_PROTOCOL_VERSIONS`,
/// `PLUGIN_MIN_PORT`/`PLUGIN_MAX_PORT` and `PLUGIN_CLIENT_CERT`, failing on the first that
/// cannot work, in that order.
pub fn read_env(vars: &HashMap<String, String>, debug: bool) -> Result<PluginEnv, HandshakeError> {
    let var = |k: &str| vars.get(k).map(String::as_str);
    if !debug {
        check_cookie(var(MAGIC_COOKIE_KEY))?;
    }
    let protocol = negotiate_protocol(var("PLUGIN_PROTOCOL_VERSIONS"))?;
    let port_range = port_range(var("PLUGIN_MIN_PORT"), var("PLUGIN_MAX_PORT"))?;
    Ok(PluginEnv {
        protocol,
        port_range,
        client_cert_pem: var("PLUGIN_CLIENT_CERT")
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    })
}

/// `CORE|APP|tcp|ADDR|grpc|CERT`, CERT empty when TLS is off.
pub fn handshake_line(addr: std::net::SocketAddr, cert_base64: Option<&str>) -> String {
    format!(
        "{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|tcp|{addr}|grpc|{}",
        cert_base64.unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie() {
        assert!(check_cookie(Some(MAGIC_COOKIE_VALUE)).is_ok());
        assert_eq!(check_cookie(None), Err(HandshakeError::NotAPlugin));
        assert_eq!(check_cookie(Some("x")), Err(HandshakeError::NotAPlugin));
    }

    #[test]
    fn protocols() {
        assert_eq!(negotiate_protocol(Some("5,6")), Ok(5));
        assert_eq!(negotiate_protocol(Some("6, 5")), Ok(5));
        assert_eq!(negotiate_protocol(None), Ok(5));
        let err = negotiate_protocol(Some("6")).unwrap_err();
        assert!(err.to_string().contains("only protocol 5"), "{err}");
    }

    #[test]
    fn ports() {
        assert_eq!(
            port_range(Some("10000"), Some("25000")),
            Ok(Some(10000..=25000))
        );
        assert_eq!(port_range(None, None), Ok(None));
        assert!(port_range(Some("x"), None).is_err());
    }

    #[test]
    fn environment() {
        let vars = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let cookie = (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE);
        let env = read_env(
            &vars(&[
                cookie,
                ("PLUGIN_PROTOCOL_VERSIONS", "5,6"),
                ("PLUGIN_MIN_PORT", "10000"),
                ("PLUGIN_MAX_PORT", "25000"),
                ("PLUGIN_CLIENT_CERT", "-----BEGIN CERTIFICATE-----"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(
            env,
            PluginEnv {
                protocol: 5,
                port_range: Some(10000..=25000),
                client_cert_pem: Some("-----BEGIN CERTIFICATE-----".to_owned()),
            }
        );
        let bare = read_env(&vars(&[cookie, ("PLUGIN_CLIENT_CERT", "")]), false).unwrap();
        assert_eq!((bare.port_range, bare.client_cert_pem), (None, None));
        // The cookie first, but not in debug mode; then the protocol, then the ports.
        let bad = vars(&[("PLUGIN_PROTOCOL_VERSIONS", "6"), ("PLUGIN_MIN_PORT", "x")]);
        assert_eq!(read_env(&bad, false), Err(HandshakeError::NotAPlugin));
        assert!(matches!(
            read_env(&bad, true),
            Err(HandshakeError::NoCommonProtocol { .. })
        ));
        assert!(matches!(
            read_env(&vars(&[("PLUGIN_MIN_PORT", "x")]), true),
            Err(HandshakeError::BadPort { .. })
        ));
    }

    #[test]
    fn line() {
        let addr = "127.0.0.1:1234".parse().unwrap();
        assert_eq!(
            handshake_line(addr, Some("QUJD")),
            "1|5|tcp|127.0.0.1:1234|grpc|QUJD"
        );
    }
}
