//! Which URL a product's request goes to: the user's endpoint if any (setting, then
//! environment), else the product's public endpoint for the request's region.

use url::Url;

use crate::alicloud::error::Error;
use crate::alicloud::settings::{Environment, Protocol};

/// How a product's endpoint is found: what it is called, where users override it, and its
/// public host per region.
#[derive(Debug)]
pub struct EndpointRule {
    /// The product key in `endpoints { KEY = ... }` (`vpc`, `sts`).
    pub key: &'static str,
    /// How the setting is named in messages (`vpc_endpoint`).
    pub setting: &'static str,
    /// Environment variables naming the endpoint, first set wins.
    pub env: &'static [&'static str],
    /// The public host for a region (`None`: a region-less call).
    pub default_host: fn(Option<&str>) -> String,
}

/// Where requests go, decided once per client.
#[derive(Debug, Clone)]
pub(crate) enum Endpoint {
    /// The user named one endpoint: every region's requests go there (`RegionId` still
    /// selects the region).
    Fixed(Url),
    /// The product's public endpoint of each request's region, with this scheme.
    PerRegion {
        scheme: &'static str,
        host: fn(Option<&str>) -> String,
    },
}

impl Endpoint {
    /// The setting, then the rule's environment variables, then the rule's public hosts.
    pub(crate) fn resolve(
        rule: &EndpointRule,
        setting: Option<&str>,
        env: &Environment,
        protocol: Protocol,
    ) -> Result<Self, Error> {
        let named = setting
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| (rule.setting, s))
            .or_else(|| env.first_var(rule.env).map(|(n, v)| (n, v.trim())));
        match named {
            Some((origin, value)) => parse_endpoint(value, protocol)
                .map(Endpoint::Fixed)
                .map_err(|reason| Error::Config(format!("{origin} {value:?}: {reason}"))),
            None => Ok(Endpoint::PerRegion {
                scheme: protocol.scheme(),
                host: rule.default_host,
            }),
        }
    }

    /// The URL for a request in `region_id` (`None` for a region-less call).
    pub(crate) fn url_for(&self, region_id: Option<&str>) -> Result<Url, Error> {
        match self {
            Endpoint::Fixed(url) => Ok(url.clone()),
            Endpoint::PerRegion { scheme, host } => {
                if let Some(region_id) = region_id
                    && !is_valid_region_id(region_id)
                {
                    return Err(Error::InvalidRequest(format!(
                        "{region_id:?} is not a valid region id (expected something like cn-hangzhou)"
                    )));
                }
                Url::parse(&format!("{scheme}://{}/", host(region_id)))
                    .map_err(|e| Error::InvalidRequest(format!("region {region_id:?}: {e}")))
            }
        }
    }
}

