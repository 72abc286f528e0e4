//! The PostgreSQL store: every storage port on one PostgreSQL database through sqlx, for
//! deployments that run several servers against one database.
//!
//! Servers may share the database. Claims take jobs with `FOR UPDATE SKIP LOCKED`, so two
//! workers never get one job, and leases are timed by the database clock, so servers whose
//! clocks disagree still agree on when a lease ran out. Domain times (`created_at`,
//! `updated_at`) come from the core's clock, as in every store.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use idv_core::api_keys::{ApiKey, ApiKeyChanges, NewApiKey, Permission};
use idv_core::auth::Secret;
use idv_core::domain::{
    now, DocumentType, NewUser, NewVerification, Page, PageRequest, Role, Status, User,
    UserChanges, UserId, Verification, VerificationFilter, VerificationId, VerificationResult,
};
use idv_core::events::{verification_event, Event, EventFacts, EventKind, NewEvent, Step};
use idv_core::idempotency::{Begin, StoredResponse};
use idv_core::logs::{Event as LogEvent, Level, LogEntry, LogFilter, NewLogEntry};
use idv_core::ports::{
    email_key, ApiKeyStore, EventStore, IdempotencyStore, Job, JobQueue, LogStore, UserStore,
    VerificationStore, WebhookStore,
};
use idv_core::webhooks::{
    AttemptOutcome, Delivery, DeliveryAttempt, DeliveryClaim, DeliveryStatus, NewWebhookEndpoint,
    WebhookEndpoint,
};
use idv_core::{Error, Result};
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions, PgRow};
use sqlx::{Connection, PgPool, Postgres, Row};

/// The setting that holds the database URL, named in start-up errors so they say what to fix.
const URL_SETTING: &str = "IDV_DATABASE_URL";
/// How long to wait for the server at start-up, and for a pooled connection later.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Enough for one server's requests and workers, well under PostgreSQL's default limit of 100.
const MAX_CONNECTIONS: u32 = 10;
/// Longer leases are cut to this, so that `now() + lease` stays a valid timestamp.
const MAX_LEASE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The schema, embedded so that the binary needs no files beside it.
#[derive(Debug)]
struct Migrations;

impl<'s> MigrationSource<'s> for Migrations {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, sqlx::error::BoxDynError>> + Send + 's>>
    {
        let init = Migration::new(
            1,
            Cow::Borrowed("init"),
            MigrationType::Simple,
            Cow::Borrowed(include_str!("../migrations/postgres/0001_init.sql")),
            false,
        );
        let events = Migration::new(
            2,
            Cow::Borrowed("events"),
            MigrationType::Simple,
            Cow::Borrowed(include_str!("../migrations/postgres/0002_events.sql")),
            false,
        );
        let webhooks = Migration::new(
            3,
            Cow::Borrowed("webhooks"),
            MigrationType::Simple,
            Cow::Borrowed(include_str!("../migrations/postgres/0003_webhooks.sql")),
            false,
        );
        Box::pin(async move { Ok(vec![init, events, webhooks]) })
    }
}

