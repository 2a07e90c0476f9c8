package storage

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/authd/auth"
)

// timeLayout is how a time is written to the database: UTC, always six
// fractional digits. SQLite keeps it as TEXT, and because the width is fixed
// comparing the text compares the instants; PostgreSQL reads the same text
// into timestamptz.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// dbTime is a time.Time as the database holds it: NULL for the zero time,
// otherwise UTC truncated to microseconds in timeLayout. Every time that
// goes into a query, as a column or as an argument, is a dbTime, so that
// both dialects compare like with like.
type dbTime time.Time

// Value returns nil for the zero time and the time in timeLayout otherwise.
func (t dbTime) Value() (driver.Value, error) {
	tm := time.Time(t)
	if tm.IsZero() {
		return nil, nil
	}
	tm = tm.UTC().Truncate(time.Microsecond)
	if y := tm.Year(); y < 1 || y > 9999 {
		return nil, fmt.Errorf("time %s is out of the range the database keeps", tm)
	}
	return tm.Format(timeLayout), nil
}

// Scan reads NULL as the zero time, a time.Time (PostgreSQL), or the text of
// timeLayout (SQLite).
func (t *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*t = dbTime{}
	case time.Time:
		*t = dbTime(v.UTC())
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	default:
		return fmt.Errorf("cannot scan %T into a time", src)
	}
	return nil
}

func (t *dbTime) parse(s string) error {
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("cannot scan %q into a time: %w", s, err)
	}
	*t = dbTime(tm.UTC())
	return nil
}

// isUUID reports whether s is a UUID in canonical form: 36 characters,
// lower-case hex digits in groups of 8-4-4-4-12. Any other string names no
// row, on both dialects alike (PostgreSQL would refuse to compare it with a
// uuid column).
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// checkID returns an error when id, of a row about to be written, is not a
// canonical UUID.
func checkID(what, id string) error {
	if !isUUID(id) {
		return fmt.Errorf("%s %q is not a lower-case UUID", what, id)
	}
	return nil
}

// nullString is s, or NULL when s is empty.
type nullString string

// Value returns nil for the empty string.
func (s nullString) Value() (driver.Value, error) {
	if s == "" {
		return nil, nil
	}
	return string(s), nil
}

// Scan reads NULL as the empty string.
func (s *nullString) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s = ""
	case string:
		*s = nullString(v)
	case []byte:
		*s = nullString(v)
	default:
		return fmt.Errorf("cannot scan %T into a string", src)
	}
	return nil
}

type userRow struct {
	bun.BaseModel `bun:"table:users,alias:u"`

	ID            string `bun:"id"`
	Email         string `bun:"email"`
	Name          string `bun:"name"`
	Role          string `bun:"role"`
	EmailVerified bool   `bun:"email_verified"`
	IsActive      bool   `bun:"is_active"`
	PasswordHash  string `bun:"password_hash"`
	CreatedAt     dbTime `bun:"created_at"`
	UpdatedAt     dbTime `bun:"updated_at"`
}

func newUserRow(u auth.User) userRow {
	return userRow{
		ID:            u.ID,
		Email:         u.Email,
		Name:          u.Name,
		Role:          string(u.Role),
		EmailVerified: u.EmailVerified,
		IsActive:      u.IsActive,
		PasswordHash:  u.PasswordHash,
		CreatedAt:     dbTime(u.CreatedAt),
		UpdatedAt:     dbTime(u.UpdatedAt),
	}
}

func (r userRow) user() auth.User {
	return auth.User{
		ID:            r.ID,
		Email:         r.Email,
		Name:          r.Name,
		Role:          auth.GlobalRole(r.Role),
		EmailVerified: r.EmailVerified,
		IsActive:      r.IsActive,
		PasswordHash:  r.PasswordHash,
		CreatedAt:     time.Time(r.CreatedAt),
		UpdatedAt:     time.Time(r.UpdatedAt),
	}
}

