//! In-process store and blob store, for tests, examples and embedding without persistence.
//!
//! Everything lives in one mutex-guarded state, so each method is atomic. Nothing survives the
//! process.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use idv_core::api_keys::{ApiKey, ApiKeyChanges, NewApiKey};
use idv_core::domain::{
    NewUser, NewVerification, Page, PageRequest, Status, User, UserChanges, UserId, Verification,
    VerificationFilter, VerificationId, VerificationResult,
};
use idv_core::events::{verification_event, Event, EventFacts, EventKind, NewEvent};
use idv_core::idempotency::{Begin, StoredResponse};
use idv_core::logs::{LogEntry, LogFilter, NewLogEntry};
use idv_core::ports::{
    email_key, ApiKeyStore, BlobStore, EventStore, IdempotencyStore, Job, JobQueue, LogStore,
    UserStore, VerificationStore, WebhookStore,
};
use idv_core::webhooks::{
    AttemptOutcome, Delivery, DeliveryAttempt, DeliveryClaim, DeliveryStatus, NewWebhookEndpoint,
    WebhookEndpoint,
};
use idv_core::{Error, Result};

#[derive(Debug)]
struct QueuedJob {
    attempts: u32,
    claim: Option<(String, Instant)>,
}

#[derive(Debug, Clone)]
struct IdempotencyRecord {
    fingerprint: String,
    created_at: DateTime<Utc>,
    response: Option<StoredResponse>,
}

#[derive(Debug, Clone)]
struct HeldDelivery {
    delivery: Delivery,
    claim: Option<(String, DateTime<Utc>)>,
}

#[derive(Default)]
struct State {
    endpoints: BTreeMap<i64, WebhookEndpoint>,
    deliveries: BTreeMap<i64, HeldDelivery>,
    attempts: Vec<DeliveryAttempt>,
    fan_out_cursor: i64,
    next_endpoint: i64,
    next_delivery: i64,
    api_keys: BTreeMap<i64, ApiKey>,
    logs: Vec<LogEntry>,
    idempotency: HashMap<(String, String), IdempotencyRecord>,
    next_key: i64,
    next_log: i64,
    events: Vec<Event>,
    users: BTreeMap<UserId, User>,
    verifications: BTreeMap<VerificationId, Verification>,
    jobs: BTreeMap<VerificationId, QueuedJob>,
    next_user: UserId,
    next_verification: VerificationId,
    next_claim: u64,
}

/// Users, verifications and jobs in memory.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl State {
    /// Appends an event under the same lock as the change it describes.
    fn push_event(&mut self, new: NewEvent) -> Event {
        let event = Event {
            id: self.events.len() as i64 + 1,
            kind: new.kind,
            facts: new.facts,
            created_at: new.created_at,
        };
        self.events.push(event.clone());
        event
    }

    fn push_status_event(&mut self, kind: EventKind, v: &Verification) {
        let event = verification_event(kind, v.id, v.user_id, v.status, v.created_at, v.updated_at);
        self.push_event(event);
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data: every method validates before
        // it writes.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn page_of<T: Clone>(items: Vec<&T>, page: PageRequest) -> Page<T> {
    let total = items.len() as u64;
    let items = items
        .into_iter()
        .skip(page.offset() as usize)
        .take(page.per_page as usize)
        .cloned()
        .collect();
    Page {
        items,
        total,
        request: page,
    }
}

fn email_in_use(state: &State, email: &str, except: Option<UserId>) -> bool {
    let key = email_key(email);
    state
        .users
        .values()
        .any(|u| Some(u.id) != except && email_key(&u.email) == key)
}

fn email_conflict() -> Error {
    Error::conflict(
        "email",
        "email_taken",
        "a user with this email already exists",
    )
}

