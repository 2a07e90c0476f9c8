package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"

	auth "github.com/authd/auth"
)

// maxBodyBytes is the largest request body accepted (413 beyond).
const maxBodyBytes = 64 << 10

// decodeJSON reads r's body into dst, a pointer to a struct of the fields
// the endpoint reads. An empty body counts as {}; unknown fields are
// ignored, and a field's name must match exactly (not in another case).
// It returns errPayloadTooLarge past 64 KiB,
// errUnsupportedMediaType when a body is not declared as JSON, and
// auth.ErrInvalidRequest (with a detail for the client) when the body is
// not one JSON object with fields of the right types.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if r.ContentLength > 0 && !isJSON(r.Header.Get("Content-Type")) {
		return errUnsupportedMediaType
	}
	if r.ContentLength > maxBodyBytes {
		return errPayloadTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
		return errPayloadTooLarge
	}
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	if len(body) == 0 {
		return nil
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		return errUnsupportedMediaType
	}
	if first := bytes.TrimLeft(body, " \t\r\n"); len(first) == 0 || first[0] != '{' {
		return withDetail(auth.ErrInvalidRequest, "The request body must be a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(exactFields(body, dst)))
	if err := dec.Decode(dst); err != nil {
		if te := (*json.UnmarshalTypeError)(nil); errors.As(err, &te) && te.Field != "" {
			return withDetail(auth.ErrInvalidRequest,
				fmt.Sprintf("Field %q must be a JSON %s.", te.Field, jsonKind(te.Type)))
		}
		return withDetail(auth.ErrInvalidRequest, "The request body is not valid JSON.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return withDetail(auth.ErrInvalidRequest, "The request body has data after the JSON object.")
	}
	return nil
}

// exactFields returns body without the members whose names match a field
// of dst only when case is ignored, as encoding/json would match them: the
// contract reads "email", and "EMAIL" is an unknown field, ignored. (Else
// {"role": "MEMBER", "ROLE": "OWNER"} would read as OWNER here and as
// MEMBER to anything in front that reads JSON as the contract says.) A
// body that is not one JSON object is returned as it is, for the decoder
// to refuse.
func exactFields(body []byte, dst any) []byte {
	var members map[string]json.RawMessage
	if json.Unmarshal(body, &members) != nil {
		return body
	}
	t := reflect.TypeOf(dst)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return body
	}
	names := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" {
			name = t.Field(i).Name
		}
		names[name] = true
	}
	dropped := false
	for k := range members {
		if !names[k] {
			delete(members, k)
			dropped = true
		}
	}
	if !dropped {
		return body
	}
	b, err := json.Marshal(members)
	if err != nil {
		return body
	}
	return b
}

// jsonKind names the JSON type that values of t decode from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	default:
		return "number"
	}
}

// isJSON reports whether contentType is application/json, with any
// parameters (such as charset).
func isJSON(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	return err == nil && mediaType == "application/json"
}

// writeJSON answers with status and v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
	return nil
}

// writeList answers 200 with one page of a list, shaped as API.md's
// lists: {"<key>": items, "next_cursor": next}, next_cursor null on the
// last page (next == "").
func writeList[J any](w http.ResponseWriter, key string, items []J, next string) error {
	if items == nil {
		items = []J{} // an empty list is [], never null
	}
	return writeJSON(w, http.StatusOK, map[string]any{key: items, "next_cursor": nullable(next)})
}

// mapJSON returns the response objects of items, made by toJSON. The
// result is never nil, so an empty list encodes as [].
func mapJSON[T, J any](items []T, toJSON func(T) J) []J {
	out := make([]J, len(items))
	for i, item := range items {
		out[i] = toJSON(item)
	}
	return out
}

// nullable returns nil for "" (encoded as JSON null) and &s otherwise.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// timestamp formats t as RFC 3339 in UTC.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// seconds returns d in whole seconds, rounded to the nearest.
func seconds(d time.Duration) int64 { return int64(d.Round(time.Second) / time.Second) }

