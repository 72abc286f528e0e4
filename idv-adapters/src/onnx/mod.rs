//! Scorer backed by local ONNX models run with tract: YuNet finds faces, SFace embeds them, and
//! the cosine of the two embeddings says how alike the document portrait and the selfie are.
//! Beside the faces it measures the selfie's liveness (the built-in passive check in
//! [`passive`], and optionally the operator's anti-spoofing model through [`antispoof`]), reads
//! the document's machine-readable zone ([`mrz_reader`]) and measures the document's focus.
//!
//! The model files ship in the repository's `models/` folder and are checked against a pinned
//! sha256 at load, so the numbers the tests measured are the numbers production gets.
//!
//! [`OnnxScorer`] is a cheap handle (an `Arc` inside): load it once and clone it freely. The async
//! [`Scorer`] methods run the CPU work on tokio's blocking pool; [`OnnxScorer::analyse`] is the
//! same work, synchronous, for benchmarks and command-line timing.

mod align;
pub mod antispoof;
mod decode;
mod detect;
mod embed;
mod jpeg;
mod model;
pub mod mrz_reader;
pub mod passive;
pub mod sharpness;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use idv_core::events::Step;
use idv_core::scoring::{
    DocumentSide, Evidence, FaceBox, ImageInfo, ImageRejection, LivenessEvidence, LivenessMeasure,
    LivenessSource, MrzReading, Progress, ScoreError, ScoreInput, Scorer, StepTimings,
};
use image::RgbImage;

use antispoof::{AntiSpoofConfig, AntiSpoofModel};
use decode::DecodeLimits;
use detect::{Detection, Detector};
use embed::{Embedder, Embedding};
use mrz_reader::MrzReader;

/// Smallest margin (best minus second-best template correlation) of every character of a zone
/// read with confidence. On the generated cards of `examples/mrz_read_rate.rs` no misread
/// character ever had a larger margin, and reads whose misreads cancelled out in the check
/// digits had margins below 0.01.
pub const MRZ_SURE_MARGIN: f32 = 0.03;

/// Environment variable naming the folder that holds the model files.
pub const MODEL_DIR_ENV: &str = "IDV_MODEL_DIR";

/// Where the models are and how large an accepted image may be.
#[derive(Debug, Clone, PartialEq)]
pub struct OnnxConfig {
    /// Folder holding `face_detection_yunet_2023mar.onnx` and
    /// `face_recognition_sface_2021dec.onnx`.
    pub model_dir: PathBuf,
    /// Largest accepted width × height (after reading the header, before decoding).
    pub max_pixels: u64,
    /// Largest accepted encoded size.
    pub max_bytes: u64,
    /// Whether the built-in passive liveness check runs.
    pub builtin_liveness: bool,
    /// The operator's anti-spoofing model, when one is configured. With the built-in check
    /// also on, the liveness score is the lower of the two.
    pub liveness_model: Option<AntiSpoofConfig>,
}

impl Default for OnnxConfig {
    fn default() -> Self {
        Self {
            model_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../models")),
            max_pixels: 40_000_000,
            max_bytes: 15 * 1024 * 1024,
            builtin_liveness: true,
            liveness_model: None,
        }
    }
}

impl OnnxConfig {
    /// The defaults, with `model_dir` taken from `IDV_MODEL_DIR` when it is set.
    pub fn from_env() -> Self {
        let mut config = Self::default();
        if let Some(dir) = std::env::var_os(MODEL_DIR_ENV).filter(|d| !d.is_empty()) {
            config.model_dir = PathBuf::from(dir);
        }
        config
    }

    fn limits(&self) -> DecodeLimits {
        DecodeLimits {
            max_pixels: self.max_pixels,
            max_bytes: self.max_bytes,
        }
    }
}

/// Why the models could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    #[error(
        "model file {} not found; the models ship in the repository's models/ folder, \
         point {MODEL_DIR_ENV} at the folder that holds them",
        path.display()
    )]
    ModelMissing { path: PathBuf },
    #[error("cannot read model file {}: {source}", path.display())]
    ModelRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "model file {} was altered: expected sha256 {expected}, found {found}; \
         restore it from the repository's models/ folder",
        path.display()
    )]
    ModelAltered {
        path: PathBuf,
        expected: &'static str,
        found: String,
    },
    #[error("model file {} failed to load: {reason}", path.display())]
    ModelLoad { path: PathBuf, reason: String },
}

/// Face detection and matching with YuNet and SFace on the CPU.
#[derive(Clone)]
pub struct OnnxScorer {
    inner: Arc<Inner>,
}

struct Inner {
    config: OnnxConfig,
    detector: Detector,
    embedder: Embedder,
    antispoof: Option<AntiSpoofModel>,
    mrz_reader: MrzReader,
    /// Decoded images take up to 3 bytes a pixel (120 MB at the default 40 Mpx limit): at most
    /// one decode or scoring per CPU runs at a time, so concurrent large uploads queue instead
    /// of multiplying memory.
    permits: tokio::sync::Semaphore,
}

impl std::fmt::Debug for OnnxScorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxScorer")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// The decoded images of one verification.
struct Decoded {
    front: RgbImage,
    back: Option<RgbImage>,
    selfie: RgbImage,
}

