//! The storage ports, split by role. Adapters implement them; the use cases hold them as
//! `Arc<dyn _>`.
//!
//! Every adapter must pass the conformance suite in `idv_core::testing` (feature `testing`).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::api_keys::{ApiKey, ApiKeyChanges, NewApiKey};
use crate::domain::{
    NewUser, NewVerification, Page, PageRequest, Status, User, UserChanges, UserId, Verification,
    VerificationFilter, VerificationId, VerificationResult,
};
use crate::error::Result;
use crate::events::{Event, EventKind, NewEvent};
use crate::idempotency::{Begin, StoredResponse};
use crate::logs::{LogEntry, LogFilter, NewLogEntry};
use crate::webhooks::{
    AttemptOutcome, Delivery, DeliveryAttempt, DeliveryClaim, DestinationError, NewWebhookEndpoint,
    WebhookEndpoint,
};

/// The key under which e-mail addresses are unique: trimmed, NFKC-normalised and lower-cased,
/// so that `Ann@Example.com`, ` ann@example.com` and a fullwidth `ａｎｎ@example.com` are one
/// mailbox. Tags (`ann+x@`) are kept.
pub fn email_key(email: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    email.trim().nfkc().collect::<String>().to_lowercase()
}

/// Every storage role in one object, as the SQL adapters provide them.
pub trait Store:
    UserStore
    + VerificationStore
    + JobQueue
    + ApiKeyStore
    + LogStore
    + IdempotencyStore
    + EventStore
    + WebhookStore
{
}

impl<T> Store for T where
    T: UserStore
        + VerificationStore
        + JobQueue
        + ApiKeyStore
        + LogStore
        + IdempotencyStore
        + EventStore
        + WebhookStore
{
}

/// Users and their credentials.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// Stores a new user. Fails with `Conflict` on field `email` when another user has the same
    /// [`email_key`].
    async fn create_user(&self, user: NewUser) -> Result<User>;

    /// `NotFound` when there is no such user.
    async fn get_user(&self, id: UserId) -> Result<User>;

    /// Looks a user up by [`email_key`]; `None` when there is none.
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>>;

    /// Applies the changes atomically. `NotFound` when there is no such user; `Conflict` on
    /// `email` when the new address belongs to another user.
    async fn update_user(&self, id: UserId, changes: UserChanges) -> Result<User>;

    /// Deletes the user with their verifications and jobs, atomically, and returns the blob
    /// prefixes of the deleted verifications so that their images can be removed.
    /// `NotFound` when there is no such user.
    async fn delete_user(&self, id: UserId) -> Result<Vec<String>>;

    /// Users ordered by id.
    async fn list_users(&self, page: PageRequest) -> Result<Page<User>>;
}

/// Verifications and their results.
#[async_trait]
pub trait VerificationStore: Send + Sync + 'static {
    /// Stores a `pending` verification and queues its processing job, in one transaction.
    /// `NotFound` when the user does not exist.
    async fn create_verification(&self, new: NewVerification) -> Result<Verification>;

    /// `NotFound` when there is no such verification.
    async fn get_verification(&self, id: VerificationId) -> Result<Verification>;

    /// Verifications matching the filter, ordered by id.
    async fn list_verifications(
        &self,
        filter: VerificationFilter,
        page: PageRequest,
    ) -> Result<Page<Verification>>;

    /// Sets status and result (a manual review) and removes any job still queued for it.
    /// `NotFound` when there is no such verification.
    async fn set_outcome(
        &self,
        id: VerificationId,
        status: Status,
        result: &VerificationResult,
    ) -> Result<Verification>;

    /// Deletes the verification and its job and returns what was deleted.
    /// `NotFound` when there is no such verification.
    async fn delete_verification(&self, id: VerificationId) -> Result<Verification>;
}

/// A claim on the processing job of one verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub verification_id: VerificationId,
    /// How many times the job has been claimed, this claim included.
    pub attempts: u32,
    /// Identifies this claim; a later claim of the same job gets another token.
    pub claim_token: String,
}

