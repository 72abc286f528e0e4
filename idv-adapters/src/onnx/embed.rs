//! Face embedding with SFace: an aligned 112×112 face becomes a unit-length 128-d vector, so
//! that the cosine similarity of two faces is a plain dot product.

use std::path::Path;
use std::sync::Arc;

use image::RgbImage;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::tract_data::internal::{ensure, format_err};

use super::align::ALIGNED_SIDE;
use super::model::SFACE;
use super::OnnxError;

/// Length of an SFace embedding.
pub(crate) const EMBEDDING_LEN: usize = 128;

/// A unit-length face embedding. Deliberately not `Debug`: embeddings are biometric data and
/// must not end up in logs.
pub(crate) struct Embedding(Vec<f32>);

impl Embedding {
    /// Cosine similarity, in [-1, 1].
    pub(crate) fn similarity(&self, other: &Embedding) -> f32 {
        let dot: f32 = self.0.iter().zip(&other.0).map(|(a, b)| a * b).sum();
        dot.clamp(-1.0, 1.0)
    }
}

/// The loaded SFace model.
pub(crate) struct Embedder {
    plan: Arc<TypedRunnableModel>,
}

impl Embedder {
    pub(crate) fn load(dir: &Path) -> Result<Self, OnnxError> {
        let side = ALIGNED_SIDE as usize;
        let model = SFACE.load(dir, &[1, 3, side, side])?;
        Ok(Self { plan: model.plan })
    }

    /// Embeds an aligned face.
    pub(crate) fn embed(&self, face: &RgbImage) -> TractResult<Embedding> {
        let outputs = self.plan.run(tvec!(to_input(face).into()))?;
        let raw: Vec<f32> = outputs[0]
            .to_plain_array_view::<f32>()?
            .iter()
            .copied()
            .collect();
        ensure!(
            raw.len() == EMBEDDING_LEN,
            "SFace returned {} values",
            raw.len()
        );
        normalise(raw).ok_or_else(|| format_err!("SFace returned a zero or non-finite embedding"))
    }
}

/// Lays the face out as 1×3×112×112 RGB floats in 0–255; SFace normalises internally.
fn to_input(face: &RgbImage) -> Tensor {
    let plane = (ALIGNED_SIDE * ALIGNED_SIDE) as usize;
    let mut data = vec![0f32; 3 * plane];
    for (offset, rgb) in face.as_raw().chunks_exact(3).enumerate() {
        for (channel, &value) in rgb.iter().enumerate() {
            data[channel * plane + offset] = f32::from(value);
        }
    }
    let side = ALIGNED_SIDE as usize;
    tract_ndarray::Array4::from_shape_vec((1, 3, side, side), data)
        .expect("buffer length matches the shape")
        .into_tensor()
}

fn normalise(mut values: Vec<f32>) -> Option<Embedding> {
    let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
    if !norm.is_finite() || norm <= f32::EPSILON {
        return None;
    }
    values.iter_mut().for_each(|v| *v /= norm);
    Some(Embedding(values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_are_unit_length_and_compare_by_cosine() {
        let a = normalise(vec![3.0, 4.0]).unwrap();
        let b = normalise(vec![4.0, 3.0]).unwrap();
        assert!((a.similarity(&a) - 1.0).abs() < 1e-6);
        assert!((a.similarity(&b) - 0.96).abs() < 1e-6);
        assert!(normalise(vec![0.0, 0.0]).is_none());
        assert!(normalise(vec![f32::NAN, 1.0]).is_none());
    }
}
