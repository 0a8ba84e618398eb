//! The HTTP side of the transport: one reqwest client per provider process (User-Agent,
//! timeouts, proxies from the injected environment, no redirects) and how its failures become
//! [`Error`]s that say what happened and whether another attempt can help.

use std::time::Duration;

use url::Url;

use crate::alicloud::error::{Error, error_chain};
use crate::alicloud::settings::{Environment, Settings};

/// The connect and read timeouts, for messages.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TimeoutSettings {
    pub(crate) connect: Duration,
    pub(crate) read: Duration,
}

/// Everything the shared HTTP client is built from, checked when the provider is configured;
/// the client itself (TLS roots, connection pool) is built at the first API call, so commands
/// that make none do not pay for it.
#[derive(Debug)]
pub(crate) struct HttpConfig {
    user_agent: String,
    connect: Duration,
    read: Duration,
    proxies: Vec<reqwest::Proxy>,
}

impl HttpConfig {
    pub(crate) fn new(settings: &Settings, env: &Environment) -> Result<Self, Error> {
        Ok(HttpConfig {
            user_agent: user_agent(settings),
            connect: settings.client_connect_timeout,
            read: settings.client_read_timeout,
            proxies: proxies(env)?,
        })
    }

    /// The shared HTTP client for API calls.
    pub(crate) fn build(&self) -> Result<reqwest::Client, Error> {
        let mut builder = client_builder()
            .user_agent(&self.user_agent)
            .connect_timeout(self.connect)
            .read_timeout(self.read)
            // A signed POST is never re-sent somewhere else; a redirect is an invalid answer.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        for p in &self.proxies {
            builder = builder.proxy(p.clone());
        }
        builder.build().map_err(|e| {
            Error::Config(format!("cannot build the HTTP client: {}", error_chain(&e)))
        })
    }
}

/// A client builder whose TLS is ring with the platform verifier (system roots): reqwest is
/// built without a crypto provider of its own and takes the process default, installed here
/// the first time (one provider for the whole binary).
pub(crate) fn client_builder() -> reqwest::ClientBuilder {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err only means another thread installed it first: one is installed either way.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::builder()
}

/// The client in `cell`, built by `build` the first time it is needed: a client costs its TLS
/// roots and pool, which a command that makes no call should not pay.
pub(crate) fn lazy_client<E>(
    cell: &std::sync::OnceLock<reqwest::Client>,
    build: impl FnOnce() -> Result<reqwest::Client, E>,
) -> Result<&reqwest::Client, E> {
    if let Some(c) = cell.get() {
        return Ok(c);
    }
    let built = build()?;
    Ok(cell.get_or_init(|| built))
}

pub(crate) fn user_agent(settings: &Settings) -> String {
    let mut ua = format!(
        "terraform-provider-alicloud-rs/{}",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(v) = settings
        .terraform_version
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        ua.push_str(" Terraform/");
        ua.push_str(v);
    }
    if let Some(s) = settings
        .configuration_source
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        ua.push(' ');
        ua.push_str(s);
    }
    // A header value must be visible ASCII; anything else the user wrote becomes '_'.
    ua.chars()
        .take(512)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Proxies from the injected environment (never reqwest's own reading of the process).
fn proxies(env: &Environment) -> Result<Vec<reqwest::Proxy>, Error> {
    let mut out = Vec::new();
    let no_proxy = env
        .first_var(&["NO_PROXY", "no_proxy"])
        .and_then(|(_, v)| reqwest::NoProxy::from_string(v));
    // The proxy URL may carry a password: errors name the variable, never its value.
    let bad = |name: &str| {
        Error::Config(format!(
            "the {name} environment variable is not a valid proxy URL"
        ))
    };
    if let Some((name, v)) =
        env.first_var(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"])
    {
        let p = reqwest::Proxy::https(v).map_err(|_| bad(name))?;
        out.push(p.no_proxy(no_proxy.clone()));
    }
    if let Some((name, v)) = env.first_var(&["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
    {
        let p = reqwest::Proxy::http(v).map_err(|_| bad(name))?;
        out.push(p.no_proxy(no_proxy));
    }
    Ok(out)
}

/// A certificate or TLS failure: another attempt would fail the same way.
fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    if e.downcast_ref::<rustls::Error>().is_some() {
        return true;
    }
    // An io::Error's `source()` skips the error it wraps (hyper nests io::Errors around
    // rustls's), so look inside it explicitly.
    let next = match e.downcast_ref::<std::io::Error>() {
        Some(io) => io
            .get_ref()
            .map(|inner| inner as &(dyn std::error::Error + 'static)),
        None => e.source(),
    };
    next.is_some_and(is_tls_failure)
}

pub(crate) fn transport_error(
    api: &'static str,
    e: reqwest::Error,
    url: &Url,
    settings: &TimeoutSettings,
) -> Error {
    let endpoint = url.to_string();
    // reqwest's top line repeats the URL; the causes say what happened.
    let reason = match std::error::Error::source(&e) {
        Some(src) => error_chain(src),
        None => e.to_string(),
    };
    if e.is_timeout() {
        let which = if e.is_connect() {
            format!(
                "no connection within client_connect_timeout ({:?})",
                settings.connect
            )
        } else {
            format!("no answer within client_read_timeout ({:?})", settings.read)
        };
        return Error::Timeout {
            api,
            endpoint,
            reason: which,
        };
    }
    Error::Transport {
        api,
        endpoint,
        retryable: !is_tls_failure(&e),
        reason,
        source: Box::new(e),
    }
}
