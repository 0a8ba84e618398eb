//! One integration-test binary (links once): each module covers one part of the product.

mod activation;
mod client;
mod credentials;
mod data_source;
mod dist;
mod docs;
mod emulator;
mod emulator_flow_log;
mod emulator_sts;
mod emulator_v3;
mod flow_log;
mod flow_log_examples;
mod imports;
mod outcomes;
mod plugin_cli;
mod plugin_process;
mod shared_quota;
mod signature_v3;
mod signer;
mod sts;
mod support;
mod tf;
mod tfvalue;
