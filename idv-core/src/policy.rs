//! The decision policy: from measured evidence to `approved`, `rejected` or `review`.
//!
//! ## Face match score
//! The scorer measures the cosine similarity `c` of two SFace embeddings. The score shown to
//! clients is a piecewise-linear map of `c` anchored at SFace's published same-person threshold
//! `T = 0.363` (OpenCV Zoo, measured on LFW):
//!
//! | cosine `c`        | `face_match_score`                  |
//! |-------------------|-------------------------------------|
//! | `c ≤ 0`           | 0                                   |
//! | `0 < c < T`       | `0.5 · c / T`                       |
//! | `T ≤ c < 0.7`     | `0.5 + 0.5 · (c − T) / (0.7 − T)`   |
//! | `c ≥ 0.7`         | 1                                   |
//!
//! So 0.5 is the published threshold and 1 means "at least as similar as a typical genuine
//! pair". The score is monotonic in `c`; it is not a calibrated probability.

use crate::domain::{CheckOutcome, DocumentChecks, Reason, Status, TimingsMs, VerificationResult};
use crate::scoring::{Evidence, FaceBox, StepTimings};

/// SFace's published cosine threshold for "same person".
pub const SFACE_COSINE_THRESHOLD: f64 = 0.363;
/// Cosine at which the score reaches 1.
const SATURATION_COSINE: f64 = 0.7;

/// Maps a cosine similarity to `face_match_score` (see the module docs).
pub fn match_score(cosine: f64) -> f64 {
    let t = SFACE_COSINE_THRESHOLD;
    let score = if cosine <= 0.0 {
        0.0
    } else if cosine < t {
        0.5 * cosine / t
    } else {
        0.5 + 0.5 * (cosine - t) / (SATURATION_COSINE - t)
    };
    score.clamp(0.0, 1.0)
}

/// Decision settings. Every field is operator configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// `face_match_score` at or above which faces match (0.5 = SFace's published threshold).
    pub match_threshold: f64,
    /// Scores within this distance of the threshold go to `review`.
    pub match_review_margin: f64,
    /// When true, a verification whose liveness was not assessed goes to `review`.
    pub require_liveness: bool,
    /// Minimum liveness score when liveness is assessed.
    pub liveness_threshold: f64,
    /// Shortest side, in pixels, of an acceptable document image.
    pub min_document_side: u32,
    /// A second selfie face counts as "clear" when its area is at least this share of the
    /// largest face's area; smaller faces are people in the background.
    pub second_face_area_ratio: f32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            match_threshold: 0.5,
            match_review_margin: 0.05,
            require_liveness: false,
            liveness_threshold: 0.5,
            min_document_side: 300,
            second_face_area_ratio: 0.25,
        }
    }
}

impl Policy {
    /// Checks that the settings make sense; returns the offending setting's name.
    pub fn validate(&self) -> Result<(), &'static str> {
        let unit = |v: f64| (0.0..=1.0).contains(&v);
        if !unit(self.match_threshold) {
            return Err("match_threshold must be in [0, 1]");
        }
        if !(0.0..0.5).contains(&self.match_review_margin) {
            return Err("match_review_margin must be in [0, 0.5)");
        }
        if !unit(self.liveness_threshold) {
            return Err("liveness_threshold must be in [0, 1]");
        }
        if !(0.0..=1.0).contains(&self.second_face_area_ratio) {
            return Err("second_face_area_ratio must be in [0, 1]");
        }
        Ok(())
    }

    /// Turns evidence into a status and a result.
    pub fn decide(&self, evidence: &Evidence) -> (Status, VerificationResult) {
        let mut rejections = Vec::new();
        let mut doubts = Vec::new();

        let selfie_faces = self.clear_faces(&evidence.selfie_faces);
        match selfie_faces {
            0 => rejections.push(Reason::NoFaceDetected),
            1 => {}
            _ => rejections.push(Reason::MultipleFaces),
        }

        let checks = self.document_checks(evidence);
        let document_validity = is_valid(&checks);
        if !document_validity {
            rejections.push(Reason::DocumentInvalid);
        }

        let face_match_score = evidence.face_similarity.map(|c| match_score(f64::from(c)));
        if let (Some(score), 1) = (face_match_score, selfie_faces) {
            if score < self.match_threshold - self.match_review_margin {
                rejections.push(Reason::FaceMismatch);
            } else if score < self.match_threshold + self.match_review_margin {
                doubts.push(Reason::FaceMatchInconclusive);
            }
        }

        let liveness_score = evidence.liveness.map(f64::from);
        match liveness_score {
            None if self.require_liveness => doubts.push(Reason::LivenessNotAssessed),
            Some(score) if score < self.liveness_threshold && self.require_liveness => {
                doubts.push(Reason::LivenessNotAssessed)
            }
            _ => {}
        }

        let status = if !rejections.is_empty() {
            Status::Rejected
        } else if !doubts.is_empty() {
            Status::Review
        } else {
            Status::Approved
        };
        rejections.extend(doubts);

        let result = VerificationResult {
            face_match_score,
            liveness_score,
            document_validity,
            face_similarity: evidence.face_similarity.map(f64::from),
            liveness_assessed: liveness_score.is_some(),
            reasons: rejections,
            document_checks: checks,
            faces_in_selfie: evidence.selfie_faces.len() as u32,
            faces_on_document: evidence.document_faces.len() as u32,
            timings_ms: timings_ms(&evidence.timings),
            manual_decision: None,
        };
        (status, result)
    }

    /// Faces in a selfie that are large enough to be a second person at the camera.
    fn clear_faces(&self, faces: &[FaceBox]) -> usize {
        let Some(largest) = faces.iter().map(FaceBox::area).reduce(f32::max) else {
            return 0;
        };
        faces
            .iter()
            .filter(|f| f.area() >= largest * self.second_face_area_ratio)
            .count()
    }

    fn document_checks(&self, evidence: &Evidence) -> DocumentChecks {
        let size = evidence.document_size;
        let outcome = |passed: bool| {
            if passed {
                CheckOutcome::Passed
            } else {
                CheckOutcome::Failed
            }
        };
        DocumentChecks {
            decodes: CheckOutcome::Passed,
            large_enough: outcome(size.width.min(size.height) >= self.min_document_side),
            portrait_found: outcome(!evidence.document_faces.is_empty()),
            back_decodes: evidence
                .document_back_decoded
                .map_or(CheckOutcome::NotRun, outcome),
        }
    }
}