/// The durable queue of verifications waiting to be scored.
///
/// A claim is a lease: a job whose lease ran out (its worker died) can be claimed again, and
/// only the holder of the latest claim can complete it, so a job is never completed twice.
#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// Claims the oldest job that is unclaimed or whose lease has expired, marks its
    /// verification `processing`, and holds it for `lease`. `None` when there is nothing to do.
    async fn claim_job(&self, lease: Duration) -> Result<Option<Job>>;

    /// Stores the outcome and removes the job, in one transaction, if `job` is still the latest
    /// claim. Returns `false` (and changes nothing) when the claim was lost or the verification
    /// was deleted meanwhile.
    async fn complete_job(
        &self,
        job: &Job,
        status: Status,
        result: &VerificationResult,
    ) -> Result<bool>;
}

/// Image storage. Keys are `/`-separated paths of ASCII letters, digits, `_`, `-` and `.`.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `bytes` under `key`, replacing what was there. Durable when it returns.
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()>;

    /// `NotFound` when nothing is stored under `key`.
    async fn get(&self, key: &str) -> Result<Vec<u8>>;

    /// Deletes every blob whose key starts with `prefix/`. Deleting nothing is not an error.
    async fn delete_prefix(&self, prefix: &str) -> Result<()>;
}

/// API keys, stored by hash.
#[async_trait]
pub trait ApiKeyStore: Send + Sync + 'static {
    /// `NotFound` when the owner does not exist.
    async fn create_api_key(&self, key: NewApiKey) -> Result<ApiKey>;

    /// `NotFound` when there is no such key.
    async fn get_api_key(&self, id: i64) -> Result<ApiKey>;

    /// The key with this visible prefix; `None` when there is none.
    async fn find_api_key(&self, prefix: &str) -> Result<Option<ApiKey>>;

    /// Keys ordered by id.
    async fn list_api_keys(&self, page: PageRequest) -> Result<Page<ApiKey>>;

    /// `NotFound` when there is no such key.
    async fn update_api_key(&self, id: i64, changes: ApiKeyChanges) -> Result<ApiKey>;

    /// Records a use of the key. Not finding it is not an error (it may just have been revoked).
    async fn touch_api_key(&self, id: i64, at: DateTime<Utc>) -> Result<()>;

    /// Deletes the key so it stops working at once. `NotFound` when there is no such key.
    async fn delete_api_key(&self, id: i64) -> Result<()>;
}

/// The system log.
#[async_trait]
pub trait LogStore: Send + Sync + 'static {
    async fn append_log(&self, entry: NewLogEntry) -> Result<LogEntry>;

    /// Entries in the filter, oldest first (by timestamp, then id).
    async fn list_logs(&self, filter: LogFilter, page: PageRequest) -> Result<Page<LogEntry>>;

    /// Deletes entries older than `before`; returns how many.
    async fn purge_logs(&self, before: DateTime<Utc>) -> Result<u64>;
}

/// Records of requests made with an `Idempotency-Key`, per caller scope.
#[async_trait]
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Atomically: when no record of (`scope`, `key`) newer than `expired_before` exists,
    /// reserves one for `fingerprint` at `now` and answers `Proceed`; otherwise answers
    /// `Replay` (same fingerprint, response kept), `InProgress` (same fingerprint, no response
    /// yet) or `Mismatch` (another fingerprint).
    async fn begin_request(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        expired_before: DateTime<Utc>,
    ) -> Result<Begin>;

    /// Stores the response of a reserved request.
    async fn finish_request(&self, scope: &str, key: &str, response: &StoredResponse)
        -> Result<()>;

    /// Drops a reservation so that the request may be retried.
    async fn abandon_request(&self, scope: &str, key: &str) -> Result<()>;

    /// Deletes records older than `before`; returns how many.
    async fn purge_requests(&self, before: DateTime<Utc>) -> Result<u64>;
}

