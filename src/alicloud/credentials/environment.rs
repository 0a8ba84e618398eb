//! Keys from environment variables, in the official provider's order (first set wins).

use async_trait::async_trait;

use super::provider::{Credentials, ProvideCredentials};
use super::static_keys::pair;
use crate::alicloud::error::CredentialsError;
use crate::alicloud::secret::Secret;
use crate::alicloud::settings::Environment;

/// Environment variables, first set wins (the official provider's order).
pub const ENV_ACCESS_KEY: &[&str] = &[
    "ALICLOUD_ACCESS_KEY",
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABACLOUD_ACCESS_KEY_ID",
];
pub const ENV_SECRET_KEY: &[&str] = &[
    "ALICLOUD_SECRET_KEY",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABACLOUD_ACCESS_KEY_SECRET",
];
pub const ENV_SECURITY_TOKEN: &[&str] = &[
    "ALICLOUD_SECURITY_TOKEN",
    "ALIBABA_CLOUD_SECURITY_TOKEN",
    "ALIBABACLOUD_SECURITY_TOKEN",
];

/// The access key variables of the environment.
#[derive(Debug)]
pub struct EnvironmentKeys {
    env: Environment,
}

impl EnvironmentKeys {
    pub fn new(env: &Environment) -> Self {
        EnvironmentKeys { env: env.clone() }
    }
}

#[async_trait]
impl ProvideCredentials for EnvironmentKeys {
    async fn provide(&self) -> Result<Credentials, CredentialsError> {
        let env = &self.env;
        pair(
            "the environment",
            env.first_var(ENV_ACCESS_KEY)
                .map(|(n, v)| (n, v.trim().to_owned())),
            env.first_var(ENV_SECRET_KEY)
                .map(|(n, v)| (n, Secret::new(v))),
            env.first_var(ENV_SECURITY_TOKEN)
                .map(|(n, v)| (n, Secret::new(v))),
        )?
        .ok_or_else(|| {
            CredentialsError::NotLoaded(format!(
                "the environment ({} / {})",
                ENV_ACCESS_KEY.join(", "),
                ENV_SECRET_KEY.join(", ")
            ))
        })
    }
}
