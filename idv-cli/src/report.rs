//! One verification of image files, and its JSON report.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use idv_adapters::onnx::OnnxScorer;
use idv_core::domain::{DocumentType, Reason, Status, VerificationResult};
use idv_core::policy::{Policy, Subject};
use idv_core::scoring::{ScoreError, ScoreInput};
use serde::Serialize;

/// The image files of one case.
#[derive(Debug, Clone)]
pub struct CaseFiles {
    pub document_front: PathBuf,
    pub document_back: Option<PathBuf>,
    pub selfie: PathBuf,
}

/// What `idv verify` prints and `idv batch` writes per line.
#[derive(Debug, Serialize)]
pub struct Report {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// `approved`, `rejected`, `review`, or `error` when the case could not be processed.
    pub status: &'static str,
    pub document_type: &'static str,
    pub reasons: Vec<Reason>,
    pub face_match_score: Option<f64>,
    pub liveness_score: Option<f64>,
    pub document_validity: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<VerificationResult>,
    /// Why the case could not be processed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Reading the files, in milliseconds (the pipeline's steps are in `result.timings_ms`).
    pub read_ms: f64,
}

impl Report {
    pub fn is_error(&self) -> bool {
        self.error.is_some()
    }

    fn decided(
        document_type: DocumentType,
        status: Status,
        result: VerificationResult,
        read_ms: f64,
    ) -> Self {
        Self {
            case: None,
            status: status.as_str(),
            document_type: document_type.as_str(),
            reasons: result.reasons.clone(),
            face_match_score: result.face_match_score,
            liveness_score: result.liveness_score,
            document_validity: Some(result.document_validity),
            result: Some(result),
            error: None,
            read_ms,
        }
    }

    /// A case that could not be processed, with the reason.
    pub fn failed(document_type: DocumentType, error: String) -> Self {
        Self {
            case: None,
            status: "error",
            document_type: document_type.as_str(),
            reasons: Vec::new(),
            face_match_score: None,
            liveness_score: None,
            document_validity: None,
            result: None,
            error: Some(error),
            read_ms: 0.0,
        }
    }
}

fn read(path: &Path) -> Result<Arc<[u8]>, String> {
    std::fs::read(path)
        .map(Arc::from)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Verifies one case on the calling thread (CPU-heavy: call from a worker thread).
pub fn verify_files(
    scorer: &OnnxScorer,
    policy: &Policy,
    document_type: DocumentType,
    files: &CaseFiles,
) -> Report {
    let started = Instant::now();
    let input = (|| {
        Ok::<_, String>(ScoreInput {
            document_front: read(&files.document_front)?,
            document_back: files.document_back.as_deref().map(read).transpose()?,
            selfie: read(&files.selfie)?,
        })
    })();
    let input = match input {
        Ok(input) => input,
        Err(e) => return Report::failed(document_type, e),
    };
    let read_ms = started.elapsed().as_secs_f64() * 1000.0;
    match scorer.analyse(&input) {
        Ok(evidence) => {
            let (status, result) = policy.decide(&evidence, &Subject::today(document_type));
            Report::decided(document_type, status, result, read_ms)
        }
        Err(ScoreError::Image { field, rejection }) => {
            let path = match field {
                "document_back_image" => files
                    .document_back
                    .as_deref()
                    .unwrap_or(&files.document_front),
                "selfie_image" => &files.selfie,
                _ => &files.document_front,
            };
            Report::failed(
                document_type,
                format!("{}: {rejection} ({})", path.display(), rejection.code()),
            )
        }
        Err(ScoreError::Internal(e)) => {
            Report::failed(document_type, format!("scoring failed: {e}"))
        }
    }
}
