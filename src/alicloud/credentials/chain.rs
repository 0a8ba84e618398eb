//! The default chain: the first source that has credentials wins, in the official provider's
//! order (provider block, environment, CLI profile, ECS instance role); when none has any, one
//! error lists every place that was looked at.

use std::sync::Arc;

use async_trait::async_trait;

use super::ecs_role::EcsRole;
use super::environment::EnvironmentKeys;
use super::profile::ProfileFile;
use super::provider::{Cached, Credentials, ProvideCredentials, Renewal};
use super::static_keys::BlockKeys;
use crate::alicloud::error::CredentialsError;
use crate::alicloud::settings::{Environment, Settings};

/// Renew ECS role credentials this long before they expire, so a call never signs with a key
/// that dies in flight.
pub const ECS_REFRESH_MARGIN: time::Duration = time::Duration::minutes(5);

/// Sources tried in order.
#[derive(Debug)]
pub struct Chain {
    sources: Vec<Box<dyn ProvideCredentials>>,
}

impl Chain {
    pub fn new(sources: Vec<Box<dyn ProvideCredentials>>) -> Self {
        Chain { sources }
    }

    /// The official provider's order, from the provider block and the environment.
    pub fn standard(settings: &Settings, env: &Environment) -> Result<Self, CredentialsError> {
        Ok(Chain::new(vec![
            Box::new(BlockKeys::new(settings)),
            Box::new(EnvironmentKeys::new(env)),
            Box::new(ProfileFile::new(settings, env)),
            Box::new(EcsRole::new(settings, env)?),
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

/// The chain every client uses, cached: looked up at the first call, renewed before expiry.
pub fn default_credentials(
    settings: &Settings,
    env: &Environment,
) -> Result<Arc<Cached>, CredentialsError> {
    Ok(Arc::new(Cached::new(
        Box::new(Chain::standard(settings, env)?),
        env.clock().clone(),
        Renewal::Before(ECS_REFRESH_MARGIN),
    )))
}
