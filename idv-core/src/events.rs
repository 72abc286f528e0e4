//! Events: every change an integrator may care about, kept in order in the store.
//!
//! State changes write their event in the same transaction as the change (an outbox), so an
//! event exists exactly when its change does. Webhooks and live streams read events from the
//! store by id, which makes them resumable: a subscriber that saw event `n` asks for what came
//! after `n`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::domain::{Status, UserId, VerificationId};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    VerificationCreated,
    VerificationProgress,
    VerificationStatusChanged,
    SuspiciousActivity,
    UserDeleted,
    ApiKeyRevoked,
}

impl EventKind {
    pub const ALL: [EventKind; 6] = [
        EventKind::VerificationCreated,
        EventKind::VerificationProgress,
        EventKind::VerificationStatusChanged,
        EventKind::SuspiciousActivity,
        EventKind::UserDeleted,
        EventKind::ApiKeyRevoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::VerificationCreated => "verification_created",
            EventKind::VerificationProgress => "verification_progress",
            EventKind::VerificationStatusChanged => "verification_status_changed",
            EventKind::SuspiciousActivity => "suspicious_activity",
            EventKind::UserDeleted => "user_deleted",
            EventKind::ApiKeyRevoked => "api_key_revoked",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A step of the scoring of one verification, reported as it happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Decoding,
    FaceDetection,
    FaceMatching,
    Liveness,
    DocumentChecks,
    Decided,
}

impl Step {
    pub const ALL: [Step; 6] = [
        Step::Decoding,
        Step::FaceDetection,
        Step::FaceMatching,
        Step::Liveness,
        Step::DocumentChecks,
        Step::Decided,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Decoding => "decoding",
            Step::FaceDetection => "face_detection",
            Step::FaceMatching => "face_matching",
            Step::Liveness => "liveness",
            Step::DocumentChecks => "document_checks",
            Step::Decided => "decided",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// The facts of an event. Which fields are set depends on the kind; the payload clients see is
/// built from them by [`Event::data`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFacts {
    pub user_id: Option<UserId>,
    pub verification_id: Option<VerificationId>,
    pub status: Option<Status>,
    pub step: Option<Step>,
    pub api_key_id: Option<i64>,
    /// For suspicious activity: what was seen (`rejected_verifications`, `failed_logins`).
    pub reason: Option<String>,
    /// For suspicious activity: how many within the window.
    pub count: Option<i64>,
    /// When the verification was created.
    pub subject_created_at: Option<DateTime<Utc>>,
}

/// An event to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub kind: EventKind,
    pub facts: EventFacts,
    pub created_at: DateTime<Utc>,
}

/// A stored event. Ids increase in the order events were committed... per store: see
/// [`crate::ports::EventStore`].
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: i64,
    pub kind: EventKind,
    pub facts: EventFacts,
    pub created_at: DateTime<Utc>,
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Event {
    /// The payload clients receive, as `{"id", "event", "created_at", "data"}`.
    pub fn envelope(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "event": self.kind.as_str(),
            "created_at": time(self.created_at),
            "data": self.data(),
        })
    }

    /// The event's data; for status changes exactly the fields of the API specification's
    /// webhook example.
    pub fn data(&self) -> Value {
        let f = &self.facts;
        let verification = || {
            json!({
                "id": f.verification_id,
                "user_id": f.user_id,
                "status": f.status.map(Status::as_str),
                "created_at": f.subject_created_at.map(time),
                "updated_at": time(self.created_at),
            })
        };
        match self.kind {
            EventKind::VerificationCreated | EventKind::VerificationStatusChanged => verification(),
            EventKind::VerificationProgress => json!({
                "id": f.verification_id,
                "user_id": f.user_id,
                "step": f.step.map(Step::as_str),
            }),
            EventKind::SuspiciousActivity => json!({
                "user_id": f.user_id,
                "reason": f.reason,
                "count": f.count,
            }),
            EventKind::UserDeleted => json!({ "user_id": f.user_id }),
            EventKind::ApiKeyRevoked => json!({ "api_key_id": f.api_key_id, "user_id": f.user_id }),
        }
    }
}

/// Which events a subscriber sees.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only events about this user (a non-admin subscriber's own).
    pub user_id: Option<UserId>,
    /// Only events about this verification.
    pub verification_id: Option<VerificationId>,
}

impl EventFilter {
    pub fn matches(&self, event: &Event) -> bool {
        self.user_id
            .is_none_or(|id| event.facts.user_id == Some(id))
            && self
                .verification_id
                .is_none_or(|id| event.facts.verification_id == Some(id))
    }
}

/// The event of a verification's creation or status change, at `at`.
pub fn verification_event(
    kind: EventKind,
    verification_id: VerificationId,
    user_id: UserId,
    status: Status,
    created_at: DateTime<Utc>,
    at: DateTime<Utc>,
) -> NewEvent {
    NewEvent {
        kind,
        facts: EventFacts {
            user_id: Some(user_id),
            verification_id: Some(verification_id),
            status: Some(status),
            subject_created_at: Some(created_at),
            ..EventFacts::default()
        },
        created_at: at,
    }
}

impl crate::Idv {
    /// The events `caller` may watch: all for an administrator, their own for a user, narrowed
    /// to one verification when `verification_id` is given.
    pub async fn event_filter(
        &self,
        caller: &crate::Principal,
        verification_id: Option<VerificationId>,
    ) -> crate::Result<EventFilter> {
        caller.require(crate::api_keys::Permission::Read)?;
        if let Some(id) = verification_id {
            let verification = self.ports.verifications.get_verification(id).await?;
            caller.may_act_for(verification.user_id)?;
        }
        let user_id = (!caller.is_admin()).then_some(caller.user_id);
        Ok(EventFilter {
            user_id,
            verification_id,
        })
    }

    /// Stored events after `after`, oldest first.
    pub async fn events_after(&self, after: i64, limit: u32) -> crate::Result<Vec<Event>> {
        self.ports.events.events_after(after, limit).await
    }

    /// Returns once events after `after` may exist, or after `max_wait`.
    pub async fn wait_for_events(
        &self,
        after: i64,
        max_wait: std::time::Duration,
    ) -> crate::Result<()> {
        self.ports.events.wait_for_events(after, max_wait).await
    }

    /// The id of the newest stored event.
    pub async fn last_event_id(&self) -> crate::Result<i64> {
        self.ports.events.last_event_id().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_changes_carry_the_fields_of_the_spec_example() {
        let at = DateTime::parse_from_rfc3339("2023-06-11T09:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let created = DateTime::parse_from_rfc3339("2023-06-10T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let new = verification_event(
            EventKind::VerificationStatusChanged,
            1,
            1,
            Status::Approved,
            created,
            at,
        );
        let event = Event {
            id: 7,
            kind: new.kind,
            facts: new.facts,
            created_at: new.created_at,
        };
        assert_eq!(
            event.envelope(),
            json!({
                "id": "7",
                "event": "verification_status_changed",
                "created_at": "2023-06-11T09:30:00Z",
                "data": {"id": 1, "user_id": 1, "status": "approved",
                         "created_at": "2023-06-10T12:00:00Z", "updated_at": "2023-06-11T09:30:00Z"}
            })
        );
    }
}
