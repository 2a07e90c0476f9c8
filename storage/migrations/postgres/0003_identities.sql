-- Single sign-on: a one-time token may belong to nobody yet (an SSO state)
-- and keeps a short opaque string for its flow; identities link users to
-- accounts at external identity providers.

ALTER TABLE one_time_tokens ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE one_time_tokens ADD COLUMN data text NOT NULL DEFAULT '';

-- One link per provider and subject, and one per user and provider.
CREATE TABLE identities (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider   text NOT NULL CHECK (provider <> ''),
    subject    text NOT NULL CHECK (subject <> ''),
    email      text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    CONSTRAINT identities_pkey PRIMARY KEY (provider, subject),
    CONSTRAINT identities_user_id_provider_key UNIQUE (user_id, provider)
);

-- A user's identities, oldest first; also the foreign key's index.
CREATE INDEX identities_user_id_created_at_idx ON identities (user_id, created_at, provider);
