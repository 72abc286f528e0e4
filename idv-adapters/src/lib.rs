//! idv-adapters: implementations of the idv-core ports, one module per adapter behind a feature.

#[cfg(feature = "onnx")]
pub mod onnx;
