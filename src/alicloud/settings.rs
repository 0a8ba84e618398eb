//! What the client is configured from: the provider block ([`Settings`]) and the outside world
//! ([`Environment`]: variables, home directory, metadata service, clock), both injectable so
//! tests never read the real process environment or home directory.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use super::clock::{self, Clock};
use super::secret::Secret;

/// The scheme used when an endpoint does not name one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    Https,
    Http,
}

impl Protocol {
    pub fn scheme(self) -> &'static str {
        match self {
            Protocol::Https => "https",
            Protocol::Http => "http",
        }
    }
}

impl FromStr for Protocol {
    type Err = String;

    /// `HTTPS` or `HTTP`, any case, as the official provider accepts.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "HTTPS" => Ok(Protocol::Https),
            "HTTP" => Ok(Protocol::Http),
            _ => Err(format!("protocol must be HTTPS or HTTP, not {s:?}")),
        }
    }
}

/// What the provider block said; `None` means not set (the environment may then decide).
#[derive(Clone)]
pub struct Settings {
    pub access_key: Option<String>,
    pub secret_key: Option<Secret>,
    pub security_token: Option<Secret>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub shared_credentials_file: Option<PathBuf>,
    pub protocol: Protocol,
    /// A host, `host:port`, or a full `http(s)://` URL.
    pub vpc_endpoint: Option<String>,
    pub client_connect_timeout: Duration,
    pub client_read_timeout: Duration,
    /// How long one call may keep retrying transient failures.
    pub max_retry_timeout: Duration,
    pub configuration_source: Option<String>,
    pub terraform_version: Option<String>,
    pub ecs_role_name: Option<String>,
    pub max_requests_per_second: Option<f64>,
    /// `share_rate_limit`: whether the rate-limit bucket is shared with the machine's other
    /// provider processes; unset, `ALICLOUD_SHARE_RATE_LIMIT` decides, else on.
    pub share_rate_limit: Option<bool>,
    /// The `assume_role` block, when written.
    pub assume_role: Option<AssumeRoleSettings>,
    /// The `assume_role_with_oidc` block, when written.
    pub assume_role_with_oidc: Option<OidcSettings>,
    /// A URL answering credentials JSON to a plain GET.
    pub credentials_uri: Option<String>,
    /// `endpoints { sts = ... }`: a host, `host:port`, or a full URL.
    pub sts_endpoint: Option<String>,
    /// `sign_version { vpc = ... }`: the signature of every call (VPC and STS), `v1` or
    /// `v3`; unset, `ALICLOUD_SIGN_VERSION_VPC` decides, else v1.
    pub sign_version: Option<String>,
}

/// The `assume_role` block as written; unset values fall back to variables, then defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssumeRoleSettings {
    pub role_arn: Option<String>,
    pub session_name: Option<String>,
    pub policy: Option<String>,
    pub session_expiration: Option<i64>,
    pub external_id: Option<String>,
}

/// The `assume_role_with_oidc` block as written; unset values fall back to the RRSA
/// variables, then defaults. `Debug` shows the token redacted (it is a [`Secret`]).
#[derive(Clone, Debug, Default)]
pub struct OidcSettings {
    pub oidc_provider_arn: Option<String>,
    pub role_arn: Option<String>,
    pub oidc_token_file: Option<PathBuf>,
    pub oidc_token: Option<Secret>,
    pub role_session_name: Option<String>,
    pub policy: Option<String>,
    pub session_expiration: Option<i64>,
}

impl Settings {
    /// The endpoint the block sets for a product key (`vpc`), if any.
    pub fn endpoint(&self, key: &str) -> Option<&str> {
        match key {
            "vpc" => self.vpc_endpoint.as_deref(),
            "sts" => self.sts_endpoint.as_deref(),
            _ => None,
        }
    }
}

/// The official provider's documented defaults: 60 s to connect, 60 s to read.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Long enough to ride out a throttling burst, short enough that a broken API fails a plan
/// within a minute.
pub const DEFAULT_MAX_RETRY_TIMEOUT: Duration = Duration::from_secs(60);

impl Default for Settings {
    fn default() -> Self {
        Self {
            access_key: None,
            secret_key: None,
            security_token: None,
            region: None,
            profile: None,
            shared_credentials_file: None,
            protocol: Protocol::Https,
            vpc_endpoint: None,
            client_connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            client_read_timeout: DEFAULT_READ_TIMEOUT,
            max_retry_timeout: DEFAULT_MAX_RETRY_TIMEOUT,
            configuration_source: None,
            terraform_version: None,
            ecs_role_name: None,
            max_requests_per_second: None,
            share_rate_limit: None,
            assume_role: None,
            assume_role_with_oidc: None,
            credentials_uri: None,
            sts_endpoint: None,
            sign_version: None,
        }
    }
}

