//! The port for an operator's own anti-spoofing model.
//!
//! idv ships no anti-spoofing network (none with a clean licence and useful accuracy exists in
//! a form we can vendor), but an operator who has one can point idv at its ONNX file. Models
//! differ in how they want their input, so a [`AntiSpoofProfile`] describes it: how much of the
//! scene around the face to crop, the input size, channel order and layout, the scaling, and
//! which output is "live". The profile is a small JSON file next to the model.
//!
//! The crop is a square centred on the detected face, `crop_scale` times the larger side of the
//! face box, sampled bilinearly; parts outside the image are black. Each channel value `v`
//! (0–255) becomes `(v · scale − mean[c]) / std[c]`. The first output is flattened and passed
//! through the profile's activation, and element `live_index` is the liveness score.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use idv_core::scoring::FaceBox;
use image::RgbImage;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;

use super::model;
use super::OnnxError;

/// Channel order the model expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelOrder {
    Rgb,
    Bgr,
}

/// Tensor layout the model expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// 1 × channels × height × width.
    Nchw,
    /// 1 × height × width × channels.
    Nhwc,
}

/// What turns the model's raw output into probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// Softmax over the whole output (class logits).
    Softmax,
    /// Logistic function on the chosen element (a single logit).
    Sigmoid,
    /// The output already is a probability.
    None,
}

/// How a model wants its input and gives its answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AntiSpoofProfile {
    /// Model input `[width, height]` in pixels.
    pub input_size: [u32; 2],
    /// Side of the square crop as a multiple of the face box's larger side.
    pub crop_scale: f32,
    pub channel_order: ChannelOrder,
    #[serde(default = "nchw")]
    pub layout: Layout,
    /// Multiplies each 0–255 channel value before `mean` and `std` apply.
    #[serde(default = "one")]
    pub scale: f32,
    #[serde(default)]
    pub mean: [f32; 3],
    #[serde(default = "ones")]
    pub std: [f32; 3],
    /// Index of the "live" element in the flattened first output.
    pub live_index: usize,
    pub activation: Activation,
    /// When set, the model file must have this sha256 (hex), so a replaced file is refused.
    #[serde(default)]
    pub sha256: Option<String>,
}

fn nchw() -> Layout {
    Layout::Nchw
}
fn one() -> f32 {
    1.0
}
fn ones() -> [f32; 3] {
    [1.0; 3]
}

impl AntiSpoofProfile {
    /// Reads a profile from a JSON file.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read liveness model profile {}: {e}", path.display()))?;
        let profile: Self = serde_json::from_str(&text)
            .map_err(|e| format!("liveness model profile {}: {e}", path.display()))?;
        profile
            .validate()
            .map_err(|why| format!("liveness model profile {}: {why}", path.display()))?;
        Ok(profile)
    }

    /// Checks that the numbers make sense.
    pub fn validate(&self) -> Result<(), String> {
        let [w, h] = self.input_size;
        if !(1..=1024).contains(&w) || !(1..=1024).contains(&h) {
            return Err("input_size must be between 1 and 1024 pixels on each side".into());
        }
        if !(self.crop_scale > 0.0 && self.crop_scale <= 10.0) {
            return Err("crop_scale must be in (0, 10]".into());
        }
        if !self.scale.is_finite() || self.mean.iter().any(|m| !m.is_finite()) {
            return Err("scale and mean must be finite".into());
        }
        if self.std.iter().any(|s| !s.is_finite() || s.abs() < 1e-6) {
            return Err("std must be finite and at least 1e-6 in size".into());
        }
        if !(self.scale.abs() <= 1e6 && self.mean.iter().all(|m| m.abs() <= 1e6)) {
            return Err("scale and mean must be at most 1e6 in size".into());
        }
        if let Some(hash) = &self.sha256 {
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err("sha256 must be 64 hexadecimal digits".into());
            }
        }
        Ok(())
    }

    fn input_shape(&self) -> [usize; 4] {
        let [w, h] = self.input_size.map(|v| v as usize);
        match self.layout {
            Layout::Nchw => [1, 3, h, w],
            Layout::Nhwc => [1, h, w, 3],
        }
    }
}

/// Where the operator's model and its profile are.
#[derive(Debug, Clone, PartialEq)]
pub struct AntiSpoofConfig {
    pub model: PathBuf,
    pub profile: AntiSpoofProfile,
}

/// A loaded anti-spoofing model.
pub(crate) struct AntiSpoofModel {
    plan: Arc<TypedRunnableModel>,
    profile: AntiSpoofProfile,
}

