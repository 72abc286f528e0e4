//! Webhooks: signed HTTP deliveries of events to endpoints that administrators configure.
//!
//! Every event is fanned out to the endpoints that want its kind, as one delivery per endpoint
//! and event. Deliveries are stored, so they survive restarts; a worker claims due deliveries
//! with a lease, sends them, and on failure schedules the next attempt with exponential backoff
//! and jitter, for at least a day. Receivers de-duplicate by the event id.
//!
//! Signature: header `Idv-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
//! `"<t>.<exact body bytes>"` with the endpoint's secret. Receivers reject old timestamps.

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::auth::Secret;
use crate::events::EventKind;

/// A configured endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEndpoint {
    pub id: i64,
    pub url: String,
    /// Kinds it receives; empty means every kind.
    pub events: Vec<EventKind>,
    /// Signs deliveries; shown once, when the endpoint is created.
    pub secret: Secret,
    pub created_at: DateTime<Utc>,
}

impl WebhookEndpoint {
    pub fn wants(&self, kind: EventKind) -> bool {
        self.events.is_empty() || self.events.contains(&kind)
    }
}

/// An endpoint to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWebhookEndpoint {
    pub url: String,
    pub events: Vec<EventKind>,
    pub secret: Secret,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// A receiver answered 2xx.
    Delivered,
    /// Given up after retrying for the retry period.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// One event on its way to one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub endpoint_id: i64,
    pub event_id: i64,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// When the current retry period began: creation, or the last manual redelivery.
    pub retry_since: DateTime<Utc>,
}

/// One try at sending a delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryAttempt {
    pub delivery_id: i64,
    /// 1 for the first attempt.
    pub number: u32,
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<u16>,
    /// Why the attempt failed (timeout, refused, non-2xx), when it did.
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// A claimed delivery: only the holder of `claim_token` may record its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryClaim {
    pub delivery: Delivery,
    pub claim_token: String,
}

/// What became of an attempt, as the store records it.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptOutcome {
    Delivered,
    /// Try again at the given time.
    Retry(DateTime<Utc>),
    /// Give up.
    Failed,
}

/// Hex HMAC-SHA256 of the concatenated `parts` under `key`.
fn hmac_hex(key: &[u8], parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// Signs `body` as sent at `timestamp` (unix seconds): the value of `Idv-Signature`.
pub fn signature_header(secret: &Secret, timestamp: i64, body: &[u8]) -> String {
    let t = timestamp.to_string();
    let v1 = hmac_hex(secret.expose().as_bytes(), &[t.as_bytes(), b".", body]);
    format!("t={timestamp},v1={v1}")
}

/// How long deliveries are retried before they are marked failed.
pub const RETRY_PERIOD: Duration = Duration::from_secs(26 * 3600);

/// Delay before attempt `attempt + 1`: `base` (10 s by default) doubling up to an hour, each
/// with up to 25 % random jitter (`jitter` in [0, 1]) so that retries of many deliveries do not
/// arrive together.
pub fn backoff(base: Duration, attempt: u32, jitter: f64) -> Duration {
    let doubled = base.as_secs_f64() * 2f64.powi(attempt.saturating_sub(1).min(20) as i32);
    let capped = doubled.min(3600.0);
    Duration::from_secs_f64(capped * (1.0 + 0.25 * jitter.clamp(0.0, 1.0)))
}

/// Why a destination is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    #[error("only http and https URLs are allowed")]
    Scheme,
    #[error("the URL is not valid")]
    Malformed,
    #[error(
        "the destination {0} is in a loopback, private, link-local or otherwise internal range"
    )]
    Internal(IpAddr),
}

/// Whether an address must not receive webhooks unless the operator allows internal
/// destinations: loopback, private, link-local (with the cloud metadata address), shared
/// (CGNAT), unspecified, multicast, broadcast, documentation, and the IPv6 equivalents,
/// including IPv4-mapped and IPv4-compatible forms.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped().or_else(|| v6.to_ipv4()) {
                return is_internal(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_timestamp_and_the_exact_bytes() {
        let secret = Secret::new("whsec_test");
        let a = signature_header(&secret, 1_700_000_000, br#"{"name":"Zo\u00eb","v":1.0}"#);
        let b = signature_header(&secret, 1_700_000_000, r#"{"name":"Zoë","v":1}"#.as_bytes());
        assert!(a.starts_with("t=1700000000,v1="));
        assert_ne!(a, b, "re-serialised JSON signs differently");
        assert_eq!(
            a,
            signature_header(&secret, 1_700_000_000, br#"{"name":"Zo\u00eb","v":1.0}"#)
        );
    }

    #[test]
    fn hmac_matches_a_reference_over_bytes_that_change_when_reparsed() {
        // Non-ASCII text and `1.0`: re-serialising would change the bytes and the signature.
        let body = include_bytes!("../../tests/fixtures/cases/case22_webhook_raw_body.json");
        let expected = "c0c0bde11175d9d31eb4a7354e663728178a3ee7b3893cd9668616462838e57c";
        assert_eq!(hmac_hex(b"whsec_test_only", &[body]), expected);
    }

    #[test]
    fn backoff_grows_to_an_hour_with_bounded_jitter() {
        let base = Duration::from_secs(10);
        assert_eq!(backoff(base, 1, 0.0), Duration::from_secs(10));
        assert_eq!(backoff(base, 2, 0.0), Duration::from_secs(20));
        assert_eq!(backoff(base, 30, 0.0), Duration::from_secs(3600));
        assert_eq!(backoff(base, 1, 1.0), Duration::from_secs_f64(12.5));
    }

    #[test]
    fn internal_ranges_are_recognised() {
        for internal in [
            "127.0.0.1",
            "10.0.0.1",
            "169.254.169.254",
            "::1",
            "::ffff:127.0.0.1",
            "fd00::1",
            "fe80::1",
            "100.64.0.1",
            "0.0.0.0",
            "192.168.1.1",
            "172.16.0.1",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        for public in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(!is_internal(public.parse().unwrap()), "{public}");
        }
    }
}
