//! Suspicious activity: repeated rejections or failed logins for one user within a window raise
//! one `suspicious_activity` event when the count reaches the threshold, not one per attempt.

use std::time::Duration;

use crate::domain::{now, Status, UserId};
use crate::events::{EventFacts, EventKind, NewEvent};
use crate::idv::Idv;
use crate::logs::{Event as LogEvent, Level};

/// Thresholds of suspicious activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuspicionSettings {
    /// Rejected verifications of one user within `window` that raise an event.
    pub rejections: u64,
    pub window: Duration,
    /// Failed logins to one account (within the login throttle's window) that raise an event.
    pub failed_logins: u64,
}

impl Default for SuspicionSettings {
    fn default() -> Self {
        Self {
            rejections: 3,
            window: Duration::from_secs(24 * 3600),
            failed_logins: 5,
        }
    }
}

impl Idv {
    /// Called after a rejection of `user_id` was stored.
    pub(crate) async fn watch_rejections(&self, user_id: UserId) {
        let settings = self.settings.suspicion;
        let window = chrono::Duration::from_std(settings.window).unwrap_or(chrono::Duration::MAX);
        let since = now()
            .checked_sub_signed(window)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
        let kind = EventKind::VerificationStatusChanged;
        match self
            .ports
            .events
            .count_events(kind, user_id, Some(Status::Rejected), since)
            .await
        {
            Ok(count) if count == settings.rejections => {
                self.raise_suspicion(user_id, "rejected_verifications", count)
                    .await
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not count rejections"),
        }
    }

    /// Called after a failed login to `user_id`'s account; `count` is the failures in the
    /// throttle's window, this one included.
    pub(crate) async fn watch_failed_logins(&self, user_id: UserId, count: u64) {
        if count == self.settings.suspicion.failed_logins {
            self.raise_suspicion(user_id, "failed_logins", count).await;
        }
    }

    async fn raise_suspicion(&self, user_id: UserId, reason: &str, count: u64) {
        let facts = EventFacts {
            user_id: Some(user_id),
            reason: Some(reason.to_string()),
            count: Some(count as i64),
            ..EventFacts::default()
        };
        let event = NewEvent {
            kind: EventKind::SuspiciousActivity,
            facts,
            created_at: now(),
        };
        if let Err(e) = self.ports.events.append_event(event).await {
            tracing::error!(error = %e, "could not store a suspicious-activity event");
        }
        let message = format!("suspicious activity for user {user_id}: {count} {reason}");
        self.record(Level::Warn, LogEvent::SuspiciousActivity, message, user_id)
            .await;
    }
}