const USER: &str = "user";
const VERIFICATION: &str = "verification";

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user(&self, new: NewUser) -> Result<User> {
        let mut state = self.state();
        if email_in_use(&state, &new.email, None) {
            return Err(email_conflict());
        }
        state.next_user += 1;
        let user = User {
            id: state.next_user,
            email: new.email,
            full_name: new.full_name,
            role: new.role,
            password_hash: new.password_hash,
            created_at: idv_core::domain::now(),
        };
        state.users.insert(user.id, user.clone());
        Ok(user)
    }

    async fn get_user(&self, id: UserId) -> Result<User> {
        self.state()
            .users
            .get(&id)
            .cloned()
            .ok_or(Error::NotFound { what: USER })
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        let key = email_key(email);
        Ok(self
            .state()
            .users
            .values()
            .find(|u| email_key(&u.email) == key)
            .cloned())
    }

    async fn update_user(&self, id: UserId, changes: UserChanges) -> Result<User> {
        let mut state = self.state();
        if !state.users.contains_key(&id) {
            return Err(Error::NotFound { what: USER });
        }
        if changes
            .email
            .as_ref()
            .is_some_and(|e| email_in_use(&state, e, Some(id)))
        {
            return Err(email_conflict());
        }
        let user = state.users.get_mut(&id).expect("checked above");
        if let Some(email) = changes.email {
            user.email = email;
        }
        if let Some(name) = changes.full_name {
            user.full_name = name;
        }
        if let Some(hash) = changes.password_hash {
            user.password_hash = hash;
        }
        Ok(user.clone())
    }

    async fn delete_user(&self, id: UserId) -> Result<Vec<String>> {
        let mut state = self.state();
        state
            .users
            .remove(&id)
            .ok_or(Error::NotFound { what: USER })?;
        let owned: Vec<VerificationId> = state
            .verifications
            .values()
            .filter(|v| v.user_id == id)
            .map(|v| v.id)
            .collect();
        let mut prefixes = Vec::new();
        for vid in owned {
            state.jobs.remove(&vid);
            if let Some(v) = state.verifications.remove(&vid) {
                prefixes.push(v.blob_prefix);
            }
        }
        let facts = EventFacts {
            user_id: Some(id),
            ..EventFacts::default()
        };
        let created_at = idv_core::domain::now();
        state.push_event(NewEvent {
            kind: EventKind::UserDeleted,
            facts,
            created_at,
        });
        Ok(prefixes)
    }

    async fn list_users(&self, page: PageRequest) -> Result<Page<User>> {
        let state = self.state();
        Ok(page_of(state.users.values().collect(), page))
    }
}

#[async_trait]
impl VerificationStore for MemoryStore {
    async fn create_verification(&self, new: NewVerification) -> Result<Verification> {
        let mut state = self.state();
        if !state.users.contains_key(&new.user_id) {
            return Err(Error::NotFound { what: USER });
        }
        state.next_verification += 1;
        let now = idv_core::domain::now();
        let verification = Verification {
            id: state.next_verification,
            user_id: new.user_id,
            document_type: new.document_type,
            status: Status::Pending,
            blob_prefix: new.blob_prefix,
            has_back: new.has_back,
            result: None,
            created_at: now,
            updated_at: now,
        };
        state
            .verifications
            .insert(verification.id, verification.clone());
        state.jobs.insert(
            verification.id,
            QueuedJob {
                attempts: 0,
                claim: None,
            },
        );
        state.push_status_event(EventKind::VerificationCreated, &verification);
        Ok(verification)
    }

    async fn get_verification(&self, id: VerificationId) -> Result<Verification> {
        self.state()
            .verifications
            .get(&id)
            .cloned()
            .ok_or(Error::NotFound { what: VERIFICATION })
    }

    async fn list_verifications(
        &self,
        filter: VerificationFilter,
        page: PageRequest,
    ) -> Result<Page<Verification>> {
        let state = self.state();
        let matching = state
            .verifications
            .values()
            .filter(|v| filter.user_id.is_none_or(|id| v.user_id == id))
            .filter(|v| filter.status.is_none_or(|s| v.status == s))
            .collect();
        Ok(page_of(matching, page))
    }

    async fn set_outcome(
        &self,
        id: VerificationId,
        status: Status,
        result: &VerificationResult,
    ) -> Result<Verification> {
        let mut state = self.state();
        let verification = state
            .verifications
            .get_mut(&id)
            .ok_or(Error::NotFound { what: VERIFICATION })?;
        verification.status = status;
        verification.result = Some(result.clone());
        verification.updated_at = idv_core::domain::now();
        let updated = verification.clone();
        state.jobs.remove(&id);
        state.push_status_event(EventKind::VerificationStatusChanged, &updated);
        Ok(updated)
    }

