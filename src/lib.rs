//! Terraform provider for Alibaba Cloud VPC flow logs: the library behind both binaries.
//!
//! Layers, top to bottom: `plugin` (process, handshake, TLS) -> `protocol` (tfplugin5 adapter)
//! -> `engine` (rules every resource obeys) -> `resource` (the trait) <- `resources` (ours) ->
//! `alicloud` (client, credentials, signer). `tfvalue`, `diag` and `schema` are leaves used by
//! every layer; `emulator` is the local stand-in for the VPC API.

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
