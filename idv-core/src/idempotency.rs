//! Idempotent requests: a client that retries a request with the same `Idempotency-Key` gets
//! the first response again instead of a second effect.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::idv::Idv;

/// How long a key is remembered.
pub const RETENTION_HOURS: i64 = 24;

/// A response kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: Vec<u8>,
    /// The `Location` header, for created resources.
    pub location: Option<String>,
}

/// What to do with a request that carries a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// First use of the key: do the work, then [`Idv::finish_idempotent`].
    Proceed,
    /// Seen before with the same request: send this again.
    Replay(StoredResponse),
    /// Seen before with a different request.
    Mismatch,
    /// The first request with this key is still being served.
    InProgress,
}

/// The fingerprint of a request: method, path and the exact body bytes.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update(b" ");
    hasher.update(path.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hex::encode(hasher.finalize())
}

/// Checks the shape of a client's key: 1 to 255 visible ASCII characters.
pub fn validate_key(key: &str) -> Result<()> {
    if (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(Error::invalid(
            "Idempotency-Key",
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        ))
    }
}

/// Records older than this are forgotten.
pub fn cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::hours(RETENTION_HOURS)
}

impl Idv {
    /// Starts a request with a key, within `scope` (the caller's identity).
    pub async fn begin_idempotent(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<Begin> {
        validate_key(key)?;
        let now = crate::domain::now();
        self.ports
            .idempotency
            .begin_request(scope, key, fingerprint, now, cutoff(now))
            .await
    }

    /// Keeps the response for replay.
    pub async fn finish_idempotent(
        &self,
        scope: &str,
        key: &str,
        response: StoredResponse,
    ) -> Result<()> {
        self.ports
            .idempotency
            .finish_request(scope, key, &response)
            .await
    }

    /// Forgets a key whose request failed in a way a retry may fix (5xx, 429).
    pub async fn abandon_idempotent(&self, scope: &str, key: &str) -> Result<()> {
        self.ports.idempotency.abandon_request(scope, key).await
    }

    /// Removes expired records; returns how many.
    pub async fn purge_idempotency(&self) -> Result<u64> {
        self.ports
            .idempotency
            .purge_requests(cutoff(crate::domain::now()))
            .await
    }
}
