//! Domain types: users, verifications, results and pages.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Identifier of a user: a positive integer.
pub type UserId = i64;
/// Identifier of a verification: a positive integer.
pub type VerificationId = i64;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees and changes everything.
    Admin,
    /// Sees and changes only their own profile and verifications.
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "admin" => Ok(Role::Admin),
            "user" => Ok(Role::User),
            _ => Err(Error::internal(format!("unknown stored role {s:?}"))),
        }
    }
}

/// A registered person.
#[derive(Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    /// The address as the user gave it, trimmed.
    pub email: String,
    pub full_name: String,
    pub role: Role,
    /// PHC string of the argon2id hash.
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for User {
    // Names, addresses and hashes are personal data: only the id and role are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("role", &self.role)
            .finish()
    }
}

/// A user to be stored.
#[derive(Clone)]
pub struct NewUser {
    pub email: String,
    pub full_name: String,
    pub role: Role,
    pub password_hash: String,
}

/// Changes to a stored user; `None` leaves a field as it is.
#[derive(Clone, Default)]
pub struct UserChanges {
    pub email: Option<String>,
    pub full_name: Option<String>,
    pub password_hash: Option<String>,
}

/// The kinds of identity document idv accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    Passport,
    IdCard,
    DrivingLicense,
    ResidencePermit,
}

impl DocumentType {
    pub const ALL: [DocumentType; 4] = [
        DocumentType::Passport,
        DocumentType::IdCard,
        DocumentType::DrivingLicense,
        DocumentType::ResidencePermit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentType::Passport => "passport",
            DocumentType::IdCard => "id_card",
            DocumentType::DrivingLicense => "driving_license",
            DocumentType::ResidencePermit => "residence_permit",
        }
    }

    /// Parses the API name of a document type.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Where a verification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Accepted and waiting for a worker.
    Pending,
    /// A worker is scoring it.
    Processing,
    Approved,
    Rejected,
    /// The evidence is inconclusive; a person must decide.
    Review,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Pending,
        Status::Processing,
        Status::Approved,
        Status::Rejected,
        Status::Review,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Processing => "processing",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Review => "review",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether no worker will change this status any more.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Approved | Status::Rejected | Status::Review)
    }
}

/// Machine-readable reason behind a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    NoFaceDetected,
    MultipleFaces,
    FaceMismatch,
    /// The face match score fell in the review band around the threshold.
    FaceMatchInconclusive,
    /// The document image failed a basic check: it has no portrait or is too small.
    DocumentInvalid,
    /// The machine-readable zone was read with confidence and a check digit is wrong.
    MrzChecksumFailed,
    /// The document's expiry date has passed.
    DocumentExpired,
    /// The machine-readable zone names another kind of document than `document_type`.
    DocumentTypeMismatch,
    /// The machine-readable zone could not be found or read with confidence, or the image is
    /// too blurred to check.
    DocumentUnreadable,
    /// The images hold more than one machine-readable zone (several on one image, or a front
    /// and a back that disagree): one document has one.
    MrzConflict,
    /// The selfie is all but identical to the document portrait (cosine similarity of at least
    /// 0.95, where photos of one person taken apart score 0.66–0.88): most likely the portrait
    /// itself, cropped from the document.
    SelfieMatchesDocumentPortrait,
    /// Some document checks could not run on this kind of document, so its validity is not
    /// established.
    DocumentChecksIncomplete,
    /// The selfie scored below the liveness threshold.
    LivenessFailed,
    /// Liveness is required by policy but was not assessed.
    LivenessNotAssessed,
    /// The images could not be processed after several attempts.
    ProcessingFailed,
    /// An administrator decided by hand.
    ManualReview,
}

/// How one document check came out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    Passed,
    Failed,
    /// The check did not run; it is not counted as passed.
    #[default]
    NotRun,
}

impl CheckOutcome {
    /// `Passed` when `passed`, else `Failed`.
    pub fn from_bool(passed: bool) -> Self {
        if passed {
            Self::Passed
        } else {
            Self::Failed
        }
    }
}

/// The separate checks behind `document_validity`.
///
/// Results stored before a check existed read back with that check `not_run`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentChecks {
    /// The front image decoded.
    pub decodes: CheckOutcome,
    /// The front image is at least the configured minimum size.
    pub large_enough: CheckOutcome,
    /// The front image is sharp enough to read.
    #[serde(default)]
    pub sharp_enough: CheckOutcome,
    /// A portrait face was found on the front.
    pub portrait_found: CheckOutcome,
    /// The back image (when one was sent) decoded.
    pub back_decodes: CheckOutcome,
    /// A machine-readable zone was found and read on the front or the back.
    #[serde(default)]
    pub mrz_found: CheckOutcome,
    /// Every check digit of the machine-readable zone is right.
    #[serde(default)]
    pub mrz_check_digits: CheckOutcome,
    /// The expiry date read from the machine-readable zone is today or later.
    #[serde(default)]
    pub not_expired: CheckOutcome,
    /// The document code in the machine-readable zone fits `document_type`.
    #[serde(default)]
    pub type_consistent: CheckOutcome,
}

impl DocumentChecks {
    /// Whether every check passed. `back_decodes` may be `not_run` when no back image was sent;
    /// any other check that did not run counts against validity.
    pub fn passed(&self) -> bool {
        self.all().iter().all(|(name, outcome)| {
            *outcome == CheckOutcome::Passed
                || (*name == "back_decodes" && *outcome == CheckOutcome::NotRun)
        })
    }

