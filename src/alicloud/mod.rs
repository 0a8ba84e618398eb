//! The Alibaba Cloud side: signers, credentials, one RPC transport for every product, and
//! typed operations per product. Nothing here knows about gRPC or Terraform.
//!
//! Dependencies point down: `vpc` -> `client` -> `rpc` + `credentials` -> `settings`,
//! `error`, `secret`, `sign`, `clock`; the STS credential sources call `sts`, which uses `rpc`
//! with a credential cache (`credentials` and `rpc` are mutually aware by design).

pub mod client;
pub mod clock;
pub(crate) mod credentials;
pub mod error;
pub mod rpc;
pub mod secret;
pub mod settings;
pub mod sign;
pub mod sts;
pub mod vpc;

#[cfg(test)]
mod test_server;

pub use client::Client;
pub use error::{ApiError, CredentialsError, Error};
pub use rpc::CallOptions;
pub use secret::Secret;
pub use settings::{Environment, Protocol, Settings};
pub use vpc::machine::{Demand, MachineDemand};
pub use vpc::{
    ActionResponse, CreateFlowLogRequest, CreatedFlowLog, DescribeFlowLogsRequest, FlowLog,
    FlowLogPage, FlowLogStatus, ModifyFlowLogRequest,
};
