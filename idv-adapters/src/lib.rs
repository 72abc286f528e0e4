//! idv-adapters: implementations of the idv-core ports, one module per adapter behind a
//! feature.
//!
//! | feature  | module     | implements                                  |
//! |----------|------------|---------------------------------------------|
//! | `sqlite` | [`sqlite`] | the whole store in SQLite (embedded default) |
//! | `postgres` | [`postgres`] | the whole store in PostgreSQL (several instances) |
//! | `fs`     | [`fs`]     | images as files in a folder                 |
//! | `s3`     | [`s3`]     | images as objects in an S3 bucket           |
//! | `webhook` | [`webhook`] | webhook deliveries over HTTP(S), guarded against internal destinations |
//! | `memory` | [`memory`] | everything in process memory (tests, demos) |
//! | `onnx`   | [`onnx`]   | the face pipeline on ONNX models (tract), liveness and MRZ reading |
//! | `synth`  | [`synth`]  | seeded synthetic documents and presentation attacks, for measurement |

#[cfg(any(feature = "fs", feature = "memory", feature = "s3"))]
mod blob_key;
#[cfg(feature = "fs")]
pub mod fs;
#[cfg(feature = "memory")]
pub mod memory;
#[cfg(feature = "onnx")]
pub mod onnx;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(feature = "synth")]
pub mod synth;
#[cfg(feature = "webhook")]
pub mod webhook;

/// A fresh random token identifying one claim of a job.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn claim_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}
