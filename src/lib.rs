//! Terraform provider for Alibaba Cloud VPC flow logs: the library behind both binaries.
//!
//! Layers, top to bottom: `plugin` (process, handshake, TLS) -> `protocol` (tfplugin5 adapter)
//! -> `engine` (rules every resource obeys) -> `resource` (the trait) <- `resources` (ours) ->
//! `alicloud` (client, credentials, signer). `tfvalue`, `diag` and `schema` are leaves used by
//! every layer; `emulator` is the local stand-in for the VPC API.

/// The address users write in `required_providers` (and CLI configs point at a local build).
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/alicloud-rs/alicloud";

pub mod alicloud;
pub mod diag;
pub mod emulator;
pub mod engine;
pub mod plugin;
pub mod protocol;
pub mod provider;
pub mod resource;
pub mod resources;
pub mod schema;
pub mod tfvalue;
