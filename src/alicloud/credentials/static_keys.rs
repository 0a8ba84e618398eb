//! Keys written in the provider block (`access_key`, `secret_key`, `security_token`), and the
//! helpers every key-pair source shares: a pair is whole, absent, or an error naming the half.

use async_trait::async_trait;

use super::provider::{Credentials, ProvideCredentials};
use crate::alicloud::error::CredentialsError;
use crate::alicloud::secret::Secret;
use crate::alicloud::settings::Settings;

pub(super) fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub(super) fn non_empty_secret(s: &Option<Secret>) -> Option<&Secret> {
    s.as_ref().filter(|s| !s.expose().is_empty())
}

/// One source's parts: `Ok(None)` when it has nothing at all, an error when it is half set.
pub(super) fn pair(
    source_name: &str,
    key: Option<(&str, String)>,
    secret: Option<(&str, Secret)>,
    token: Option<(&str, Secret)>,
) -> Result<Option<Credentials>, CredentialsError> {
    match (key, secret) {
        (Some((_, key)), Some((_, secret))) => Ok(Some(Credentials::new(
            key,
            secret,
            token.map(|(_, t)| t),
            source_name,
        ))),
        (None, None) => match token {
            None => Ok(None),
            Some((token_name, _)) => Err(CredentialsError::Incomplete {
                source_name: source_name.to_owned(),
                present: token_name.to_owned(),
                missing: "an access key and its secret".to_owned(),
            }),
        },
        (Some((key_name, _)), None) => Err(CredentialsError::Incomplete {
            source_name: source_name.to_owned(),
            present: key_name.to_owned(),
            missing: "the secret key".to_owned(),
        }),
        (None, Some((secret_name, _))) => Err(CredentialsError::Incomplete {
            source_name: source_name.to_owned(),
            present: secret_name.to_owned(),
            missing: "the access key".to_owned(),
        }),
    }
}

/// The provider block's keys.
#[derive(Debug)]
pub struct BlockKeys {
    access_key: Option<String>,
    secret_key: Option<Secret>,
    security_token: Option<Secret>,
}

impl BlockKeys {
    pub fn new(settings: &Settings) -> Self {
        BlockKeys {
            access_key: settings.access_key.clone(),
            secret_key: settings.secret_key.clone(),
            security_token: settings.security_token.clone(),
        }
    }
}

#[async_trait]
impl ProvideCredentials for BlockKeys {
    async fn provide(&self) -> Result<Credentials, CredentialsError> {
        pair(
            "the provider block",
            non_empty(&self.access_key).map(|k| ("access_key", k.to_owned())),
            non_empty_secret(&self.secret_key).map(|s| ("secret_key", s.clone())),
            non_empty_secret(&self.security_token).map(|t| ("security_token", t.clone())),
        )?
        .ok_or_else(|| {
            CredentialsError::NotLoaded("the provider block (access_key, secret_key)".to_owned())
        })
    }
}
