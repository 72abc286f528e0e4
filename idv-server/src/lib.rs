//! idv-server: the reference HTTP server of idv, a thin hyper layer over idv-core.

pub mod app;
pub mod config;
mod http;

pub use app::{start, RunningServer};
pub use config::{ConfigError, ServerConfig};
