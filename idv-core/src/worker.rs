//! Background processing: claim a queued job, score it, decide, store the outcome.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::Instrument;

use crate::domain::{now, Verification};
use crate::domain::{Reason, Status, VerificationResult};
use crate::error::{Error, Result};
use crate::events::{EventFacts, EventKind, NewEvent, Step};
use crate::idv::Idv;
use crate::logs::{Event, Level};
use crate::policy::Subject;
use crate::ports::Job;
use crate::scoring::Progress;
use crate::scoring::{ScoreError, ScoreInput};
use crate::verifications::{blob_key, unscored_result, DOCUMENT_BACK, DOCUMENT_FRONT, SELFIE};

/// How often an idle worker looks for jobs that were not announced to it (queued by another
/// instance, or left by a worker whose lease ran out).
const IDLE_POLL: Duration = Duration::from_secs(1);

impl Idv {
    /// Processes one queued job if there is one; returns whether it found one.
    pub async fn process_next(&self) -> Result<bool> {
        let Some(job) = self.ports.jobs.claim_job(self.settings.job_lease).await? else {
            return Ok(false);
        };
        let span = tracing::info_span!(
            "job",
            verification_id = job.verification_id,
            attempt = job.attempts
        );
        self.process(&job).instrument(span).await?;
        Ok(true)
    }

    async fn process(&self, job: &Job) -> Result<()> {
        match self.score_job(job).await {
            Ok((status, result)) => self.finish(job, status, result).await?,
            Err(e) if job.attempts >= self.settings.max_job_attempts => {
                tracing::error!(error = %e, "giving up on verification after repeated failures");
                let mut result = unscored_result();
                result.reasons.push(Reason::ProcessingFailed);
                self.finish(job, Status::Review, result).await?;
            }
            // The lease runs out and the job is claimed again.
            Err(e) => tracing::warn!(error = %e, "verification processing failed; will retry"),
        }
        Ok(())
    }

    async fn finish(&self, job: &Job, status: Status, result: VerificationResult) -> Result<()> {
        if self.ports.jobs.complete_job(job, status, &result).await? {
            tracing::info!(status = status.as_str(), "verification decided");
            self.record_decision(job, status).await;
        } else {
            tracing::warn!("verification changed hands or was deleted while processing");
        }
        Ok(())
    }

    async fn score_job(&self, job: &Job) -> Result<(Status, VerificationResult)> {
        let verification = self
            .ports
            .verifications
            .get_verification(job.verification_id)
            .await?;
        let prefix = &verification.blob_prefix;
        let document_back = match verification.has_back {
            true => Some(self.load_image(prefix, DOCUMENT_BACK).await?),
            false => None,
        };
        let input = ScoreInput {
            document_front: self.load_image(prefix, DOCUMENT_FRONT).await?,
            document_back,
            selfie: self.load_image(prefix, SELFIE).await?,
        };
        let (sender, mut steps) = tokio::sync::mpsc::unbounded_channel();
        let progress: Progress = Arc::new(move |step| {
            let _ = sender.send(step);
        });
        let report = async {
            while let Some(step) = steps.recv().await {
                self.report_progress(&verification, step).await;
            }
        };
        let (scored, ()) = tokio::join!(self.ports.scorer.score(input, progress), report);
        match scored {
            Ok(evidence) => {
                let subject = Subject::today(verification.document_type);
                let decision = self.settings.policy.decide(&evidence, &subject);
                self.report_progress(&verification, Step::Decided).await;
                Ok(decision)
            }
            // Checked at submission; a refusal now means the limits changed since.
            Err(ScoreError::Image { field, rejection }) => {
                tracing::warn!(
                    field,
                    code = rejection.code(),
                    "stored image refused by the scorer"
                );
                let mut result = unscored_result();
                result.reasons.push(Reason::ProcessingFailed);
                Ok((Status::Review, result))
            }
            Err(ScoreError::Internal(e)) => Err(Error::Internal(e)),
        }
    }

    async fn report_progress(&self, verification: &Verification, step: Step) {
        let facts = EventFacts {
            user_id: Some(verification.user_id),
            verification_id: Some(verification.id),
            step: Some(step),
            ..EventFacts::default()
        };
        let event = NewEvent {
            kind: EventKind::VerificationProgress,
            facts,
            created_at: now(),
        };
        if let Err(e) = self.ports.events.append_event(event).await {
            tracing::warn!(error = %e, step = step.as_str(), "could not store a progress event");
        }
    }

    async fn record_decision(&self, job: &Job, status: Status) {
        let (level, event) = match status {
            Status::Approved => (Level::Info, Event::VerificationApproved),
            Status::Rejected => (Level::Info, Event::VerificationRejected),
            _ => (Level::Warn, Event::VerificationReview),
        };
        let id = job.verification_id;
        let user_id = self
            .ports
            .verifications
            .get_verification(id)
            .await
            .ok()
            .map(|v| v.user_id);
        self.record(
            level,
            event,
            format!("verification {id} {}", status.as_str()),
            user_id,
        )
        .await;
        if let (Status::Rejected, Some(user_id)) = (status, user_id) {
            self.watch_rejections(user_id).await;
        }
    }

    async fn load_image(&self, prefix: &str, field: &str) -> Result<std::sync::Arc<[u8]>> {
        Ok(self.ports.blobs.get(&blob_key(prefix, field)).await?.into())
    }

    /// Processes jobs until `shutdown` turns true. Run one per worker task.
    pub async fn run_worker(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            let found = match self.process_next().await {
                Ok(found) => found,
                Err(e) => {
                    tracing::error!(error = %e, "worker could not process a job");
                    false
                }
            };
            if found {
                continue;
            }
            tokio::select! {
                _ = self.work.notified() => {}
                _ = tokio::time::sleep(IDLE_POLL) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
