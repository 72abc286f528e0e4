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
use idv_core::domain::{
    now, DocumentType, NewUser, NewVerification, Page, PageRequest, Role, Status, User,
    UserChanges, UserId, Verification, VerificationFilter, VerificationId, VerificationResult,
};
use idv_core::ports::{email_key, Job, JobQueue, UserStore, VerificationStore};
use idv_core::{Error, Result};
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

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
        Box::pin(async move { Ok(vec![init]) })
    }
}

/// Users, verifications and jobs in SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
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
        let migrator = Migrator::new(Migrations).await.map_err(|e| Error::internal(e))?;
        migrator.run(&pool).await.map_err(|e| Error::Unavailable(format!("migrating SQLite: {e}")))?;
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
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            Error::conflict("email", "email_taken", "a user with this email already exists")
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => Error::NotFound { what: "user" },
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
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(Error::internal)
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
        result: result.map(|r| serde_json::from_str(&r)).transpose().map_err(Error::internal)?,
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
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?");
        let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(map_err)?;
        row.as_ref().map(user_from_row).unwrap_or(Err(Error::NotFound { what: "user" }))
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
        row.as_ref().map(user_from_row).unwrap_or(Err(Error::NotFound { what: "user" }))
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
        tx.commit().await.map_err(map_err)?;
        Ok(prefixes)
    }

    async fn list_users(&self, page: PageRequest) -> Result<Page<User>> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY id LIMIT ? OFFSET ?");
        let rows = sqlx::query(&sql)
            .bind(i64::from(page.per_page))
            .bind(page.offset())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let items = rows.iter().map(user_from_row).collect::<Result<_>>()?;
        Ok(Page { items, total: total as u64, request: page })
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
        let sql = format!("SELECT {VERIFICATION_COLUMNS} FROM verifications WHERE id = ?");
        let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(map_err)?;
        row.as_ref()
            .map(verification_from_row)
            .unwrap_or(Err(Error::NotFound { what: "verification" }))
    }

    async fn list_verifications(
        &self,
        filter: VerificationFilter,
        page: PageRequest,
    ) -> Result<Page<Verification>> {
        let condition = "(?1 IS NULL OR user_id = ?1) AND (?2 IS NULL OR status = ?2)";
        let status = filter.status.map(Status::as_str);
        let total: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM verifications WHERE {condition}"))
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
        let items = rows.iter().map(verification_from_row).collect::<Result<_>>()?;
        Ok(Page { items, total: total as u64, request: page })
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
            return Err(Error::NotFound { what: "verification" });
        };
        sqlx::query("DELETE FROM jobs WHERE verification_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        verification_from_row(&row)
    }

    async fn delete_verification(&self, id: VerificationId) -> Result<Verification> {
        let sql = format!("DELETE FROM verifications WHERE id = ? RETURNING {VERIFICATION_COLUMNS}");
        let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(map_err)?;
        row.as_ref()
            .map(verification_from_row)
            .unwrap_or(Err(Error::NotFound { what: "verification" }))
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
        Ok(Some(Job { verification_id, attempts: attempts as u32, claim_token: token }))
    }

    async fn complete_job(&self, job: &Job, status: Status, result: &VerificationResult) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let released = sqlx::query("DELETE FROM jobs WHERE verification_id = ? AND claim_token = ?")
            .bind(job.verification_id)
            .bind(&job.claim_token)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if released.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("UPDATE verifications SET status = ?, result = ?, updated_at = ? WHERE id = ?")
            .bind(status.as_str())
            .bind(result_json(result)?)
            .bind(timestamp(now()))
            .bind(job.verification_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    static NEXT: AtomicU32 = AtomicU32::new(0);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn passes_the_store_conformance_suite() {
        let dir = std::env::temp_dir().join(format!("idv-sqlite-suite-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let base = dir.clone();
        idv_core::testing::store_suite(move || {
            let path = base.join(format!("db-{}.sqlite", NEXT.fetch_add(1, Ordering::SeqCst)));
            async move { Arc::new(SqliteStore::connect(&format!("sqlite://{}", path.display())).await.unwrap()) }
        })
        .await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn keeps_verifications_across_reopening() {
        let path = std::env::temp_dir().join(format!("idv-sqlite-reopen-{}.db", std::process::id()));
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
        assert_eq!(reopened.get_verification(created.id).await.unwrap(), created);
        let job = reopened.claim_job(Duration::from_secs(5)).await.unwrap().unwrap();
        assert_eq!(job.verification_id, created.id);
        reopened.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
