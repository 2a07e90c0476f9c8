-- Single sign-on: a one-time token may belong to nobody yet (an SSO state)
-- and keeps a short opaque string for its flow; identities link users to
-- accounts at external identity providers. Times are TEXT in the
-- fixed-width UTC form of 0001_initial.

-- SQLite cannot drop a NOT NULL, so one_time_tokens is rebuilt: a new
-- table, its rows copied, the old one dropped, the new one renamed and its
-- index made again. It runs in the migration's transaction, and no table
-- refers to one_time_tokens, so foreign keys stay on.
CREATE TABLE one_time_tokens_new (
    hash       TEXT PRIMARY KEY NOT NULL,
    purpose    TEXT NOT NULL,
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    data       TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);

INSERT INTO one_time_tokens_new (hash, purpose, user_id, created_at, expires_at, used_at)
    SELECT hash, purpose, user_id, created_at, expires_at, used_at FROM one_time_tokens;

DROP TABLE one_time_tokens;

ALTER TABLE one_time_tokens_new RENAME TO one_time_tokens;

CREATE INDEX one_time_tokens_user_id_purpose_idx ON one_time_tokens (user_id, purpose);

-- One link per provider and subject, and one per user and provider.
CREATE TABLE identities (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider   TEXT NOT NULL CHECK (provider <> ''),
    subject    TEXT NOT NULL CHECK (subject <> ''),
    email      TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    CONSTRAINT identities_pkey PRIMARY KEY (provider, subject),
    CONSTRAINT identities_user_id_provider_key UNIQUE (user_id, provider)
);

-- A user's identities, oldest first; also the foreign key's index.
CREATE INDEX identities_user_id_created_at_idx ON identities (user_id, created_at, provider);
