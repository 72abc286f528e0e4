//! The scorer port: what the face and document pipeline measures about one verification.
//!
//! A scorer only measures. It never decides; [`crate::policy`] turns its [`Evidence`] into a
//! decision, so that every adapter is judged by the same rules.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use crate::events::Step;

/// Why an image was refused before any scoring.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRejection {
    /// The bytes are not a JPEG, PNG or WebP image.
    #[error("not a JPEG, PNG or WebP image")]
    UnsupportedType,
    /// The header claims more pixels than the configured limit.
    #[error("image has {pixels} pixels, more than the limit of {limit}")]
    TooManyPixels { pixels: u64, limit: u64 },
    /// The encoded image is larger than the configured byte limit.
    #[error("image is {bytes} bytes, more than the limit of {limit}")]
    TooManyBytes { bytes: u64, limit: u64 },
    /// The image is truncated or otherwise cannot be decoded completely.
    #[error("image data is corrupt or truncated")]
    Corrupt,
}

impl ImageRejection {
    /// Stable machine-readable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedType => "unsupported_image_type",
            Self::TooManyPixels { .. } => "image_too_large",
            Self::TooManyBytes { .. } => "image_too_large",
            Self::Corrupt => "image_corrupt",
        }
    }
}

/// What a successful image check learnt from the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImageInfo {
    /// Width after EXIF orientation is applied.
    pub width: u32,
    /// Height after EXIF orientation is applied.
    pub height: u32,
}

/// The images of one verification, as submitted (encoded bytes).
#[derive(Clone)]
pub struct ScoreInput {
    pub document_front: Arc<[u8]>,
    pub document_back: Option<Arc<[u8]>>,
    pub selfie: Arc<[u8]>,
}

impl std::fmt::Debug for ScoreInput {
    // Image bytes are personal data: show sizes only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScoreInput")
            .field("document_front_bytes", &self.document_front.len())
            .field(
                "document_back_bytes",
                &self.document_back.as_ref().map(|b| b.len()),
            )
            .field("selfie_bytes", &self.selfie.len())
            .finish()
    }
}

/// A face found by the detector, in the coordinates of the upright image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FaceBox {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
    /// Detector confidence in [0, 1].
    pub confidence: f32,
}

impl FaceBox {
    /// Area of the box in square pixels.
    pub fn area(&self) -> f32 {
        self.width.max(0.0) * self.height.max(0.0)
    }
}

/// Wall time of each pipeline step, summed over the images it ran on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct StepTimings {
    pub decode: Duration,
    pub detect: Duration,
    pub align: Duration,
    pub embed: Duration,
    pub compare: Duration,
    pub liveness: Duration,
    pub document: Duration,
}

/// Everything a scorer measured about one verification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// Size of the upright document front image.
    pub document_size: ImageInfo,
    /// Faces on the document front, largest first.
    pub document_faces: Vec<FaceBox>,
    /// Whether the document back (when given) decoded.
    pub document_back_decoded: Option<bool>,
    /// Faces in the selfie, largest first.
    pub selfie_faces: Vec<FaceBox>,
    /// Cosine similarity of the embeddings of the largest document face and the largest selfie
    /// face, in [-1, 1]; `None` when either image has no face.
    pub face_similarity: Option<f32>,
    /// Focus of the document front: the measure and its scale are the scorer's own, and
    /// [`Evidence::document_sharp`] says whether it is enough to read the document.
    pub document_sharpness: Option<f32>,
    /// Whether the scorer judged the document front sharp enough to read; `None` when it did not
    /// measure.
    pub document_sharp: Option<bool>,
    /// What the reader of machine-readable zones found on the document images.
    pub mrz: MrzReading,
    /// Liveness of the selfie; `None` when the scorer has no way of assessing it or found no
    /// face to assess.
    pub liveness: Option<LivenessEvidence>,
    pub timings: StepTimings,
}

/// Which document image a reading came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentSide {
    Front,
    Back,
}

impl DocumentSide {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Front => "front",
            Self::Back => "back",
        }
    }
}

/// The machine-readable zone as the scorer read it, before any parsing.
#[derive(Clone, PartialEq, Serialize)]
pub enum MrzReading {
    /// The scorer does not read machine-readable zones.
    NotAttempted,
    /// No zone was found on any document image.
    NotFound,
    /// More than one zone was found: several on one image, or front and back zones that
    /// differ. One document has one zone, so this is a pasted zone or several documents.
    Conflicting { zones: usize },
    /// A zone was found and its characters recognised.
    Read {
        side: DocumentSide,
        /// The recognised lines (2 or 3, all of one length).
        lines: Vec<String>,
        /// Whether every character was recognised with a clear margin over the next-best
        /// character; a wrong check digit in a confident read means the printed zone is wrong.
        confident: bool,
    },
}

impl std::fmt::Debug for MrzReading {
    // The lines hold names, numbers and dates: never show them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotAttempted => f.write_str("NotAttempted"),
            Self::NotFound => f.write_str("NotFound"),
            Self::Conflicting { zones } => write!(f, "Conflicting {{ zones: {zones} }}"),
            Self::Read {
                side,
                lines,
                confident,
            } => f
                .debug_struct("Read")
                .field("side", side)
                .field("lines", &lines.len())
                .field("confident", confident)
                .finish(),
        }
    }
}

/// Where a liveness score came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LivenessSource {
    /// The built-in passive recapture check.
    Builtin,
    /// The operator's anti-spoofing model.
    Model,
    /// Both; the score is the lower of the two.
    BuiltinAndModel,
}

impl LivenessSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Builtin => "builtin",
            Self::Model => "model",
            Self::BuiltinAndModel => "builtin+model",
        }
    }
}

/// A named measurement behind a liveness score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LivenessMeasure {
    pub name: &'static str,
    /// In [0, 1]; 1 looks live.
    pub score: f32,
    /// The statistic the score was computed from.
    pub value: f32,
}

/// The liveness of the selfie.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LivenessEvidence {
    /// In [0, 1]; 1 means a live person.
    pub score: f32,
    pub source: LivenessSource,
    pub builtin_score: Option<f32>,
    pub model_score: Option<f32>,
    pub signals: Vec<LivenessMeasure>,
}

/// Why scoring failed as a whole. Image problems found here are reported per image.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoreError {
    /// One of the images cannot be used; `field` is the request field it came from.
    #[error("{field}: {rejection}")]
    Image {
        field: &'static str,
        rejection: ImageRejection,
    },
    /// The scorer itself failed (model error, worker thread died).
    #[error("scorer failure: {0}")]
    Internal(String),
}

/// Called by a scorer as each step starts; cheap and non-blocking.
pub type Progress = Arc<dyn Fn(Step) + Send + Sync>;

/// Measures faces and documents.
///
/// Implementations run CPU-heavy work on blocking threads, never on the async executor.
#[async_trait]
pub trait Scorer: Send + Sync + 'static {
    /// Checks that `bytes` is a complete JPEG, PNG or WebP image within the configured byte and
    /// pixel limits. The format is found from the content, never from a name or declared type,
    /// and the pixel limit is checked from the header before decoding.
    async fn check_image(&self, bytes: Arc<[u8]>) -> Result<ImageInfo, ImageRejection>;

    /// Measures one verification, calling `progress` as each of its steps (decoding, face
    /// detection, face matching) starts.
    async fn score(&self, input: ScoreInput, progress: Progress) -> Result<Evidence, ScoreError>;
}