    async fn delete_verification(&self, id: VerificationId) -> Result<Verification> {
        let mut state = self.state();
        state.jobs.remove(&id);
        state
            .verifications
            .remove(&id)
            .ok_or(Error::NotFound { what: VERIFICATION })
    }
}

#[async_trait]
impl JobQueue for MemoryStore {
    async fn claim_job(&self, lease: Duration) -> Result<Option<Job>> {
        let mut state = self.state();
        let now = Instant::now();
        state.next_claim += 1;
        let token = format!("claim-{}", state.next_claim);
        let Some((&id, job)) = state
            .jobs
            .iter_mut()
            .find(|(_, job)| job.claim.as_ref().is_none_or(|(_, until)| *until <= now))
        else {
            return Ok(None);
        };
        job.attempts += 1;
        job.claim = Some((token.clone(), now + lease));
        let attempts = job.attempts;
        if let Some(v) = state.verifications.get_mut(&id) {
            v.status = Status::Processing;
            v.updated_at = idv_core::domain::now();
        }
        Ok(Some(Job {
            verification_id: id,
            attempts,
            claim_token: token,
        }))
    }

    async fn complete_job(
        &self,
        job: &Job,
        status: Status,
        result: &VerificationResult,
    ) -> Result<bool> {
        let mut state = self.state();
        let held = state
            .jobs
            .get(&job.verification_id)
            .and_then(|j| j.claim.as_ref());
        if held.is_none_or(|(token, _)| *token != job.claim_token) {
            return Ok(false);
        }
        state.jobs.remove(&job.verification_id);
        let Some(v) = state.verifications.get_mut(&job.verification_id) else {
            return Ok(false);
        };
        v.status = status;
        v.result = Some(result.clone());
        v.updated_at = idv_core::domain::now();
        let decided = v.clone();
        state.push_status_event(EventKind::VerificationStatusChanged, &decided);
        Ok(true)
    }
}

const API_KEY: &str = "API key";

#[async_trait]
impl ApiKeyStore for MemoryStore {
    async fn create_api_key(&self, new: NewApiKey) -> Result<ApiKey> {
        let mut state = self.state();
        if !state.users.contains_key(&new.owner_id) {
            return Err(Error::NotFound { what: USER });
        }
        state.next_key += 1;
        let key = ApiKey {
            id: state.next_key,
            name: new.name,
            permissions: new.permissions,
            prefix: new.prefix,
            key_hash: new.key_hash,
            owner_id: new.owner_id,
            created_at: idv_core::domain::now(),
            last_used_at: None,
            expires_at: new.expires_at,
        };
        state.api_keys.insert(key.id, key.clone());
        Ok(key)
    }

    async fn get_api_key(&self, id: i64) -> Result<ApiKey> {
        self.state()
            .api_keys
            .get(&id)
            .cloned()
            .ok_or(Error::NotFound { what: API_KEY })
    }

    async fn find_api_key(&self, prefix: &str) -> Result<Option<ApiKey>> {
        Ok(self
            .state()
            .api_keys
            .values()
            .find(|k| k.prefix == prefix)
            .cloned())
    }

    async fn list_api_keys(&self, page: PageRequest) -> Result<Page<ApiKey>> {
        let state = self.state();
        Ok(page_of(state.api_keys.values().collect(), page))
    }

    async fn update_api_key(&self, id: i64, changes: ApiKeyChanges) -> Result<ApiKey> {
        let mut state = self.state();
        let key = state
            .api_keys
            .get_mut(&id)
            .ok_or(Error::NotFound { what: API_KEY })?;
        if let Some(name) = changes.name {
            key.name = name;
        }
        if let Some(permissions) = changes.permissions {
            key.permissions = permissions;
        }
        Ok(key.clone())
    }

    async fn touch_api_key(&self, id: i64, at: DateTime<Utc>) -> Result<()> {
        if let Some(key) = self.state().api_keys.get_mut(&id) {
            key.last_used_at = Some(at);
        }
        Ok(())
    }

