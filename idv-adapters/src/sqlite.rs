//! The embedded default store: SQLite through sqlx, one database file under the data folder.
//!
//! The database runs in WAL mode with full sync, so a committed verification survives a crash.
//! Every transaction starts with a write, so that concurrent writers queue on SQLite's lock
//! instead of failing on a read-to-write upgrade.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
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
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqliteConnection, SqlitePool};

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
            Cow::Borrowed(include_str!("../migrations/sqlite/0001_init.sql")),
            false,
        );
        let keys = Migration::new(
            2,
            Cow::Borrowed("keys logs idempotency"),
            MigrationType::Simple,
            Cow::Borrowed(include_str!(
                "../migrations/sqlite/0002_keys_logs_idempotency.sql"
            )),
            false,
        );
        let events = Migration::new(
            3,
            Cow::Borrowed("events"),
            MigrationType::Simple,
            Cow::Borrowed(include_str!("../migrations/sqlite/0003_events.sql")),
            false,
        );
        let webhooks = Migration::new(
            4,
            Cow::Borrowed("webhooks"),
            MigrationType::Simple,
            Cow::Borrowed(include_str!("../migrations/sqlite/0004_webhooks.sql")),
            false,
        );
        Box::pin(async move { Ok(vec![init, keys, events, webhooks]) })
    }
}

/// Users, verifications and jobs in SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// The row of `table` with this id, if there is one.
    async fn get_row<T>(
        &self,
        table: &str,
        columns: &str,
        id: i64,
        map: fn(&SqliteRow) -> Result<T>,
    ) -> Result<Option<T>> {
        let sql = format!("SELECT {columns} FROM {table} WHERE id = ?");
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
        page: PageRequest,
        map: fn(&SqliteRow) -> Result<T>,
    ) -> Result<Page<T>> {
        let count = format!("SELECT COUNT(*) FROM {table}");
        let total: i64 = sqlx::query_scalar(&count)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        let sql = format!("SELECT {columns} FROM {table} ORDER BY id LIMIT ? OFFSET ?");
        let rows = sqlx::query(&sql)
            .bind(i64::from(page.per_page))
            .bind(page.offset())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let items = rows.iter().map(map).collect::<Result<_>>()?;
        Ok(Page {
            items,
            total: total as u64,
            request: page,
        })
    }

    /// Opens (creating when missing) the database at `url` (`sqlite://path/to/idv.db`, or
    /// `sqlite::memory:`) and applies migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| Error::invalid("IDV_DATABASE_URL", "invalid_url", e.to_string()))?
            .create_if_missing(true)
            .foreign_keys(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let in_memory = url.contains(":memory:");
        // An in-memory database exists per connection: keep exactly one.
        let max = if in_memory { 1 } else { 4 };
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .min_connections(if in_memory { 1 } else { 0 })
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(map_err)?;
        let migrator = Migrator::new(Migrations).await.map_err(Error::internal)?;
        migrator
            .run(&pool)
            .await
            .map_err(|e| Error::Unavailable(format!("migrating SQLite: {e}")))?;
        Ok(Self { pool })
    }

    /// Closes the connections.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The one place where sqlx errors become core errors.
fn map_err(error: sqlx::Error) -> Error {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::conflict(
            "email",
            "email_taken",
            "a user with this email already exists",
        ),
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            Error::NotFound { what: "user" }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            Error::Unavailable(format!("SQLite: {error}"))
        }
        _ => Error::Internal(format!("SQLite: {error}")),
    }
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse_time(text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(Error::internal)
}

fn epoch_millis() -> i64 {
    Utc::now().timestamp_millis()
}

fn user_from_row(row: &SqliteRow) -> Result<User> {
    Ok(User {
        id: row.try_get("id").map_err(map_err)?,
        email: row.try_get("email").map_err(map_err)?,
        full_name: row.try_get("full_name").map_err(map_err)?,
        role: Role::parse(row.try_get("role").map_err(map_err)?)?,
        password_hash: row.try_get("password_hash").map_err(map_err)?,
        created_at: parse_time(row.try_get("created_at").map_err(map_err)?)?,
    })
}

