//! The Alibaba Cloud side: signer, credentials, the signed RPC client and typed VPC operations.
//! Nothing here knows about gRPC or Terraform.

pub mod signer;
