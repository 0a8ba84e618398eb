//! The Alibaba Cloud side: signer, credentials, the signed RPC client and typed VPC operations.
//! Nothing here knows about gRPC or Terraform.

pub mod client;
pub mod clock;
pub mod credentials;
pub mod endpoint;
pub mod error;
mod ratelimit;
pub mod settings;
pub mod sign;
pub mod vpc;

#[cfg(test)]
mod test_server;

pub use client::{CallOptions, Client};
pub use credentials::{Credentials, Secret};
pub use error::{ApiError, CredentialsError, Error};
pub use settings::{Environment, Protocol, Settings};
pub use vpc::{ActionResponse, DescribeFlowLogsRequest, FlowLog};
