//! Verification use cases: submit, read, list, review and delete; and direct scoring.

use std::sync::Arc;

use chrono::Utc;
use rand::RngCore;

use crate::api_keys::Permission;
use crate::domain::{
    DocumentType, ManualDecision, NewVerification, Page, PageRequest, Reason, Status, UserId,
    Verification, VerificationFilter, VerificationId, VerificationResult,
};
use crate::error::{Error, Result};
use crate::idv::{Idv, Principal};
use crate::logs::{Event, Level};
use crate::policy::{Policy, Subject};
use crate::scoring::{ImageRejection, ScoreError, ScoreInput, Scorer};

/// Names of the image fields, as the API spells them.
pub const DOCUMENT_FRONT: &str = "document_front_image";
pub const DOCUMENT_BACK: &str = "document_back_image";
pub const SELFIE: &str = "selfie_image";

/// A verification request with decoded image bytes.
#[derive(Clone)]
pub struct Submission {
    pub user_id: UserId,
    pub document_type: DocumentType,
    pub document_front: Vec<u8>,
    pub document_back: Option<Vec<u8>>,
    pub selfie: Vec<u8>,
}

/// The decision an administrator takes by hand.
#[derive(Debug, Clone)]
pub struct Review {
    /// `approved` or `rejected`.
    pub status: Status,
    pub note: Option<String>,
}

/// Key of one image of a verification in the blob store.
pub(crate) fn blob_key(prefix: &str, field: &str) -> String {
    format!("{prefix}/{field}")
}

fn new_blob_prefix() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("verifications/{}", hex::encode(bytes))
}

fn image_error(field: &'static str, rejection: &ImageRejection) -> Error {
    Error::invalid(field, rejection.code(), rejection.to_string())
}

impl Idv {
    /// Checks and stores a verification and queues it; it is `pending` when this returns.
    ///
    /// Invalid input changes nothing: images are checked before anything is stored, and stored
    /// images are removed again if the record cannot be written.
    pub async fn submit(&self, caller: &Principal, submission: Submission) -> Result<Verification> {
        caller.require(Permission::Write)?;
        caller.may_act_for(submission.user_id)?;
        match self.ports.users.get_user(submission.user_id).await {
            Err(Error::NotFound { .. }) => {
                return Err(Error::invalid(
                    "user_id",
                    "unknown_user",
                    "no user has this id",
                ))
            }
            other => other?,
        };

        let mut images = vec![(DOCUMENT_FRONT, submission.document_front)];
        if let Some(back) = submission.document_back {
            images.push((DOCUMENT_BACK, back));
        }
        images.push((SELFIE, submission.selfie));
        for (field, bytes) in &images {
            let bytes: Arc<[u8]> = Arc::from(bytes.as_slice());
            if let Err(rejection) = self.ports.scorer.check_image(bytes).await {
                return Err(image_error(field, &rejection));
            }
        }

        let prefix = new_blob_prefix();
        let has_back = images.len() == 3;
        for (field, bytes) in images {
            if let Err(e) = self.ports.blobs.put(&blob_key(&prefix, field), bytes).await {
                self.remove_images(&prefix).await;
                return Err(e);
            }
        }
        let new = NewVerification {
            user_id: submission.user_id,
            document_type: submission.document_type,
            blob_prefix: prefix.clone(),
            has_back,
        };
        let verification = match self.ports.verifications.create_verification(new).await {
            Ok(v) => v,
            Err(e) => {
                self.remove_images(&prefix).await;
                return Err(e);
            }
        };
        let message = format!(
            "verification {} submitted for user {}",
            verification.id, verification.user_id
        );
        self.record(
            Level::Info,
            Event::VerificationSubmitted,
            message,
            verification.user_id,
        )
        .await;
        self.work.notify_one();
        Ok(verification)
    }

    pub async fn get_verification(
        &self,
        caller: &Principal,
        id: VerificationId,
    ) -> Result<Verification> {
        caller.require(Permission::Read)?;
        let verification = self.ports.verifications.get_verification(id).await?;
        caller.may_act_for(verification.user_id)?;
        Ok(verification)
    }

    /// Verifications matching `filter`; a user sees only their own.
    pub async fn list_verifications(
        &self,
        caller: &Principal,
        mut filter: VerificationFilter,
        page: PageRequest,
    ) -> Result<Page<Verification>> {
        caller.require(Permission::Read)?;
        if !caller.is_admin() {
            if let Some(user_id) = filter.user_id {
                caller.may_act_for(user_id)?;
            }
            filter.user_id = Some(caller.user_id);
        }
        self.ports
            .verifications
            .list_verifications(filter, page)
            .await
    }