impl AntiSpoofModel {
    /// Reads, verifies and optimises the model, then runs it once on a black crop to check that
    /// its output has a `live_index` element.
    pub(crate) fn load(config: &AntiSpoofConfig) -> Result<Self, OnnxError> {
        let path = &config.model;
        let bytes = model::read(path)?;
        if let Some(expected) = &config.profile.sha256 {
            let found = hex::encode(Sha256::digest(&bytes));
            if !found.eq_ignore_ascii_case(expected) {
                return Err(OnnxError::ModelLoad {
                    path: path.clone(),
                    reason: format!("sha256 is {found}, the profile pins {expected}"),
                });
            }
        }
        let fail = |reason: String| OnnxError::ModelLoad {
            path: path.clone(),
            reason,
        };
        let loaded = model::build(&bytes, &config.profile.input_shape())
            .map_err(|e| fail(format!("{e:#}")))?;
        let this = Self {
            plan: loaded.plan,
            profile: config.profile.clone(),
        };
        let black = RgbImage::new(8, 8);
        let face = FaceBox {
            x: 2.0,
            y: 2.0,
            width: 4.0,
            height: 4.0,
            confidence: 1.0,
        };
        this.score(&black, &face)
            .map_err(|e| fail(format!("{e:#}")))?;
        Ok(this)
    }

    /// Probability in [0, 1] that `face` in `image` is a live person.
    pub(crate) fn score(&self, image: &RgbImage, face: &FaceBox) -> TractResult<f32> {
        let input = self.input(image, face);
        let outputs = self.plan.run(tvec!(input.into()))?;
        let raw: Vec<f32> = outputs[0]
            .to_plain_array_view::<f32>()?
            .iter()
            .copied()
            .collect();
        let index = self.profile.live_index;
        tract_onnx::tract_core::internal::tract_data::internal::ensure!(
            index < raw.len(),
            "the model's first output has {} elements; live_index {index} is outside it",
            raw.len()
        );
        let value = match self.profile.activation {
            Activation::Softmax => {
                let max = raw.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let sum: f32 = raw.iter().map(|v| (v - max).exp()).sum();
                (raw[index] - max).exp() / sum
            }
            Activation::Sigmoid => 1.0 / (1.0 + (-raw[index]).exp()),
            Activation::None => raw[index],
        };
        tract_onnx::tract_core::internal::tract_data::internal::ensure!(
            value.is_finite(),
            "the model returned a non-finite score"
        );
        Ok(value.clamp(0.0, 1.0))
    }

    /// The crop around `face`, resized, reordered and scaled as the profile says.
    fn input(&self, image: &RgbImage, face: &FaceBox) -> Tensor {
        let p = &self.profile;
        let [w, h] = p.input_size.map(|v| v as usize);
        let side = face.width.max(face.height) * p.crop_scale;
        let left = face.x + face.width / 2.0 - side / 2.0;
        let top = face.y + face.height / 2.0 - side / 2.0;
        let order = match p.channel_order {
            ChannelOrder::Rgb => [0, 1, 2],
            ChannelOrder::Bgr => [2, 1, 0],
        };
        let mut data = vec![0f32; 3 * w * h];
        for row in 0..h {
            let sy = top + (row as f32 + 0.5) * side / h as f32 - 0.5;
            for col in 0..w {
                let sx = left + (col as f32 + 0.5) * side / w as f32 - 0.5;
                let rgb = bilinear(image, sx, sy);
                for (c, &source) in order.iter().enumerate() {
                    let value = (rgb[source] * p.scale - p.mean[c]) / p.std[c];
                    let at = match p.layout {
                        Layout::Nchw => c * w * h + row * w + col,
                        Layout::Nhwc => (row * w + col) * 3 + c,
                    };
                    data[at] = value;
                }
            }
        }
        tract_ndarray::ArrayD::from_shape_vec(p.input_shape().to_vec(), data)
            .expect("buffer length matches the shape")
            .into_tensor()
    }
}