    /// Every check, named as in the API.
    pub fn all(&self) -> [(&'static str, CheckOutcome); 9] {
        [
            ("decodes", self.decodes),
            ("large_enough", self.large_enough),
            ("sharp_enough", self.sharp_enough),
            ("portrait_found", self.portrait_found),
            ("back_decodes", self.back_decodes),
            ("mrz_found", self.mrz_found),
            ("mrz_check_digits", self.mrz_check_digits),
            ("not_expired", self.not_expired),
            ("type_consistent", self.type_consistent),
        ]
    }
}

/// The fields read from a document's machine-readable zone.
///
/// This is personal data: it is returned to callers allowed to read the verification and is
/// never written to logs, events or webhooks (its `Debug` output shows no field values).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentData {
    /// `td1`, `td2` or `td3`.
    pub mrz_format: String,
    /// Which image held the zone: `front` or `back`.
    pub side: String,
    pub document_code: String,
    pub issuing_state: String,
    pub document_number: String,
    pub surname: String,
    pub given_names: String,
    pub nationality: String,
    /// `M`, `F` or `X`.
    pub sex: String,
    /// `None` when the digits are not a valid date.
    pub birth_date: Option<chrono::NaiveDate>,
    pub expiry_date: Option<chrono::NaiveDate>,
    pub optional_data: String,
    /// Each check digit of the zone and whether it is right.
    pub check_digits: Vec<CheckDigit>,
}

impl std::fmt::Debug for DocumentData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentData")
            .field("mrz_format", &self.mrz_format)
            .field("side", &self.side)
            .field("check_digits", &self.check_digits)
            .finish_non_exhaustive()
    }
}

/// One check digit of a machine-readable zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckDigit {
    /// `document_number`, `birth_date`, `expiry_date`, `optional_data` or `composite`.
    pub field: String,
    pub valid: bool,
}

/// How liveness was assessed, with the measurements behind `liveness_score`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LivenessDetail {
    /// `builtin` (the passive recapture check), `model` (the operator's anti-spoofing model) or
    /// `builtin+model` (the lower of the two).
    pub source: String,
    /// Score of the operator's model alone, when one is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_score: Option<f64>,
    /// Score of the built-in check alone, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtin_score: Option<f64>,
    /// The built-in check's signals, each a score in [0, 1] (1 looks live) and the statistic
    /// it was computed from.
    #[serde(default)]
    pub signals: Vec<LivenessSignal>,
}

/// One measurement of the built-in liveness check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LivenessSignal {
    pub name: String,
    /// In [0, 1]; 1 looks live.
    pub score: f64,
    /// The measured statistic the score is computed from.
    pub value: f64,
}

/// Per-step wall time of the scoring, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TimingsMs {
    pub decode: f64,
    pub detect: f64,
    pub align: f64,
    pub embed: f64,
    pub compare: f64,
    #[serde(default)]
    pub liveness: f64,
    #[serde(default)]
    pub document: f64,
    pub total: f64,
}

/// A manual decision by an administrator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManualDecision {
    pub reviewer_id: UserId,
    pub note: Option<String>,
    pub decided_at: DateTime<Utc>,
    /// The status the automatic pipeline had given.
    pub previous_status: Status,
}

/// What idv measured and concluded about a verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationResult {
    /// Probability-like score in [0, 1] that the document portrait and the selfie show the same
    /// person; `None` when either has no usable face. See [`crate::policy::match_score`].
    pub face_match_score: Option<f64>,
    /// Probability in [0, 1] that the selfie is a live person; `None` when not assessed.
    pub liveness_score: Option<f64>,
    /// Whether every document check passed; a check that could not run counts against it.
    pub document_validity: bool,
    /// Raw cosine similarity of the face embeddings, in [-1, 1].
    pub face_similarity: Option<f64>,
    pub liveness_assessed: bool,
    pub reasons: Vec<Reason>,
    pub document_checks: DocumentChecks,
    /// Fields read from the machine-readable zone, when one was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<DocumentData>,
    /// How liveness was assessed, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness: Option<LivenessDetail>,
    pub faces_in_selfie: u32,
    pub faces_on_document: u32,
    pub timings_ms: TimingsMs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_decision: Option<ManualDecision>,
}

/// A stored verification.
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    pub id: VerificationId,
    pub user_id: UserId,
    pub document_type: DocumentType,
    pub status: Status,
    /// Key prefix under which the images sit in the blob store.
    pub blob_prefix: String,
    pub has_back: bool,
    pub result: Option<VerificationResult>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A verification to be stored, together with its processing job.
#[derive(Debug, Clone)]
pub struct NewVerification {
    pub user_id: UserId,
    pub document_type: DocumentType,
    pub blob_prefix: String,
    pub has_back: bool,
}

/// Which page of a list to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based page number.
    pub page: u32,
    /// Items per page, 1..=[`PageRequest::MAX_PER_PAGE`].
    pub per_page: u32,
}

impl PageRequest {
    pub const DEFAULT_PER_PAGE: u32 = 10;
    pub const MAX_PER_PAGE: u32 = 100;
    /// Pages beyond this are refused so that offsets stay far from overflow.
    pub const MAX_PAGE: u32 = 1_000_000;

    /// Rows to skip.
    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: Self::DEFAULT_PER_PAGE,
        }
    }
}

/// One page of a list, with the total.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub request: PageRequest,
}

impl<T> Page<T> {
    /// Number of pages for the total (0 when the list is empty).
    pub fn total_pages(&self) -> u64 {
        self.total.div_ceil(u64::from(self.request.per_page))
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            request: self.request,
        }
    }
}

/// Filter for verification lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerificationFilter {
    pub user_id: Option<UserId>,
    pub status: Option<Status>,
}

/// The current time at microsecond precision, the finest every store keeps.
pub fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}
