//! `credentials_uri`: a local service (a sidecar, a vault agent) answering a plain GET with
//! `{"Code":"Success","AccessKeyId","AccessKeySecret","SecurityToken","Expiration"}`.

use std::time::Duration;

use async_trait::async_trait;

use super::ecs_role::decode_answer;
use super::provider::{Credentials, ProvideCredentials};
use super::static_keys::non_empty;
use crate::alicloud::error::{Cause, CredentialsError, error_chain};
use crate::alicloud::rpc::http::{client_builder, lazy_client};
use crate::alicloud::settings::{Environment, Settings};

pub const ENV_CREDENTIALS_URI: &[&str] =
    &["ALICLOUD_CREDENTIALS_URI", "ALIBABA_CLOUD_CREDENTIALS_URI"];

/// The URL as messages show it: no query or user info, which may carry a token.
fn shown(url: &url::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

/// The URI from the block or the environment; nothing when neither sets it.
#[derive(Debug)]
pub struct CredentialsUri {
    url: Option<url::Url>,
    /// Built when the URI is first asked: most runs never need it.
    http: std::sync::OnceLock<reqwest::Client>,
}

impl CredentialsUri {
    pub fn new(settings: &Settings, env: &Environment) -> Result<Self, CredentialsError> {
        let named = non_empty(&settings.credentials_uri)
            .map(|u| ("credentials_uri", u))
            .or_else(|| {
                env.first_var(ENV_CREDENTIALS_URI)
                    .map(|(n, v)| (n, v.trim()))
            });
        let url = match named {
            None => None,
            Some((setting, value)) => {
                let invalid = |reason: String| CredentialsError::Invalid {
                    setting: setting.to_owned(),
                    reason,
                };
                let url =
                    url::Url::parse(value).map_err(|e| invalid(format!("not a URL ({e})")))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(invalid(format!(
                        "scheme {:?} is not supported; use http or https",
                        url.scheme()
                    )));
                }
                Some(url)
            }
        };
        Ok(CredentialsUri {
            url,
            http: std::sync::OnceLock::new(),
        })
    }

    fn http(&self) -> Result<&reqwest::Client, CredentialsError> {
        lazy_client(&self.http, || {
            // A local service answers fast; a hung one must not hold a plan for a minute.
            client_builder()
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(10))
                .build()
                .map_err(|e| CredentialsError::Client {
                    reason: error_chain(&e),
                    source: Box::new(e),
                })
        })
    }
}

#[async_trait]
impl ProvideCredentials for CredentialsUri {
    async fn provide(&self) -> Result<Credentials, CredentialsError> {
        let Some(url) = &self.url else {
            return Err(CredentialsError::NotLoaded(format!(
                "credentials_uri (not set, nor {})",
                ENV_CREDENTIALS_URI.join(", ")
            )));
        };
        let fail = |reason: String, source: Option<Cause>| CredentialsError::Uri {
            url: shown(url),
            reason,
            source,
        };
        let resp = self.http()?.get(url.clone()).send().await.map_err(|e| {
            // The URL may carry a token: neither the message nor the source keeps it.
            let e = e.without_url();
            fail(error_chain(&e), Some(Box::new(e)))
        })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(fail(format!("HTTP {}", status.as_u16()), None));
        }
        let body = resp.bytes().await.map_err(|e| {
            // The URL may carry a token: neither the message nor the source keeps it.
            let e = e.without_url();
            fail(error_chain(&e), Some(Box::new(e)))
        })?;
        decode_answer(&body, format!("credentials_uri {}", shown(url)))
            .map_err(|reason| fail(reason, None))
    }
}