/// Lower-case letters and digits in dash-separated words: anything else would change the
/// host name built from it.
fn is_valid_region_id(region_id: &str) -> bool {
    !region_id.is_empty()
        && region_id.len() <= 64
        && region_id.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Checks an endpoint setting without building anything, for configuration validation.
pub fn check_endpoint(value: &str) -> Result<(), String> {
    parse_endpoint(value.trim(), Protocol::Https).map(drop)
}

/// A host, `host:port`, or a full `http(s)://host[:port][/]` URL.
fn parse_endpoint(value: &str, protocol: Protocol) -> Result<Url, String> {
    let with_scheme = if value.contains("://") {
        value.to_owned()
    } else {
        format!("{}://{value}", protocol.scheme())
    };
    let url =
        Url::parse(&with_scheme).map_err(|e| format!("not a host, host:port or URL ({e})"))?;
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(format!(
                "scheme {other:?} is not supported; use https or http"
            ));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("no host".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("an endpoint must not carry a user name or password".to_owned());
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(
            "RPC requests go to \"/\": give a host or URL without a path or query".to_owned(),
        );
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A product shaped like VPC: its own setting name, variables and per-region hosts.
    const RULE: EndpointRule = EndpointRule {
        key: "vpc",
        setting: "vpc_endpoint",
        env: &["ALIBABA_CLOUD_ENDPOINT_VPC", "VPC_ENDPOINT"],
        default_host: |r| format!("vpc.{}.aliyuncs.com", r.unwrap_or("central")),
    };
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> Environment {
        Environment::from_map(
            vars.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>(),
            None,
        )
    }

    fn fixed(setting: Option<&str>, vars: &[(&str, &str)], p: Protocol) -> String {
        match Endpoint::resolve(&RULE, setting, &env(vars), p).unwrap() {
            Endpoint::Fixed(u) => u.to_string(),
            other => panic!("expected fixed, got {other:?}"),
        }
    }

    #[test]
    fn per_region_hosts_with_the_protocols_scheme() {
        let e = Endpoint::resolve(&RULE, None, &env(&[]), Protocol::Https).unwrap();
        assert_eq!(
            e.url_for(Some("ap-northeast-1")).unwrap().as_str(),
            "https://vpc.ap-northeast-1.aliyuncs.com/"
        );
        assert_eq!(
            e.url_for(None).unwrap().as_str(),
            "https://vpc.central.aliyuncs.com/"
        );
        let e = Endpoint::resolve(&RULE, None, &env(&[]), Protocol::Http).unwrap();
        assert_eq!(
            e.url_for(Some("eu-west-1")).unwrap().as_str(),
            "http://vpc.eu-west-1.aliyuncs.com/"
        );
    }

    #[test]
    fn bad_regions_cannot_change_the_host() {
        let e = Endpoint::resolve(&RULE, None, &env(&[]), Protocol::Https).unwrap();
        for r in [
            "",
            "evil.com/x",
            "cn-hangzhou.attacker",
            "CN-HANGZHOU",
            "a--b",
            "-a",
            "a b",
        ] {
            assert!(
                matches!(e.url_for(Some(r)), Err(Error::InvalidRequest(_))),
                "{r:?}"
            );
        }
    }

    #[test]
    fn forms_of_a_setting() {
        assert_eq!(
            fixed(Some("vpc.example.com"), &[], Protocol::Https),
            "https://vpc.example.com/"
        );
        assert_eq!(
            fixed(Some("vpc.example.com"), &[], Protocol::Http),
            "http://vpc.example.com/"
        );
        assert_eq!(
            fixed(Some("127.0.0.1:8080"), &[], Protocol::Https),
            "https://127.0.0.1:8080/"
        );
        assert_eq!(
            fixed(Some("localhost:9"), &[], Protocol::Http),
            "http://localhost:9/"
        );
        assert_eq!(
            fixed(Some("http://127.0.0.1:8080"), &[], Protocol::Https),
            "http://127.0.0.1:8080/"
        );
        assert_eq!(
            fixed(Some("https://h.example:443/"), &[], Protocol::Http),
            "https://h.example/"
        );
        assert_eq!(
            fixed(Some("  [::1]:8080 "), &[], Protocol::Http),
            "http://[::1]:8080/"
        );
    }

    #[test]
    fn bad_settings_are_config_errors() {
        for bad in [
            "ftp://h",
            "https://h/path",
            "https://h/?q=1",
            "https://user:pw@h",
            "h:notaport",
            "http://",
            "ho st",
        ] {
            match Endpoint::resolve(&RULE, Some(bad), &env(&[]), Protocol::Https) {
                Err(Error::Config(msg)) => assert!(msg.contains("vpc_endpoint"), "{msg}"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn precedence() {
        let vars = [
            ("ALIBABA_CLOUD_ENDPOINT_VPC", "a.example"),
            ("VPC_ENDPOINT", "b.example"),
        ];
        assert_eq!(
            fixed(Some("s.example"), &vars, Protocol::Https),
            "https://s.example/"
        );
        assert_eq!(fixed(None, &vars, Protocol::Https), "https://a.example/");
        assert_eq!(
            fixed(Some(""), &vars[1..], Protocol::Https),
            "https://b.example/"
        );
        let err = Endpoint::resolve(
            &RULE,
            None,
            &env(&[("VPC_ENDPOINT", "ftp://x")]),
            Protocol::Https,
        )
        .unwrap_err();
        assert!(err.to_string().contains("VPC_ENDPOINT"), "{err}");
    }

    #[test]
    fn fixed_serves_every_region() {
        let e = Endpoint::resolve(&RULE, Some("127.0.0.1:1"), &env(&[]), Protocol::Http).unwrap();
        assert_eq!(
            e.url_for(Some("cn-hangzhou")).unwrap(),
            e.url_for(Some("eu-central-1")).unwrap()
        );
    }
}
