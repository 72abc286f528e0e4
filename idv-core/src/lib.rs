//! idv-core: the domain, ports and use cases of the idv identity-verification backend.
//!
//! This crate knows nothing of databases, HTTP or model runtimes. Adapters implement the ports
//! in [`ports`] and [`scoring`]; the server and the CLI assemble them into an [`Idv`].

pub mod accounts;
pub mod api_keys;
pub mod auth;
pub mod domain;
pub mod error;
pub mod events;
pub mod idempotency;
mod idv;
pub mod image_input;
pub mod logs;
pub mod mrz;
pub mod policy;
pub mod ports;
pub mod scoring;
pub mod suspicious;
#[cfg(feature = "testing")]
pub mod testing;
pub mod throttle;
pub mod verifications;
mod webhook_worker;
pub mod webhooks;
mod worker;

pub use error::{Error, Result};
pub use idv::{Idv, Ports, Principal, Settings};
