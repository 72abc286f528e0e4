//! Loading the vendored ONNX files: check that the bytes are the ones we tested with, then build
//! an optimised tract plan with a fixed input shape.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;

use super::OnnxError;

/// One model file the scorer needs, with the digest of the version that was measured.
pub(crate) struct ModelFile {
    pub name: &'static str,
    pub sha256: &'static str,
}

/// YuNet face detector (OpenCV Zoo, MIT).
pub(crate) const YUNET: ModelFile = ModelFile {
    name: "face_detection_yunet_2023mar.onnx",
    sha256: "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
};

/// SFace face embedding (OpenCV Zoo, Apache-2.0).
pub(crate) const SFACE: ModelFile = ModelFile {
    name: "face_recognition_sface_2021dec.onnx",
    sha256: "0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79",
};

/// A runnable model and the ONNX names of its outputs, in output order.
pub(crate) struct LoadedModel {
    pub plan: Arc<TypedRunnableModel>,
    pub output_names: Vec<String>,
}

impl ModelFile {
    /// Reads, verifies and optimises the model for a single input of `input_shape`.
    pub(crate) fn load(&self, dir: &Path, input_shape: &[usize]) -> Result<LoadedModel, OnnxError> {
        let path = dir.join(self.name);
        let bytes = read(&path)?;
        self.verify(&path, &bytes)?;
        // Parse the very bytes that were hashed, so the file cannot change in between.
        build(&bytes, input_shape).map_err(|e| OnnxError::ModelLoad {
            path,
            reason: format!("{e:#}"),
        })
    }

    fn verify(&self, path: &Path, bytes: &[u8]) -> Result<(), OnnxError> {
        let found = hex::encode(Sha256::digest(bytes));
        if found != self.sha256 {
            return Err(OnnxError::ModelAltered {
                path: path.to_owned(),
                expected: self.sha256,
                found,
            });
        }
        Ok(())
    }
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, OnnxError> {
    std::fs::read(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => OnnxError::ModelMissing {
            path: PathBuf::from(path),
        },
        _ => OnnxError::ModelRead {
            path: PathBuf::from(path),
            source,
        },
    })
}

pub(crate) fn build(bytes: &[u8], input_shape: &[usize]) -> TractResult<LoadedModel> {
    let model = tract_onnx::onnx()
        .model_for_read(&mut &*bytes)?
        .with_input_fact(0, f32::fact(input_shape).into())?;
    let output_names = output_names(&model)?;
    let plan = model.into_optimized()?.into_runnable()?;
    Ok(LoadedModel { plan, output_names })
}

/// Output names are read before optimisation, which keeps the output order but may drop labels.
fn output_names(model: &InferenceModel) -> TractResult<Vec<String>> {
    model
        .output_outlets()?
        .iter()
        .map(|&outlet| {
            let name = model
                .outlet_label(outlet)
                .unwrap_or(&model.node(outlet.node).name);
            Ok(name.to_owned())
        })
        .collect()
}