type sessionRow struct {
	bun.BaseModel `bun:"table:sessions,alias:s"`

	ID           string `bun:"id"`
	UserID       string `bun:"user_id"`
	RefreshHash  string `bun:"refresh_hash"`
	PreviousHash string `bun:"previous_hash"`
	RotatedAt    dbTime `bun:"rotated_at"`
	IP           string `bun:"ip"`
	UserAgent    string `bun:"user_agent"`
	CreatedAt    dbTime `bun:"created_at"`
	LastUsedAt   dbTime `bun:"last_used_at"`
	ExpiresAt    dbTime `bun:"expires_at"`
	MaxExpiresAt dbTime `bun:"max_expires_at"`
	RevokedAt    dbTime `bun:"revoked_at"`
}

func newSessionRow(s auth.Session) sessionRow {
	return sessionRow{
		ID:           s.ID,
		UserID:       s.UserID,
		RefreshHash:  s.RefreshHash,
		PreviousHash: s.PreviousHash,
		RotatedAt:    dbTime(s.RotatedAt),
		IP:           s.IP,
		UserAgent:    s.UserAgent,
		CreatedAt:    dbTime(s.CreatedAt),
		LastUsedAt:   dbTime(s.LastUsedAt),
		ExpiresAt:    dbTime(s.ExpiresAt),
		MaxExpiresAt: dbTime(s.MaxExpiresAt),
		RevokedAt:    dbTime(s.RevokedAt),
	}
}

func (r sessionRow) session() auth.Session {
	return auth.Session{
		ID:           r.ID,
		UserID:       r.UserID,
		RefreshHash:  r.RefreshHash,
		PreviousHash: r.PreviousHash,
		RotatedAt:    time.Time(r.RotatedAt),
		IP:           r.IP,
		UserAgent:    r.UserAgent,
		CreatedAt:    time.Time(r.CreatedAt),
		LastUsedAt:   time.Time(r.LastUsedAt),
		ExpiresAt:    time.Time(r.ExpiresAt),
		MaxExpiresAt: time.Time(r.MaxExpiresAt),
		RevokedAt:    time.Time(r.RevokedAt),
	}
}

// tokenRow is one row of one_time_tokens. UserID is NULL for a token that
// belongs to nobody yet (an SSO state).
type tokenRow struct {
	bun.BaseModel `bun:"table:one_time_tokens,alias:t"`

	Hash      string     `bun:"hash"`
	Purpose   string     `bun:"purpose"`
	UserID    nullString `bun:"user_id"`
	Data      string     `bun:"data"`
	CreatedAt dbTime     `bun:"created_at"`
	ExpiresAt dbTime     `bun:"expires_at"`
	UsedAt    dbTime     `bun:"used_at"`
}

func newTokenRow(t auth.OneTimeToken) tokenRow {
	return tokenRow{
		Hash:      t.Hash,
		Purpose:   string(t.Purpose),
		UserID:    nullString(t.UserID),
		Data:      t.Data,
		CreatedAt: dbTime(t.CreatedAt),
		ExpiresAt: dbTime(t.ExpiresAt),
		UsedAt:    dbTime(t.UsedAt),
	}
}

func (r tokenRow) token() auth.OneTimeToken {
	return auth.OneTimeToken{
		Hash:      r.Hash,
		Purpose:   auth.TokenPurpose(r.Purpose),
		UserID:    string(r.UserID),
		Data:      r.Data,
		CreatedAt: time.Time(r.CreatedAt),
		ExpiresAt: time.Time(r.ExpiresAt),
		UsedAt:    time.Time(r.UsedAt),
	}
}

// identityRow is one row of identities.
type identityRow struct {
	bun.BaseModel `bun:"table:identities,alias:ident"`

	UserID    string `bun:"user_id"`
	Provider  string `bun:"provider"`
	Subject   string `bun:"subject"`
	Email     string `bun:"email"`
	CreatedAt dbTime `bun:"created_at"`
}

