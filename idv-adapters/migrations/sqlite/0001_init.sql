-- Users, verifications and the durable job queue.
-- AUTOINCREMENT keeps ids of deleted rows from being handed out again.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL UNIQUE,
    full_name     TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE verifications (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    document_type TEXT NOT NULL,
    status        TEXT NOT NULL,
    blob_prefix   TEXT NOT NULL,
    has_back      INTEGER NOT NULL,
    result        TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE INDEX verifications_by_user ON verifications (user_id, id);
CREATE INDEX verifications_by_status ON verifications (status, id);

-- One row per verification waiting to be scored. A claim sets claim_token and lease_until
-- (milliseconds since the epoch); an expired lease can be claimed again.
CREATE TABLE jobs (
    verification_id INTEGER PRIMARY KEY REFERENCES verifications (id) ON DELETE CASCADE,
    attempts        INTEGER NOT NULL DEFAULT 0,
    claim_token     TEXT,
    lease_until     INTEGER
);
