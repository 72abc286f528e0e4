-- The event outbox: written in the same transaction as the change each event describes.
-- Writers take a transaction-level advisory lock first, so ids are handed out in commit order
-- and a reader that has seen id n never later finds a new event below n.

CREATE TABLE events (
    id                 BIGSERIAL PRIMARY KEY,
    kind               TEXT NOT NULL,
    user_id            BIGINT,
    verification_id    BIGINT,
    status             TEXT,
    step               TEXT,
    api_key_id         BIGINT,
    reason             TEXT,
    count              BIGINT,
    subject_created_at TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL
);

CREATE INDEX events_by_user ON events (user_id, kind, created_at);
