//! Face detection with YuNet: faces and five landmarks (eyes, nose tip, mouth corners).
//!
//! YuNet is anchor-free: every cell of three feature maps (strides 8, 16 and 32 over a 640×640
//! input) predicts a class score, an objectness, a box and landmarks relative to the cell.

use std::path::Path;
use std::sync::Arc;

use idv_core::scoring::FaceBox;
use image::imageops::FilterType;
use image::{DynamicImage, RgbImage};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::tract_data::internal::{ensure, format_err};

use super::model::YUNET;
use super::OnnxError;

/// Side of the square network input.
const INPUT_SIDE: u32 = 640;
const STRIDES: [usize; 3] = [8, 16, 32];
/// Minimum sqrt(class × objectness) for a candidate to count as a face.
const SCORE_THRESHOLD: f32 = 0.6;
/// Boxes overlapping a better one by more than this are duplicates.
const NMS_IOU: f32 = 0.3;
/// Upper bound on candidates entering suppression, which is quadratic.
const MAX_CANDIDATES: usize = 5000;

/// A detected face with its landmarks, in the coordinates of the image it was found in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Detection {
    pub face: FaceBox,
    /// Right eye, left eye, nose tip, right and left mouth corner (subject's side), as (x, y).
    pub landmarks: [[f32; 2]; 5],
}

/// Positions of the four outputs of one stride among the model outputs.
#[derive(Debug, Clone, Copy)]
struct StrideOutputs {
    stride: usize,
    cls: usize,
    obj: usize,
    bbox: usize,
    kps: usize,
}

/// The loaded YuNet model.
pub(crate) struct Detector {
    plan: Arc<TypedRunnableModel>,
    outputs: [StrideOutputs; 3],
}

impl Detector {
    pub(crate) fn load(dir: &Path) -> Result<Self, OnnxError> {
        let side = INPUT_SIDE as usize;
        let model = YUNET.load(dir, &[1, 3, side, side])?;
        let outputs = map_outputs(&model.output_names).map_err(|reason| OnnxError::ModelLoad {
            path: dir.join(YUNET.name),
            reason,
        })?;
        Ok(Self {
            plan: model.plan,
            outputs,
        })
    }

    /// Finds faces, largest first.
    pub(crate) fn detect(&self, image: &RgbImage) -> TractResult<Vec<Detection>> {
        let (input, scale) = to_input(image);
        let outputs = self.plan.run(tvec!(input.into()))?;
        let mut candidates = Vec::new();
        for map in &self.outputs {
            collect_candidates(&outputs, map, &mut candidates)?;
        }
        let mut faces = suppress(candidates);
        faces.iter_mut().for_each(|d| rescale(d, 1.0 / scale));
        faces.sort_by(|a, b| b.face.area().total_cmp(&a.face.area()));
        Ok(faces)
    }
}

/// Finds each `cls_8`, `obj_16`, … output by name, so that a re-exported model with another
/// output order still decodes correctly.
fn map_outputs(names: &[String]) -> Result<[StrideOutputs; 3], String> {
    let find = |kind: &str, stride: usize| {
        let wanted = format!("{kind}_{stride}");
        names
            .iter()
            .position(|n| *n == wanted)
            .ok_or_else(|| format!("YuNet output {wanted} not found among {names:?}"))
    };
    let map = |stride| -> Result<StrideOutputs, String> {
        Ok(StrideOutputs {
            stride,
            cls: find("cls", stride)?,
            obj: find("obj", stride)?,
            bbox: find("bbox", stride)?,
            kps: find("kps", stride)?,
        })
    };
    Ok([map(STRIDES[0])?, map(STRIDES[1])?, map(STRIDES[2])?])
}

/// Scales the long side to 640, places the image top-left on a black canvas, and lays it out as
/// 1×3×640×640 BGR floats in 0–255 (YuNet normalises nothing itself). Returns the scale used.
fn to_input(image: &RgbImage) -> (Tensor, f32) {
    let (width, height) = image.dimensions();
    let scale = INPUT_SIDE as f32 / width.max(height) as f32;
    let w = ((width as f32 * scale).round() as u32).clamp(1, INPUT_SIDE);
    let h = ((height as f32 * scale).round() as u32).clamp(1, INPUT_SIDE);
    // Going through `DynamicImage` runs the resampler compiled inside the image crate, which is
    // optimised even in dev builds; a generic `imageops::resize` would be instantiated here.
    let resized = DynamicImage::ImageRgb8(image.clone())
        .resize_exact(w, h, FilterType::Triangle)
        .into_rgb8();
    (bgr_canvas(&resized), scale)
}

/// Places the image top-left on a zero 640×640 canvas as three planes: blue, green, red.
fn bgr_canvas(image: &RgbImage) -> Tensor {
    let side = INPUT_SIDE as usize;
    let plane = side * side;
    let mut data = vec![0f32; 3 * plane];
    let row_len = image.width() as usize * 3;
    for (row, pixels) in image.as_raw().chunks_exact(row_len).enumerate() {
        for (col, rgb) in pixels.chunks_exact(3).enumerate() {
            let offset = row * side + col;
            data[offset] = f32::from(rgb[2]);
            data[plane + offset] = f32::from(rgb[1]);
            data[2 * plane + offset] = f32::from(rgb[0]);
        }
    }
    tract_ndarray::Array4::from_shape_vec((1, 3, side, side), data)
        .expect("buffer length matches the shape")
        .into_tensor()
}

