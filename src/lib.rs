//! Terraform provider for Alibaba Cloud VPC flow logs: the library behind both binaries.
//!
//! Layers, top to bottom: `plugin` (process, handshake, TLS) -> `protocol` (tfplugin5 adapter)
//! -> `engine` (rules every resource obeys) -> `resource` (the trait) <- `resources` (ours) ->
//! `alicloud` (client, credentials, signers). `tfvalue`, `diag` and `schema` are leaves used by
//! every layer. The local API stand-in is its own binary, `src/bin/alicloud-vpc-emulator/`.

/// The address users write in `required_providers` (and CLI configs point at a local build).
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/alicloud-rs/alicloud";

pub mod alicloud;
pub(crate) mod diag;
pub mod engine;
/// Entry points for `cargo fuzz` (fuzz/); not part of the library's API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod path;
pub mod plugin;
pub mod protocol;
pub mod provider;
pub mod resource;
pub(crate) mod resources;
pub mod schema;
pub mod tfvalue;