    async fn delete_api_key(&self, id: i64) -> Result<()> {
        let mut state = self.state();
        let key = state
            .api_keys
            .remove(&id)
            .ok_or(Error::NotFound { what: API_KEY })?;
        let facts = EventFacts {
            api_key_id: Some(id),
            user_id: Some(key.owner_id),
            ..EventFacts::default()
        };
        let created_at = idv_core::domain::now();
        state.push_event(NewEvent {
            kind: EventKind::ApiKeyRevoked,
            facts,
            created_at,
        });
        Ok(())
    }
}

#[async_trait]
impl LogStore for MemoryStore {
    async fn append_log(&self, entry: NewLogEntry) -> Result<LogEntry> {
        let mut state = self.state();
        state.next_log += 1;
        let stored = LogEntry {
            id: state.next_log,
            timestamp: entry.timestamp,
            level: entry.level,
            event: entry.event,
            message: entry.message,
            user_id: entry.user_id,
        };
        state.logs.push(stored.clone());
        Ok(stored)
    }

    async fn list_logs(&self, filter: LogFilter, page: PageRequest) -> Result<Page<LogEntry>> {
        let state = self.state();
        let mut matching: Vec<&LogEntry> = state
            .logs
            .iter()
            .filter(|e| filter.from.is_none_or(|from| e.timestamp >= from))
            .filter(|e| filter.to.is_none_or(|to| e.timestamp < to))
            .filter(|e| filter.level.is_none_or(|level| e.level == level))
            .collect();
        matching.sort_by_key(|e| (e.timestamp, e.id));
        Ok(page_of(matching, page))
    }

    async fn purge_logs(&self, before: DateTime<Utc>) -> Result<u64> {
        let mut state = self.state();
        let count = state.logs.len();
        state.logs.retain(|e| e.timestamp >= before);
        Ok((count - state.logs.len()) as u64)
    }
}

#[async_trait]
impl IdempotencyStore for MemoryStore {
    async fn begin_request(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        expired_before: DateTime<Utc>,
    ) -> Result<Begin> {
        let mut state = self.state();
        let id = (scope.to_string(), key.to_string());
        if let Some(record) = state
            .idempotency
            .get(&id)
            .filter(|r| r.created_at >= expired_before)
        {
            return Ok(
                match (&record.response, record.fingerprint == fingerprint) {
                    (_, false) => Begin::Mismatch,
                    (Some(response), true) => Begin::Replay(response.clone()),
                    (None, true) => Begin::InProgress,
                },
            );
        }
        let record = IdempotencyRecord {
            fingerprint: fingerprint.to_string(),
            created_at: now,
            response: None,
        };
        state.idempotency.insert(id, record);
        Ok(Begin::Proceed)
    }

    async fn finish_request(
        &self,
        scope: &str,
        key: &str,
        response: &StoredResponse,
    ) -> Result<()> {
        let id = (scope.to_string(), key.to_string());
        if let Some(record) = self.state().idempotency.get_mut(&id) {
            record.response = Some(response.clone());
        }
        Ok(())
    }

    async fn abandon_request(&self, scope: &str, key: &str) -> Result<()> {
        self.state()
            .idempotency
            .remove(&(scope.to_string(), key.to_string()));
        Ok(())
    }

    async fn purge_requests(&self, before: DateTime<Utc>) -> Result<u64> {
        let mut state = self.state();
        let count = state.idempotency.len();
        state.idempotency.retain(|_, r| r.created_at >= before);
        Ok((count - state.idempotency.len()) as u64)
    }
}

/// How often a waiter for new events looks again.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

