//! The process boundary: go-plugin handshake, AutoMTLS, listener, controller and logging.

pub mod controller;
pub mod handshake;
pub mod logging;
pub mod server;
pub mod tls;
