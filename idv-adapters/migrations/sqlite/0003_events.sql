-- The event outbox: written in the same transaction as the change each event describes.
-- Times in microseconds since the epoch.

CREATE TABLE events (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    kind               TEXT NOT NULL,
    user_id            INTEGER,
    verification_id    INTEGER,
    status             TEXT,
    step               TEXT,
    api_key_id         INTEGER,
    reason             TEXT,
    count              INTEGER,
    subject_created_us INTEGER,
    created_us         INTEGER NOT NULL
);

CREATE INDEX events_by_user ON events (user_id, kind, created_us);