fn verification_from_row(row: &SqliteRow) -> Result<Verification> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(map_err);
    let document_type = text("document_type")?;
    let status = text("status")?;
    let result: Option<String> = row.try_get("result").map_err(map_err)?;
    Ok(Verification {
        id: row.try_get("id").map_err(map_err)?,
        user_id: row.try_get("user_id").map_err(map_err)?,
        document_type: DocumentType::parse(&document_type)
            .ok_or_else(|| Error::internal(format!("stored document type {document_type:?}")))?,
        status: Status::parse(&status)
            .ok_or_else(|| Error::internal(format!("stored status {status:?}")))?,
        blob_prefix: text("blob_prefix")?,
        has_back: row.try_get("has_back").map_err(map_err)?,
        result: result
            .map(|r| serde_json::from_str(&r))
            .transpose()
            .map_err(Error::internal)?,
        created_at: parse_time(&text("created_at")?)?,
        updated_at: parse_time(&text("updated_at")?)?,
    })
}

fn result_json(result: &VerificationResult) -> Result<String> {
    serde_json::to_string(result).map_err(Error::internal)
}

const USER_COLUMNS: &str = "id, email, full_name, role, password_hash, created_at";
const VERIFICATION_COLUMNS: &str =
    "id, user_id, document_type, status, blob_prefix, has_back, result, created_at, updated_at";

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, new: NewUser) -> Result<User> {
        let created_at = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (email, email_key, full_name, role, password_hash, created_at)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&new.email)
        .bind(email_key(&new.email))
        .bind(&new.full_name)
        .bind(new.role.as_str())
        .bind(&new.password_hash)
        .bind(timestamp(created_at))
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
            .ok_or(Error::NotFound { what: "user" })
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email_key = ?");
        let row = sqlx::query(&sql)
            .bind(email_key(email))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn update_user(&self, id: UserId, changes: UserChanges) -> Result<User> {
        let sql = format!(
            "UPDATE users SET email = COALESCE(?1, email), email_key = COALESCE(?2, email_key),
                 full_name = COALESCE(?3, full_name), password_hash = COALESCE(?4, password_hash)
             WHERE id = ?5 RETURNING {USER_COLUMNS}"
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
            .unwrap_or(Err(Error::NotFound { what: "user" }))
    }

    async fn delete_user(&self, id: UserId) -> Result<Vec<String>> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let prefixes: Vec<String> =
            sqlx::query_scalar("DELETE FROM verifications WHERE user_id = ? RETURNING blob_prefix")
                .bind(id)
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?;
        let deleted = sqlx::query("DELETE FROM users WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if deleted.rows_affected() == 0 {
            return Err(Error::NotFound { what: "user" });
        }
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

    async fn list_users(&self, page: PageRequest) -> Result<Page<User>> {
        self.list_table("users", USER_COLUMNS, page, user_from_row)
            .await
    }
}

