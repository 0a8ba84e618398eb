//! The default chain: the first source that has credentials wins, in the official provider's
//! order (provider block, environment, CLI profile, ECS instance role, OIDC, credentials URI);
//! `assume_role` then applies on top of whatever was found. When no source has anything, one
//! error lists every place that was looked at.

use std::sync::Arc;

use async_trait::async_trait;

use super::assume_role::{AssumeRole, StsAccess, role_from_settings};
use super::credentials_uri::CredentialsUri;
use super::ecs_role::EcsRole;
use super::environment::EnvironmentKeys;
use super::oidc::{OidcRole, oidc_from_settings};
use super::profile::ProfileFile;
use super::provider::{Cached, Credentials, ProvideCredentials};
use super::static_keys::BlockKeys;
use crate::alicloud::error::CredentialsError;
use crate::alicloud::settings::{Environment, Settings};

/// Sources tried in order.
#[derive(Debug)]
pub struct Chain {
    sources: Vec<Box<dyn ProvideCredentials>>,
}

impl Chain {
    pub fn new(sources: Vec<Box<dyn ProvideCredentials>>) -> Self {
        Chain { sources }
    }

    /// The official provider's order, from the provider block and the environment. Settings
    /// that cannot work (a malformed role ARN in a variable, an OIDC block without a token)
    /// are errors here, when the provider is configured.
    pub fn standard(
        settings: &Settings,
        env: &Environment,
        sts: &StsAccess,
    ) -> Result<Self, CredentialsError> {
        Ok(Chain::new(vec![
            Box::new(BlockKeys::new(settings)),
            Box::new(EnvironmentKeys::new(env)),
            Box::new(ProfileFile::new(settings, env, sts.clone())),
            Box::new(EcsRole::new(settings, env)?),
            Box::new(OidcRole::new(
                oidc_from_settings(settings, env)?,
                sts.clone(),
            )),
            Box::new(CredentialsUri::new(settings, env)?),
        ]))
    }
}

#[async_trait]
impl ProvideCredentials for Chain {
    async fn provide(&self) -> Result<Credentials, CredentialsError> {
        let mut looked_at = Vec::new();
        for source in &self.sources {
            match source.provide().await {
                Err(CredentialsError::NotLoaded(place)) => looked_at.push(place),
                other => return other,
            }
        }
        Err(CredentialsError::Missing { looked_at })
    }
}

/// The chain every client uses, cached: looked up at the first call, renewed before expiry
/// (at most 180 s before, no earlier than half the lifetime), with `assume_role` on top when
/// asked for. The base chain then has its own cache, so a renewal of the role does not ask
/// the base again while the base's credentials are good.
pub fn default_credentials(
    settings: &Settings,
    env: &Environment,
    sts: &StsAccess,
) -> Result<Arc<Cached>, CredentialsError> {
    let base = Cached::new(
        Box::new(Chain::standard(settings, env, sts)?),
        env.clock().clone(),
    );
    Ok(Arc::new(match role_from_settings(settings, env)? {
        None => base,
        Some(role) => Cached::new(
            Box::new(AssumeRole::new(role, Arc::new(base), sts.clone())),
            env.clock().clone(),
        ),
    }))
}
