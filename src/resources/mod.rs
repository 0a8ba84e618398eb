//! The provider's resources and data sources, and what they share: the configured data and
//! the narrow API view they call.

pub mod batching;
pub mod configured;
pub mod flow_log_activation;
pub mod flow_logs;
pub mod ids;
pub mod vpc_flow_log;
pub mod vpc_flow_logs;

#[cfg(test)]
pub(crate) mod test_fake;