// userJSON is API.md's User object.
type userJSON struct {
	ID            string `json:"id"`
	Email         string `json:"email"`
	Name          string `json:"name"`
	Role          string `json:"role"`
	EmailVerified bool   `json:"email_verified"`
	HasPassword   bool   `json:"has_password"`
	IsActive      bool   `json:"is_active"`
	CreatedAt     string `json:"created_at"`
}

func newUserJSON(u auth.User) userJSON {
	return userJSON{
		ID:            u.ID,
		Email:         u.Email,
		Name:          u.Name,
		Role:          string(u.Role),
		EmailVerified: u.EmailVerified,
		HasPassword:   u.HasPassword(),
		IsActive:      u.IsActive,
		CreatedAt:     timestamp(u.CreatedAt),
	}
}

// userResponse is {"user": User}.
type userResponse struct {
	User userJSON `json:"user"`
}

// tokensJSON is API.md's Tokens object; User is set by login only. Access
// and Refresh are left out only when cookies carry them (see deliver).
type tokensJSON struct {
	Access           string    `json:"access,omitempty"`
	Refresh          string    `json:"refresh,omitempty"`
	TokenType        string    `json:"token_type"`
	ExpiresIn        int64     `json:"expires_in"`
	RefreshExpiresIn int64     `json:"refresh_expires_in"`
	SessionID        string    `json:"session_id"`
	User             *userJSON `json:"user,omitempty"`
}

func newTokensJSON(t auth.Tokens) tokensJSON {
	return tokensJSON{
		Access:           t.Access,
		Refresh:          t.Refresh,
		TokenType:        "Bearer",
		ExpiresIn:        seconds(t.ExpiresIn),
		RefreshExpiresIn: seconds(t.RefreshExpiresIn),
		SessionID:        t.SessionID,
	}
}

// sessionJSON is API.md's Session object. Current marks the caller's own.
type sessionJSON struct {
	ID         string `json:"id"`
	CreatedAt  string `json:"created_at"`
	LastUsedAt string `json:"last_used_at"`
	ExpiresAt  string `json:"expires_at"`
	IP         string `json:"ip"`
	UserAgent  string `json:"user_agent"`
	Current    bool   `json:"current"`
}

func newSessionJSON(s auth.Session, currentID string) sessionJSON {
	return sessionJSON{
		ID:         s.ID,
		CreatedAt:  timestamp(s.CreatedAt),
		LastUsedAt: timestamp(s.LastUsedAt),
		ExpiresAt:  timestamp(s.ExpiresAt),
		IP:         s.IP,
		UserAgent:  s.UserAgent,
		Current:    s.ID == currentID,
	}
}

// detailResponse is {"detail": "..."}, the body of the 202 answers.
type detailResponse struct {
	Detail string `json:"detail"`
}

// orgJSON is API.md's Org object. Role is the membership role of the user
// the answer is about: the caller on /orgs/…, the user shown on
// /internal/users/{id}/. It is null on /internal/orgs/…, whose caller
// reads organisations as staff, not as a member: the key stays, so an Org
// has the same keys everywhere.
type orgJSON struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Slug      string  `json:"slug"`
	OwnerID   string  `json:"owner_id"`
	CreatedAt string  `json:"created_at"`
	Role      *string `json:"role"`
}

// newOrgJSON returns the Org object of o without a role.
func newOrgJSON(o auth.Org) orgJSON {
	return orgJSON{ID: o.ID, Name: o.Name, Slug: o.Slug, OwnerID: o.OwnerID, CreatedAt: timestamp(o.CreatedAt)}
}

// newMembershipJSON returns the Org object of om.Org with om.Role.
func newMembershipJSON(om auth.OrgMembership) orgJSON {
	out := newOrgJSON(om.Org)
	out.Role = nullable(string(om.Role))
	return out
}

