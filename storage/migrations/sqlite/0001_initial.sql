-- Accounts, sessions, one-time tokens and the append-only audit log.
-- Times are TEXT in UTC, always 2006-01-02T15:04:05.000000Z (fixed width),
-- so comparing the text compares the instants; a NULL time is a zero
-- time.Time. Booleans are 0 or 1.

CREATE TABLE users (
    id             TEXT PRIMARY KEY NOT NULL,
    email          TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL DEFAULT '',
    role           TEXT NOT NULL DEFAULT 'END_USER',
    email_verified INTEGER NOT NULL DEFAULT 0,
    is_active      INTEGER NOT NULL DEFAULT 1,
    password_hash  TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE TABLE sessions (
    id             TEXT PRIMARY KEY NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    refresh_hash   TEXT NOT NULL,
    previous_hash  TEXT NOT NULL DEFAULT '',
    rotated_at     TEXT,
    ip             TEXT NOT NULL DEFAULT '',
    user_agent     TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    last_used_at   TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    max_expires_at TEXT NOT NULL,
    revoked_at     TEXT
);

-- A user's sessions, newest first.
CREATE INDEX sessions_user_id_created_at_idx ON sessions (user_id, created_at);

CREATE TABLE one_time_tokens (
    hash       TEXT PRIMARY KEY NOT NULL,
    purpose    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);

CREATE INDEX one_time_tokens_user_id_purpose_idx ON one_time_tokens (user_id, purpose);

-- seq orders the log and is the cursor of its pages. actor_id and org_id
-- have no foreign keys: the log outlives what it names.
CREATE TABLE audit_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    occurred_at TEXT NOT NULL,
    event       TEXT NOT NULL,
    actor_id    TEXT,
    org_id      TEXT,
    target_type TEXT NOT NULL DEFAULT '',
    target_id   TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    metadata    TEXT NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_events_event_seq_idx ON audit_events (event, seq);
CREATE INDEX audit_events_actor_id_seq_idx ON audit_events (actor_id, seq);
CREATE INDEX audit_events_org_id_seq_idx ON audit_events (org_id, seq);
CREATE INDEX audit_events_occurred_at_idx ON audit_events (occurred_at);

-- The log is append-only, whoever connects.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE is not allowed');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: DELETE is not allowed');
END;