#[async_trait]
impl VerificationStore for SqliteStore {
    async fn create_verification(&self, new: NewVerification) -> Result<Verification> {
        let created_at = now();
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO verifications
                 (user_id, document_type, status, blob_prefix, has_back, created_at, updated_at)
             VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?5) RETURNING id",
        )
        .bind(new.user_id)
        .bind(new.document_type.as_str())
        .bind(&new.blob_prefix)
        .bind(new.has_back)
        .bind(timestamp(created_at))
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query("INSERT INTO jobs (verification_id) VALUES (?)")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let event = verification_event(
            EventKind::VerificationCreated,
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
        .ok_or(Error::NotFound {
            what: "verification",
        })
    }

    async fn list_verifications(
        &self,
        filter: VerificationFilter,
        page: PageRequest,
    ) -> Result<Page<Verification>> {
        let condition = "(?1 IS NULL OR user_id = ?1) AND (?2 IS NULL OR status = ?2)";
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
             ORDER BY id LIMIT ?3 OFFSET ?4"
        );
        let rows = sqlx::query(&sql)
            .bind(filter.user_id)
            .bind(status)
            .bind(i64::from(page.per_page))
            .bind(page.offset())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let items = rows
            .iter()
            .map(verification_from_row)
            .collect::<Result<_>>()?;
        Ok(Page {
            items,
            total: total as u64,
            request: page,
        })
    }

    async fn set_outcome(
        &self,
        id: VerificationId,
        status: Status,
        result: &VerificationResult,
    ) -> Result<Verification> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let sql = format!(
            "UPDATE verifications SET status = ?, result = ?, updated_at = ?
             WHERE id = ? RETURNING {VERIFICATION_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(status.as_str())
            .bind(result_json(result)?)
            .bind(timestamp(now()))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        let Some(row) = row else {
            return Err(Error::NotFound {
                what: "verification",
            });
        };
        sqlx::query("DELETE FROM jobs WHERE verification_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let updated = verification_from_row(&row)?;
        insert_event(&mut tx, &status_changed(&updated)).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(updated)
    }

    async fn delete_verification(&self, id: VerificationId) -> Result<Verification> {
        let sql =
            format!("DELETE FROM verifications WHERE id = ? RETURNING {VERIFICATION_COLUMNS}");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref()
            .map(verification_from_row)
            .unwrap_or(Err(Error::NotFound {
                what: "verification",
            }))
    }
}

#[async_trait]
impl JobQueue for SqliteStore {
    async fn claim_job(&self, lease: Duration) -> Result<Option<Job>> {
        let token = crate::claim_token();
        let now_ms = epoch_millis();
        let until = now_ms.saturating_add(lease.as_millis().min(i64::MAX as u128) as i64);
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let claimed = sqlx::query(
            "UPDATE jobs SET attempts = attempts + 1, claim_token = ?1, lease_until = ?2
             WHERE verification_id = (
                 SELECT verification_id FROM jobs
                 WHERE lease_until IS NULL OR lease_until <= ?3
                 ORDER BY verification_id LIMIT 1)
             RETURNING verification_id, attempts",
        )
        .bind(&token)
        .bind(until)
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some(row) = claimed else {
            return Ok(None);
        };
        let verification_id: i64 = row.try_get("verification_id").map_err(map_err)?;
        let attempts: i64 = row.try_get("attempts").map_err(map_err)?;
        sqlx::query("UPDATE verifications SET status = 'processing', updated_at = ? WHERE id = ?")
            .bind(timestamp(now()))
            .bind(verification_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(Some(Job {
            verification_id,
            attempts: attempts as u32,
            claim_token: token,
        }))
    }

    async fn complete_job(
        &self,
        job: &Job,
        status: Status,
        result: &VerificationResult,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let released =
            sqlx::query("DELETE FROM jobs WHERE verification_id = ? AND claim_token = ?")
                .bind(job.verification_id)
                .bind(&job.claim_token)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        if released.rows_affected() == 0 {
            return Ok(false);
        }
        let sql = format!(
            "UPDATE verifications SET status = ?, result = ?, updated_at = ?
             WHERE id = ? RETURNING {VERIFICATION_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(status.as_str())
            .bind(result_json(result)?)
            .bind(timestamp(now()))
            .bind(job.verification_id)
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

fn status_changed(v: &Verification) -> NewEvent {
    let kind = EventKind::VerificationStatusChanged;
    verification_event(kind, v.id, v.user_id, v.status, v.created_at, v.updated_at)
}

/// Writes an event inside the transaction of the change it describes.
async fn insert_event(conn: &mut SqliteConnection, event: &NewEvent) -> Result<Event> {
    let f = &event.facts;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO events (kind, user_id, verification_id, status, step, api_key_id, reason,
             count, subject_created_us, created_us)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(event.kind.as_str())
    .bind(f.user_id)
    .bind(f.verification_id)
    .bind(f.status.map(Status::as_str))
    .bind(f.step.map(Step::as_str))
    .bind(f.api_key_id)
    .bind(f.reason.as_deref())
    .bind(f.count)
    .bind(f.subject_created_at.map(micros))
    .bind(micros(event.created_at))
    .fetch_one(conn)
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
fn parse_stored<T>(value: Option<String>, parse: fn(&str) -> Option<T>) -> Result<Option<T>> {
    value
        .map(|text| parse(&text).ok_or_else(|| Error::internal(format!("stored value {text:?}"))))
        .transpose()
}

fn event_from_row(row: &SqliteRow) -> Result<Event> {
    let text = |name: &str| row.try_get::<Option<String>, _>(name).map_err(map_err);
    let subject_created: Option<i64> = row.try_get("subject_created_us").map_err(map_err)?;
    let facts = EventFacts {
        user_id: row.try_get("user_id").map_err(map_err)?,
        verification_id: row.try_get("verification_id").map_err(map_err)?,
        status: parse_stored(text("status")?, Status::parse)?,
        step: parse_stored(text("step")?, Step::parse)?,
        api_key_id: row.try_get("api_key_id").map_err(map_err)?,
        reason: text("reason")?,
        count: row.try_get("count").map_err(map_err)?,
        subject_created_at: subject_created.map(from_micros).transpose()?,
    };
    let kind = parse_stored(text("kind")?, EventKind::parse)?
        .ok_or_else(|| Error::internal("stored event without a kind"))?;
    Ok(Event {
        id: row.try_get("id").map_err(map_err)?,
        kind,
        facts,
        created_at: from_micros(row.try_get("created_us").map_err(map_err)?)?,
    })
}

/// How often a waiter for new events looks again.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

#[async_trait]
impl EventStore for SqliteStore {
    async fn append_event(&self, event: NewEvent) -> Result<Event> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        insert_event(&mut conn, &event).await
    }

    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<Event>> {
        let rows = sqlx::query(
            "SELECT id, kind, user_id, verification_id, status, step, api_key_id, reason, count,
                 subject_created_us, created_us
             FROM events WHERE id > ? ORDER BY id LIMIT ?",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(event_from_row).collect()
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
             WHERE kind = ?1 AND user_id = ?2 AND (?3 IS NULL OR status = ?3) AND created_us >= ?4",
        )
        .bind(kind.as_str())
        .bind(user_id)
        .bind(status.map(Status::as_str))
        .bind(micros(since))
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(count as u64)
    }
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(value: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| Error::internal(format!("stored time {value}")))
}

fn permissions_text(permissions: &[Permission]) -> String {
    permissions
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_permissions(text: &str) -> Result<Vec<Permission>> {
    text.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            Permission::parse(p).ok_or_else(|| Error::internal(format!("stored permission {p:?}")))
        })
        .collect()
}

fn optional_time(row: &SqliteRow, name: &str) -> Result<Option<DateTime<Utc>>> {
    let text: Option<String> = row.try_get(name).map_err(map_err)?;
    text.as_deref().map(parse_time).transpose()
}

fn api_key_from_row(row: &SqliteRow) -> Result<ApiKey> {
    let permissions: String = row.try_get("permissions").map_err(map_err)?;
    let created_at: String = row.try_get("created_at").map_err(map_err)?;
    Ok(ApiKey {
        id: row.try_get("id").map_err(map_err)?,
        name: row.try_get("name").map_err(map_err)?,
        permissions: parse_permissions(&permissions)?,
        prefix: row.try_get("prefix").map_err(map_err)?,
        key_hash: row.try_get("key_hash").map_err(map_err)?,
        owner_id: row.try_get("owner_id").map_err(map_err)?,
        created_at: parse_time(&created_at)?,
        last_used_at: optional_time(row, "last_used_at")?,
        expires_at: optional_time(row, "expires_at")?,
    })
}

fn log_from_row(row: &SqliteRow) -> Result<LogEntry> {
    let level: String = row.try_get("level").map_err(map_err)?;
    let event: String = row.try_get("event").map_err(map_err)?;
    Ok(LogEntry {
        id: row.try_get("id").map_err(map_err)?,
        timestamp: from_micros(row.try_get("at_micros").map_err(map_err)?)?,
        level: Level::parse(&level)
            .ok_or_else(|| Error::internal(format!("stored level {level:?}")))?,
        event: LogEvent::parse(&event)
            .ok_or_else(|| Error::internal(format!("stored event {event:?}")))?,
        message: row.try_get("message").map_err(map_err)?,
        user_id: row.try_get("user_id").map_err(map_err)?,
    })
}

const API_KEY_COLUMNS: &str =
    "id, name, permissions, prefix, key_hash, owner_id, created_at, last_used_at, expires_at";

fn key_not_found() -> Error {
    Error::NotFound { what: "API key" }
}

#[async_trait]
impl ApiKeyStore for SqliteStore {
    async fn create_api_key(&self, new: NewApiKey) -> Result<ApiKey> {
        let sql = format!(
            "INSERT INTO api_keys (name, permissions, prefix, key_hash, owner_id, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {API_KEY_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&new.name)
            .bind(permissions_text(&new.permissions))
            .bind(&new.prefix)
            .bind(&new.key_hash)
            .bind(new.owner_id)
            .bind(timestamp(now()))
            .bind(new.expires_at.map(timestamp))
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
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE prefix = ?");
        let row = sqlx::query(&sql)
            .bind(prefix)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(api_key_from_row).transpose()
    }

    async fn list_api_keys(&self, page: PageRequest) -> Result<Page<ApiKey>> {
        self.list_table("api_keys", API_KEY_COLUMNS, page, api_key_from_row)
            .await
    }

    async fn update_api_key(&self, id: i64, changes: ApiKeyChanges) -> Result<ApiKey> {
        let sql = format!(
            "UPDATE api_keys SET name = COALESCE(?, name), permissions = COALESCE(?, permissions)
             WHERE id = ? RETURNING {API_KEY_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(changes.name)
            .bind(changes.permissions.as_deref().map(permissions_text))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref()
            .map(api_key_from_row)
            .unwrap_or(Err(key_not_found()))
    }

    async fn touch_api_key(&self, id: i64, at: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE api_keys SET last_used_at = ? WHERE id = ?")
            .bind(timestamp(at))
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn delete_api_key(&self, id: i64) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let owner: Option<i64> =
            sqlx::query_scalar("DELETE FROM api_keys WHERE id = ? RETURNING owner_id")
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
impl LogStore for SqliteStore {
    async fn append_log(&self, entry: NewLogEntry) -> Result<LogEntry> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO logs (at_micros, level, event, message, user_id) VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(micros(entry.timestamp))
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

    async fn list_logs(&self, filter: LogFilter, page: PageRequest) -> Result<Page<LogEntry>> {
        let condition = "(?1 IS NULL OR at_micros >= ?1) AND (?2 IS NULL OR at_micros < ?2) AND (?3 IS NULL OR level = ?3)";
        let from = filter.from.map(micros);
        let to = filter.to.map(micros);
        let level = filter.level.map(Level::as_str);
        let total: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM logs WHERE {condition}"))
                .bind(from)
                .bind(to)
                .bind(level)
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?;
        let sql = format!(
            "SELECT id, at_micros, level, event, message, user_id FROM logs WHERE {condition}
             ORDER BY at_micros, id LIMIT ?4 OFFSET ?5"
        );
        let rows = sqlx::query(&sql)
            .bind(from)
            .bind(to)
            .bind(level)
            .bind(i64::from(page.per_page))
            .bind(page.offset())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let items = rows.iter().map(log_from_row).collect::<Result<_>>()?;
        Ok(Page {
            items,
            total: total as u64,
            request: page,
        })
    }

    async fn purge_logs(&self, before: DateTime<Utc>) -> Result<u64> {
        let deleted = sqlx::query("DELETE FROM logs WHERE at_micros < ?")
            .bind(micros(before))
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(deleted.rows_affected())
    }
}

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn begin_request(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        expired_before: DateTime<Utc>,
    ) -> Result<Begin> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Writing first takes SQLite's write lock, so two requests with one key queue here.
        let inserted = sqlx::query(
            "INSERT INTO idempotency (scope, key, fingerprint, created_micros) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (scope, key) DO UPDATE
                 SET fingerprint = ?3, created_micros = ?4, status = NULL, body = NULL, location = NULL
                 WHERE idempotency.created_micros < ?5",
        )
        .bind(scope)
        .bind(key)
        .bind(fingerprint)
        .bind(micros(now))
        .bind(micros(expired_before))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if inserted.rows_affected() == 1 {
            tx.commit().await.map_err(map_err)?;
            return Ok(Begin::Proceed);
        }
        let row = sqlx::query("SELECT fingerprint, status, body, location FROM idempotency WHERE scope = ? AND key = ?")
            .bind(scope)
            .bind(key)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        let stored: String = row.try_get("fingerprint").map_err(map_err)?;
        let status: Option<i64> = row.try_get("status").map_err(map_err)?;
        Ok(match (stored == fingerprint, status) {
            (false, _) => Begin::Mismatch,
            (true, None) => Begin::InProgress,
            (true, Some(status)) => Begin::Replay(StoredResponse {
                status: status as u16,
                body: row.try_get("body").map_err(map_err)?,
                location: row.try_get("location").map_err(map_err)?,
            }),
        })
    }

    async fn finish_request(
        &self,
        scope: &str,
        key: &str,
        response: &StoredResponse,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE idempotency SET status = ?, body = ?, location = ? WHERE scope = ? AND key = ?",
        )
        .bind(i64::from(response.status))
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
        sqlx::query("DELETE FROM idempotency WHERE scope = ? AND key = ?")
            .bind(scope)
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn purge_requests(&self, before: DateTime<Utc>) -> Result<u64> {
        let deleted = sqlx::query("DELETE FROM idempotency WHERE created_micros < ?")
            .bind(micros(before))
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(deleted.rows_affected())
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

fn kinds_text(kinds: &[EventKind]) -> String {
    kinds
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_kinds(text: &str) -> Result<Vec<EventKind>> {
    text.split(',')
        .filter(|k| !k.is_empty())
        .map(|k| {
            EventKind::parse(k).ok_or_else(|| Error::internal(format!("stored event kind {k:?}")))
        })
        .collect()
}

fn endpoint_from_row(row: &SqliteRow) -> Result<WebhookEndpoint> {
    let events: String = row.try_get("events").map_err(map_err)?;
    let secret: String = row.try_get("secret").map_err(map_err)?;
    Ok(WebhookEndpoint {
        id: row.try_get("id").map_err(map_err)?,
        url: row.try_get("url").map_err(map_err)?,
        events: parse_kinds(&events)?,
        secret: Secret::new(secret),
        created_at: from_micros(row.try_get("created_at").map_err(map_err)?)?,
    })
}

fn delivery_from_row(row: &SqliteRow) -> Result<Delivery> {
    let status: String = row.try_get("status").map_err(map_err)?;
    let attempts: i64 = row.try_get("attempts").map_err(map_err)?;
    let delivered_at: Option<i64> = row.try_get("delivered_at").map_err(map_err)?;
    Ok(Delivery {
        id: row.try_get("id").map_err(map_err)?,
        endpoint_id: row.try_get("endpoint_id").map_err(map_err)?,
        event_id: row.try_get("event_id").map_err(map_err)?,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| Error::internal(format!("stored delivery status {status:?}")))?,
        attempts: u32::try_from(attempts).map_err(Error::internal)?,
        next_attempt_at: from_micros(row.try_get("next_attempt_at").map_err(map_err)?)?,
        created_at: from_micros(row.try_get("created_at").map_err(map_err)?)?,
        delivered_at: delivered_at.map(from_micros).transpose()?,
        last_error: row.try_get("last_error").map_err(map_err)?,
        retry_since: from_micros(row.try_get("retry_since").map_err(map_err)?)?,
    })
}

fn attempt_from_row(row: &SqliteRow) -> Result<DeliveryAttempt> {
    let number: i64 = row.try_get("number").map_err(map_err)?;
    let status_code: Option<i64> = row.try_get("status_code").map_err(map_err)?;
    let duration_ms: i64 = row.try_get("duration_ms").map_err(map_err)?;
    Ok(DeliveryAttempt {
        delivery_id: row.try_get("delivery_id").map_err(map_err)?,
        number: u32::try_from(number).map_err(Error::internal)?,
        at: from_micros(row.try_get("at").map_err(map_err)?)?,
        status_code: status_code
            .map(u16::try_from)
            .transpose()
            .map_err(Error::internal)?,
        error: row.try_get("error").map_err(map_err)?,
        duration_ms: u64::try_from(duration_ms).map_err(Error::internal)?,
    })
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn create_endpoint(&self, new: NewWebhookEndpoint) -> Result<WebhookEndpoint> {
        let sql = format!(
            "INSERT INTO webhook_endpoints (url, events, secret, created_at) VALUES (?, ?, ?, ?)
             RETURNING {ENDPOINT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&new.url)
            .bind(kinds_text(&new.events))
            .bind(new.secret.expose())
            .bind(micros(now()))
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

    async fn list_endpoints(&self, page: PageRequest) -> Result<Page<WebhookEndpoint>> {
        self.list_table(
            "webhook_endpoints",
            ENDPOINT_COLUMNS,
            page,
            endpoint_from_row,
        )
        .await
    }

    async fn delete_endpoint(&self, id: i64) -> Result<()> {
        // Deliveries and their attempts go with it through cascading foreign keys.
        let deleted = sqlx::query("DELETE FROM webhook_endpoints WHERE id = ?")
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
        // Moving the cursor first takes SQLite's write lock, so fan-outs queue here and only
        // the first from one cursor position gets through.
        let moved =
            sqlx::query("UPDATE webhook_cursor SET event_id = ? WHERE id = 1 AND event_id = ?")
                .bind(to)
                .bind(from)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        if moved.rows_affected() == 0 {
            return Ok(false);
        }
        for &(endpoint_id, event_id) in deliveries {
            sqlx::query(
                "INSERT INTO webhook_deliveries
                     (endpoint_id, event_id, status, attempts, next_attempt_at, created_at,
                      retry_since)
                 SELECT ?1, ?2, 'pending', 0, ?3, ?3, ?3
                 WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = ?1)
                 ON CONFLICT (endpoint_id, event_id) DO NOTHING",
            )
            .bind(endpoint_id)
            .bind(event_id)
            .bind(micros(at))
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
        let now_us = micros(now);
        let until = now_us.saturating_add(lease.as_micros().min(i64::MAX as u128) as i64);
        // One statement: SQLite takes its write lock before the inner select reads.
        let sql = format!(
            "UPDATE webhook_deliveries SET claim_token = ?1, lease_until = ?2
             WHERE id = (
                 SELECT id FROM webhook_deliveries
                 WHERE status = 'pending' AND next_attempt_at <= ?3
                     AND (lease_until IS NULL OR lease_until <= ?3)
                 ORDER BY next_attempt_at, id LIMIT 1)
             RETURNING {DELIVERY_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&token)
            .bind(until)
            .bind(now_us)
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
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Only the holder of the latest claim gets past this; a later claim or a redelivery
        // replaced or cleared the token.
        let settled = sqlx::query(
            "UPDATE webhook_deliveries SET status = ?1, attempts = ?2,
                 next_attempt_at = COALESCE(?3, next_attempt_at), last_error = ?4,
                 delivered_at = COALESCE(?5, delivered_at), claim_token = NULL, lease_until = NULL
             WHERE id = ?6 AND claim_token = ?7",
        )
        .bind(status.as_str())
        .bind(i64::from(attempt.number))
        .bind(next_attempt_at.map(micros))
        .bind(attempt.error.as_deref())
        .bind(delivered_at.map(micros))
        .bind(claim.delivery.id)
        .bind(&claim.claim_token)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if settled.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, number, at, status_code, error, duration_ms)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(claim.delivery.id)
        .bind(i64::from(attempt.number))
        .bind(micros(attempt.at))
        .bind(attempt.status_code.map(i64::from))
        .bind(attempt.error.as_deref())
        .bind(i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
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
        page: PageRequest,
    ) -> Result<Page<Delivery>> {
        let condition = "?1 IS NULL OR endpoint_id = ?1";
        let total: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE {condition}"
        ))
        .bind(endpoint_id)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE {condition}
             ORDER BY id DESC LIMIT ?2 OFFSET ?3"
        );
        let rows = sqlx::query(&sql)
            .bind(endpoint_id)
            .bind(i64::from(page.per_page))
            .bind(page.offset())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let items = rows.iter().map(delivery_from_row).collect::<Result<_>>()?;
        Ok(Page {
            items,
            total: total as u64,
            request: page,
        })
    }

    async fn list_attempts(&self, delivery_id: i64) -> Result<Vec<DeliveryAttempt>> {
        let rows = sqlx::query(
            "SELECT delivery_id, number, at, status_code, error, duration_ms
             FROM webhook_attempts WHERE delivery_id = ? ORDER BY number, at",
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
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?1,
                 retry_since = ?1, claim_token = NULL, lease_until = NULL
             WHERE id = ?2 RETURNING {DELIVERY_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(micros(now))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref()
            .map(delivery_from_row)
            .unwrap_or(Err(delivery_not_found()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    static NEXT: AtomicU32 = AtomicU32::new(0);

    /// A folder for one suite's databases, removed when dropped.
    struct Folder(std::path::PathBuf);

    impl Folder {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("idv-sqlite-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        /// A fresh database in the folder.
        fn store(&self) -> impl std::future::Future<Output = Arc<SqliteStore>> {
            let path = self
                .0
                .join(format!("db-{}.sqlite", NEXT.fetch_add(1, Ordering::SeqCst)));
            async move {
                let url = format!("sqlite://{}", path.display());
                Arc::new(SqliteStore::connect(&url).await.unwrap())
            }
        }
    }

    impl Drop for Folder {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn passes_the_store_conformance_suite() {
        let folder = Folder::new("suite");
        idv_core::testing::store_suite(|| folder.store()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn passes_the_webhook_conformance_suite() {
        let folder = Folder::new("webhooks");
        idv_core::testing::webhook_suite(|| folder.store()).await;
    }

    #[tokio::test]
    async fn keeps_verifications_across_reopening() {
        let path =
            std::env::temp_dir().join(format!("idv-sqlite-reopen-{}.db", std::process::id()));
        let url = format!("sqlite://{}", path.display());
        let store = SqliteStore::connect(&url).await.unwrap();
        let user = store
            .create_user(NewUser {
                email: "a@example.com".into(),
                full_name: "A".into(),
                role: Role::User,
                password_hash: "h".into(),
            })
            .await
            .unwrap();
        let new = NewVerification {
            user_id: user.id,
            document_type: DocumentType::IdCard,
            blob_prefix: "v/1".into(),
            has_back: true,
        };
        let created = store.create_verification(new).await.unwrap();
        store.close().await;

        let reopened = SqliteStore::connect(&url).await.unwrap();
        assert_eq!(
            reopened.get_verification(created.id).await.unwrap(),
            created
        );
        let job = reopened
            .claim_job(Duration::from_secs(5))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.verification_id, created.id);
        reopened.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