/// The ordered record of events (see [`crate::events`]).
///
/// Stores also write events themselves, in the same transaction as the change they describe:
/// `create_verification` (`verification_created`), `complete_job` and `set_outcome`
/// (`verification_status_changed`), `delete_user` (`user_deleted`) and `delete_api_key`
/// (`api_key_revoked`). Ids increase in commit order, so a reader that has seen id `n` never
/// later finds a new event with an id below `n`.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Stores an event that has no state change of its own (progress, suspicious activity).
    async fn append_event(&self, event: NewEvent) -> Result<Event>;

    /// Events with an id above `after`, oldest first, at most `limit`.
    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<Event>>;

    /// The id of the newest event, 0 when there is none.
    async fn last_event_id(&self) -> Result<i64>;

    /// Returns once events after `after` may have been committed, or after `max_wait`. A store
    /// that is told of commits (PostgreSQL, through LISTEN/NOTIFY, from every instance) returns
    /// as soon as one happens; the others poll at a short interval.
    async fn wait_for_events(&self, after: i64, max_wait: Duration) -> Result<()>;

    /// How many events of `kind` about `user_id` (with `status`, when given) were stored at or
    /// after `since`.
    async fn count_events(
        &self,
        kind: EventKind,
        user_id: UserId,
        status: Option<Status>,
        since: DateTime<Utc>,
    ) -> Result<u64>;
}

/// Webhook endpoints and the durable queue of their deliveries (see [`crate::webhooks`]).
#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    async fn create_endpoint(&self, endpoint: NewWebhookEndpoint) -> Result<WebhookEndpoint>;

    /// `NotFound` when there is no such endpoint.
    async fn get_endpoint(&self, id: i64) -> Result<WebhookEndpoint>;

    /// Endpoints ordered by id.
    async fn list_endpoints(&self, page: PageRequest) -> Result<Page<WebhookEndpoint>>;

    /// Deletes the endpoint with its deliveries and their attempts. `NotFound` when there is no
    /// such endpoint.
    async fn delete_endpoint(&self, id: i64) -> Result<()>;

    /// The id of the last event already fanned out to deliveries (0 at first).
    async fn fan_out_cursor(&self) -> Result<i64>;

    /// Atomically: if the cursor still reads `from`, creates the given (endpoint id, event id)
    /// deliveries, due at `at`, and moves the cursor to `to`; returns `false` and changes
    /// nothing when another instance moved the cursor first. Deliveries for endpoints deleted
    /// meanwhile are skipped.
    async fn add_deliveries(
        &self,
        from: i64,
        to: i64,
        deliveries: &[(i64, i64)],
        at: DateTime<Utc>,
    ) -> Result<bool>;

    /// Claims the pending delivery that has been due longest, unless another claim on it is
    /// still within its lease, and holds it for `lease`.
    async fn claim_delivery(
        &self,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<DeliveryClaim>>;

    /// Records an attempt of a claimed delivery and applies its outcome (delivered, retry at a
    /// time, or failed), releasing the claim, in one transaction. `false` (and nothing changes)
    /// when the claim was lost.
    async fn record_attempt(
        &self,
        claim: &DeliveryClaim,
        attempt: &DeliveryAttempt,
        outcome: &AttemptOutcome,
    ) -> Result<bool>;

    /// `NotFound` when there is no such delivery.
    async fn get_delivery(&self, id: i64) -> Result<Delivery>;

    /// Deliveries of one endpoint (or all), newest first.
    async fn list_deliveries(
        &self,
        endpoint_id: Option<i64>,
        page: PageRequest,
    ) -> Result<Page<Delivery>>;

    /// The attempts of a delivery, oldest first.
    async fn list_attempts(&self, delivery_id: i64) -> Result<Vec<DeliveryAttempt>>;

    /// Makes a delivery pending and due at `now` again, restarting its retry period.
    /// `NotFound` when there is no such delivery.
    async fn redeliver(&self, id: i64, now: DateTime<Utc>) -> Result<Delivery>;
}

/// Sends webhook deliveries over HTTP.
#[async_trait]
pub trait WebhookTransport: Send + Sync + 'static {
    /// Refuses a URL that is not http or https, and one whose host is or resolves to an
    /// internal address (see [`crate::webhooks::is_internal`]) unless the operator allowed
    /// internal destinations.
    async fn check_destination(&self, url: &str) -> std::result::Result<(), DestinationError>;

    /// POSTs `body` with `headers`, checking the destination again after resolving it and
    /// following no redirects. Returns the receiver's status code, or why none came back.
    async fn post(
        &self,
        url: &str,
        body: Vec<u8>,
        headers: Vec<(String, String)>,
    ) -> std::result::Result<u16, String>;
}