// memberJSON is API.md's Member object.
type memberJSON struct {
	UserID   string `json:"user_id"`
	Email    string `json:"email"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	JoinedAt string `json:"joined_at"`
}

func newMemberJSON(m auth.Member) memberJSON {
	return memberJSON{UserID: m.UserID, Email: m.Email, Name: m.Name, Role: string(m.Role), JoinedAt: timestamp(m.JoinedAt)}
}

// inviteJSON is API.md's Invite object.
type inviteJSON struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	Role      string `json:"role"`
	ExpiresAt string `json:"expires_at"`
	InvitedBy string `json:"invited_by"`
	CreatedAt string `json:"created_at"`
}

func newInviteJSON(i auth.Invite) inviteJSON {
	return inviteJSON{ID: i.ID, Email: i.Email, Role: string(i.Role), ExpiresAt: timestamp(i.ExpiresAt),
		InvitedBy: i.InvitedBy, CreatedAt: timestamp(i.CreatedAt)}
}

// auditEventJSON is API.md's Audit event object: an empty actor, org or
// target is null, and Metadata is an object, {} when empty.
type auditEventJSON struct {
	ID         string            `json:"id"`
	OccurredAt string            `json:"occurred_at"`
	Event      string            `json:"event"`
	ActorID    *string           `json:"actor_id"`
	OrgID      *string           `json:"org_id"`
	TargetType *string           `json:"target_type"`
	TargetID   *string           `json:"target_id"`
	IP         string            `json:"ip"`
	UserAgent  string            `json:"user_agent"`
	Metadata   map[string]string `json:"metadata"`
}

func newAuditEventJSON(e auth.AuditEvent) auditEventJSON {
	meta := e.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	return auditEventJSON{
		ID:         e.ID,
		OccurredAt: timestamp(e.OccurredAt),
		Event:      e.Event,
		ActorID:    nullable(e.ActorID),
		OrgID:      nullable(e.OrgID),
		TargetType: nullable(e.TargetType),
		TargetID:   nullable(e.TargetID),
		IP:         e.IP,
		UserAgent:  e.UserAgent,
		Metadata:   meta,
	}
}

// orgResponse is {"org": Org}.
type orgResponse struct {
	Org orgJSON `json:"org"`
}

// memberResponse is {"member": Member}.
type memberResponse struct {
	Member memberJSON `json:"member"`
}

// inviteResponse is {"invite": Invite}.
type inviteResponse struct {
	Invite inviteJSON `json:"invite"`
}

// acceptResponse answers an accepted invite: the organisation, with the
// caller's new role, and the caller's membership.
type acceptResponse struct {
	Org    orgJSON    `json:"org"`
	Member memberJSON `json:"member"`
}

// statsJSON is the internal dashboard's counts.
type statsJSON struct {
	Users          int `json:"users"`
	ActiveSessions int `json:"active_sessions"`
	Orgs           int `json:"orgs"`
	Logins24h      int `json:"logins_24h"`
}

// userDetailResponse is one user seen by staff: the organisations it
// belongs to, each with its role there, and its linked external
// identities.
type userDetailResponse struct {
	User       userJSON       `json:"user"`
	Orgs       []orgJSON      `json:"orgs"`
	Identities []identityJSON `json:"identities"`
}

// adminOrgResponse is one organisation seen by staff, with its members.
type adminOrgResponse struct {
	Org     orgJSON      `json:"org"`
	Members []memberJSON `json:"members"`
}

// permissionsResponse is every permission name and the mappings in
// force. Every role of both scopes is present, with [] when it has no
// permission.
type permissionsResponse struct {
	Permissions []auth.Permission                     `json:"permissions"`
	UserRoles   map[auth.GlobalRole][]auth.Permission `json:"user_roles"`
	OrgRoles    map[auth.OrgRole][]auth.Permission    `json:"org_roles"`
}

// rolePermissionsResponse is one role's permissions after a change.
type rolePermissionsResponse struct {
	Role        string            `json:"role"`
	Permissions []auth.Permission `json:"permissions"`
}