/// A document is valid when no check failed and the portrait was found.
fn is_valid(checks: &DocumentChecks) -> bool {
    let all = [
        checks.decodes,
        checks.large_enough,
        checks.portrait_found,
        checks.back_decodes,
    ];
    checks.portrait_found == CheckOutcome::Passed && !all.contains(&CheckOutcome::Failed)
}

fn timings_ms(t: &StepTimings) -> TimingsMs {
    let ms = |d: std::time::Duration| (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
    let total = t.decode + t.detect + t.align + t.embed + t.compare;
    TimingsMs {
        decode: ms(t.decode),
        detect: ms(t.detect),
        align: ms(t.align),
        embed: ms(t.embed),
        compare: ms(t.compare),
        total: ms(total),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::ImageInfo;

    fn face(size: f32) -> FaceBox {
        FaceBox {
            x: 0.0,
            y: 0.0,
            width: size,
            height: size,
            confidence: 0.9,
        }
    }

    fn evidence(similarity: Option<f32>, selfie_faces: Vec<FaceBox>) -> Evidence {
        Evidence {
            document_size: ImageInfo {
                width: 800,
                height: 500,
            },
            document_faces: vec![face(120.0)],
            document_back_decoded: None,
            selfie_faces,
            face_similarity: similarity,
            liveness: None,
            timings: StepTimings::default(),
        }
    }

    #[test]
    fn score_is_half_at_the_published_threshold_and_monotonic() {
        assert!((match_score(SFACE_COSINE_THRESHOLD) - 0.5).abs() < 1e-12);
        assert_eq!(match_score(-0.4), 0.0);
        assert_eq!(match_score(0.9), 1.0);
        let samples: Vec<f64> = (-10..=10)
            .map(|i| match_score(f64::from(i) / 10.0))
            .collect();
        assert!(samples.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn approves_a_clear_match_without_inventing_liveness() {
        let (status, result) = Policy::default().decide(&evidence(Some(0.7), vec![face(200.0)]));
        assert_eq!(status, Status::Approved);
        assert_eq!(result.liveness_score, None);
        assert!(!result.liveness_assessed);
        assert!(result.document_validity);
    }

    #[test]
    fn rejects_a_clear_mismatch() {
        let (status, result) = Policy::default().decide(&evidence(Some(0.05), vec![face(200.0)]));
        assert_eq!(status, Status::Rejected);
        assert_eq!(result.reasons, vec![Reason::FaceMismatch]);
    }

    #[test]
    fn sends_scores_near_the_threshold_to_review() {
        let (status, result) = Policy::default().decide(&evidence(Some(0.37), vec![face(200.0)]));
        assert_eq!(status, Status::Review);
        assert_eq!(result.reasons, vec![Reason::FaceMatchInconclusive]);
    }

    #[test]
    fn ignores_small_background_faces_but_not_a_second_clear_one() {
        let policy = Policy::default();
        let (status, _) = policy.decide(&evidence(Some(0.7), vec![face(200.0), face(40.0)]));
        assert_eq!(status, Status::Approved);
        let (status, result) = policy.decide(&evidence(Some(0.7), vec![face(200.0), face(150.0)]));
        assert_eq!(status, Status::Rejected);
        assert_eq!(result.reasons, vec![Reason::MultipleFaces]);
    }

    #[test]
    fn rejects_a_selfie_without_a_face() {
        let (status, result) = Policy::default().decide(&evidence(None, vec![]));
        assert_eq!(status, Status::Rejected);
        assert_eq!(result.reasons, vec![Reason::NoFaceDetected]);
        assert_eq!(result.face_match_score, None);
    }

    #[test]
    fn required_liveness_that_was_not_assessed_goes_to_review() {
        let policy = Policy {
            require_liveness: true,
            ..Policy::default()
        };
        let (status, result) = policy.decide(&evidence(Some(0.7), vec![face(200.0)]));
        assert_eq!(status, Status::Review);
        assert_eq!(result.reasons, vec![Reason::LivenessNotAssessed]);
    }

    #[test]
    fn document_without_portrait_is_invalid() {
        let mut e = evidence(Some(0.7), vec![face(200.0)]);
        e.document_faces.clear();
        e.face_similarity = None;
        let (status, result) = Policy::default().decide(&e);
        assert_eq!(status, Status::Rejected);
        assert!(!result.document_validity);
        assert_eq!(result.document_checks.portrait_found, CheckOutcome::Failed);
    }
}