func newIdentityRow(i auth.Identity) identityRow {
	return identityRow{
		UserID:    i.UserID,
		Provider:  i.Provider,
		Subject:   i.Subject,
		Email:     i.Email,
		CreatedAt: dbTime(i.CreatedAt),
	}
}

func (r identityRow) identity() auth.Identity {
	return auth.Identity{
		UserID:    r.UserID,
		Provider:  r.Provider,
		Subject:   r.Subject,
		Email:     r.Email,
		CreatedAt: time.Time(r.CreatedAt),
	}
}

// auditRow is one row of audit_events. Seq is assigned by the database on
// insert and read back on select.
type auditRow struct {
	bun.BaseModel `bun:"table:audit_events,alias:a"`

	Seq        int64      `bun:"seq"`
	ID         string     `bun:"id"`
	OccurredAt dbTime     `bun:"occurred_at"`
	Event      string     `bun:"event"`
	ActorID    nullString `bun:"actor_id"`
	OrgID      nullString `bun:"org_id"`
	TargetType string     `bun:"target_type"`
	TargetID   string     `bun:"target_id"`
	IP         string     `bun:"ip"`
	UserAgent  string     `bun:"user_agent"`
	Metadata   string     `bun:"metadata"` // a JSON object of strings
}

func newAuditRow(e auth.AuditEvent) (auditRow, error) {
	metadata := []byte("{}")
	if len(e.Metadata) > 0 {
		var err error
		if metadata, err = json.Marshal(e.Metadata); err != nil {
			return auditRow{}, fmt.Errorf("encode metadata: %w", err)
		}
	}
	return auditRow{
		ID:         e.ID,
		OccurredAt: dbTime(e.OccurredAt),
		Event:      e.Event,
		ActorID:    nullString(e.ActorID),
		OrgID:      nullString(e.OrgID),
		TargetType: e.TargetType,
		TargetID:   e.TargetID,
		IP:         e.IP,
		UserAgent:  e.UserAgent,
		Metadata:   string(metadata),
	}, nil
}

// event returns the row as an AuditEvent; empty metadata is a nil map.
func (r auditRow) event() (auth.AuditEvent, error) {
	var metadata map[string]string
	if err := json.Unmarshal([]byte(r.Metadata), &metadata); err != nil {
		return auth.AuditEvent{}, fmt.Errorf("decode metadata of audit event %s: %w", r.ID, err)
	}
	if len(metadata) == 0 {
		metadata = nil
	}
	return auth.AuditEvent{
		ID:         r.ID,
		OccurredAt: time.Time(r.OccurredAt),
		Event:      r.Event,
		ActorID:    string(r.ActorID),
		OrgID:      string(r.OrgID),
		TargetType: r.TargetType,
		TargetID:   r.TargetID,
		IP:         r.IP,
		UserAgent:  r.UserAgent,
		Metadata:   metadata,
	}, nil
}

type orgRow struct {
	bun.BaseModel `bun:"table:orgs,alias:o"`

	ID        string `bun:"id"`
	Name      string `bun:"name"`
	Slug      string `bun:"slug"`
	OwnerID   string `bun:"owner_id"`
	CreatedAt dbTime `bun:"created_at"`
	UpdatedAt dbTime `bun:"updated_at"`
}

func newOrgRow(o auth.Org) orgRow {
	return orgRow{
		ID:        o.ID,
		Name:      o.Name,
		Slug:      o.Slug,
		OwnerID:   o.OwnerID,
		CreatedAt: dbTime(o.CreatedAt),
		UpdatedAt: dbTime(o.UpdatedAt),
	}
}