/// Bilinear sample at (x, y); pixels outside the image are black.
fn bilinear(image: &RgbImage, x: f32, y: f32) -> [f32; 3] {
    let (width, height) = (image.width() as i64, image.height() as i64);
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let pixel = |px: i64, py: i64| -> [f32; 3] {
        if px < 0 || py < 0 || px >= width || py >= height {
            return [0.0; 3];
        }
        let p = image.get_pixel(px as u32, py as u32).0;
        [f32::from(p[0]), f32::from(p[1]), f32::from(p[2])]
    };
    let (x0, y0) = (x0 as i64, y0 as i64);
    let (a, b, c, d) = (
        pixel(x0, y0),
        pixel(x0 + 1, y0),
        pixel(x0, y0 + 1),
        pixel(x0 + 1, y0 + 1),
    );
    let mut out = [0.0; 3];
    for i in 0..3 {
        let top = a[i] + (b[i] - a[i]) * fx;
        let bottom = c[i] + (d[i] - c[i]) * fx;
        out[i] = top + (bottom - top) * fy;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model (see scripts/make-test-liveness-model.py) whose "live" logit is
    /// (mean of channel 0 − mean of channel 2) / 50 and "attack" logit its negative.
    fn fixture() -> PathBuf {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/colour_liveness.onnx"
        ))
    }

    fn profile(order: ChannelOrder, crop_scale: f32) -> AntiSpoofProfile {
        AntiSpoofProfile {
            input_size: [32, 32],
            crop_scale,
            channel_order: order,
            layout: Layout::Nchw,
            scale: 1.0,
            mean: [0.0; 3],
            std: [1.0; 3],
            live_index: 1,
            activation: Activation::Softmax,
            sha256: None,
        }
    }

    /// 200×200 blue image with a red 50×50 square at (75, 75).
    fn scene() -> (RgbImage, FaceBox) {
        let image = RgbImage::from_fn(200, 200, |x, y| {
            if (75..125).contains(&x) && (75..125).contains(&y) {
                image::Rgb([200, 0, 0])
            } else {
                image::Rgb([0, 0, 200])
            }
        });
        let face = FaceBox {
            x: 75.0,
            y: 75.0,
            width: 50.0,
            height: 50.0,
            confidence: 1.0,
        };
        (image, face)
    }

    fn load(profile: AntiSpoofProfile) -> Result<AntiSpoofModel, OnnxError> {
        AntiSpoofModel::load(&AntiSpoofConfig {
            model: fixture(),
            profile,
        })
    }

    fn softmax_live(live_logit: f32) -> f32 {
        1.0 / (1.0 + (-2.0 * live_logit).exp())
    }

    #[test]
    fn crops_the_face_and_feeds_channels_in_the_profiles_order() {
        let (image, face) = scene();
        // The crop is exactly the red square: channel 0 averages 200, channel 2 zero.
        let rgb = load(profile(ChannelOrder::Rgb, 1.0)).unwrap();
        let score = rgb.score(&image, &face).unwrap();
        assert!((score - softmax_live(4.0)).abs() < 1e-3, "{score}");
        // Fed as BGR, the same crop looks blue to the model.
        let bgr = load(profile(ChannelOrder::Bgr, 1.0)).unwrap();
        let score = bgr.score(&image, &face).unwrap();
        assert!((score - softmax_live(-4.0)).abs() < 1e-3, "{score}");
        // A crop three times the face is mostly blue surroundings (1/9 red).
        let wide = load(profile(ChannelOrder::Rgb, 3.0)).unwrap();
        let score = wide.score(&image, &face).unwrap();
        let expected = softmax_live((200.0 / 9.0 - 200.0 * 8.0 / 9.0) / 50.0);
        assert!((score - expected).abs() < 0.02, "{score} vs {expected}");
    }

    #[test]
    fn scaling_and_output_choice_follow_the_profile() {
        let (image, face) = scene();
        let scaled = AntiSpoofProfile {
            scale: 1.0 / 255.0,
            std: [0.5; 3],
            live_index: 0,
            ..profile(ChannelOrder::Rgb, 1.0)
        };
        // Channel 0 becomes (200/255)/0.5; index 0 is the "attack" logit.
        let logit = (200.0 / 255.0 / 0.5) / 50.0;
        let score = load(scaled).unwrap().score(&image, &face).unwrap();
        assert!((score - softmax_live(-logit)).abs() < 1e-3, "{score}");
    }

    #[test]
    fn refuses_a_profile_that_does_not_fit_the_model() {
        let outside = AntiSpoofProfile {
            live_index: 2,
            ..profile(ChannelOrder::Rgb, 1.0)
        };
        let error = load(outside).err().expect("refused").to_string();
        assert!(error.contains("live_index"), "{error}");
        let pinned = AntiSpoofProfile {
            sha256: Some("0".repeat(64)),
            ..profile(ChannelOrder::Rgb, 1.0)
        };
        let error = load(pinned).err().expect("refused").to_string();
        assert!(error.contains("sha256"), "{error}");
    }

    #[test]
    fn profiles_are_read_from_json_and_checked() {
        let dir = std::env::temp_dir().join(format!("idv-antispoof-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.json");
        std::fs::write(
            &good,
            r#"{"input_size": [80, 80], "crop_scale": 2.7, "channel_order": "bgr",
                "live_index": 1, "activation": "softmax"}"#,
        )
        .unwrap();
        let profile = AntiSpoofProfile::from_file(&good).unwrap();
        assert_eq!(profile.layout, Layout::Nchw);
        assert_eq!(profile.std, [1.0; 3]);
        let bad = dir.join("bad.json");
        std::fs::write(
            &bad,
            r#"{"input_size": [80, 80], "crop_scale": 0, "channel_order": "bgr",
                "live_index": 1, "activation": "softmax"}"#,
        )
        .unwrap();
        let error = AntiSpoofProfile::from_file(&bad).unwrap_err();
        assert!(error.contains("crop_scale"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
