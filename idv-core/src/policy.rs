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

//!
//! ## Liveness
//! The scorer measures `liveness_score` in [0, 1]. [`LivenessMode`] says what a score below
//! [`Policy::liveness_threshold`] does: reject (`required`), send to review (`review`, the
//! default) or nothing but be reported (`advisory`).
//!
//! ## Document
//! `document_validity` is the conjunction of the checks in
//! [`crate::domain::DocumentChecks`]; a check that could not run counts against it. A
//! confident read of a machine-readable zone with a wrong check digit, an expired document and
//! a zone naming another kind of document are rejected; a zone that cannot be found or read
//! with confidence, or a blurred image, goes to review, since the cause may be the photo rather
//! than the document.

use chrono::NaiveDate;

use crate::domain::{
    CheckDigit, CheckOutcome, DocumentChecks, DocumentData, DocumentType, LivenessDetail,
    LivenessSignal, Reason, Status, TimingsMs, VerificationResult,
};
use crate::mrz::{self, DocumentKind, Mrz};
use crate::scoring::{Evidence, FaceBox, LivenessEvidence, MrzReading, StepTimings};

/// SFace's published cosine threshold for "same person".
pub const SFACE_COSINE_THRESHOLD: f64 = 0.363;
/// Cosine at or above which the selfie is taken to be a copy of the document portrait rather
/// than a new photo: two photos of one person taken apart score 0.66–0.88 with SFace, while the
/// card's own portrait cropped and rescaled scores about 0.99.
pub const SAME_PHOTO_COSINE: f64 = 0.95;
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

/// What a liveness score below the threshold does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LivenessMode {
    /// Reject it (`liveness_failed`); a verification whose liveness could not be assessed goes
    /// to review (`liveness_not_assessed`).
    Required,
    /// Send it to review (`liveness_failed`).
    #[default]
    Review,
    /// Report the score and change nothing.
    Advisory,
}

impl LivenessMode {
    pub const ALL: [LivenessMode; 3] = [Self::Required, Self::Review, Self::Advisory];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Review => "review",
            Self::Advisory => "advisory",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == text)
    }
}

/// Decision settings. Every field is operator configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// `face_match_score` at or above which faces match (0.5 = SFace's published threshold).
    pub match_threshold: f64,
    /// Scores within this distance of the threshold go to `review`.
    pub match_review_margin: f64,
    /// What a low liveness score does.
    pub liveness_mode: LivenessMode,
    /// `liveness_score` below which the selfie counts as a presentation attack.
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
            liveness_mode: LivenessMode::default(),
            liveness_threshold: 0.5,
            min_document_side: 300,
            second_face_area_ratio: 0.25,
        }
    }
}

/// What the decision needs to know besides the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject {
    /// The kind of document the caller said they sent.
    pub document_type: DocumentType,
    /// The date expiry is judged against.
    pub today: NaiveDate,
}

impl Subject {
    /// `document_type`, judged against today's date in UTC.
    pub fn today(document_type: DocumentType) -> Self {
        Self {
            document_type,
            today: chrono::Utc::now().date_naive(),
        }
    }
}

/// Whether documents of this type carry a machine-readable zone. Passports, identity cards
/// and residence permits do under ICAO 9303; driving licences mostly do not.
pub fn expects_mrz(document_type: DocumentType) -> bool {
    !matches!(document_type, DocumentType::DrivingLicense)
}

/// Whether a zone's document code fits the declared document type.
fn type_fits(kind: DocumentKind, document_type: DocumentType) -> bool {
    match document_type {
        DocumentType::Passport => kind == DocumentKind::Passport,
        DocumentType::IdCard | DocumentType::ResidencePermit => kind == DocumentKind::IdCard,
        DocumentType::DrivingLicense => kind == DocumentKind::DrivingLicense,
    }
}

