-- Organisations, memberships, invites, the role → permission mappings, and
-- the indexes behind the paged user listing and the dashboard counts.
-- Constraints are named where storage/errors.go tells one from another.

CREATE TABLE orgs (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    slug       text NOT NULL CONSTRAINT orgs_slug_key UNIQUE,
    owner_id   uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Organisations oldest first, the order of their pages.
CREATE INDEX orgs_created_at_id_idx ON orgs (created_at, id);
-- The foreign key, checked when a user is deleted.
CREATE INDEX orgs_owner_id_idx ON orgs (owner_id);

CREATE TABLE org_members (
    org_id    uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role      text NOT NULL CHECK (role IN ('OWNER', 'ADMIN', 'MEMBER')),
    joined_at timestamptz NOT NULL,
    CONSTRAINT org_members_pkey PRIMARY KEY (org_id, user_id)
);

-- An organisation's members, and a user's organisations, oldest first.
CREATE INDEX org_members_org_id_joined_at_idx ON org_members (org_id, joined_at, user_id);
CREATE INDEX org_members_user_id_joined_at_idx ON org_members (user_id, joined_at, org_id);

-- An invite is pending while accepted_at is NULL and expires_at is ahead.
-- OWNER is reached only by transfer, never by an invite. invited_by
-- outlives the inviter as NULL.
CREATE TABLE org_invites (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email       text NOT NULL,
    role        text NOT NULL CHECK (role IN ('ADMIN', 'MEMBER')),
    token_hash  text NOT NULL CONSTRAINT org_invites_token_hash_key UNIQUE,
    invited_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz
);

-- At most one unaccepted invite per organisation and email: re-inviting
-- replaces it, and of two concurrent re-invites one fails.
CREATE UNIQUE INDEX org_invites_org_id_email_key ON org_invites (org_id, email) WHERE accepted_at IS NULL;
-- An organisation's invites oldest first; also the foreign key's index.
CREATE INDEX org_invites_org_id_created_at_idx ON org_invites (org_id, created_at, id);
CREATE INDEX org_invites_invited_by_idx ON org_invites (invited_by);

-- permission_roles marks the roles whose grants were configured (seeded or
-- edited), even to none; role_permissions holds the grants. Role and
-- permission names are not checked here, so that a name this version does
-- not know can be read back and reported.
CREATE TABLE permission_roles (
    scope text NOT NULL CHECK (scope IN ('user', 'org')),
    role  text NOT NULL CHECK (role <> ''),
    PRIMARY KEY (scope, role)
);

CREATE TABLE role_permissions (
    scope      text NOT NULL,
    role       text NOT NULL,
    permission text NOT NULL,
    PRIMARY KEY (scope, role, permission),
    FOREIGN KEY (scope, role) REFERENCES permission_roles (scope, role) ON DELETE CASCADE
);

-- Users oldest first, all of them or those of one role.
CREATE INDEX users_created_at_id_idx ON users (created_at, id);
CREATE INDEX users_role_created_at_id_idx ON users (role, created_at, id);

-- Sessions that may be active, for the dashboard's count.
CREATE INDEX sessions_unrevoked_expires_at_idx ON sessions (expires_at) WHERE revoked_at IS NULL;