/// Decodes every cell of one stride that scores above the threshold, in network-input pixels.
fn collect_candidates(
    outputs: &[TValue],
    map: &StrideOutputs,
    candidates: &mut Vec<Detection>,
) -> TractResult<()> {
    let cls = flat(&outputs[map.cls])?;
    let obj = flat(&outputs[map.obj])?;
    let bbox = flat(&outputs[map.bbox])?;
    let kps = flat(&outputs[map.kps])?;
    let cols = INPUT_SIDE as usize / map.stride;
    let cells = cols * cols;
    ensure!(
        cls.len() == cells && obj.len() == cells && bbox.len() == cells * 4,
        "unexpected YuNet output sizes at stride {}",
        map.stride
    );
    ensure!(kps.len() == cells * 10, "unexpected YuNet landmark size");
    for cell in 0..cells {
        // Both are probabilities already; clamping guards against tiny numeric overshoot.
        let score = (cls[cell].clamp(0.0, 1.0) * obj[cell].clamp(0.0, 1.0)).sqrt();
        if score >= SCORE_THRESHOLD {
            let cell_xy = ((cell % cols) as f32, (cell / cols) as f32);
            let b = &bbox[cell * 4..cell * 4 + 4];
            let k = &kps[cell * 10..cell * 10 + 10];
            candidates.push(decode_cell(score, cell_xy, map.stride as f32, b, k));
        }
    }
    Ok(())
}

/// The output's values in memory order, borrowed.
fn flat(value: &TValue) -> TractResult<&[f32]> {
    value
        .to_plain_array_view::<f32>()?
        .to_slice()
        .ok_or_else(|| format_err!("YuNet output is not contiguous"))
}

/// Box centre and landmarks are offsets from the cell corner in stride units; box size is
/// log-encoded.
fn decode_cell(
    score: f32,
    (col, row): (f32, f32),
    stride: f32,
    bbox: &[f32],
    kps: &[f32],
) -> Detection {
    let cx = (col + bbox[0]) * stride;
    let cy = (row + bbox[1]) * stride;
    let width = bbox[2].exp() * stride;
    let height = bbox[3].exp() * stride;
    let mut landmarks = [[0f32; 2]; 5];
    for (i, point) in landmarks.iter_mut().enumerate() {
        *point = [(col + kps[2 * i]) * stride, (row + kps[2 * i + 1]) * stride];
    }
    Detection {
        face: FaceBox {
            x: cx - width / 2.0,
            y: cy - height / 2.0,
            width,
            height,
            confidence: score,
        },
        landmarks,
    }
}

/// Greedy non-maximum suppression: keep the best box, drop those overlapping it, repeat.
fn suppress(mut candidates: Vec<Detection>) -> Vec<Detection> {
    candidates.sort_by(|a, b| b.face.confidence.total_cmp(&a.face.confidence));
    candidates.truncate(MAX_CANDIDATES);
    let mut kept: Vec<Detection> = Vec::new();
    for candidate in candidates {
        if kept
            .iter()
            .all(|k| iou(&k.face, &candidate.face) <= NMS_IOU)
        {
            kept.push(candidate);
        }
    }
    kept
}

fn iou(a: &FaceBox, b: &FaceBox) -> f32 {
    let left = a.x.max(b.x);
    let top = a.y.max(b.y);
    let right = (a.x + a.width).min(b.x + b.width);
    let bottom = (a.y + a.height).min(b.y + b.height);
    let overlap = (right - left).max(0.0) * (bottom - top).max(0.0);
    let union = a.area() + b.area() - overlap;
    if union > 0.0 {
        overlap / union
    } else {
        0.0
    }
}

/// Maps a detection from network-input pixels back to the original image.
fn rescale(detection: &mut Detection, factor: f32) {
    let face = &mut detection.face;
    face.x *= factor;
    face.y *= factor;
    face.width *= factor;
    face.height *= factor;
    for point in &mut detection.landmarks {
        point[0] *= factor;
        point[1] *= factor;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32, y: f32, side: f32, confidence: f32) -> Detection {
        Detection {
            face: FaceBox {
                x,
                y,
                width: side,
                height: side,
                confidence,
            },
            landmarks: [[0.0; 2]; 5],
        }
    }

    #[test]
    fn iou_of_identical_and_disjoint_boxes() {
        let a = face(0.0, 0.0, 10.0, 1.0).face;
        let b = face(20.0, 20.0, 10.0, 1.0).face;
        assert_eq!(iou(&a, &a), 1.0);
        assert_eq!(iou(&a, &b), 0.0);
    }

    #[test]
    fn suppression_keeps_the_best_of_overlapping_boxes() {
        let kept = suppress(vec![
            face(1.0, 1.0, 10.0, 0.7),
            face(0.0, 0.0, 10.0, 0.9),
            face(50.0, 50.0, 10.0, 0.65),
        ]);
        let confidences: Vec<f32> = kept.iter().map(|d| d.face.confidence).collect();
        assert_eq!(confidences, vec![0.9, 0.65]);
    }

    #[test]
    fn cell_offsets_are_in_stride_units() {
        let d = decode_cell(0.8, (2.0, 3.0), 8.0, &[0.5, 0.5, 0.0, 0.0], &[0.0; 10]);
        assert_eq!((d.face.x, d.face.y), (16.0, 24.0));
        assert_eq!((d.face.width, d.face.height), (8.0, 8.0));
        assert_eq!(d.landmarks[0], [16.0, 24.0]);
    }

    #[test]
    fn output_names_are_mapped_by_name() {
        let names: Vec<String> = ["cls", "obj", "bbox", "kps"]
            .iter()
            .flat_map(|k| STRIDES.iter().map(move |s| format!("{k}_{s}")))
            .collect();
        let map = map_outputs(&names).unwrap();
        assert_eq!((map[1].stride, map[1].cls, map[1].kps), (16, 1, 10));
        assert!(map_outputs(&names[1..]).is_err());
    }
}