/// The document checks and the reasons they give.
struct DocumentFindings {
    checks: DocumentChecks,
    data: Option<DocumentData>,
    rejections: Vec<Reason>,
    doubts: Vec<Reason>,
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
    pub fn decide(&self, evidence: &Evidence, subject: &Subject) -> (Status, VerificationResult) {
        let mut rejections = Vec::new();
        let mut doubts = Vec::new();

        let selfie_faces = self.clear_faces(&evidence.selfie_faces);
        match selfie_faces {
            0 => rejections.push(Reason::NoFaceDetected),
            1 => {}
            _ => rejections.push(Reason::MultipleFaces),
        }

        let document = self.document_findings(evidence, subject);
        let document_validity = document.checks.passed();
        rejections.extend(document.rejections);
        doubts.extend(document.doubts);

        let face_match_score = evidence.face_similarity.map(|c| match_score(f64::from(c)));
        if let (Some(score), 1) = (face_match_score, selfie_faces) {
            if score < self.match_threshold - self.match_review_margin {
                rejections.push(Reason::FaceMismatch);
            } else if score < self.match_threshold + self.match_review_margin {
                doubts.push(Reason::FaceMatchInconclusive);
            }
        }

        if evidence
            .face_similarity
            .is_some_and(|c| f64::from(c) >= SAME_PHOTO_COSINE)
        {
            doubts.push(Reason::SelfieMatchesDocumentPortrait);
        }

        let liveness_score = evidence.liveness.as_ref().map(|l| round4(l.score));
        match (liveness_score, self.liveness_mode) {
            (_, LivenessMode::Advisory) => {}
            (None, LivenessMode::Required) => doubts.push(Reason::LivenessNotAssessed),
            (None, LivenessMode::Review) => {}
            (Some(score), mode) if score < self.liveness_threshold => match mode {
                LivenessMode::Required => rejections.push(Reason::LivenessFailed),
                _ => doubts.push(Reason::LivenessFailed),
            },
            (Some(_), _) => {}
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
            document_checks: document.checks,
            document: document.data,
            liveness: evidence.liveness.as_ref().map(liveness_detail),
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

    fn document_findings(&self, evidence: &Evidence, subject: &Subject) -> DocumentFindings {
        use CheckOutcome::{Failed, NotRun, Passed};
        let size = evidence.document_size;
        let mut checks = DocumentChecks {
            decodes: Passed,
            large_enough: CheckOutcome::from_bool(
                size.width.min(size.height) >= self.min_document_side,
            ),
            sharp_enough: evidence
                .document_sharp
                .map_or(NotRun, CheckOutcome::from_bool),
            portrait_found: CheckOutcome::from_bool(!evidence.document_faces.is_empty()),
            back_decodes: evidence
                .document_back_decoded
                .map_or(NotRun, CheckOutcome::from_bool),
            ..DocumentChecks::default()
        };
        let mut rejections = Vec::new();
        let mut doubts = Vec::new();
        if [
            checks.large_enough,
            checks.portrait_found,
            checks.back_decodes,
        ]
        .contains(&Failed)
        {
            rejections.push(Reason::DocumentInvalid);
        }

        let mut data = None;
        match &evidence.mrz {
            MrzReading::NotAttempted => {}
            MrzReading::NotFound if !expects_mrz(subject.document_type) => {}
            MrzReading::NotFound => {
                checks.mrz_found = Failed;
                doubts.push(Reason::DocumentUnreadable);
            }
            MrzReading::Conflicting { .. } => {
                checks.mrz_found = Failed;
                doubts.push(Reason::MrzConflict);
            }
            MrzReading::Read {
                side,
                lines,
                confident,
            } => match mrz::parse(lines) {
                Err(_) => {
                    checks.mrz_found = Failed;
                    doubts.push(Reason::DocumentUnreadable);
                }
                Ok(zone) => {
                    checks.mrz_found = Passed;
                    let reasons = (&mut rejections, &mut doubts);
                    check_zone(&zone, *confident, subject, &mut checks, reasons);
                    data = Some(document_data(&zone, side.as_str(), subject.today));
                }
            },
        }
        if checks.sharp_enough == Failed && !doubts.contains(&Reason::DocumentUnreadable) {
            doubts.push(Reason::DocumentUnreadable);
        }
        // Every failed check gave a reason above; checks that did not run give this one.
        if !checks.passed() && rejections.is_empty() && doubts.is_empty() {
            doubts.push(Reason::DocumentChecksIncomplete);
        }
        rejections.dedup();
        doubts.dedup();
        DocumentFindings {
            checks,
            data,
            rejections,
            doubts,
        }
    }
}

/// Checks a parsed zone's check digits, its type against `document_type` and its expiry date,
/// recording each outcome in `checks` and the reasons they give in (rejections, doubts).
fn check_zone(
    zone: &Mrz,
    confident: bool,
    subject: &Subject,
    checks: &mut DocumentChecks,
    (rejections, doubts): (&mut Vec<Reason>, &mut Vec<Reason>),
) {
    use CheckOutcome::{Failed, Passed};
    let digits_valid = zone.checksums_valid();
    checks.mrz_check_digits = CheckOutcome::from_bool(digits_valid);
    if !digits_valid {
        // A confident read of a wrong digit means the printed zone is wrong; an unsure read
        // may simply be a misread character.
        if confident {
            rejections.push(Reason::MrzChecksumFailed);
        } else {
            doubts.push(Reason::DocumentUnreadable);
        }
    }
    if digits_valid || confident {
        let fits = type_fits(zone.document_kind(), subject.document_type);
        checks.type_consistent = CheckOutcome::from_bool(fits);
        if !fits {
            rejections.push(Reason::DocumentTypeMismatch);
        }
    }
    // A date whose check digit fails cannot be trusted either way.
    if zone.check("expiry_date").is_some_and(|c| c.valid) {
        match zone.expiry_date.expiry() {
            Some(expiry) if expiry < subject.today => {
                checks.not_expired = Failed;
                rejections.push(Reason::DocumentExpired);
            }
            Some(_) => checks.not_expired = Passed,
            None => {
                checks.not_expired = Failed;
                doubts.push(Reason::DocumentUnreadable);
            }
        }
    }
}

fn document_data(zone: &Mrz, side: &str, today: NaiveDate) -> DocumentData {
    DocumentData {
        mrz_format: zone.format.as_str().to_owned(),
        side: side.to_owned(),
        document_code: zone.document_code.clone(),
        issuing_state: zone.issuing_state.clone(),
        document_number: zone.document_number.clone(),
        surname: zone.surname.clone(),
        given_names: zone.given_names.clone(),
        nationality: zone.nationality.clone(),
        sex: zone.sex.to_string(),
        birth_date: zone.birth_date.birth(today),
        expiry_date: zone.expiry_date.expiry(),
        optional_data: zone.optional_data.clone(),
        check_digits: zone
            .checks
            .iter()
            .map(|c| CheckDigit {
                field: c.field.to_owned(),
                valid: c.valid,
            })
            .collect(),
    }
}

fn liveness_detail(evidence: &LivenessEvidence) -> LivenessDetail {
    LivenessDetail {
        source: evidence.source.as_str().to_owned(),
        model_score: evidence.model_score.map(round4),
        builtin_score: evidence.builtin_score.map(round4),
        signals: evidence
            .signals
            .iter()
            .map(|s| LivenessSignal {
                name: s.name.to_owned(),
                score: round4(s.score),
                value: round4(s.value),
            })
            .collect(),
    }
}

/// A single-precision measurement as a double with four decimals, so that results do not show
/// the noise of widening `f32` to `f64`.
fn round4(value: f32) -> f64 {
    (f64::from(value) * 1e4).round() / 1e4
}

fn timings_ms(t: &StepTimings) -> TimingsMs {
    let ms = |d: std::time::Duration| (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
    let total = t.decode + t.detect + t.align + t.embed + t.compare + t.liveness + t.document;
    TimingsMs {
        decode: ms(t.decode),
        detect: ms(t.detect),
        align: ms(t.align),
        embed: ms(t.embed),
        compare: ms(t.compare),
        liveness: ms(t.liveness),
        document: ms(t.document),
        total: ms(total),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::{DocumentSide, ImageInfo, LivenessSource};

    const VALID_ZONE: [&str; 3] = [
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F3404159UTO<<<<<<<<<<<2",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ];

    fn face(size: f32) -> FaceBox {
        FaceBox {
            x: 0.0,
            y: 0.0,
            width: size,
            height: size,
            confidence: 0.9,
        }
    }

    fn read(zone: &[&str], confident: bool) -> MrzReading {
        MrzReading::Read {
            side: DocumentSide::Front,
            lines: zone.iter().map(|l| l.to_string()).collect(),
            confident,
        }
    }

    fn live(score: f32) -> Option<LivenessEvidence> {
        Some(LivenessEvidence {
            score,
            source: LivenessSource::Builtin,
            builtin_score: Some(score),
            model_score: None,
            signals: Vec::new(),
        })
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
            document_sharpness: Some(1.0),
            document_sharp: Some(true),
            mrz: read(&VALID_ZONE, true),
            liveness: live(0.9),
            timings: StepTimings::default(),
        }
    }

    fn id_card() -> Subject {
        Subject {
            document_type: DocumentType::IdCard,
            today: NaiveDate::from_ymd_opt(2026, 12, 4).unwrap(),
        }
    }

    fn decide(e: &Evidence) -> (Status, VerificationResult) {
        Policy::default().decide(e, &id_card())
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
    fn approves_a_clear_match_with_a_valid_document_and_a_live_selfie() {
        let (status, result) = decide(&evidence(Some(0.7), vec![face(200.0)]));
        assert_eq!(status, Status::Approved, "{:?}", result.reasons);
        assert_eq!(result.liveness_score, Some(0.9));
        assert!(result.document_validity);
        assert!(result
            .document_checks
            .all()
            .iter()
            .all(|(name, o)| { *o == CheckOutcome::Passed || *name == "back_decodes" }));
        let data = result.document.expect("parsed fields");
        assert_eq!(data.document_number, "D23145890");
        assert_eq!(data.expiry_date, NaiveDate::from_ymd_opt(2034, 4, 15));
        assert_eq!(data.birth_date, NaiveDate::from_ymd_opt(1974, 8, 12));
    }

    #[test]
    fn rejects_a_clear_mismatch() {
        let (status, result) = decide(&evidence(Some(0.05), vec![face(200.0)]));
        assert_eq!(status, Status::Rejected);
        assert_eq!(result.reasons, vec![Reason::FaceMismatch]);
    }

    #[test]
    fn sends_scores_near_the_threshold_to_review() {
        let (status, result) = decide(&evidence(Some(0.37), vec![face(200.0)]));
        assert_eq!(status, Status::Review);
        assert_eq!(result.reasons, vec![Reason::FaceMatchInconclusive]);
    }

    #[test]
    fn ignores_small_background_faces_but_not_a_second_clear_one() {
        let (status, _) = decide(&evidence(Some(0.7), vec![face(200.0), face(40.0)]));
        assert_eq!(status, Status::Approved);
        let (status, result) = decide(&evidence(Some(0.7), vec![face(200.0), face(150.0)]));
        assert_eq!(status, Status::Rejected);
        assert_eq!(result.reasons, vec![Reason::MultipleFaces]);
    }

    #[test]
    fn rejects_a_selfie_without_a_face() {
        let mut e = evidence(None, vec![]);
        e.liveness = None;
        let (status, result) = decide(&e);
        assert_eq!(status, Status::Rejected);
        assert_eq!(result.reasons, vec![Reason::NoFaceDetected]);
        assert_eq!(result.face_match_score, None);
    }

    #[test]
    fn low_liveness_follows_the_mode() {
        let mut e = evidence(Some(0.7), vec![face(200.0)]);
        e.liveness = live(0.2);
        let with = |mode| Policy {
            liveness_mode: mode,
            ..Policy::default()
        };
        let (status, result) = with(LivenessMode::Required).decide(&e, &id_card());
        assert_eq!(status, Status::Rejected);
        assert_eq!(result.reasons, vec![Reason::LivenessFailed]);
        let (status, result) = with(LivenessMode::Review).decide(&e, &id_card());
        assert_eq!(status, Status::Review);
        assert_eq!(result.reasons, vec![Reason::LivenessFailed]);
        let (status, result) = with(LivenessMode::Advisory).decide(&e, &id_card());
        assert_eq!(status, Status::Approved);
        assert_eq!(result.liveness_score, Some(0.2));
    }

    #[test]
    fn required_liveness_that_was_not_assessed_goes_to_review() {
        let policy = Policy {
            liveness_mode: LivenessMode::Required,
            ..Policy::default()
        };
        let mut e = evidence(Some(0.7), vec![face(200.0)]);
        e.liveness = None;
        let (status, result) = policy.decide(&e, &id_card());
        assert_eq!(status, Status::Review);
        assert_eq!(result.reasons, vec![Reason::LivenessNotAssessed]);
    }

    #[test]
    fn document_without_portrait_is_invalid() {
        let mut e = evidence(Some(0.7), vec![face(200.0)]);
        e.document_faces.clear();
        e.face_similarity = None;
        let (status, result) = decide(&e);
        assert_eq!(status, Status::Rejected);
        assert!(!result.document_validity);
        assert_eq!(result.document_checks.portrait_found, CheckOutcome::Failed);
        assert_eq!(result.reasons, vec![Reason::DocumentInvalid]);
    }

    #[test]
    fn an_expired_document_is_rejected() {
        let mut e = evidence(Some(0.7), vec![face(200.0)]);
        e.mrz = read(
            &[
                VALID_ZONE[0],
                "7408122F1204159UTO<<<<<<<<<<<6",
                VALID_ZONE[2],
            ],
            true,
        );
        let (status, result) = decide(&e);
        assert_eq!(status, Status::Rejected);
        assert_eq!(result.reasons, vec![Reason::DocumentExpired]);
        assert_eq!(result.document_checks.not_expired, CheckOutcome::Failed);
        assert_eq!(
            result.document_checks.mrz_check_digits,
            CheckOutcome::Passed
        );
        assert!(!result.document_validity);
    }

    #[test]
    fn a_wrong_digit_read_with_confidence_is_rejected_and_an_unsure_one_reviewed() {
        // Document number D23145890 → D23145891, check digit unchanged.
        let tampered = [
            "I<UTOD231458917<<<<<<<<<<<<<<<",
            VALID_ZONE[1],
            VALID_ZONE[2],
        ];
        let mut e = evidence(Some(0.7), vec![face(200.0)]);
        e.mrz = read(&tampered, true);
        let (status, result) = decide(&e);
        assert_eq!(status, Status::Rejected);
        assert_eq!(result.reasons, vec![Reason::MrzChecksumFailed]);
        assert_eq!(
            result.document_checks.mrz_check_digits,
            CheckOutcome::Failed
        );
        e.mrz = read(&tampered, false);
        let (status, result) = decide(&e);
        assert_eq!(status, Status::Review);
        assert_eq!(result.reasons, vec![Reason::DocumentUnreadable]);
    }

    #[test]
    fn a_zone_of_another_document_kind_is_rejected() {
        let subject = Subject {
            document_type: DocumentType::Passport,
            ..id_card()
        };
        let (status, result) =
            Policy::default().decide(&evidence(Some(0.7), vec![face(200.0)]), &subject);
        assert_eq!(status, Status::Rejected);
        assert_eq!(result.reasons, vec![Reason::DocumentTypeMismatch]);
        assert_eq!(result.document_checks.type_consistent, CheckOutcome::Failed);
    }

    #[test]
    fn a_missing_zone_is_unreadable_unless_the_document_has_none() {
        let mut e = evidence(Some(0.7), vec![face(200.0)]);
        e.mrz = MrzReading::NotFound;
        let (status, result) = decide(&e);
        assert_eq!(status, Status::Review);
        assert_eq!(result.reasons, vec![Reason::DocumentUnreadable]);
        assert_eq!(result.document_checks.mrz_found, CheckOutcome::Failed);
        assert!(result.document.is_none());

        // A driving licence has no zone: its checks did not run, which is not a pass.
        let licence = Subject {
            document_type: DocumentType::DrivingLicense,
            ..id_card()
        };
        let (status, result) = Policy::default().decide(&e, &licence);
        assert_eq!(status, Status::Review);
        assert_eq!(result.reasons, vec![Reason::DocumentChecksIncomplete]);
        assert_eq!(result.document_checks.mrz_found, CheckOutcome::NotRun);
        assert!(!result.document_validity);
    }

    #[test]
    fn several_zones_and_a_copied_portrait_go_to_review() {
        let mut e = evidence(Some(0.7), vec![face(200.0)]);
        e.mrz = MrzReading::Conflicting { zones: 2 };
        let (status, result) = decide(&e);
        assert_eq!(status, Status::Review);
        assert_eq!(result.reasons, vec![Reason::MrzConflict]);
        assert_eq!(result.document_checks.mrz_found, CheckOutcome::Failed);
        let (status, result) = decide(&evidence(Some(0.97), vec![face(200.0)]));
        assert_eq!(status, Status::Review);
        assert_eq!(result.reasons, vec![Reason::SelfieMatchesDocumentPortrait]);
    }

    #[test]
    fn a_blurred_document_goes_to_review() {
        let mut e = evidence(Some(0.7), vec![face(200.0)]);
        e.document_sharp = Some(false);
        let (status, result) = decide(&e);
        assert_eq!(status, Status::Review);
        assert_eq!(result.reasons, vec![Reason::DocumentUnreadable]);
        assert_eq!(result.document_checks.sharp_enough, CheckOutcome::Failed);
    }
}
