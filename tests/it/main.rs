//! One integration-test binary (links once): each module covers one part of the product.

mod plugin_cli;
mod plugin_process;
mod signer;
mod tf;