func (r orgRow) org() auth.Org {
	return auth.Org{
		ID:        r.ID,
		Name:      r.Name,
		Slug:      r.Slug,
		OwnerID:   r.OwnerID,
		CreatedAt: time.Time(r.CreatedAt),
		UpdatedAt: time.Time(r.UpdatedAt),
	}
}

// membershipRow is an organisation read with one user's membership of it:
// the role and joined_at columns come from org_members.
type membershipRow struct {
	orgRow `bun:",extend"`

	Role     string `bun:"role,scanonly"`
	JoinedAt dbTime `bun:"joined_at,scanonly"`
}

func (r membershipRow) membership() auth.OrgMembership {
	return auth.OrgMembership{Org: r.org(), Role: auth.OrgRole(r.Role)}
}

// memberRow is one row of org_members; Email and Name are read from users
// and never written.
type memberRow struct {
	bun.BaseModel `bun:"table:org_members,alias:m"`

	OrgID    string `bun:"org_id"`
	UserID   string `bun:"user_id"`
	Role     string `bun:"role"`
	JoinedAt dbTime `bun:"joined_at"`
	Email    string `bun:"email,scanonly"`
	Name     string `bun:"name,scanonly"`
}

func newMemberRow(m auth.Member) memberRow {
	return memberRow{
		OrgID:    m.OrgID,
		UserID:   m.UserID,
		Role:     string(m.Role),
		JoinedAt: dbTime(m.JoinedAt),
	}
}

func (r memberRow) member() auth.Member {
	return auth.Member{
		OrgID:    r.OrgID,
		UserID:   r.UserID,
		Role:     auth.OrgRole(r.Role),
		JoinedAt: time.Time(r.JoinedAt),
		Email:    r.Email,
		Name:     r.Name,
	}
}

type inviteRow struct {
	bun.BaseModel `bun:"table:org_invites,alias:i"`

	ID         string     `bun:"id"`
	OrgID      string     `bun:"org_id"`
	Email      string     `bun:"email"`
	Role       string     `bun:"role"`
	TokenHash  string     `bun:"token_hash"`
	InvitedBy  nullString `bun:"invited_by"`
	CreatedAt  dbTime     `bun:"created_at"`
	ExpiresAt  dbTime     `bun:"expires_at"`
	AcceptedAt dbTime     `bun:"accepted_at"`
}

func newInviteRow(i auth.Invite) inviteRow {
	return inviteRow{
		ID:         i.ID,
		OrgID:      i.OrgID,
		Email:      i.Email,
		Role:       string(i.Role),
		TokenHash:  i.TokenHash,
		InvitedBy:  nullString(i.InvitedBy),
		CreatedAt:  dbTime(i.CreatedAt),
		ExpiresAt:  dbTime(i.ExpiresAt),
		AcceptedAt: dbTime(i.AcceptedAt),
	}
}

func (r inviteRow) invite() auth.Invite {
	return auth.Invite{
		ID:         r.ID,
		OrgID:      r.OrgID,
		Email:      r.Email,
		Role:       auth.OrgRole(r.Role),
		TokenHash:  r.TokenHash,
		InvitedBy:  string(r.InvitedBy),
		CreatedAt:  time.Time(r.CreatedAt),
		ExpiresAt:  time.Time(r.ExpiresAt),
		AcceptedAt: time.Time(r.AcceptedAt),
	}
}

// permissionRoleRow marks a role whose grants were configured.
type permissionRoleRow struct {
	bun.BaseModel `bun:"table:permission_roles,alias:pr"`

	Scope string `bun:"scope"`
	Role  string `bun:"role"`
}

type rolePermissionRow struct {
	bun.BaseModel `bun:"table:role_permissions,alias:rp"`

	Scope      string `bun:"scope"`
	Role       string `bun:"role"`
	Permission string `bun:"permission"`
}

func (r rolePermissionRow) rolePermission() auth.RolePermission {
	return auth.RolePermission{Scope: auth.Scope(r.Scope), Role: r.Role, Permission: r.Permission}
}
