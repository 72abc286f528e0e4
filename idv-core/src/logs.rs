//! The system log: idv's own record of what happened, for administrators.
//!
//! Entries identify people and things by id only. Messages are built here from ids and fixed
//! words, so no name, address, password, token, key or image can reach them.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{now, Page, PageRequest, UserId};
use crate::error::{Error, Result};
use crate::idv::{Idv, Principal};

/// Severity of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Level::Info, Level::Warn, Level::Error]
            .into_iter()
            .find(|l| l.as_str() == text)
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    ServerStarted,
    UserRegistered,
    UserDeleted,
    LoginFailed,
    LoginThrottled,
    VerificationSubmitted,
    VerificationApproved,
    VerificationRejected,
    VerificationReview,
    VerificationReviewed,
    KeyCreated,
    KeyRevoked,
    SuspiciousActivity,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::ServerStarted => "server_started",
            Event::UserRegistered => "user_registered",
            Event::UserDeleted => "user_deleted",
            Event::LoginFailed => "login_failed",
            Event::LoginThrottled => "login_throttled",
            Event::VerificationSubmitted => "verification_submitted",
            Event::VerificationApproved => "verification_approved",
            Event::VerificationRejected => "verification_rejected",
            Event::VerificationReview => "verification_review",
            Event::VerificationReviewed => "verification_reviewed",
            Event::KeyCreated => "key_created",
            Event::KeyRevoked => "key_revoked",
            Event::SuspiciousActivity => "suspicious_activity",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        ALL_EVENTS.into_iter().find(|e| e.as_str() == text)
    }
}

const ALL_EVENTS: [Event; 13] = [
    Event::ServerStarted,
    Event::UserRegistered,
    Event::UserDeleted,
    Event::LoginFailed,
    Event::LoginThrottled,
    Event::VerificationSubmitted,
    Event::VerificationApproved,
    Event::VerificationRejected,
    Event::VerificationReview,
    Event::VerificationReviewed,
    Event::KeyCreated,
    Event::KeyRevoked,
    Event::SuspiciousActivity,
];

/// A stored entry.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub id: i64,
    pub timestamp: DateTime<Utc>,
    pub level: Level,
    pub event: Event,
    pub message: String,
    /// The user the entry is about, when there is one.
    pub user_id: Option<UserId>,
}

/// An entry to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLogEntry {
    pub timestamp: DateTime<Utc>,
    pub level: Level,
    pub event: Event,
    pub message: String,
    pub user_id: Option<UserId>,
}

/// Which entries to list: `from <= timestamp < to`, optionally of one level. Oldest first.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LogFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub level: Option<Level>,
}

/// Which end of a range a date stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeEnd {
    From,
    To,
}

/// Parses a `from`/`to` value: an RFC 3339 timestamp (any offset), or a date `YYYY-MM-DD`
/// meaning the start of that UTC day for `from` and the end of it for `to`. The returned `to`
/// is exclusive.
pub fn parse_range_bound(text: &str, end: RangeEnd) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        let t = t.with_timezone(&Utc);
        // An instant `to` includes that instant.
        return Some(if end == RangeEnd::To {
            t + Duration::microseconds(1)
        } else {
            t
        });
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let day = match end {
        RangeEnd::From => date,
        RangeEnd::To => date.succ_opt()?,
    };
    Some(day.and_hms_opt(0, 0, 0)?.and_utc())
}

impl Idv {
    /// Writes an entry. A failure is logged and otherwise ignored: the action it records has
    /// already happened.
    pub(crate) async fn record(
        &self,
        level: Level,
        event: Event,
        message: String,
        user_id: impl Into<Option<UserId>>,
    ) {
        let entry = NewLogEntry {
            timestamp: now(),
            level,
            event,
            message,
            user_id: user_id.into(),
        };
        if let Err(e) = self.ports.logs.append_log(entry).await {
            tracing::error!(error = %e, event = event.as_str(), "could not write the system log");
        }
    }

    /// Records that a server instance started.
    pub async fn record_start(&self) {
        self.record(
            Level::Info,
            Event::ServerStarted,
            "server started".into(),
            None,
        )
        .await;
    }

    /// Entries in the filter, for administrators.
    pub async fn list_logs(
        &self,
        caller: &Principal,
        filter: LogFilter,
        page: PageRequest,
    ) -> Result<Page<LogEntry>> {
        caller.require_admin_permission()?;
        if let (Some(from), Some(to)) = (filter.from, filter.to) {
            if to < from {
                return Err(Error::invalid(
                    "to",
                    "invalid_range",
                    "to must not be before from",
                ));
            }
        }
        self.ports.logs.list_logs(filter, page).await
    }

    /// Removes entries older than the retention period; returns how many.
    pub async fn purge_logs(&self, retention: std::time::Duration) -> Result<u64> {
        let age = Duration::from_std(retention).unwrap_or(Duration::MAX);
        let cutoff = Utc::now()
            .checked_sub_signed(age)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        self.ports.logs.purge_logs(cutoff).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_to_covers_the_whole_day() {
        let to = parse_range_bound("2026-12-04", RangeEnd::To).unwrap();
        assert_eq!(to.to_rfc3339(), "2026-12-05T00:00:00+00:00");
        let from = parse_range_bound("2026-12-04", RangeEnd::From).unwrap();
        assert_eq!(from.to_rfc3339(), "2026-12-04T00:00:00+00:00");
    }

    #[test]
    fn timestamps_keep_their_offset() {
        let from = parse_range_bound("2026-12-04T10:00:00+02:00", RangeEnd::From).unwrap();
        assert_eq!(from.to_rfc3339(), "2026-12-04T08:00:00+00:00");
        assert!(parse_range_bound("yesterday", RangeEnd::From).is_none());
        assert!(parse_range_bound("2026-13-01", RangeEnd::To).is_none());
    }

    #[test]
    fn every_event_name_parses_back() {
        for event in ALL_EVENTS {
            assert_eq!(Event::parse(event.as_str()), Some(event));
        }
    }
}
