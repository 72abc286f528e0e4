//! idv-server: the reference HTTP server of idv, a thin hyper layer over idv-core.

pub mod app;
pub mod config;
mod http;

pub use app::{start, RunningServer};
pub use config::{ConfigError, ServerConfig};
/// The route table and the OpenAPI document, for tools and tests that check one against the
/// other.
pub use http::{OPENAPI, ROUTES};
