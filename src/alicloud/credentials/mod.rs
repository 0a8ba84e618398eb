//! Credentials: one provider trait ([`ProvideCredentials`]), one module per source (provider
//! block, environment, CLI profile, ECS role, OIDC/RRSA, credentials URI, an assumed role on
//! top), a [`Chain`] that composes them, and [`Cached`], which renews before expiry.
//!
//! The chain runs at the first API call, not when the provider is configured, so `terraform
//! validate` and plans without API calls work without credentials.

mod assume_role;
mod chain;
mod credentials_uri;
mod ecs_role;
mod environment;
mod oidc;
pub(crate) mod profile;
pub mod provider;
mod static_keys;

pub use assume_role::{
    AssumeRole, ENV_ASSUME_ROLE_ARN, ENV_ASSUME_ROLE_SESSION_EXPIRATION,
    ENV_ASSUME_ROLE_SESSION_NAME, StsAccess, role_from_settings,
};
pub use chain::{Chain, default_credentials};
pub use credentials_uri::{CredentialsUri, ENV_CREDENTIALS_URI};
pub use ecs_role::{ENV_ECS_ROLE, EcsRole};
pub use environment::{ENV_ACCESS_KEY, ENV_SECRET_KEY, ENV_SECURITY_TOKEN, EnvironmentKeys};
pub use oidc::{
    ENV_OIDC_PROVIDER_ARN, ENV_OIDC_TOKEN, ENV_OIDC_TOKEN_FILE, ENV_ROLE_ARN,
    ENV_ROLE_SESSION_NAME, OidcRole, OidcSpec, OidcToken, oidc_from_settings,
};
pub use profile::{ENV_CREDENTIALS_FILE, ENV_PROFILE, ProfileFile, profile_region};
pub use provider::{Cached, Credentials, ProvideCredentials, RENEW_AT_MOST};
pub use static_keys::BlockKeys;

#[cfg(test)]
mod tests;
