//! Credentials: one provider trait ([`provider::ProvideCredentials`]), one module per source (provider
//! block, environment, CLI profile, ECS role, OIDC/RRSA, credentials URI, an assumed role on
//! top), a [`chain::Chain`] that composes them, and [`Cached`], which renews before expiry.
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
pub(crate) mod provider;
mod static_keys;

// Crate-private: the library's users reach credentials through `Client` and `Settings`; the
// re-exports are what the rest of the crate uses.
pub(crate) use assume_role::StsAccess;
pub(crate) use chain::default_credentials;
pub(crate) use profile::profile_region;
pub(crate) use provider::{Cached, Credentials};

#[cfg(test)]
mod tests;