    /// Verifications of one user; `NotFound` when the user does not exist.
    pub async fn list_user_verifications(
        &self,
        caller: &Principal,
        user_id: UserId,
        page: PageRequest,
    ) -> Result<Page<Verification>> {
        caller.require(Permission::Read)?;
        caller.may_act_for(user_id)?;
        self.ports.users.get_user(user_id).await?;
        let filter = VerificationFilter {
            user_id: Some(user_id),
            status: None,
        };
        self.ports
            .verifications
            .list_verifications(filter, page)
            .await
    }

    /// An administrator's decision. Scores stay as measured; the decision is recorded beside
    /// them with the reviewer and the status it replaced.
    pub async fn review(
        &self,
        caller: &Principal,
        id: VerificationId,
        review: Review,
    ) -> Result<Verification> {
        caller.require_admin_permission()?;
        caller.require_admin()?;
        if !matches!(review.status, Status::Approved | Status::Rejected) {
            return Err(Error::invalid(
                "status",
                "invalid_status",
                "a review sets status to approved or rejected",
            ));
        }
        if review
            .note
            .as_ref()
            .is_some_and(|n| n.chars().count() > 2000)
        {
            return Err(Error::invalid(
                "note",
                "too_long",
                "note must be at most 2000 characters",
            ));
        }
        let control = |c: char| c.is_control() && !matches!(c, '\n' | '\r' | '\t');
        if review.note.as_ref().is_some_and(|n| n.chars().any(control)) {
            return Err(Error::invalid(
                "note",
                "invalid_character",
                "note must not contain control characters other than line breaks and tabs",
            ));
        }
        let current = self.ports.verifications.get_verification(id).await?;
        let mut result = current.result.unwrap_or_else(unscored_result);
        if !result.reasons.contains(&Reason::ManualReview) {
            result.reasons.push(Reason::ManualReview);
        }
        result.manual_decision = Some(ManualDecision {
            reviewer_id: caller.user_id,
            note: review.note,
            decided_at: Utc::now(),
            previous_status: current.status,
        });
        let updated = self
            .ports
            .verifications
            .set_outcome(id, review.status, &result)
            .await?;
        let message = format!(
            "verification {id} set to {} by reviewer {}",
            review.status.as_str(),
            caller.user_id
        );
        self.record(
            Level::Info,
            Event::VerificationReviewed,
            message,
            updated.user_id,
        )
        .await;
        Ok(updated)
    }

    /// Deletes a verification and its images.
    pub async fn delete_verification(&self, caller: &Principal, id: VerificationId) -> Result<()> {
        caller.require(Permission::Write)?;
        let verification = self.ports.verifications.get_verification(id).await?;
        caller.may_act_for(verification.user_id)?;
        let deleted = self.ports.verifications.delete_verification(id).await?;
        self.remove_images(&deleted.blob_prefix).await;
        tracing::info!(verification_id = id, "verification deleted");
        Ok(())
    }

    /// Removes stored images; a failure is logged, since the record is already gone.
    pub(crate) async fn remove_images(&self, prefix: &str) {
        if let Err(e) = self.ports.blobs.delete_prefix(prefix).await {
            tracing::error!(error = %e, "could not delete verification images");
        }
    }
}

/// A result for a verification that could not be scored.
pub fn unscored_result() -> VerificationResult {
    use crate::domain::{DocumentChecks, TimingsMs};
    VerificationResult {
        face_match_score: None,
        liveness_score: None,
        document_validity: false,
        face_similarity: None,
        liveness_assessed: false,
        reasons: Vec::new(),
        document_checks: DocumentChecks::default(),
        document: None,
        liveness: None,
        faces_in_selfie: 0,
        faces_on_document: 0,
        timings_ms: TimingsMs::default(),
        manual_decision: None,
    }
}

/// Scores images and decides at once, without storing anything (CLI, embedded use).
pub async fn verify_images(
    scorer: &dyn Scorer,
    policy: &Policy,
    subject: &Subject,
    input: ScoreInput,
) -> Result<(Status, VerificationResult), ScoreError> {
    let evidence = scorer.score(input, Arc::new(|_| {})).await?;
    Ok(policy.decide(&evidence, subject))
}
