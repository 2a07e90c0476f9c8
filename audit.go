package auth

import "time"

// AuditEvent is one row of the append-only audit log. ActorID is the user who
// acted (empty for an anonymous failed login); OrgID is set on org events;
// TargetType and TargetID name what was acted on. Metadata never holds a
// password, a token or a hash of one.
type AuditEvent struct {
	ID         string
	OccurredAt time.Time
	Event      string
	ActorID    string
	OrgID      string
	TargetType string
	TargetID   string
	IP         string
	UserAgent  string
	Metadata   map[string]string
}

// Audit event names, as in the REST contract.
const (
	EventUserRegistered       = "user.registered"
	EventUserEmailVerified    = "user.email_verified"
	EventLogin                = "auth.login"
	EventLoginFailed          = "auth.login_failed"
	EventLogout               = "auth.logout"
	EventLogoutAll            = "auth.logout_all"
	EventTokenReused          = "auth.token_reused"
	EventSessionRevoked       = "session.revoked"
	EventPasswordChanged      = "password.changed"
	EventPasswordSet          = "password.set"
	EventPasswordResetRequest = "password.reset_requested"
	EventPasswordReset        = "password.reset"
	EventUserUpdated          = "user.updated"
	EventSSOLogin             = "sso.login"
	EventSSOLinked            = "sso.linked"
	EventSSOUnlinked          = "sso.unlinked"
)

// Audit target types.
const (
	TargetUser     = "user"
	TargetSession  = "session"
	TargetOrg      = "org"
	TargetMember   = "member"
	TargetInvite   = "invite"
	TargetRole     = "role"
	TargetIdentity = "identity"
)

// Events of organisations and user administration.
const (
	EventOrgCreated    = "org.created"
	EventOrgUpdated    = "org.updated"
	EventOrgDeleted    = "org.deleted"
	EventMemberInvited = "member.invited"
	// EventInviteRevoked is not in the contract's list: authd records the
	// revocation of a pending invite too, so every change has its event.
	EventInviteRevoked        = "member.invite_revoked"
	EventMemberJoined         = "member.joined"
	EventMemberRemoved        = "member.removed"
	EventMemberLeft           = "member.left"
	EventMemberRoleChanged    = "member.role_changed"
	EventOwnershipTransferred = "org.ownership_transferred"
	EventUserRoleChanged      = "user.role_changed"
	EventUserDisabled         = "user.disabled"
	EventPermissionsChanged   = "permissions.changed"
)