impl OnnxScorer {
    /// Loads and verifies both models. Slow (seconds): do it once at start-up.
    pub fn load(config: OnnxConfig) -> Result<Self, OnnxError> {
        let detector = Detector::load(&config.model_dir)?;
        let embedder = Embedder::load(&config.model_dir)?;
        let antispoof = match &config.liveness_model {
            Some(model) => Some(AntiSpoofModel::load(model)?),
            None => None,
        };
        let mrz_reader =
            MrzReader::new(mrz_reader::OCRB_FONT).map_err(|e| OnnxError::ModelLoad {
                path: PathBuf::from("assets/OCRB.otf"),
                reason: e.to_string(),
            })?;
        tracing::debug!(model_dir = %config.model_dir.display(), "face models loaded");
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                detector,
                embedder,
                antispoof,
                mrz_reader,
                permits: tokio::sync::Semaphore::new(
                    std::thread::available_parallelism().map_or(2, |n| n.get()),
                ),
            }),
        })
    }

    pub fn config(&self) -> &OnnxConfig {
        &self.inner.config
    }

    /// Decodes an image to upright 8-bit RGB within the configured limits (blocking).
    pub fn decode(&self, bytes: &[u8]) -> Result<RgbImage, ImageRejection> {
        decode::decode(bytes, self.inner.config.limits())
    }

    /// Checks that an image decodes completely and returns its upright size (blocking).
    pub fn check(&self, bytes: &[u8]) -> Result<ImageInfo, ImageRejection> {
        let image = self.decode(bytes)?;
        Ok(ImageInfo {
            width: image.width(),
            height: image.height(),
        })
    }

    /// Faces in a decoded image, largest first (blocking).
    pub fn detect_faces(&self, image: &RgbImage) -> Result<Vec<FaceBox>, ScoreError> {
        Ok(self.detections(image)?.iter().map(|d| d.face).collect())
    }

    /// Measures one verification (blocking; the async [`Scorer::score`] runs this on the
    /// blocking pool).
    pub fn analyse(&self, input: &ScoreInput) -> Result<Evidence, ScoreError> {
        self.analyse_reporting(input, &|_| {})
    }

    /// [`OnnxScorer::analyse`], calling `progress` as each step starts.
    pub fn analyse_reporting(
        &self,
        input: &ScoreInput,
        progress: &(dyn Fn(Step) + Send + Sync),
    ) -> Result<Evidence, ScoreError> {
        let _span = tracing::debug_span!("onnx_analyse").entered();
        let mut timings = StepTimings::default();
        progress(Step::Decoding);
        let decoded = timed(&mut timings.decode, || self.decode_all(input))?;
        progress(Step::FaceDetection);
        let (document, selfie) = timed(&mut timings.detect, || {
            Ok::<_, ScoreError>((
                self.detections(&decoded.front)?,
                self.detections(&decoded.selfie)?,
            ))
        })?;
        tracing::debug!(
            document_faces = document.len(),
            selfie_faces = selfie.len(),
            "faces detected"
        );
        progress(Step::FaceMatching);
        let face_similarity = match (document.first(), selfie.first()) {
            (Some(d), Some(s)) => {
                self.similarity(&decoded.front, d, &decoded.selfie, s, &mut timings)?
            }
            _ => None,
        };
        progress(Step::Liveness);
        let liveness = timed(&mut timings.liveness, || {
            selfie
                .first()
                .map(|face| self.liveness(&decoded.selfie, &face.face))
                .transpose()
        })?
        .flatten();
        progress(Step::DocumentChecks);
        let (document_sharpness, mrz) = timed(&mut timings.document, || {
            (
                sharpness::sharpness(&decoded.front),
                self.read_mrz(&decoded),
            )
        });
        Ok(Evidence {
            document_size: ImageInfo {
                width: decoded.front.width(),
                height: decoded.front.height(),
            },
            document_faces: document.iter().map(|d| d.face).collect(),
            document_back_decoded: decoded.back.as_ref().map(|_| true),
            selfie_faces: selfie.iter().map(|d| d.face).collect(),
            face_similarity,
            document_sharpness: Some(document_sharpness),
            document_sharp: Some(document_sharpness >= sharpness::SHARP_ENOUGH),
            mrz,
            liveness,
            timings,
        })
    }

    /// Liveness of the selfie face: the built-in check, the operator's model, or the lower of
    /// both. `None` when both are switched off.
    fn liveness(
        &self,
        selfie: &RgbImage,
        face: &FaceBox,
    ) -> Result<Option<LivenessEvidence>, ScoreError> {
        let builtin = self
            .inner
            .config
            .builtin_liveness
            .then(|| passive::assess(selfie, passive::FaceRegion::from(face)));
        let model_score = match &self.inner.antispoof {
            Some(model) => Some(
                model
                    .score(selfie, face)
                    .map_err(|e| ScoreError::Internal(format!("liveness model: {e}")))?,
            ),
            None => None,
        };
        let builtin_score = builtin.as_ref().map(|b| b.score);
        let (score, source) = match (builtin_score, model_score) {
            (Some(b), Some(m)) => (b.min(m), LivenessSource::BuiltinAndModel),
            (Some(b), None) => (b, LivenessSource::Builtin),
            (None, Some(m)) => (m, LivenessSource::Model),
            (None, None) => return Ok(None),
        };
        Ok(Some(LivenessEvidence {
            score,
            source,
            builtin_score,
            model_score,
            signals: builtin.map_or_else(Vec::new, |b| {
                b.signals
                    .measures()
                    .into_iter()
                    .map(|(name, score, value)| LivenessMeasure { name, score, value })
                    .collect()
            }),
        }))
    }

    /// Reads the machine-readable zone from the back image (where ID cards carry it) and the
    /// front. The back's zone is reported when both have one; two sides whose zones differ, or
    /// an image holding several zones, are reported as conflicting.
    fn read_mrz(&self, decoded: &Decoded) -> MrzReading {
        let sides = [
            (DocumentSide::Back, decoded.back.as_ref()),
            (DocumentSide::Front, Some(&decoded.front)),
        ];
        let reads: Vec<_> = sides
            .into_iter()
            .filter_map(|(side, image)| Some((side, self.inner.mrz_reader.read(image?)?)))
            .collect();
        let zones: usize = reads.iter().map(|(_, text)| text.zones).sum();
        let Some((side, text)) = reads.first() else {
            return MrzReading::NotFound;
        };
        let one_zone = reads
            .iter()
            .all(|(_, t)| t.zones == 1 && t.lines == text.lines);
        if !one_zone {
            return MrzReading::Conflicting { zones };
        }
        MrzReading::Read {
            side: *side,
            confident: reads.iter().all(|(_, t)| t.min_margin >= MRZ_SURE_MARGIN),
            lines: text.lines.clone(),
        }
    }

    fn decode_all(&self, input: &ScoreInput) -> Result<Decoded, ScoreError> {
        let front = self.decode_field(&input.document_front, "document_front_image")?;
        let back = match &input.document_back {
            Some(back) => Some(self.decode_field(back, "document_back_image")?),
            None => None,
        };
        let selfie = self.decode_field(&input.selfie, "selfie_image")?;
        Ok(Decoded {
            front,
            back,
            selfie,
        })
    }

    fn decode_field(&self, bytes: &[u8], field: &'static str) -> Result<RgbImage, ScoreError> {
        self.decode(bytes)
            .map_err(|rejection| ScoreError::Image { field, rejection })
    }

    fn detections(&self, image: &RgbImage) -> Result<Vec<Detection>, ScoreError> {
        self.inner.detector.detect(image).map_err(internal)
    }

    /// Aligns and embeds the two chosen faces and compares them. `None` when a face's landmarks
    /// are degenerate and it cannot be aligned.
    fn similarity(
        &self,
        document: &RgbImage,
        document_face: &Detection,
        selfie: &RgbImage,
        selfie_face: &Detection,
        timings: &mut StepTimings,
    ) -> Result<Option<f32>, ScoreError> {
        let aligned = timed(&mut timings.align, || {
            align::align(document, &document_face.landmarks)
                .zip(align::align(selfie, &selfie_face.landmarks))
        });
        let Some((document_crop, selfie_crop)) = aligned else {
            return Ok(None);
        };
        let (a, b) = timed(&mut timings.embed, || {
            Ok::<_, ScoreError>((self.embed(&document_crop)?, self.embed(&selfie_crop)?))
        })?;
        Ok(Some(timed(&mut timings.compare, || a.similarity(&b))))
    }

    fn embed(&self, face: &RgbImage) -> Result<Embedding, ScoreError> {
        self.inner.embedder.embed(face).map_err(internal)
    }
}

