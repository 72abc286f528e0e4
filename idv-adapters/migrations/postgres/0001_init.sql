-- The whole schema of the PostgreSQL store: users, verifications, the durable job queue,
-- API keys, the system log and idempotency records.
-- BIGSERIAL ids come from sequences, so ids of deleted rows are never handed out again.
-- Times are TIMESTAMPTZ: microsecond precision, the precision of the core's clock.

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL,
    full_name     TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

-- The store maps a violation of this index (by name) to an "email taken" conflict.
CREATE UNIQUE INDEX users_email_key ON users (email_key);

CREATE TABLE verifications (
    id            BIGSERIAL PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    document_type TEXT NOT NULL,
    status        TEXT NOT NULL,
    blob_prefix   TEXT NOT NULL,
    has_back      BOOLEAN NOT NULL,
    result        JSONB,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE INDEX verifications_by_user ON verifications (user_id, id);
CREATE INDEX verifications_by_status ON verifications (status, id);

-- One row per verification waiting to be scored. A claim sets claim_token and lease_until
-- (on the database clock, so that several servers agree); an expired lease can be claimed
-- again.
CREATE TABLE jobs (
    verification_id BIGINT PRIMARY KEY REFERENCES verifications (id) ON DELETE CASCADE,
    attempts        INTEGER NOT NULL DEFAULT 0,
    claim_token     TEXT,
    lease_until     TIMESTAMPTZ
);

CREATE TABLE api_keys (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL,
    permissions  TEXT[] NOT NULL,
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL,
    owner_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    expires_at   TIMESTAMPTZ
);

CREATE UNIQUE INDEX api_keys_prefix ON api_keys (prefix);
-- Deleting a user cascades to their keys; without this index that is a full scan.
CREATE INDEX api_keys_by_owner ON api_keys (owner_id);

-- user_id has no foreign key: entries about a user outlive the user.
CREATE TABLE logs (
    id        BIGSERIAL PRIMARY KEY,
    logged_at TIMESTAMPTZ NOT NULL,
    level     TEXT NOT NULL,
    event     TEXT NOT NULL,
    message   TEXT NOT NULL,
    user_id   BIGINT
);

CREATE INDEX logs_by_time ON logs (logged_at, id);

CREATE TABLE idempotency (
    scope       TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    status      INTEGER,
    body        BYTEA,
    location    TEXT,
    PRIMARY KEY (scope, key)
);

CREATE INDEX idempotency_by_time ON idempotency (created_at);
