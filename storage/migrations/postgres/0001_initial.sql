-- Accounts, sessions, one-time tokens and the append-only audit log.
-- Times are timestamptz in UTC at microsecond precision; a NULL time is a
-- zero time.Time.

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    email          text NOT NULL UNIQUE,
    name           text NOT NULL DEFAULT '',
    role           text NOT NULL DEFAULT 'END_USER',
    email_verified boolean NOT NULL DEFAULT false,
    is_active      boolean NOT NULL DEFAULT true,
    password_hash  text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);

CREATE TABLE sessions (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    refresh_hash   text NOT NULL,
    previous_hash  text NOT NULL DEFAULT '',
    rotated_at     timestamptz,
    ip             text NOT NULL DEFAULT '',
    user_agent     text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    last_used_at   timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    max_expires_at timestamptz NOT NULL,
    revoked_at     timestamptz
);

-- A user's sessions, newest first.
CREATE INDEX sessions_user_id_created_at_idx ON sessions (user_id, created_at);

CREATE TABLE one_time_tokens (
    hash       text PRIMARY KEY,
    purpose    text NOT NULL,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE INDEX one_time_tokens_user_id_purpose_idx ON one_time_tokens (user_id, purpose);

-- seq orders the log and is the cursor of its pages. actor_id and org_id
-- have no foreign keys: the log outlives what it names.
CREATE TABLE audit_events (
    seq         bigserial PRIMARY KEY,
    id          uuid NOT NULL UNIQUE,
    occurred_at timestamptz NOT NULL,
    event       text NOT NULL,
    actor_id    uuid,
    org_id      uuid,
    target_type text NOT NULL DEFAULT '',
    target_id   text NOT NULL DEFAULT '',
    ip          text NOT NULL DEFAULT '',
    user_agent  text NOT NULL DEFAULT '',
    metadata    jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_events_event_seq_idx ON audit_events (event, seq);
CREATE INDEX audit_events_actor_id_seq_idx ON audit_events (actor_id, seq);
CREATE INDEX audit_events_org_id_seq_idx ON audit_events (org_id, seq);
CREATE INDEX audit_events_occurred_at_idx ON audit_events (occurred_at);

-- The log is append-only, whoever connects.
CREATE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP;
END;
$$;

CREATE TRIGGER audit_events_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
