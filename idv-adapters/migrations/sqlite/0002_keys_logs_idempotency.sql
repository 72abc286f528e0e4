-- API keys (stored by hash), the system log and idempotency records.

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    permissions  TEXT NOT NULL,
    prefix       TEXT NOT NULL UNIQUE,
    key_hash     TEXT NOT NULL,
    owner_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    expires_at   TEXT
);

-- Timestamps in microseconds since the epoch, so that range filters compare numbers.
CREATE TABLE logs (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at_micros INTEGER NOT NULL,
    level     TEXT NOT NULL,
    event     TEXT NOT NULL,
    message   TEXT NOT NULL,
    user_id   INTEGER
);

CREATE INDEX logs_by_time ON logs (at_micros, id);

CREATE TABLE idempotency (
    scope           TEXT NOT NULL,
    key             TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    created_micros  INTEGER NOT NULL,
    status          INTEGER,
    body            BLOB,
    location        TEXT,
    PRIMARY KEY (scope, key)
);