impl fmt::Debug for Settings {
    // Written out so a new secret field cannot slip into logs through a derive; the secrets
    // themselves print redacted through `Secret`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key)
            .field("security_token", &self.security_token)
            .field("region", &self.region)
            .field("profile", &self.profile)
            .field("shared_credentials_file", &self.shared_credentials_file)
            .field("protocol", &self.protocol)
            .field("vpc_endpoint", &self.vpc_endpoint)
            .field("client_connect_timeout", &self.client_connect_timeout)
            .field("client_read_timeout", &self.client_read_timeout)
            .field("max_retry_timeout", &self.max_retry_timeout)
            .field("configuration_source", &self.configuration_source)
            .field("terraform_version", &self.terraform_version)
            .field("ecs_role_name", &self.ecs_role_name)
            .field("max_requests_per_second", &self.max_requests_per_second)
            .field("share_rate_limit", &self.share_rate_limit)
            .field("assume_role", &self.assume_role)
            .field("assume_role_with_oidc", &self.assume_role_with_oidc)
            .field("credentials_uri", &self.credentials_uri)
            .field("sts_endpoint", &self.sts_endpoint)
            .field("sign_version", &self.sign_version)
            .finish()
    }
}

/// The default address of the ECS instance metadata service.
pub const DEFAULT_METADATA_BASE_URL: &str = "http://100.100.100.200";

/// The outside world as the client sees it: environment variables, the home directory, the
/// ECS metadata service and the clock.
#[derive(Clone)]
pub struct Environment {
    vars: HashMap<String, String>,
    home: Option<PathBuf>,
    metadata_base_url: String,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Environment {
    // Variable values can be secrets (ALICLOUD_SECRET_KEY): only their names are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.vars.keys().collect();
        names.sort();
        f.debug_struct("Environment")
            .field("var_names", &names)
            .field("home", &self.home)
            .field("metadata_base_url", &self.metadata_base_url)
            .finish_non_exhaustive()
    }
}

impl Environment {
    /// The real process: its variables (those that are valid UTF-8) and home directory.
    pub fn from_process() -> Self {
        let vars: HashMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let home = vars
            .get("HOME")
            .or_else(|| vars.get("USERPROFILE"))
            .filter(|h| !h.is_empty())
            .map(PathBuf::from);
        Self::from_map(vars, home)
    }

    /// A made-up world for tests.
    pub fn from_map(vars: HashMap<String, String>, home: Option<PathBuf>) -> Self {
        Self {
            vars,
            home,
            metadata_base_url: DEFAULT_METADATA_BASE_URL.to_owned(),
            clock: clock::system(),
        }
    }

    /// Where the ECS metadata service is (tests point it at a local server).
    pub fn with_metadata_base_url(mut self, url: impl Into<String>) -> Self {
        self.metadata_base_url = url.into().trim_end_matches('/').to_owned();
        self
    }

    /// The clock for timestamps, nonces and expiry (tests skew it).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// A variable's value; empty counts as unset, as Terraform providers treat it.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The first of `names` that is set, with its name.
    pub fn first_var<'n>(&self, names: &[&'n str]) -> Option<(&'n str, &str)> {
        names.iter().find_map(|n| self.var(n).map(|v| (*n, v)))
    }

    pub fn home(&self) -> Option<&Path> {
        self.home.as_deref()
    }

    /// `~/x` means the home directory, as users write it in HCL and in the CLI's profiles.
    pub fn expand_home(&self, p: &Path) -> PathBuf {
        match (p.strip_prefix("~"), self.home()) {
            (Ok(rest), Some(home)) => home.join(rest),
            _ => p.to_path_buf(),
        }
    }

    pub fn metadata_base_url(&self) -> &str {
        &self.metadata_base_url
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_parses_any_case() {
        assert_eq!("https".parse::<Protocol>(), Ok(Protocol::Https));
        assert_eq!("HTTP".parse::<Protocol>(), Ok(Protocol::Http));
        assert!("ftp".parse::<Protocol>().is_err());
        assert_eq!(Protocol::default(), Protocol::Https);
    }

    #[test]
    fn empty_variables_are_unset_and_debug_hides_values() {
        let env = Environment::from_map(
            HashMap::from([
                ("A".to_owned(), String::new()),
                ("B".to_owned(), "secret-value".to_owned()),
            ]),
            None,
        );
        assert_eq!(env.var("A"), None);
        assert_eq!(env.first_var(&["A", "B"]), Some(("B", "secret-value")));
        assert!(!format!("{env:?}").contains("secret-value"));
    }

    #[test]
    fn settings_debug_redacts() {
        let s = Settings {
            secret_key: Some(Secret::new("very-secret")),
            security_token: Some(Secret::new("token-secret")),
            assume_role_with_oidc: Some(OidcSettings {
                oidc_token: Some(Secret::new("oidc-token-secret")),
                ..OidcSettings::default()
            }),
            ..Settings::default()
        };
        let dbg = format!("{s:?}");
        assert!(
            !dbg.contains("very-secret")
                && !dbg.contains("token-secret")
                && !dbg.contains("oidc-token-secret")
        );
        assert!(dbg.contains("** redacted **"));
    }
}