/// Every storage port in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// Woken when any instance commits an event (LISTEN/NOTIFY).
    committed: Arc<tokio::sync::Notify>,
    /// Starts the listener on first use.
    listening: Arc<tokio::sync::OnceCell<()>>,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:5432/database`) and
    /// applies migrations. `Invalid` on `IDV_DATABASE_URL` when the URL is malformed or the
    /// server refuses it (wrong password, no such database); `Unavailable` when the server
    /// cannot be reached.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| Error::invalid(URL_SETTING, "invalid_url", e.to_string()))?;
        // A single connection first: it says why the server cannot be reached, where the pool
        // would retry until it only knows that it timed out. It also applies the migrations.
        let mut connection = open_connection(&options).await?;
        migrate(&mut connection).await?;
        // Only the migrations' outcome matters; a failed goodbye leaves nothing behind.
        let _ = connection.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_lazy_with(options);
        Ok(Self {
            pool,
            committed: Arc::new(tokio::sync::Notify::new()),
            listening: Arc::new(tokio::sync::OnceCell::new()),
        })
    }

    /// Closes the connections.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The row of `table` with this id, if there is one.
    async fn get_row<T>(
        &self,
        table: &str,
        columns: &str,
        id: i64,
        map: fn(&PgRow) -> Result<T>,
    ) -> Result<Option<T>> {
        let sql = format!("SELECT {columns} FROM {table} WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(map).transpose()
    }

    /// One page of a whole table, in id order.
    async fn list_table<T>(
        &self,
        table: &str,
        columns: &str,
        request: PageRequest,
        map: fn(&PgRow) -> Result<T>,
    ) -> Result<Page<T>> {
        let count = format!("SELECT COUNT(*) FROM {table}");
        let total: i64 = sqlx::query_scalar(&count)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        let sql = format!("SELECT {columns} FROM {table} ORDER BY id LIMIT $1 OFFSET $2");
        let rows = sqlx::query(&sql)
            .bind(i64::from(request.per_page))
            .bind(request.offset())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let items = rows.iter().map(map).collect::<Result<_>>()?;
        Ok(page(items, total, request))
    }
}

async fn open_connection(options: &PgConnectOptions) -> Result<PgConnection> {
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(options)).await {
        Ok(connected) => connected.map_err(connect_error),
        Err(_) => Err(Error::Unavailable(format!(
            "{URL_SETTING}: PostgreSQL did not answer within {CONNECT_TIMEOUT:?}"
        ))),
    }
}

/// A server that answers but refuses us needs the setting fixed; anything else may pass.
fn connect_error(error: sqlx::Error) -> Error {
    match &error {
        sqlx::Error::Database(db) if !db.code().is_some_and(|code| is_transient(&code)) => {
            Error::invalid(URL_SETTING, "database_refused", error.to_string())
        }
        sqlx::Error::Configuration(_) => {
            Error::invalid(URL_SETTING, "invalid_url", error.to_string())
        }
        _ => Error::Unavailable(format!("{URL_SETTING}: cannot reach PostgreSQL: {error}")),
    }
}

async fn migrate(connection: &mut PgConnection) -> Result<()> {
    // The migrator holds an advisory lock while it runs, so servers starting together take
    // turns instead of applying the schema twice.
    let migrator = Migrator::new(Migrations).await.map_err(Error::internal)?;
    migrator
        .run(connection)
        .await
        .map_err(|e| Error::Unavailable(format!("migrating PostgreSQL: {e}")))
}

/// SQLSTATEs after which a retry may succeed: lost connections (class 08), exhausted resources
/// (53), server shutdown or start-up (57P), serialization failures and deadlocks (40).
fn is_transient(code: &str) -> bool {
    ["08", "53", "57P", "40"]
        .iter()
        .any(|class| code.starts_with(class))
}

/// The one place where sqlx errors become core errors.
fn map_err(error: sqlx::Error) -> Error {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => unique_conflict(db.constraint()),
        // Every foreign key a caller can break points at a user (a job is written in the same
        // statement as its verification).
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            Error::NotFound { what: "user" }
        }
        sqlx::Error::Database(db) if db.code().is_some_and(|code| is_transient(&code)) => {
            Error::Unavailable(format!("PostgreSQL: {error}"))
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => Error::Unavailable(format!("PostgreSQL: {error}")),
        _ => Error::Internal(format!("PostgreSQL: {error}")),
    }
}

/// Unique indexes are told apart by name (see the migrations).
fn unique_conflict(constraint: Option<&str>) -> Error {
    match constraint {
        Some("api_keys_prefix") => Error::conflict(
            "prefix",
            "prefix_taken",
            "an API key with this prefix already exists",
        ),
        _ => Error::conflict(
            "email",
            "email_taken",
            "a user with this email already exists",
        ),
    }
}

/// One column of a row, with decoding errors mapped like every other sqlx error.
fn get<'r, T>(row: &'r PgRow, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(column).map_err(map_err)
}

/// Parses a stored name of an enum; a name we cannot read is our fault, not the caller's.
fn parse_stored<T>(what: &str, text: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T> {
    parse(text).ok_or_else(|| Error::internal(format!("stored {what} {text:?}")))
}

fn page<T>(items: Vec<T>, total: i64, request: PageRequest) -> Page<T> {
    Page {
        items,
        total: total.max(0) as u64,
        request,
    }
}

const USER_COLUMNS: &str = "id, email, full_name, role, password_hash, created_at";
// The result is JSONB in the table and read back as text for serde.
const VERIFICATION_COLUMNS: &str = "id, user_id, document_type, status, blob_prefix, has_back, \
     result::text AS result, created_at, updated_at";
const API_KEY_COLUMNS: &str =
    "id, name, permissions, prefix, key_hash, owner_id, created_at, last_used_at, expires_at";
const LOG_COLUMNS: &str = "id, logged_at, level, event, message, user_id";

fn user_from_row(row: &PgRow) -> Result<User> {
    Ok(User {
        id: get(row, "id")?,
        email: get(row, "email")?,
        full_name: get(row, "full_name")?,
        role: Role::parse(get(row, "role")?)?,
        password_hash: get(row, "password_hash")?,
        created_at: get(row, "created_at")?,
    })
}

fn verification_from_row(row: &PgRow) -> Result<Verification> {
    let result: Option<&str> = get(row, "result")?;
    Ok(Verification {
        id: get(row, "id")?,
        user_id: get(row, "user_id")?,
        document_type: parse_stored(
            "document type",
            get(row, "document_type")?,
            DocumentType::parse,
        )?,
        status: parse_stored("status", get(row, "status")?, Status::parse)?,
        blob_prefix: get(row, "blob_prefix")?,
        has_back: get(row, "has_back")?,
        result: result
            .map(serde_json::from_str)
            .transpose()
            .map_err(Error::internal)?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

fn api_key_from_row(row: &PgRow) -> Result<ApiKey> {
    let permissions: Vec<String> = get(row, "permissions")?;
    Ok(ApiKey {
        id: get(row, "id")?,
        name: get(row, "name")?,
        permissions: permissions
            .iter()
            .map(|p| parse_stored("permission", p, Permission::parse))
            .collect::<Result<_>>()?,
        prefix: get(row, "prefix")?,
        key_hash: get(row, "key_hash")?,
        owner_id: get(row, "owner_id")?,
        created_at: get(row, "created_at")?,
        last_used_at: get(row, "last_used_at")?,
        expires_at: get(row, "expires_at")?,
    })
}

fn log_from_row(row: &PgRow) -> Result<LogEntry> {
    Ok(LogEntry {
        id: get(row, "id")?,
        timestamp: get(row, "logged_at")?,
        level: parse_stored("level", get(row, "level")?, Level::parse)?,
        event: parse_stored("event", get(row, "event")?, LogEvent::parse)?,
        message: get(row, "message")?,
        user_id: get(row, "user_id")?,
    })
}

fn result_json(result: &VerificationResult) -> Result<String> {
    serde_json::to_string(result).map_err(Error::internal)
}

fn permission_names(permissions: &[Permission]) -> Vec<&'static str> {
    permissions.iter().map(|p| p.as_str()).collect()
}

fn user_not_found() -> Error {
    Error::NotFound { what: "user" }
}

fn verification_not_found() -> Error {
    Error::NotFound {
        what: "verification",
    }
}

fn key_not_found() -> Error {
    Error::NotFound { what: "API key" }
}

#[async_trait]
impl UserStore for PostgresStore {
    async fn create_user(&self, new: NewUser) -> Result<User> {
        let created_at = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (email, email_key, full_name, role, password_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&new.email)
        .bind(email_key(&new.email))
        .bind(&new.full_name)
        .bind(new.role.as_str())
        .bind(&new.password_hash)
        .bind(created_at)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(User {
            id,
            email: new.email,
            full_name: new.full_name,
            role: new.role,
            password_hash: new.password_hash,
            created_at,
        })
    }

    async fn get_user(&self, id: UserId) -> Result<User> {
        self.get_row("users", USER_COLUMNS, id, user_from_row)
            .await?
            .ok_or_else(user_not_found)
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email_key = $1");
        let row = sqlx::query(&sql)
            .bind(email_key(email))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn update_user(&self, id: UserId, changes: UserChanges) -> Result<User> {
        let sql = format!(
            "UPDATE users SET email = COALESCE($1, email), email_key = COALESCE($2, email_key),
                 full_name = COALESCE($3, full_name), password_hash = COALESCE($4, password_hash)
             WHERE id = $5 RETURNING {USER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(changes.email.as_deref())
            .bind(changes.email.as_deref().map(email_key))
            .bind(changes.full_name)
            .bind(changes.password_hash)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref()
            .map(user_from_row)
            .unwrap_or_else(|| Err(user_not_found()))
    }

    async fn delete_user(&self, id: UserId) -> Result<Vec<String>> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        lock_events(&mut tx).await?;
        // Locking the user first holds off verifications being added meanwhile (their foreign
        // key check needs a share lock on the user), so every deleted prefix is returned.
        let exists = sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        if exists.is_none() {
            return Err(user_not_found());
        }
        let prefixes: Vec<String> = sqlx::query_scalar(
            "DELETE FROM verifications WHERE user_id = $1 RETURNING blob_prefix",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let facts = EventFacts {
            user_id: Some(id),
            ..EventFacts::default()
        };
        let event = NewEvent {
            kind: EventKind::UserDeleted,
            facts,
            created_at: now(),
        };
        insert_event(&mut tx, &event).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(prefixes)
    }

    async fn list_users(&self, request: PageRequest) -> Result<Page<User>> {
        self.list_table("users", USER_COLUMNS, request, user_from_row)
            .await
    }
}

#[async_trait]
impl VerificationStore for PostgresStore {
    async fn create_verification(&self, new: NewVerification) -> Result<Verification> {
        let created_at = now();
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        lock_events(&mut tx).await?;
        // The job goes in with the verification, so neither exists alone.
        let id: i64 = sqlx::query_scalar(
            "WITH created AS (
                 INSERT INTO verifications
                     (user_id, document_type, status, blob_prefix, has_back, created_at,
                      updated_at)
                 VALUES ($1, $2, 'pending', $3, $4, $5, $5) RETURNING id
             ), queued AS (
                 INSERT INTO jobs (verification_id) SELECT id FROM created
             )
             SELECT id FROM created",
        )
        .bind(new.user_id)
        .bind(new.document_type.as_str())
        .bind(&new.blob_prefix)
        .bind(new.has_back)
        .bind(created_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        let kind = EventKind::VerificationCreated;
        let event = verification_event(
            kind,
            id,
            new.user_id,
            Status::Pending,
            created_at,
            created_at,
        );
        insert_event(&mut tx, &event).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(Verification {
            id,
            user_id: new.user_id,
            document_type: new.document_type,
            status: Status::Pending,
            blob_prefix: new.blob_prefix,
            has_back: new.has_back,
            result: None,
            created_at,
            updated_at: created_at,
        })
    }

    async fn get_verification(&self, id: VerificationId) -> Result<Verification> {
        self.get_row(
            "verifications",
            VERIFICATION_COLUMNS,
            id,
            verification_from_row,
        )
        .await?
        .ok_or_else(verification_not_found)
    }

    async fn list_verifications(
        &self,
        filter: VerificationFilter,
        request: PageRequest,
    ) -> Result<Page<Verification>> {
        let condition =
            "($1::bigint IS NULL OR user_id = $1) AND ($2::text IS NULL OR status = $2)";
        let status = filter.status.map(Status::as_str);
        let total: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM verifications WHERE {condition}"
        ))
        .bind(filter.user_id)
        .bind(status)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        let sql = format!(
            "SELECT {VERIFICATION_COLUMNS} FROM verifications WHERE {condition}
             ORDER BY id LIMIT $3 OFFSET $4"
        );
        let rows = sqlx::query(&sql)
            .bind(filter.user_id)
            .bind(status)
            .bind(i64::from(request.per_page))
            .bind(request.offset())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let items = rows
            .iter()
            .map(verification_from_row)
            .collect::<Result<_>>()?;
        Ok(page(items, total, request))
    }

    async fn set_outcome(
        &self,
        id: VerificationId,
        status: Status,
        result: &VerificationResult,
    ) -> Result<Verification> {
        let sql = format!(
            "WITH decided AS (
                 UPDATE verifications SET status = $1, result = $2::jsonb, updated_at = $3
                 WHERE id = $4 RETURNING *
             ), dropped AS (
                 DELETE FROM jobs WHERE verification_id IN (SELECT id FROM decided)
             )
             SELECT {VERIFICATION_COLUMNS} FROM decided"
        );
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        lock_events(&mut tx).await?;
        let row = sqlx::query(&sql)
            .bind(status.as_str())
            .bind(result_json(result)?)
            .bind(now())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        let Some(row) = row else {
            return Err(verification_not_found());
        };
        let updated = verification_from_row(&row)?;
        insert_event(&mut tx, &status_changed(&updated)).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(updated)
    }

    async fn delete_verification(&self, id: VerificationId) -> Result<Verification> {
        // The job goes with it through its cascading foreign key.
        let sql =
            format!("DELETE FROM verifications WHERE id = $1 RETURNING {VERIFICATION_COLUMNS}");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref()
            .map(verification_from_row)
            .unwrap_or_else(|| Err(verification_not_found()))
    }
}

#[async_trait]
impl JobQueue for PostgresStore {
    async fn claim_job(&self, lease: Duration) -> Result<Option<Job>> {
        let token = crate::claim_token();
        let lease_micros = lease.min(MAX_LEASE).as_micros() as i64;
        // One statement, so one transaction. SKIP LOCKED passes over jobs that another claim is
        // taking right now instead of waiting for it; clock_timestamp() rather than now() so
        // that the lease is timed from the claim itself, not from the start of the transaction.
        let claimed = sqlx::query(
            "WITH next AS (
                 SELECT verification_id FROM jobs
                 WHERE lease_until IS NULL OR lease_until <= clock_timestamp()
                 ORDER BY verification_id
                 LIMIT 1
                 FOR UPDATE SKIP LOCKED
             ), claimed AS (
                 UPDATE jobs SET attempts = attempts + 1, claim_token = $1,
                     lease_until = clock_timestamp() + $2 * INTERVAL '1 microsecond'
                 FROM next WHERE jobs.verification_id = next.verification_id
                 RETURNING jobs.verification_id, jobs.attempts
             )
             UPDATE verifications SET status = 'processing', updated_at = $3
             FROM claimed WHERE verifications.id = claimed.verification_id
             RETURNING claimed.verification_id, claimed.attempts",
        )
        .bind(&token)
        .bind(lease_micros)
        .bind(now())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let Some(row) = claimed else {
            return Ok(None);
        };
        let attempts: i32 = get(&row, "attempts")?;
        Ok(Some(Job {
            verification_id: get(&row, "verification_id")?,
            attempts: attempts.max(0) as u32,
            claim_token: token,
        }))
    }

    async fn complete_job(
        &self,
        job: &Job,
        status: Status,
        result: &VerificationResult,
    ) -> Result<bool> {
        // One statement, so one transaction: the verification changes only if the job was
        // still ours to delete. A later claim replaced the token; a deleted verification took
        // the job with it.
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        lock_events(&mut tx).await?;
        let sql = format!(
            "WITH released AS (
                 DELETE FROM jobs WHERE verification_id = $1 AND claim_token = $2
                 RETURNING verification_id
             ), decided AS (
                 UPDATE verifications SET status = $3, result = $4::jsonb, updated_at = $5
                 FROM released WHERE verifications.id = released.verification_id
                 RETURNING verifications.*
             )
             SELECT {VERIFICATION_COLUMNS} FROM decided"
        );
        let row = sqlx::query(&sql)
            .bind(job.verification_id)
            .bind(&job.claim_token)
            .bind(status.as_str())
            .bind(result_json(result)?)
            .bind(now())
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        let Some(row) = row else {
            return Ok(false);
        };
        insert_event(&mut tx, &status_changed(&verification_from_row(&row)?)).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }
}

#[async_trait]
impl ApiKeyStore for PostgresStore {
    async fn create_api_key(&self, new: NewApiKey) -> Result<ApiKey> {
        let sql = format!(
            "INSERT INTO api_keys
                 (name, permissions, prefix, key_hash, owner_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {API_KEY_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&new.name)
            .bind(permission_names(&new.permissions))
            .bind(&new.prefix)
            .bind(&new.key_hash)
            .bind(new.owner_id)
            .bind(now())
            .bind(new.expires_at)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        api_key_from_row(&row)
    }

    async fn get_api_key(&self, id: i64) -> Result<ApiKey> {
        self.get_row("api_keys", API_KEY_COLUMNS, id, api_key_from_row)
            .await?
            .ok_or_else(key_not_found)
    }

    async fn find_api_key(&self, prefix: &str) -> Result<Option<ApiKey>> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE prefix = $1");
        let row = sqlx::query(&sql)
            .bind(prefix)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(api_key_from_row).transpose()
    }

    async fn list_api_keys(&self, request: PageRequest) -> Result<Page<ApiKey>> {
        self.list_table("api_keys", API_KEY_COLUMNS, request, api_key_from_row)
            .await
    }

    async fn update_api_key(&self, id: i64, changes: ApiKeyChanges) -> Result<ApiKey> {
        let sql = format!(
            "UPDATE api_keys SET name = COALESCE($1, name),
                 permissions = COALESCE($2, permissions)
             WHERE id = $3 RETURNING {API_KEY_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(changes.name)
            .bind(changes.permissions.as_deref().map(permission_names))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref()
            .map(api_key_from_row)
            .unwrap_or_else(|| Err(key_not_found()))
    }

    async fn touch_api_key(&self, id: i64, at: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn delete_api_key(&self, id: i64) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        lock_events(&mut tx).await?;
        let owner: Option<i64> =
            sqlx::query_scalar("DELETE FROM api_keys WHERE id = $1 RETURNING owner_id")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
        let Some(owner) = owner else {
            return Err(key_not_found());
        };
        let facts = EventFacts {
            api_key_id: Some(id),
            user_id: Some(owner),
            ..EventFacts::default()
        };
        let event = NewEvent {
            kind: EventKind::ApiKeyRevoked,
            facts,
            created_at: now(),
        };
        insert_event(&mut tx, &event).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }
}

#[async_trait]
impl LogStore for PostgresStore {
    async fn append_log(&self, entry: NewLogEntry) -> Result<LogEntry> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO logs (logged_at, level, event, message, user_id)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(entry.timestamp)
        .bind(entry.level.as_str())
        .bind(entry.event.as_str())
        .bind(&entry.message)
        .bind(entry.user_id)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(LogEntry {
            id,
            timestamp: entry.timestamp,
            level: entry.level,
            event: entry.event,
            message: entry.message,
            user_id: entry.user_id,
        })
    }

    async fn list_logs(&self, filter: LogFilter, request: PageRequest) -> Result<Page<LogEntry>> {
        // `from` is inclusive and `to` exclusive, so consecutive ranges never share an entry.
        let condition = "($1::timestamptz IS NULL OR logged_at >= $1)
             AND ($2::timestamptz IS NULL OR logged_at < $2)
             AND ($3::text IS NULL OR level = $3)";
        let level = filter.level.map(Level::as_str);
        let total: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM logs WHERE {condition}"))
                .bind(filter.from)
                .bind(filter.to)
                .bind(level)
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?;
        let sql = format!(
            "SELECT {LOG_COLUMNS} FROM logs WHERE {condition}
             ORDER BY logged_at, id LIMIT $4 OFFSET $5"
        );
        let rows = sqlx::query(&sql)
            .bind(filter.from)
            .bind(filter.to)
            .bind(level)
            .bind(i64::from(request.per_page))
            .bind(request.offset())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let items = rows.iter().map(log_from_row).collect::<Result<_>>()?;
        Ok(page(items, total, request))
    }

    async fn purge_logs(&self, before: DateTime<Utc>) -> Result<u64> {
        let deleted = sqlx::query("DELETE FROM logs WHERE logged_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(deleted.rows_affected())
    }
}

/// How often `begin_request` looks again when the record it collided with vanished before it
/// could be read (abandoned or purged in between).
const BEGIN_ATTEMPTS: usize = 3;

impl PostgresStore {
    /// Reserves (`scope`, `key`) for `fingerprint` unless a live record holds it. PostgreSQL
    /// serialises inserts on one key, and a conflicting insert re-checks the `WHERE` against
    /// the latest committed row, so of concurrent callers exactly one reserves.
    async fn reserve_request(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        expired_before: DateTime<Utc>,
    ) -> Result<bool> {
        let reserved = sqlx::query(
            "INSERT INTO idempotency (scope, key, fingerprint, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (scope, key) DO UPDATE
                 SET fingerprint = $3, created_at = $4, status = NULL, body = NULL,
                     location = NULL
                 WHERE idempotency.created_at < $5",
        )
        .bind(scope)
        .bind(key)
        .bind(fingerprint)
        .bind(now)
        .bind(expired_before)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(reserved.rows_affected() == 1)
    }

    /// What a caller with `fingerprint` should do about the record that holds the key; `None`
    /// when there is no record any more.
    async fn existing_request(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<Option<Begin>> {
        let row = sqlx::query(
            "SELECT fingerprint, status, body, location FROM idempotency
             WHERE scope = $1 AND key = $2",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let stored: &str = get(&row, "fingerprint")?;
        let status: Option<i32> = get(&row, "status")?;
        Ok(Some(match (stored == fingerprint, status) {
            (false, _) => Begin::Mismatch,
            (true, None) => Begin::InProgress,
            (true, Some(status)) => Begin::Replay(StoredResponse {
                status: u16::try_from(status).map_err(Error::internal)?,
                body: get(&row, "body")?,
                location: get(&row, "location")?,
            }),
        }))
    }
}

#[async_trait]
impl IdempotencyStore for PostgresStore {
    async fn begin_request(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        expired_before: DateTime<Utc>,
    ) -> Result<Begin> {
        for _ in 0..BEGIN_ATTEMPTS {
            if self
                .reserve_request(scope, key, fingerprint, now, expired_before)
                .await?
            {
                return Ok(Begin::Proceed);
            }
            if let Some(begin) = self.existing_request(scope, key, fingerprint).await? {
                return Ok(begin);
            }
        }
        Err(Error::Unavailable(
            "the idempotency record kept changing; retry".into(),
        ))
    }

    async fn finish_request(
        &self,
        scope: &str,
        key: &str,
        response: &StoredResponse,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE idempotency SET status = $1, body = $2, location = $3
             WHERE scope = $4 AND key = $5",
        )
        .bind(i32::from(response.status))
        .bind(&response.body)
        .bind(&response.location)
        .bind(scope)
        .bind(key)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn abandon_request(&self, scope: &str, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM idempotency WHERE scope = $1 AND key = $2")
            .bind(scope)
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn purge_requests(&self, before: DateTime<Utc>) -> Result<u64> {
        let deleted = sqlx::query("DELETE FROM idempotency WHERE created_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(deleted.rows_affected())
    }
}

/// The channel on which event writers announce their commits.
const EVENTS_CHANNEL: &str = "idv_events";

/// Listens on [`EVENTS_CHANNEL`] for as long as the pool is open, waking waiters on every
/// notification and after every reconnection (commits may have been missed meanwhile).
async fn listen(pool: PgPool, committed: Arc<tokio::sync::Notify>) {
    while !pool.is_closed() {
        let listener = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
            listener.listen(EVENTS_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = match listener.await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::debug!(error = %e, "cannot listen for events yet");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        committed.notify_waiters();
        while listener.recv().await.is_ok() {
            committed.notify_waiters();
        }
    }
}

/// Key of the advisory lock that orders event writers (see migration 0002).
const EVENTS_LOCK: i64 = 0x6964_765f_6576_7473;

/// Serialises transactions that write events, so that ids are committed in order.
async fn lock_events(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(EVENTS_LOCK)
        .execute(conn)
        .await
        .map_err(map_err)?;
    Ok(())
}

fn status_changed(v: &Verification) -> NewEvent {
    let kind = EventKind::VerificationStatusChanged;
    verification_event(kind, v.id, v.user_id, v.status, v.created_at, v.updated_at)
}

/// Writes an event inside the transaction of the change it describes (which holds the lock).
async fn insert_event(conn: &mut PgConnection, event: &NewEvent) -> Result<Event> {
    let f = &event.facts;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO events (kind, user_id, verification_id, status, step, api_key_id, reason,
             count, subject_created_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(event.kind.as_str())
    .bind(f.user_id)
    .bind(f.verification_id)
    .bind(f.status.map(Status::as_str))
    .bind(f.step.map(Step::as_str))
    .bind(f.api_key_id)
    .bind(f.reason.as_deref())
    .bind(f.count)
    .bind(f.subject_created_at)
    .bind(event.created_at)
    .fetch_one(&mut *conn)
    .await
    .map_err(map_err)?;
    // Delivered to listeners of every instance when the transaction commits.
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(EVENTS_CHANNEL)
        .bind(id.to_string())
        .execute(conn)
        .await
        .map_err(map_err)?;
    Ok(Event {
        id,
        kind: event.kind,
        facts: event.facts.clone(),
        created_at: event.created_at,
    })
}

/// Parses an optional stored name with `parse`; an unknown name is an internal error.
fn parse_name<T>(value: Option<String>, parse: fn(&str) -> Option<T>) -> Result<Option<T>> {
    value
        .map(|text| parse(&text).ok_or_else(|| Error::internal(format!("stored value {text:?}"))))
        .transpose()
}

fn event_from_row(row: &PgRow) -> Result<Event> {
    let text = |name: &str| row.try_get::<Option<String>, _>(name).map_err(map_err);
    let facts = EventFacts {
        user_id: row.try_get("user_id").map_err(map_err)?,
        verification_id: row.try_get("verification_id").map_err(map_err)?,
        status: parse_name(text("status")?, Status::parse)?,
        step: parse_name(text("step")?, Step::parse)?,
        api_key_id: row.try_get("api_key_id").map_err(map_err)?,
        reason: text("reason")?,
        count: row.try_get("count").map_err(map_err)?,
        subject_created_at: row.try_get("subject_created_at").map_err(map_err)?,
    };
    let kind = parse_name(text("kind")?, EventKind::parse)?
        .ok_or_else(|| Error::internal("stored event without a kind"))?;
    Ok(Event {
        id: row.try_get("id").map_err(map_err)?,
        kind,
        facts,
        created_at: row.try_get("created_at").map_err(map_err)?,
    })
}

#[async_trait]
impl EventStore for PostgresStore {
    async fn append_event(&self, event: NewEvent) -> Result<Event> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        lock_events(&mut tx).await?;
        let stored = insert_event(&mut tx, &event).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(stored)
    }

    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<Event>> {
        let rows = sqlx::query(
            "SELECT id, kind, user_id, verification_id, status, step, api_key_id, reason, count,
                 subject_created_at, created_at
             FROM events WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(event_from_row).collect()
    }

    async fn wait_for_events(&self, after: i64, max_wait: Duration) -> Result<()> {
        self.listening
            .get_or_init(|| async {
                tokio::spawn(listen(self.pool.clone(), self.committed.clone()));
            })
            .await;
        let committed = self.committed.notified();
        tokio::pin!(committed);
        committed.as_mut().enable();
        if self.last_event_id().await? > after {
            return Ok(());
        }
        let _ = tokio::time::timeout(max_wait, committed).await;
        Ok(())
    }

    async fn last_event_id(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM events")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn count_events(
        &self,
        kind: EventKind,
        user_id: UserId,
        status: Option<Status>,
        since: DateTime<Utc>,
    ) -> Result<u64> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM events
             WHERE kind = $1 AND user_id = $2 AND ($3::text IS NULL OR status = $3)
                 AND created_at >= $4",
        )
        .bind(kind.as_str())
        .bind(user_id)
        .bind(status.map(Status::as_str))
        .bind(since)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(count as u64)
    }
}

const ENDPOINT_COLUMNS: &str = "id, url, events, secret, created_at";
const DELIVERY_COLUMNS: &str = "id, endpoint_id, event_id, status, attempts, next_attempt_at, \
     created_at, delivered_at, last_error, retry_since";

fn endpoint_not_found() -> Error {
    Error::NotFound {
        what: "webhook endpoint",
    }
}

fn delivery_not_found() -> Error {
    Error::NotFound {
        what: "webhook delivery",
    }
}

fn kind_names(kinds: &[EventKind]) -> Vec<&'static str> {
    kinds.iter().map(|k| k.as_str()).collect()
}

fn endpoint_from_row(row: &PgRow) -> Result<WebhookEndpoint> {
    let events: Vec<String> = get(row, "events")?;
    Ok(WebhookEndpoint {
        id: get(row, "id")?,
        url: get(row, "url")?,
        events: events
            .iter()
            .map(|k| parse_stored("event kind", k, EventKind::parse))
            .collect::<Result<_>>()?,
        secret: Secret::new(get::<String>(row, "secret")?),
        created_at: get(row, "created_at")?,
    })
}

fn delivery_from_row(row: &PgRow) -> Result<Delivery> {
    let attempts: i32 = get(row, "attempts")?;
    Ok(Delivery {
        id: get(row, "id")?,
        endpoint_id: get(row, "endpoint_id")?,
        event_id: get(row, "event_id")?,
        status: parse_stored(
            "delivery status",
            get(row, "status")?,
            DeliveryStatus::parse,
        )?,
        attempts: u32::try_from(attempts).map_err(Error::internal)?,
        next_attempt_at: get(row, "next_attempt_at")?,
        created_at: get(row, "created_at")?,
        delivered_at: get(row, "delivered_at")?,
        last_error: get(row, "last_error")?,
        retry_since: get(row, "retry_since")?,
    })
}

fn attempt_from_row(row: &PgRow) -> Result<DeliveryAttempt> {
    let number: i32 = get(row, "number")?;
    let status_code: Option<i32> = get(row, "status_code")?;
    let duration_ms: i64 = get(row, "duration_ms")?;
    Ok(DeliveryAttempt {
        delivery_id: get(row, "delivery_id")?,
        number: u32::try_from(number).map_err(Error::internal)?,
        at: get(row, "at")?,
        status_code: status_code
            .map(u16::try_from)
            .transpose()
            .map_err(Error::internal)?,
        error: get(row, "error")?,
        duration_ms: u64::try_from(duration_ms).map_err(Error::internal)?,
    })
}

#[async_trait]
impl WebhookStore for PostgresStore {
    async fn create_endpoint(&self, new: NewWebhookEndpoint) -> Result<WebhookEndpoint> {
        let sql = format!(
            "INSERT INTO webhook_endpoints (url, events, secret, created_at)
             VALUES ($1, $2, $3, $4) RETURNING {ENDPOINT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&new.url)
            .bind(kind_names(&new.events))
            .bind(new.secret.expose())
            .bind(now())
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        endpoint_from_row(&row)
    }

    async fn get_endpoint(&self, id: i64) -> Result<WebhookEndpoint> {
        self.get_row("webhook_endpoints", ENDPOINT_COLUMNS, id, endpoint_from_row)
            .await?
            .ok_or_else(endpoint_not_found)
    }

    async fn list_endpoints(&self, request: PageRequest) -> Result<Page<WebhookEndpoint>> {
        self.list_table(
            "webhook_endpoints",
            ENDPOINT_COLUMNS,
            request,
            endpoint_from_row,
        )
        .await
    }

    async fn delete_endpoint(&self, id: i64) -> Result<()> {
        // Deliveries and their attempts go with it through cascading foreign keys.
        let deleted = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        if deleted.rows_affected() == 0 {
            return Err(endpoint_not_found());
        }
        Ok(())
    }

    async fn fan_out_cursor(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT event_id FROM webhook_cursor WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn add_deliveries(
        &self,
        from: i64,
        to: i64,
        deliveries: &[(i64, i64)],
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // A second fan-out from the same position waits here for the first to commit, then
        // finds the cursor moved and changes nothing.
        let moved =
            sqlx::query("UPDATE webhook_cursor SET event_id = $1 WHERE id = 1 AND event_id = $2")
                .bind(to)
                .bind(from)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        if moved.rows_affected() == 0 {
            return Ok(false);
        }
        if !deliveries.is_empty() {
            let (endpoints, events): (Vec<i64>, Vec<i64>) = deliveries.iter().copied().unzip();
            // The join skips endpoints already deleted; the key-share lock keeps the rest from
            // being deleted until we commit (a delete committed meanwhile drops the row from
            // the join instead of failing the foreign key). Ids follow the given order.
            sqlx::query(
                "INSERT INTO webhook_deliveries
                     (endpoint_id, event_id, status, attempts, next_attempt_at, created_at,
                      retry_since)
                 SELECT e.id, p.event_id, 'pending', 0, $3, $3, $3
                 FROM UNNEST($1::bigint[], $2::bigint[]) WITH ORDINALITY
                     AS p (endpoint_id, event_id, position)
                 JOIN webhook_endpoints e ON e.id = p.endpoint_id
                 ORDER BY p.position
                 FOR KEY SHARE OF e
                 ON CONFLICT (endpoint_id, event_id) DO NOTHING",
            )
            .bind(&endpoints)
            .bind(&events)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn claim_delivery(
        &self,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<DeliveryClaim>> {
        let token = crate::claim_token();
        let lease_micros = lease.min(MAX_LEASE).as_micros() as i64;
        // One statement, so one transaction. SKIP LOCKED passes over deliveries that another
        // claim is taking right now. Due times and leases are judged by the caller's `now`.
        let sql = format!(
            "WITH next AS (
                 SELECT id AS next_id FROM webhook_deliveries
                 WHERE status = 'pending' AND next_attempt_at <= $1
                     AND (lease_until IS NULL OR lease_until <= $1)
                 ORDER BY next_attempt_at, id
                 LIMIT 1
                 FOR UPDATE SKIP LOCKED
             )
             UPDATE webhook_deliveries SET claim_token = $2,
                 lease_until = $1 + $3 * INTERVAL '1 microsecond'
             FROM next WHERE id = next.next_id
             RETURNING {DELIVERY_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(now)
            .bind(&token)
            .bind(lease_micros)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(DeliveryClaim {
            delivery: delivery_from_row(&row)?,
            claim_token: token,
        }))
    }

    async fn record_attempt(
        &self,
        claim: &DeliveryClaim,
        attempt: &DeliveryAttempt,
        outcome: &AttemptOutcome,
    ) -> Result<bool> {
        let (status, next_attempt_at, delivered_at) = match outcome {
            AttemptOutcome::Delivered => (DeliveryStatus::Delivered, None, Some(attempt.at)),
            AttemptOutcome::Retry(at) => (DeliveryStatus::Pending, Some(*at), None),
            AttemptOutcome::Failed => (DeliveryStatus::Failed, None, None),
        };
        let number = i32::try_from(attempt.number).map_err(Error::internal)?;
        // One statement, so one transaction: the attempt is stored only if the claim was still
        // ours. A later claim replaced the token; a redelivery cleared it.
        let recorded = sqlx::query(
            "WITH settled AS (
                 UPDATE webhook_deliveries SET status = $1, attempts = $2,
                     next_attempt_at = COALESCE($3, next_attempt_at), last_error = $4,
                     delivered_at = COALESCE($5, delivered_at), claim_token = NULL,
                     lease_until = NULL
                 WHERE id = $6 AND claim_token = $7
                 RETURNING id
             )
             INSERT INTO webhook_attempts (delivery_id, number, at, status_code, error, duration_ms)
             SELECT id, $2, $8, $9, $4, $10 FROM settled",
        )
        .bind(status.as_str())
        .bind(number)
        .bind(next_attempt_at)
        .bind(attempt.error.as_deref())
        .bind(delivered_at)
        .bind(claim.delivery.id)
        .bind(&claim.claim_token)
        .bind(attempt.at)
        .bind(attempt.status_code.map(i32::from))
        .bind(i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(recorded.rows_affected() == 1)
    }

    async fn get_delivery(&self, id: i64) -> Result<Delivery> {
        self.get_row(
            "webhook_deliveries",
            DELIVERY_COLUMNS,
            id,
            delivery_from_row,
        )
        .await?
        .ok_or_else(delivery_not_found)
    }

    async fn list_deliveries(
        &self,
        endpoint_id: Option<i64>,
        request: PageRequest,
    ) -> Result<Page<Delivery>> {
        let condition = "$1::bigint IS NULL OR endpoint_id = $1";
        let total: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE {condition}"
        ))
        .bind(endpoint_id)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE {condition}
             ORDER BY id DESC LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query(&sql)
            .bind(endpoint_id)
            .bind(i64::from(request.per_page))
            .bind(request.offset())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let items = rows.iter().map(delivery_from_row).collect::<Result<_>>()?;
        Ok(page(items, total, request))
    }

    async fn list_attempts(&self, delivery_id: i64) -> Result<Vec<DeliveryAttempt>> {
        let rows = sqlx::query(
            "SELECT delivery_id, number, at, status_code, error, duration_ms
             FROM webhook_attempts WHERE delivery_id = $1 ORDER BY number, at",
        )
        .bind(delivery_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(attempt_from_row).collect()
    }

    async fn redeliver(&self, id: i64, now: DateTime<Utc>) -> Result<Delivery> {
        // Clearing the claim means an attempt still in flight cannot record its outcome.
        let sql = format!(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1,
                 retry_since = $1, claim_token = NULL, lease_until = NULL
             WHERE id = $2 RETURNING {DELIVERY_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(now)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref()
            .map(delivery_from_row)
            .unwrap_or_else(|| Err(delivery_not_found()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    use sqlx::{ConnectOptions, Executor};

    fn base_url() -> String {
        std::env::var("IDV_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
    }

    /// Fresh databases for one test. Every database made is dropped when this is dropped,
    /// which happens while unwinding too, so a failing test leaves nothing behind.
    #[derive(Default)]
    struct TestDatabases {
        names: Arc<Mutex<Vec<String>>>,
    }

    impl TestDatabases {
        /// Makes a fresh, empty database and answers its URL. The future owns what it needs, so
        /// that the suite's factory can return it.
        fn create(&self) -> impl Future<Output = String> {
            let names = self.names.clone();
            async move {
                let name = format!("idv_test_{}", crate::claim_token());
                // Noted before it exists, so that a half-made database is dropped too.
                names.lock().unwrap().push(name.clone());
                let mut admin = PgConnection::connect(&base_url()).await.unwrap();
                admin
                    .execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .unwrap();
                let _ = admin.close().await;
                let options = PgConnectOptions::from_str(&base_url()).unwrap();
                options.database(&name).to_url_lossy().to_string()
            }
        }

        async fn store(&self) -> PostgresStore {
            PostgresStore::connect(&self.create().await).await.unwrap()
        }
    }

    impl Drop for TestDatabases {
        fn drop(&mut self) {
            let names = std::mem::take(&mut *self.names.lock().unwrap_or_else(|e| e.into_inner()));
            if names.is_empty() {
                return;
            }
            // Drop may run inside the test's runtime, which must not be blocked on: the drops
            // run on their own thread with their own runtime.
            let dropping = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(drop_databases(&names))
            });
            // Panicking here while unwinding would abort the test run: report instead.
            match dropping.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => eprintln!("could not drop test databases: {e}"),
                Err(_) => eprintln!("could not drop test databases: the thread panicked"),
            }
        }
    }

    async fn drop_databases(
        names: &[String],
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let mut admin = PgConnection::connect(&base_url()).await?;
        for name in names {
            // FORCE ends the connections that the test's pools still hold.
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            admin.execute(sql.as_str()).await?;
        }
        admin.close().await?;
        Ok(())
    }

    fn new_user(email: &str) -> NewUser {
        NewUser {
            email: email.into(),
            full_name: "Test Person".into(),
            role: Role::User,
            password_hash: "$argon2id$placeholder".into(),
        }
    }

    fn new_verification(user_id: UserId, prefix: &str) -> NewVerification {
        NewVerification {
            user_id,
            document_type: DocumentType::Passport,
            blob_prefix: prefix.into(),
            has_back: false,
        }
    }

    /// A result with awkward numbers, to show they come back from JSONB unchanged.
    fn sample_result() -> VerificationResult {
        use idv_core::domain::{CheckOutcome, DocumentChecks, TimingsMs};
        VerificationResult {
            face_match_score: Some(0.1 + 0.2),
            liveness_score: Some(1e-7),
            document_validity: true,
            face_similarity: Some(-0.333_333_333_333_333_3),
            liveness_assessed: true,
            reasons: Vec::new(),
            document_checks: DocumentChecks {
                decodes: CheckOutcome::Passed,
                large_enough: CheckOutcome::Passed,
                portrait_found: CheckOutcome::Passed,
                back_decodes: CheckOutcome::NotRun,
                ..DocumentChecks::default()
            },
            document: None,
            liveness: None,
            faces_in_selfie: 1,
            faces_on_document: 1,
            timings_ms: TimingsMs {
                total: 12.5,
                ..TimingsMs::default()
            },
            manual_decision: None,
        }
    }

    /// Two stores with their own pools on one database, as two servers would have.
    async fn two_servers(databases: &TestDatabases) -> (PostgresStore, PostgresStore) {
        let url = databases.create().await;
        let first = PostgresStore::connect(&url).await.unwrap();
        let second = PostgresStore::connect(&url).await.unwrap();
        (first, second)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn passes_the_store_conformance_suite() {
        let databases = TestDatabases::default();
        idv_core::testing::store_suite(|| {
            let url = databases.create();
            async move { Arc::new(PostgresStore::connect(&url.await).await.unwrap()) }
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn passes_the_webhook_conformance_suite() {
        let databases = TestDatabases::default();
        idv_core::testing::webhook_suite(|| {
            let url = databases.create();
            async move { Arc::new(PostgresStore::connect(&url.await).await.unwrap()) }
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_servers_fan_out_one_cursor_position_once() {
        use idv_core::webhooks::NewWebhookEndpoint;
        let databases = TestDatabases::default();
        let (first, second) = two_servers(&databases).await;
        let endpoint = first
            .create_endpoint(NewWebhookEndpoint {
                url: "https://a.example.com/hook".into(),
                events: vec![],
                secret: idv_core::auth::Secret::new("whsec_test"),
            })
            .await
            .unwrap();
        let pairs: Vec<(i64, i64)> = (1..=50).map(|e| (endpoint.id, e)).collect();
        let mut fan_outs = Vec::new();
        for store in [first.clone(), second.clone(), first.clone(), second.clone()] {
            let pairs = pairs.clone();
            fan_outs.push(tokio::spawn(async move {
                store.add_deliveries(0, 50, &pairs, now()).await.unwrap()
            }));
        }
        let mut moved = 0;
        for fan_out in fan_outs {
            moved += usize::from(fan_out.await.unwrap());
        }
        assert_eq!(moved, 1);
        assert_eq!(second.fan_out_cursor().await.unwrap(), 50);
        let all = first
            .list_deliveries(
                None,
                PageRequest {
                    page: 1,
                    per_page: 100,
                },
            )
            .await
            .unwrap();
        assert_eq!(all.total, 50);
        let mut events: Vec<i64> = all.items.iter().map(|d| d.event_id).collect();
        assert!(
            events.windows(2).all(|w| w[0] > w[1]),
            "ids follow the given order"
        );
        events.dedup();
        assert_eq!(events.len(), 50);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiting_server_hears_of_events_committed_by_another() {
        let databases = TestDatabases::default();
        let (first, second) = two_servers(&databases).await;
        let user = first
            .create_user(new_user("ann@example.com"))
            .await
            .unwrap();
        let before = first.last_event_id().await.unwrap();
        // Wake up once so that the listener is running before the write.
        first
            .wait_for_events(before, Duration::from_millis(200))
            .await
            .unwrap();

        let waiting = tokio::spawn(async move {
            let started = std::time::Instant::now();
            first
                .wait_for_events(before, Duration::from_secs(60))
                .await
                .unwrap();
            started.elapsed()
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        second
            .create_verification(new_verification(user.id, "v/1"))
            .await
            .unwrap();
        let waited = waiting.await.unwrap();
        assert!(
            waited < Duration::from_secs(30),
            "woken by the other pool's commit, not the timeout"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_servers_never_claim_one_job_twice() {
        let databases = TestDatabases::default();
        let (first, second) = two_servers(&databases).await;
        let user = first
            .create_user(new_user("ann@example.com"))
            .await
            .unwrap();
        for i in 0..30 {
            let new = new_verification(user.id, &format!("v/{i}"));
            first.create_verification(new).await.unwrap();
        }
        let mut workers = Vec::new();
        for store in [first, second]
            .iter()
            .flat_map(|s| [s.clone(), s.clone(), s.clone()])
        {
            workers.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(job) = store.claim_job(Duration::from_secs(60)).await.unwrap() {
                    mine.push(job.verification_id);
                }
                mine
            }));
        }
        let mut claimed = Vec::new();
        for worker in workers {
            claimed.extend(worker.await.unwrap());
        }
        claimed.sort();
        let total = claimed.len();
        claimed.dedup();
        assert_eq!((total, claimed.len()), (30, 30));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lapsed_lease_passes_to_another_server() {
        let databases = TestDatabases::default();
        let (first, second) = two_servers(&databases).await;
        let user = first
            .create_user(new_user("ann@example.com"))
            .await
            .unwrap();
        let v = first
            .create_verification(new_verification(user.id, "v/1"))
            .await
            .unwrap();
        let stale = first
            .claim_job(Duration::from_millis(200))
            .await
            .unwrap()
            .unwrap();
        assert!(second
            .claim_job(Duration::from_secs(60))
            .await
            .unwrap()
            .is_none());
        tokio::time::sleep(Duration::from_millis(400)).await;

        let fresh = second
            .claim_job(Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((fresh.verification_id, fresh.attempts), (v.id, 2));
        let result = sample_result();
        assert!(!first
            .complete_job(&stale, Status::Approved, &result)
            .await
            .unwrap());
        assert!(second
            .complete_job(&fresh, Status::Review, &result)
            .await
            .unwrap());
        let stored = first.get_verification(v.id).await.unwrap();
        assert_eq!(
            (stored.status, stored.result),
            (Status::Review, Some(result))
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_with_one_key_proceed_once() {
        let databases = TestDatabases::default();
        let store = Arc::new(databases.store().await);
        let at = now();
        let mut callers = Vec::new();
        for _ in 0..8 {
            let store = store.clone();
            callers.push(tokio::spawn(async move {
                let expired_before = at - chrono::Duration::hours(24);
                store
                    .begin_request("user:1", "k", "fp", at, expired_before)
                    .await
                    .unwrap()
            }));
        }
        let mut answers = Vec::new();
        for caller in callers {
            answers.push(caller.await.unwrap());
        }
        let proceeding = answers.iter().filter(|a| **a == Begin::Proceed).count();
        assert_eq!(proceeding, 1, "{answers:?}");
        assert!(answers
            .iter()
            .all(|a| matches!(a, Begin::Proceed | Begin::InProgress)));
    }

    #[tokio::test]
    async fn ids_of_deleted_users_are_not_reused() {
        let databases = TestDatabases::default();
        let store = databases.store().await;
        let first = store
            .create_user(new_user("ann@example.com"))
            .await
            .unwrap();
        store.delete_user(first.id).await.unwrap();
        let second = store
            .create_user(new_user("ann@example.com"))
            .await
            .unwrap();
        assert!(second.id > first.id);
    }

    #[tokio::test]
    async fn start_up_errors_name_the_setting() {
        let malformed = PostgresStore::connect("not a url").await.unwrap_err();
        assert!(
            matches!(&malformed, Error::Invalid { field, .. } if field == URL_SETTING),
            "{malformed:?}"
        );
        // Port 1 on the loopback refuses at once: nothing listens there.
        let unreachable = PostgresStore::connect("postgres://postgres@127.0.0.1:1/postgres")
            .await
            .unwrap_err();
        assert!(
            matches!(&unreachable, Error::Unavailable(reason) if reason.contains(URL_SETTING)),
            "{unreachable:?}"
        );
        let options = PgConnectOptions::from_str(&base_url()).unwrap();
        let missing = options
            .database("idv_no_such_database")
            .to_url_lossy()
            .to_string();
        let refused = PostgresStore::connect(&missing).await.unwrap_err();
        assert!(
            matches!(
                &refused,
                Error::Invalid {
                    code: "database_refused",
                    ..
                }
            ),
            "{refused:?}"
        );
    }
}