/// Runs `f` and adds its wall time to `total`.
fn timed<T>(total: &mut Duration, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let value = f();
    *total += start.elapsed();
    value
}

fn internal(error: impl std::fmt::Display) -> ScoreError {
    ScoreError::Internal(format!("face model: {error}"))
}

#[async_trait]
impl Scorer for OnnxScorer {
    async fn check_image(&self, bytes: Arc<[u8]>) -> Result<ImageInfo, ImageRejection> {
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| ImageRejection::Corrupt)?;
        let this = self.clone();
        let span = tracing::Span::current();
        let job = tokio::task::spawn_blocking(move || span.in_scope(|| this.check(&bytes)));
        job.await.unwrap_or_else(|error| {
            // The trait has no internal-error case here; a decoder that panicked on these bytes
            // could not decode them.
            tracing::error!(%error, "image check worker failed");
            Err(ImageRejection::Corrupt)
        })
    }

    async fn score(&self, input: ScoreInput, progress: Progress) -> Result<Evidence, ScoreError> {
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|e| ScoreError::Internal(e.to_string()))?;
        let this = self.clone();
        let span = tracing::Span::current();
        let job = tokio::task::spawn_blocking(move || {
            span.in_scope(|| this.analyse_reporting(&input, progress.as_ref()))
        });
        job.await
            .map_err(|error| ScoreError::Internal(format!("scoring worker failed: {error}")))?
    }
}