#[async_trait]
impl EventStore for MemoryStore {
    async fn append_event(&self, event: NewEvent) -> Result<Event> {
        Ok(self.state().push_event(event))
    }

    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<Event>> {
        let state = self.state();
        let start = usize::try_from(after.max(0))
            .unwrap_or(usize::MAX)
            .min(state.events.len());
        Ok(state.events[start..]
            .iter()
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn wait_for_events(&self, after: i64, max_wait: Duration) -> Result<()> {
        // Other processes may write too: poll.
        let started = std::time::Instant::now();
        while started.elapsed() < max_wait {
            if self.last_event_id().await? > after {
                break;
            }
            tokio::time::sleep(POLL_INTERVAL.min(max_wait)).await;
        }
        Ok(())
    }

    async fn last_event_id(&self) -> Result<i64> {
        Ok(self.state().events.len() as i64)
    }

    async fn count_events(
        &self,
        kind: EventKind,
        user_id: UserId,
        status: Option<Status>,
        since: DateTime<Utc>,
    ) -> Result<u64> {
        let state = self.state();
        let count = state
            .events
            .iter()
            .filter(|e| e.kind == kind && e.facts.user_id == Some(user_id) && e.created_at >= since)
            .filter(|e| status.is_none_or(|s| e.facts.status == Some(s)))
            .count();
        Ok(count as u64)
    }
}

const ENDPOINT: &str = "webhook endpoint";
const DELIVERY: &str = "webhook delivery";

#[async_trait]
impl WebhookStore for MemoryStore {
    async fn create_endpoint(&self, new: NewWebhookEndpoint) -> Result<WebhookEndpoint> {
        let mut state = self.state();
        state.next_endpoint += 1;
        let endpoint = WebhookEndpoint {
            id: state.next_endpoint,
            url: new.url,
            events: new.events,
            secret: new.secret,
            created_at: idv_core::domain::now(),
        };
        state.endpoints.insert(endpoint.id, endpoint.clone());
        Ok(endpoint)
    }

    async fn get_endpoint(&self, id: i64) -> Result<WebhookEndpoint> {
        self.state()
            .endpoints
            .get(&id)
            .cloned()
            .ok_or(Error::NotFound { what: ENDPOINT })
    }

    async fn list_endpoints(&self, page: PageRequest) -> Result<Page<WebhookEndpoint>> {
        let state = self.state();
        Ok(page_of(state.endpoints.values().collect(), page))
    }

    async fn delete_endpoint(&self, id: i64) -> Result<()> {
        let mut state = self.state();
        state
            .endpoints
            .remove(&id)
            .ok_or(Error::NotFound { what: ENDPOINT })?;
        let gone: Vec<i64> = state
            .deliveries
            .values()
            .filter(|d| d.delivery.endpoint_id == id)
            .map(|d| d.delivery.id)
            .collect();
        state.deliveries.retain(|_, d| d.delivery.endpoint_id != id);
        state.attempts.retain(|a| !gone.contains(&a.delivery_id));
        Ok(())
    }

    async fn fan_out_cursor(&self) -> Result<i64> {
        Ok(self.state().fan_out_cursor)
    }

    async fn add_deliveries(
        &self,
        from: i64,
        to: i64,
        pairs: &[(i64, i64)],
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let mut state = self.state();
        if state.fan_out_cursor != from {
            return Ok(false);
        }
        state.fan_out_cursor = to;
        for &(endpoint_id, event_id) in pairs {
            let exists = state
                .deliveries
                .values()
                .any(|d| d.delivery.endpoint_id == endpoint_id && d.delivery.event_id == event_id);
            if exists || !state.endpoints.contains_key(&endpoint_id) {
                continue;
            }
            state.next_delivery += 1;
            let delivery = Delivery {
                id: state.next_delivery,
                endpoint_id,
                event_id,
                status: DeliveryStatus::Pending,
                attempts: 0,
                next_attempt_at: at,
                created_at: at,
                delivered_at: None,
                last_error: None,
                retry_since: at,
            };
            state.deliveries.insert(
                delivery.id,
                HeldDelivery {
                    delivery,
                    claim: None,
                },
            );
        }
        Ok(true)
    }

    async fn claim_delivery(
        &self,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<DeliveryClaim>> {
        let mut state = self.state();
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        let due = state
            .deliveries
            .values()
            .filter(|d| {
                d.delivery.status == DeliveryStatus::Pending && d.delivery.next_attempt_at <= now
            })
            .filter(|d| {
                d.claim
                    .as_ref()
                    .is_none_or(|(_, lease_until)| *lease_until <= now)
            })
            .min_by_key(|d| (d.delivery.next_attempt_at, d.delivery.id));
        let Some(id) = due.map(|d| d.delivery.id) else {
            return Ok(None);
        };
        state.next_claim += 1;
        let token = format!("delivery-claim-{}", state.next_claim);
        let held = state.deliveries.get_mut(&id).expect("found above");
        held.claim = Some((token.clone(), until));
        Ok(Some(DeliveryClaim {
            delivery: held.delivery.clone(),
            claim_token: token,
        }))
    }

    async fn record_attempt(
        &self,
        claim: &DeliveryClaim,
        attempt: &DeliveryAttempt,
        outcome: &AttemptOutcome,
    ) -> Result<bool> {
        let mut state = self.state();
        let Some(held) = state.deliveries.get_mut(&claim.delivery.id) else {
            return Ok(false);
        };
        if held
            .claim
            .as_ref()
            .is_none_or(|(token, _)| *token != claim.claim_token)
        {
            return Ok(false);
        }
        held.claim = None;
        let d = &mut held.delivery;
        d.attempts = attempt.number;
        d.last_error = attempt.error.clone();
        match outcome {
            AttemptOutcome::Delivered => {
                d.status = DeliveryStatus::Delivered;
                d.delivered_at = Some(attempt.at);
            }
            AttemptOutcome::Retry(at) => d.next_attempt_at = *at,
            AttemptOutcome::Failed => d.status = DeliveryStatus::Failed,
        }
        state.attempts.push(attempt.clone());
        Ok(true)
    }

    async fn get_delivery(&self, id: i64) -> Result<Delivery> {
        let state = self.state();
        state
            .deliveries
            .get(&id)
            .map(|d| d.delivery.clone())
            .ok_or(Error::NotFound { what: DELIVERY })
    }

    async fn list_deliveries(
        &self,
        endpoint_id: Option<i64>,
        page: PageRequest,
    ) -> Result<Page<Delivery>> {
        let state = self.state();
        let matching: Vec<&Delivery> = state
            .deliveries
            .values()
            .rev()
            .map(|d| &d.delivery)
            .filter(|d| endpoint_id.is_none_or(|id| d.endpoint_id == id))
            .collect();
        Ok(page_of(matching, page))
    }

    async fn list_attempts(&self, delivery_id: i64) -> Result<Vec<DeliveryAttempt>> {
        let state = self.state();
        Ok(state
            .attempts
            .iter()
            .filter(|a| a.delivery_id == delivery_id)
            .cloned()
            .collect())
    }

    async fn redeliver(&self, id: i64, now: DateTime<Utc>) -> Result<Delivery> {
        let mut state = self.state();
        let held = state
            .deliveries
            .get_mut(&id)
            .ok_or(Error::NotFound { what: DELIVERY })?;
        held.claim = None;
        held.delivery.status = DeliveryStatus::Pending;
        held.delivery.next_attempt_at = now;
        held.delivery.retry_since = now;
        Ok(held.delivery.clone())
    }
}

/// Blobs in memory.
#[derive(Default)]
pub struct MemoryBlobStore {
    blobs: Mutex<HashMap<String, Vec<u8>>>,
}

impl std::fmt::Debug for MemoryBlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBlobStore").finish_non_exhaustive()
    }
}

impl MemoryBlobStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn blobs(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<u8>>> {
        self.blobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl BlobStore for MemoryBlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        crate::blob_key::check(key)?;
        self.blobs().insert(key.to_string(), bytes);
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>> {
        crate::blob_key::check(key)?;
        self.blobs()
            .get(key)
            .cloned()
            .ok_or(Error::NotFound { what: "blob" })
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<()> {
        crate::blob_key::check(prefix)?;
        let dir = format!("{prefix}/");
        self.blobs().retain(|key, _| !key.starts_with(&dir));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn passes_the_store_conformance_suite() {
        idv_core::testing::store_suite(|| async { Arc::new(MemoryStore::new()) }).await;
    }

    #[tokio::test]
    async fn passes_the_webhook_conformance_suite() {
        idv_core::testing::webhook_suite(|| async { Arc::new(MemoryStore::new()) }).await;
    }

    #[tokio::test]
    async fn passes_the_blob_conformance_suite() {
        idv_core::testing::blob_suite(Arc::new(MemoryBlobStore::new())).await;
    }
}
