package auth

import (
	"context"
	"time"
)

// User is an account. Email is normalised (see [NormalizeEmail]).
// PasswordHash is an Argon2id PHC string, or empty for an account that signs
// in only through an external identity.
type User struct {
	ID            string
	Email         string
	Name          string
	Role          GlobalRole
	EmailVerified bool
	IsActive      bool
	PasswordHash  string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// HasPassword reports whether the user can sign in with a password.
func (u User) HasPassword() bool { return u.PasswordHash != "" }

// Session is one signed-in device. RefreshHash is the SHA-256 (hex) of the
// JTI of the only refresh token that may rotate it; PreviousHash is the one
// before it, kept for the reuse grace window. ExpiresAt is the idle expiry
// (renewed by each refresh, never past MaxExpiresAt, the absolute limit).
// A zero RevokedAt means the session was not revoked.
type Session struct {
	ID           string
	UserID       string
	RefreshHash  string
	PreviousHash string
	RotatedAt    time.Time
	IP           string
	UserAgent    string
	CreatedAt    time.Time
	LastUsedAt   time.Time
	ExpiresAt    time.Time
	MaxExpiresAt time.Time
	RevokedAt    time.Time
}

// Active reports whether the session can still be used at now.
func (s Session) Active(now time.Time) bool {
	return s.RevokedAt.IsZero() && now.Before(s.ExpiresAt) && now.Before(s.MaxExpiresAt)
}

// TokenPurpose says what a one-time token is for.
type TokenPurpose string

// One-time token purposes.
const (
	PurposeVerifyEmail   TokenPurpose = "verify_email"
	PurposePasswordReset TokenPurpose = "password_reset"
	PurposeSSOState      TokenPurpose = "sso_state"
	PurposeSSOCode       TokenPurpose = "sso_code"
)

// Identity links a user to an account at an external identity provider
// ("google", "github"): Subject is the provider's stable user id, Email the
// address the provider gave when it was linked.
type Identity struct {
	UserID    string
	Provider  string
	Subject   string
	Email     string
	CreatedAt time.Time
}

// OneTimeToken is a single-use secret: a link mailed to a user, or a step
// of the single sign-on flow. Only Hash (SHA-256, hex) of the secret is
// stored. UserID may be empty (an SSO state belongs to nobody yet); Data is
// a short opaque string the flow keeps with the token: never a password or
// a token of the user's (the SSO state keeps its PKCE verifier there, which
// is useless without the provider's one-time code). A zero UsedAt means it
// was not used.
type OneTimeToken struct {
	Hash      string
	Purpose   TokenPurpose
	UserID    string
	Data      string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// Rotation is one conditional refresh-token rotation, see
// [SessionStore.RotateSession].
type Rotation struct {
	SessionID string
	// Presented is the hash of the refresh JTI the client sent.
	Presented string
	// Next is the hash of the JTI of the refresh token being issued.
	Next string
	// Now is the time of the refresh; it becomes RotatedAt and LastUsedAt.
	Now time.Time
	// ExpiresAt is the new idle expiry.
	ExpiresAt time.Time
	// GraceSince, when not zero, lets Presented match PreviousHash too,
	// provided the session was rotated at or after GraceSince.
	GraceSince time.Time
}

// Page selects one page of a list: at most Limit items after Cursor (an
// opaque string returned by the previous page; empty for the first).
type Page struct {
	Limit  int
	Cursor string
}

// AuditFilter narrows an audit listing. Zero fields do not filter.
type AuditFilter struct {
	Event   string
	ActorID string
	OrgID   string
	Since   time.Time
	Until   time.Time
}

// UserFilter narrows a user listing. Query matches a substring of the email
// or the name, case-insensitively; Role, when set, matches exactly.
type UserFilter struct {
	Query string
	Role  GlobalRole
}

// Org is an organisation (a tenant). Slug is unique and immutable.
type Org struct {
	ID        string
	Name      string
	Slug      string
	OwnerID   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// OrgFilter narrows an organisation listing. Query matches a substring of
// the name or the slug, case-insensitively.
type OrgFilter struct {
	Query string
}

// Member is one user's membership of one organisation. Email and Name are
// the user's, read with the membership; they are ignored on writes. The
// zero Member means "not a member".
type Member struct {
	OrgID    string
	UserID   string
	Role     OrgRole
	JoinedAt time.Time
	Email    string
	Name     string
}

// OrgMembership is an organisation with one user's role in it.
type OrgMembership struct {
	Org  Org
	Role OrgRole
}

// Invite is an invitation of an email address to an organisation with a
// role. Only TokenHash (SHA-256, hex) of the mailed token is stored. A zero
// AcceptedAt means it is pending (while not expired).
type Invite struct {
	ID         string
	OrgID      string
	Email      string
	Role       OrgRole
	TokenHash  string
	InvitedBy  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AcceptedAt time.Time
}

// RolePermission is one stored grant: permission to role in scope. Names
// are kept as strings so that a store holding an unknown name can be
// reported, not silently skipped.
type RolePermission struct {
	Scope      Scope
	Role       string
	Permission string
}

// Stats are the counts of the internal dashboard.
type Stats struct {
	Users          int
	ActiveSessions int
	Orgs           int
	Logins24h      int
}

// UserStore keeps accounts. Emails are unique.
type UserStore interface {
	// CreateUser inserts u. It returns ErrConflict when the email is taken.
	CreateUser(ctx context.Context, u User) error
	// UserByID returns the user or ErrNotFound.
	UserByID(ctx context.Context, id string) (User, error)
	// UserByEmail returns the user with this normalised email or ErrNotFound.
	UserByEmail(ctx context.Context, email string) (User, error)
	// UpdateUser writes Name, Role, EmailVerified, IsActive, PasswordHash and
	// UpdatedAt of the user with u.ID. It returns ErrNotFound when there is
	// no such user.
	UpdateUser(ctx context.Context, u User) error
	// Users returns the users matching f, oldest first, one page at a time,
	// with the cursor of the next page ("" on the last). A cursor this
	// method did not return is a *ValidationError on "cursor".
	Users(ctx context.Context, f UserFilter, p Page) ([]User, string, error)
}

// SessionStore keeps sessions.
type SessionStore interface {
	// CreateSession inserts s.
	CreateSession(ctx context.Context, s Session) error
	// SessionByID returns the session (revoked and expired ones too) or
	// ErrNotFound.
	SessionByID(ctx context.Context, id string) (Session, error)
	// SessionUser returns the session (revoked and expired ones too) and
	// its user in one read, or ErrNotFound. It is on the path of every
	// authenticated request: make it one indexed lookup.
	SessionUser(ctx context.Context, id string) (Session, User, error)
	// RotateSession replaces the refresh hash in one conditional statement:
	// it succeeds only when the session is not revoked, r.Now is before its
	// ExpiresAt and MaxExpiresAt, and r.Presented equals RefreshHash (or,
	// when r.GraceSince is set, equals PreviousHash and RotatedAt is not
	// before r.GraceSince). On success RefreshHash becomes r.Next,
	// PreviousHash becomes r.Presented when it was the current hash and
	// empty otherwise (a grace refresh is used once), RotatedAt and
	// LastUsedAt become r.Now and ExpiresAt r.ExpiresAt. When no row
	// matches it returns ErrNotFound and changes nothing, so of concurrent
	// callers with one hash exactly one succeeds.
	RotateSession(ctx context.Context, r Rotation) error
	// RevokeSession marks the session revoked at now. It returns
	// ErrNotFound when there is no such session that is not yet revoked.
	RevokeSession(ctx context.Context, id string, now time.Time) error
	// RevokeUserSessions revokes every unrevoked session of the user except
	// the one with id except (which may be empty) and returns how many it
	// revoked.
	RevokeUserSessions(ctx context.Context, userID, except string, now time.Time) (int, error)
	// ActiveSessions returns the user's sessions that are active at now
	// (see [Session.Active]), newest first.
	ActiveSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)
}

// TokenStore keeps one-time tokens.
type TokenStore interface {
	// CreateToken inserts t.
	CreateToken(ctx context.Context, t OneTimeToken) error
	// ConsumeToken marks the token with this purpose and hash used at now
	// and returns it, in one conditional statement: it returns ErrNotFound
	// when there is no such token, or it is used, or it expired at or before
	// now, so of concurrent callers exactly one succeeds.
	ConsumeToken(ctx context.Context, purpose TokenPurpose, hash string, now time.Time) (OneTimeToken, error)
	// DeleteUserTokens deletes the user's unused tokens of this purpose.
	DeleteUserTokens(ctx context.Context, userID string, purpose TokenPurpose) error
}

// AuditStore keeps the append-only audit log.
type AuditStore interface {
	// AppendAudit inserts e. Rows are never updated or deleted.
	AppendAudit(ctx context.Context, e AuditEvent) error
	// AuditEvents returns the events that match f, newest first, one page at
	// a time, with the cursor of the next page ("" on the last).
	AuditEvents(ctx context.Context, f AuditFilter, p Page) ([]AuditEvent, string, error)
}

// OrgStore keeps organisations. Deleting an organisation deletes its
// memberships and invites.
type OrgStore interface {
	// CreateOrg inserts o. It returns ErrSlugTaken when the slug exists.
	CreateOrg(ctx context.Context, o Org) error
	// OrgBySlug returns the organisation or ErrNotFound.
	OrgBySlug(ctx context.Context, slug string) (Org, error)
	// OrgByID returns the organisation or ErrNotFound.
	OrgByID(ctx context.Context, id string) (Org, error)
	// UpdateOrg writes Name, OwnerID and UpdatedAt of the organisation with
	// o.ID, or returns ErrNotFound.
	UpdateOrg(ctx context.Context, o Org) error
	// DeleteOrg deletes the organisation with its memberships and invites,
	// or returns ErrNotFound.
	DeleteOrg(ctx context.Context, id string) error
	// Orgs returns the organisations matching f, oldest first, paged as
	// [UserStore.Users].
	Orgs(ctx context.Context, f OrgFilter, p Page) ([]Org, string, error)
	// UserOrgs returns the organisations userID belongs to with its role in
	// each, oldest membership first, paged as [UserStore.Users].
	UserOrgs(ctx context.Context, userID string, p Page) ([]OrgMembership, string, error)
}

// MemberStore keeps memberships: at most one per organisation and user.
type MemberStore interface {
	// AddMember inserts m. It returns ErrAlreadyMember when the user is a
	// member already.
	AddMember(ctx context.Context, m Member) error
	// Member returns the membership with the user's email and name, or
	// ErrNotFound.
	Member(ctx context.Context, orgID, userID string) (Member, error)
	// Members returns an organisation's memberships, with emails and names,
	// oldest first, paged as [UserStore.Users].
	Members(ctx context.Context, orgID string, p Page) ([]Member, string, error)
	// SetMemberRole changes a membership's role, or returns ErrNotFound.
	SetMemberRole(ctx context.Context, orgID, userID string, role OrgRole) error
	// RemoveMember deletes a membership, or returns ErrNotFound.
	RemoveMember(ctx context.Context, orgID, userID string) error
}

// InviteStore keeps invitations.
type InviteStore interface {
	// CreateInvite inserts i after deleting any pending invite of the same
	// organisation and email, so re-inviting replaces the pending invite.
	CreateInvite(ctx context.Context, i Invite) error
	// PendingInvites returns an organisation's invites that are neither
	// accepted nor expired at now, oldest first, paged as [UserStore.Users].
	PendingInvites(ctx context.Context, orgID string, now time.Time, p Page) ([]Invite, string, error)
	// InviteByHash returns the invite with this token hash (accepted and
	// expired ones too) or ErrNotFound.
	InviteByHash(ctx context.Context, hash string) (Invite, error)
	// AcceptInvite marks the invite with this hash accepted at now and
	// returns it, in one conditional statement: it returns ErrNotFound when
	// there is no such invite, or it was accepted, or it expired at or
	// before now, so of concurrent callers exactly one succeeds.
	AcceptInvite(ctx context.Context, hash string, now time.Time) (Invite, error)
	// DeleteInvite deletes a pending invite of the organisation, or returns
	// ErrNotFound (also for an invite of another organisation).
	DeleteInvite(ctx context.Context, orgID, id string) error
}

// PermissionStore keeps the role → permission mappings.
type PermissionStore interface {
	// RolePermissions returns every stored grant.
	RolePermissions(ctx context.Context) ([]RolePermission, error)
	// SetRolePermissions replaces the grants of one role with perms and
	// marks the role as configured.
	SetRolePermissions(ctx context.Context, scope Scope, role string, perms []Permission) error
	// SeedRolePermissions stores perms for a role that was never configured
	// and reports whether it did; a configured role (even one configured
	// to have no permission) is left alone, so seeding is idempotent and
	// never undoes an edit.
	SeedRolePermissions(ctx context.Context, scope Scope, role string, perms []Permission) (bool, error)
}

// StatsStore counts for the internal dashboard.
type StatsStore interface {
	// Stats returns the number of users, of sessions active at now, of
	// organisations, and of auth.login and sso.login events since
	// now minus 24 hours.
	Stats(ctx context.Context, now time.Time) (Stats, error)
}

// IdentityStore keeps links to external identities: at most one per
// provider and subject, and one per user and provider.
type IdentityStore interface {
	// CreateIdentity inserts i. It returns ErrConflict when the provider's
	// subject is linked already, or the user has an identity of that
	// provider.
	CreateIdentity(ctx context.Context, i Identity) error
	// IdentityBySubject returns the identity or ErrNotFound.
	IdentityBySubject(ctx context.Context, provider, subject string) (Identity, error)
	// UserIdentities returns the user's identities, oldest first.
	UserIdentities(ctx context.Context, userID string) ([]Identity, error)
	// DeleteIdentity deletes the user's identity of provider, or returns
	// ErrNotFound.
	DeleteIdentity(ctx context.Context, userID, provider string) error
}

// Store is everything the services persist. Implementations are safe for
// concurrent use; storage.Store is the one on SQLite and PostgreSQL.
type Store interface {
	UserStore
	SessionStore
	TokenStore
	AuditStore
	OrgStore
	MemberStore
	InviteStore
	PermissionStore
	StatsStore
	IdentityStore
	// WithinTx runs fn in one transaction with a Store bound to it; it
	// commits when fn returns nil and rolls back otherwise. Calling WithinTx
	// on the transaction's Store runs fn in the same transaction.
	WithinTx(ctx context.Context, fn func(ctx context.Context, tx Store) error) error
}
