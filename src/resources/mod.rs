//! The provider's resources.

pub mod flow_log_activation;
