//! Credentials: one provider trait ([`ProvideCredentials`]), one module per source (provider
//! block, environment, CLI profile, ECS role), a [`Chain`] that composes them, and [`Cached`],
//! which renews before expiry.
//!
//! The chain runs at the first API call, not when the provider is configured, so `terraform
//! validate` and plans without API calls work without credentials.

mod chain;
mod ecs_role;
mod environment;
mod profile;
mod provider;
mod static_keys;

pub use chain::{Chain, ECS_REFRESH_MARGIN, default_credentials};
pub use ecs_role::{ENV_ECS_ROLE, EcsRole};
pub use environment::{ENV_ACCESS_KEY, ENV_SECRET_KEY, ENV_SECURITY_TOKEN, EnvironmentKeys};
pub use profile::{ENV_CREDENTIALS_FILE, ENV_PROFILE, ProfileFile, profile_region};
pub use provider::{Cached, Credentials, ProvideCredentials, Renewal};
pub use static_keys::BlockKeys;

#[cfg(test)]
mod tests;
