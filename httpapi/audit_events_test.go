package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	auth "github.com/authd/auth"
	"github.com/authd/auth/httpapi"
	"github.com/authd/auth/sso/ssotest"
)

// The audit tests drive every event of API.md's audit list (and
// member.invite_revoked) through the HTTP endpoint that emits it, read
// the event back through GET /internal/audit/ and check who acted, on
// what, in which organisation, from which client; then they scan every
// stored event for every secret the flows handled.

// auditAct sends the request that emits a row's event, with opts (the
// row's client: its X-Forwarded-For and User-Agent), and returns the
// event it expects.
type auditAct func(opts ...requestOption) auditWant

// auditRow is one row of the audit table: a flow prepares, as an
// ordinary client, what its action needs and returns the action.
type auditRow struct {
	name  string
	event string
	flow  func(t *testing.T, f *auditFixture) auditAct
}

// auditWant is what the event of an action must hold besides its name,
// ip and user agent. An empty field must be null in the API; meta is a
// subset of the event's metadata.
type auditWant struct {
	actor, org, targetType, targetID string
	meta                             map[string]string
}

// auditNewPassword is the password the flows change to; it passes every rule.
const auditNewPassword = "quartz lantern meadow 5183"

// auditRows drives every audit event through its endpoint. Each row
// makes its own users and organisations, so the rows are independent.
var auditRows = []auditRow{
	{
		name:  "registering records user.registered by and on the new user",
		event: auth.EventUserRegistered,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			addr := f.addr("register")
			return func(opts ...requestOption) auditWant {
				wantStatus(t, f.do(t, "POST", "/api/v1/auth/register/",
					map[string]any{"email": addr, "password": testPassword, "name": "New User"}, opts...), http.StatusAccepted)
				id := f.s.user(t, addr).ID
				return auditWant{actor: id, targetType: auth.TargetUser, targetID: id}
			}
		},
	},
	{
		name:  "a first SSO sign-in records user.registered for the account it creates, with its provider",
		event: auth.EventUserRegistered,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			addr := f.addr("sso-new")
			back := f.ssoAuthorize(t, "google", addr)
			return func(opts ...requestOption) auditWant {
				f.ssoCallback(t, back, opts...)
				id := f.s.user(t, addr).ID
				return auditWant{actor: id, targetType: auth.TargetUser, targetID: id, meta: map[string]string{"provider": "google"}}
			}
		},
	},
	{
		name:  "verifying an email records user.email_verified by and on its user",
		event: auth.EventUserEmailVerified,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			addr := f.addr("verify")
			token := f.register(t, addr)
			return func(opts ...requestOption) auditWant {
				u := decode[userBody](t, f.do(t, "POST", "/api/v1/auth/verify-email/", map[string]any{"token": token}, opts...), http.StatusOK).User
				return auditWant{actor: u.ID, targetType: auth.TargetUser, targetID: u.ID}
			}
		},
	},
	{
		name:  "a login records auth.login on its new session",
		event: auth.EventLogin,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			u := f.signUp(t, "login", auth.RoleEndUser)
			return func(opts ...requestOption) auditWant {
				s := f.login(t, u.email, opts...)
				return auditWant{actor: u.id, targetType: auth.TargetSession, targetID: s.session}
			}
		},
	},
	{
		name:  "a wrong password for a known email records auth.login_failed by and on that user",
		event: auth.EventLoginFailed,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			u := f.signUp(t, "wrong-password", auth.RoleEndUser)
			return func(opts ...requestOption) auditWant {
				wantProblem(t, f.do(t, "POST", "/api/v1/auth/login/",
					map[string]any{"email": u.email, "password": "not the right password 7730"}, opts...),
					http.StatusUnauthorized, "invalid_credentials")
				return auditWant{actor: u.id, targetType: auth.TargetUser, targetID: u.id}
			}
		},
	},
	{
		name:  "a login with an unknown email records auth.login_failed with no actor and the email in metadata",
		event: auth.EventLoginFailed,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			addr := f.addr("ghost")
			return func(opts ...requestOption) auditWant {
				wantProblem(t, f.do(t, "POST", "/api/v1/auth/login/",
					map[string]any{"email": addr, "password": "a guess at some password 4471"}, opts...),
					http.StatusUnauthorized, "invalid_credentials")
				return auditWant{meta: map[string]string{"email": addr}}
			}
		},
	},
	{
		name:  "a logout records auth.logout on the caller's session",
		event: auth.EventLogout,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			u := f.signUp(t, "logout", auth.RoleEndUser)
			return func(opts ...requestOption) auditWant {
				wantStatus(t, f.do(t, "POST", "/api/v1/auth/logout/", nil, append(opts, u.auth())...), http.StatusNoContent)
				return auditWant{actor: u.id, targetType: auth.TargetSession, targetID: u.session}
			}
		},
	},
	{
		name:  "logging out everywhere records auth.logout_all on the user with the number of sessions ended",
		event: auth.EventLogoutAll,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			u := f.signUp(t, "logout-all", auth.RoleEndUser)
			f.login(t, u.email)
			return func(opts ...requestOption) auditWant {
				wantStatus(t, f.do(t, "POST", "/api/v1/auth/logout-all/", nil, append(opts, u.auth())...), http.StatusNoContent)
				return auditWant{actor: u.id, targetType: auth.TargetUser, targetID: u.id, meta: map[string]string{"sessions": "2"}}
			}
		},
	},
	{
		name:  "presenting a rotated refresh token records auth.token_reused on its session",
		event: auth.EventTokenReused,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			u := f.signUp(t, "reuse", auth.RoleEndUser)
			decode[tokensObject](t, f.do(t, "POST", "/api/v1/auth/token/refresh/", map[string]any{"refresh": u.refresh}), http.StatusOK)
			return func(opts ...requestOption) auditWant {
				wantProblem(t, f.do(t, "POST", "/api/v1/auth/token/refresh/", map[string]any{"refresh": u.refresh}, opts...),
					http.StatusUnauthorized, "token_reused")
				return auditWant{actor: u.id, targetType: auth.TargetSession, targetID: u.session}
			}
		},
	},
	{
		name:  "revoking one of one's own sessions records session.revoked on it",
		event: auth.EventSessionRevoked,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			u := f.signUp(t, "revoke-own", auth.RoleEndUser)
			other := f.login(t, u.email)
			return func(opts ...requestOption) auditWant {
				wantStatus(t, f.do(t, "DELETE", "/api/v1/auth/sessions/"+other.session+"/", nil, append(opts, u.auth())...),
					http.StatusNoContent)
				return auditWant{actor: u.id, targetType: auth.TargetSession, targetID: other.session}
			}
		},
	},
	{
		name:  "an administrator revoking a user's session records session.revoked by the administrator, naming the user",
		event: auth.EventSessionRevoked,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			admin := f.signUp(t, "sysadmin", auth.RoleSystemAdmin)
			u := f.signUp(t, "revoked", auth.RoleEndUser)
			return func(opts ...requestOption) auditWant {
				wantStatus(t, f.do(t, "DELETE", "/api/v1/internal/sessions/"+u.session+"/", nil, append(opts, admin.auth())...),
					http.StatusNoContent)
				return auditWant{actor: admin.id, targetType: auth.TargetSession, targetID: u.session,
					meta: map[string]string{"user_id": u.id}}
			}
		},
	},
	{
		name:  "changing one's password records password.changed",
		event: auth.EventPasswordChanged,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			u := f.signUp(t, "change", auth.RoleEndUser)
			return func(opts ...requestOption) auditWant {
				wantStatus(t, f.do(t, "POST", "/api/v1/auth/password/change/",
					map[string]any{"current_password": testPassword, "new_password": auditNewPassword}, append(opts, u.auth())...),
					http.StatusNoContent)
				return auditWant{actor: u.id, targetType: auth.TargetUser, targetID: u.id}
			}
		},
	},
	{
		name:  "an SSO-only account setting a password records password.set",
		event: auth.EventPasswordSet,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			u := f.ssoUser(t, "google")
			return func(opts ...requestOption) auditWant {
				wantStatus(t, f.do(t, "POST", "/api/v1/auth/password/set/",
					map[string]any{"new_password": auditNewPassword}, append(opts, u.auth())...), http.StatusNoContent)
				return auditWant{actor: u.id, targetType: auth.TargetUser, targetID: u.id}
			}
		},
	},
	{
		name:  "asking for a reset link records password.reset_requested by and on the account",
		event: auth.EventPasswordResetRequest,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			u := f.signUp(t, "forgot", auth.RoleEndUser)
			return func(opts ...requestOption) auditWant {
				wantStatus(t, f.do(t, "POST", "/api/v1/auth/password/forgot/", map[string]any{"email": u.email}, opts...),
					http.StatusAccepted)
				return auditWant{actor: u.id, targetType: auth.TargetUser, targetID: u.id}
			}
		},
	},
	{
		name:  "resetting a password with the mailed token records password.reset by and on the account",
		event: auth.EventPasswordReset,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			u := f.signUp(t, "reset", auth.RoleEndUser)
			wantStatus(t, f.do(t, "POST", "/api/v1/auth/password/forgot/", map[string]any{"email": u.email}), http.StatusAccepted)
			token := f.mailToken(t, u.email, "/reset-password")
			return func(opts ...requestOption) auditWant {
				wantStatus(t, f.do(t, "POST", "/api/v1/auth/password/reset/",
					map[string]any{"token": token, "new_password": auditNewPassword}, opts...), http.StatusNoContent)
				return auditWant{actor: u.id, targetType: auth.TargetUser, targetID: u.id}
			}
		},
	},
	{
		name:  "renaming oneself records user.updated naming the field",
		event: auth.EventUserUpdated,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			u := f.signUp(t, "rename-me", auth.RoleEndUser)
			return func(opts ...requestOption) auditWant {
				decode[userBody](t, f.do(t, "PATCH", "/api/v1/auth/me/", map[string]any{"name": "Renamed Self"},
					append(opts, u.auth())...), http.StatusOK)
				return auditWant{actor: u.id, targetType: auth.TargetUser, targetID: u.id, meta: map[string]string{"fields": "name"}}
			}
		},
	},
	{
		name:  "an administrator renaming a user records user.updated by the administrator on the user",
		event: auth.EventUserUpdated,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			admin := f.signUp(t, "sysadmin", auth.RoleSystemAdmin)
			u := f.signUp(t, "renamed", auth.RoleEndUser)
			return func(opts ...requestOption) auditWant {
				f.adminPatch(t, admin, u.id, map[string]any{"name": "Renamed By Admin"}, opts...)
				return auditWant{actor: admin.id, targetType: auth.TargetUser, targetID: u.id, meta: map[string]string{"fields": "name"}}
			}
		},
	},
	{
		name:  "an administrator enabling a disabled user records user.updated naming is_active",
		event: auth.EventUserUpdated,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			admin := f.signUp(t, "sysadmin", auth.RoleSystemAdmin)
			u := f.signUp(t, "reenabled", auth.RoleEndUser)
			f.adminPatch(t, admin, u.id, map[string]any{"is_active": false})
			return func(opts ...requestOption) auditWant {
				f.adminPatch(t, admin, u.id, map[string]any{"is_active": true}, opts...)
				return auditWant{actor: admin.id, targetType: auth.TargetUser, targetID: u.id, meta: map[string]string{"fields": "is_active"}}
			}
		},
	},
	{
		name:  "exchanging an SSO code records sso.login on the new session, with its provider",
		event: auth.EventSSOLogin,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			q := f.ssoCallback(t, f.ssoAuthorize(t, "github", f.addr("sso-login")))
			return func(opts ...requestOption) auditWant {
				s := f.ssoExchange(t, q, opts...)
				return auditWant{actor: s.id, targetType: auth.TargetSession, targetID: s.session,
					meta: map[string]string{"provider": "github"}}
			}
		},
	},
	{
		name:  "a provider vouching for the email of an account records sso.linked by that user on the identity",
		event: auth.EventSSOLinked,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			u := f.signUp(t, "link", auth.RoleEndUser)
			back := f.ssoAuthorize(t, "github", u.email)
			return func(opts ...requestOption) auditWant {
				f.ssoCallback(t, back, opts...)
				return auditWant{actor: u.id, targetType: auth.TargetIdentity, targetID: "github",
					meta: map[string]string{"provider": "github", "email": u.email}}
			}
		},
	},
	{
		name:  "a first SSO sign-in records sso.linked for the identity of the account it creates",
		event: auth.EventSSOLinked,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			addr := f.addr("sso-new-link")
			back := f.ssoAuthorize(t, "google", addr)
			return func(opts ...requestOption) auditWant {
				f.ssoCallback(t, back, opts...)
				id := f.s.user(t, addr).ID
				return auditWant{actor: id, targetType: auth.TargetIdentity, targetID: "google",
					meta: map[string]string{"provider": "google", "email": addr}}
			}
		},
	},
	{
		name:  "unlinking a provider records sso.unlinked on the identity",
		event: auth.EventSSOUnlinked,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			u := f.signUp(t, "unlink", auth.RoleEndUser)
			f.ssoExchange(t, f.ssoCallback(t, f.ssoAuthorize(t, "google", u.email)))
			return func(opts ...requestOption) auditWant {
				wantStatus(t, f.do(t, "DELETE", "/api/v1/auth/identities/google/", nil, append(opts, u.auth())...), http.StatusNoContent)
				return auditWant{actor: u.id, targetType: auth.TargetIdentity, targetID: "google",
					meta: map[string]string{"provider": "google"}}
			}
		},
	},
	{
		name:  "creating an organisation records org.created on it",
		event: auth.EventOrgCreated,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			owner := f.signUp(t, "creator", auth.RoleEndUser)
			slug := f.slug()
			return func(opts ...requestOption) auditWant {
				o := decode[orgBody](t, f.do(t, "POST", "/api/v1/orgs/create/", map[string]any{"name": "Created Org", "slug": slug},
					append(opts, owner.auth())...), http.StatusCreated).Org
				return auditWant{actor: owner.id, org: o.ID, targetType: auth.TargetOrg, targetID: o.ID,
					meta: map[string]string{"slug": slug}}
			}
		},
	},
	{
		name:  "renaming an organisation records org.updated on it",
		event: auth.EventOrgUpdated,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			o, owner := f.org(t)
			return func(opts ...requestOption) auditWant {
				decode[orgBody](t, f.do(t, "PATCH", "/api/v1/orgs/"+o.Slug+"/", map[string]any{"name": "Renamed Org"},
					append(opts, owner.auth())...), http.StatusOK)
				return auditWant{actor: owner.id, org: o.ID, targetType: auth.TargetOrg, targetID: o.ID,
					meta: map[string]string{"fields": "name"}}
			}
		},
	},
	{
		name:  "deleting an organisation records org.deleted on it",
		event: auth.EventOrgDeleted,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			o, owner := f.org(t)
			return func(opts ...requestOption) auditWant {
				wantStatus(t, f.do(t, "DELETE", "/api/v1/orgs/"+o.Slug+"/", nil, append(opts, owner.auth())...), http.StatusNoContent)
				return auditWant{actor: owner.id, org: o.ID, targetType: auth.TargetOrg, targetID: o.ID,
					meta: map[string]string{"slug": o.Slug}}
			}
		},
	},
	{
		name:  "inviting someone records member.invited on the invite, with its email and role",
		event: auth.EventMemberInvited,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			o, owner := f.org(t)
			addr := f.addr("invitee")
			return func(opts ...requestOption) auditWant {
				inv := decode[inviteBody](t, f.do(t, "POST", "/api/v1/orgs/"+o.Slug+"/invites/",
					map[string]any{"email": addr, "role": "MEMBER"}, append(opts, owner.auth())...), http.StatusCreated).Invite
				return auditWant{actor: owner.id, org: o.ID, targetType: auth.TargetInvite, targetID: inv.ID,
					meta: map[string]string{"email": addr, "role": "MEMBER"}}
			}
		},
	},
	{
		name:  "revoking an invite records member.invite_revoked on the invite",
		event: auth.EventInviteRevoked,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			o, owner := f.org(t)
			inv, _ := f.invite(t, owner, o.Slug, f.addr("uninvited"), "MEMBER")
			return func(opts ...requestOption) auditWant {
				wantStatus(t, f.do(t, "DELETE", "/api/v1/orgs/"+o.Slug+"/invites/"+inv.ID+"/", nil, append(opts, owner.auth())...),
					http.StatusNoContent)
				return auditWant{actor: owner.id, org: o.ID, targetType: auth.TargetInvite, targetID: inv.ID}
			}
		},
	},
	{
		name:  "accepting an invite records member.joined by the new member on its membership",
		event: auth.EventMemberJoined,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			o, owner := f.org(t)
			u := f.signUp(t, "joiner", auth.RoleEndUser)
			inv, token := f.invite(t, owner, o.Slug, u.email, "ADMIN")
			return func(opts ...requestOption) auditWant {
				decode[acceptBody](t, f.do(t, "POST", "/api/v1/orgs/invites/accept/", map[string]any{"token": token},
					append(opts, u.auth())...), http.StatusOK)
				return auditWant{actor: u.id, org: o.ID, targetType: auth.TargetMember, targetID: u.id,
					meta: map[string]string{"role": "ADMIN", "invite_id": inv.ID}}
			}
		},
	},
	{
		name:  "removing a member records member.removed on the member",
		event: auth.EventMemberRemoved,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			o, owner := f.org(t)
			m := f.member(t, owner, o, "MEMBER")
			return func(opts ...requestOption) auditWant {
				wantStatus(t, f.do(t, "DELETE", "/api/v1/orgs/"+o.Slug+"/members/"+m.id+"/", nil, append(opts, owner.auth())...),
					http.StatusNoContent)
				return auditWant{actor: owner.id, org: o.ID, targetType: auth.TargetMember, targetID: m.id,
					meta: map[string]string{"role": "MEMBER"}}
			}
		},
	},
	{
		name:  "leaving an organisation records member.left by and on the member",
		event: auth.EventMemberLeft,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			o, owner := f.org(t)
			m := f.member(t, owner, o, "MEMBER")
			return func(opts ...requestOption) auditWant {
				wantStatus(t, f.do(t, "POST", "/api/v1/orgs/"+o.Slug+"/leave/", nil, append(opts, m.auth())...), http.StatusNoContent)
				return auditWant{actor: m.id, org: o.ID, targetType: auth.TargetMember, targetID: m.id}
			}
		},
	},
	{
		name:  "changing a member's role records member.role_changed on the member, from and to",
		event: auth.EventMemberRoleChanged,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			o, owner := f.org(t)
			m := f.member(t, owner, o, "MEMBER")
			return func(opts ...requestOption) auditWant {
				decode[memberBody](t, f.do(t, "PATCH", "/api/v1/orgs/"+o.Slug+"/members/"+m.id+"/", map[string]any{"role": "ADMIN"},
					append(opts, owner.auth())...), http.StatusOK)
				return auditWant{actor: owner.id, org: o.ID, targetType: auth.TargetMember, targetID: m.id,
					meta: map[string]string{"from": "MEMBER", "to": "ADMIN"}}
			}
		},
	},
	{
		name:  "transferring ownership records org.ownership_transferred on the new owner",
		event: auth.EventOwnershipTransferred,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			o, owner := f.org(t)
			m := f.member(t, owner, o, "ADMIN")
			return func(opts ...requestOption) auditWant {
				decode[orgBody](t, f.do(t, "POST", "/api/v1/orgs/"+o.Slug+"/transfer-ownership/", map[string]any{"user_id": m.id},
					append(opts, owner.auth())...), http.StatusOK)
				return auditWant{actor: owner.id, org: o.ID, targetType: auth.TargetMember, targetID: m.id,
					meta: map[string]string{"from": owner.id, "to": m.id}}
			}
		},
	},
	{
		name:  "an administrator changing a global role records user.role_changed on the user, from and to",
		event: auth.EventUserRoleChanged,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			admin := f.signUp(t, "sysadmin", auth.RoleSystemAdmin)
			u := f.signUp(t, "promoted", auth.RoleEndUser)
			return func(opts ...requestOption) auditWant {
				f.adminPatch(t, admin, u.id, map[string]any{"role": "STAFF"}, opts...)
				return auditWant{actor: admin.id, targetType: auth.TargetUser, targetID: u.id,
					meta: map[string]string{"from": "END_USER", "to": "STAFF"}}
			}
		},
	},
	{
		name:  "an administrator disabling a user records user.disabled on the user",
		event: auth.EventUserDisabled,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			admin := f.signUp(t, "sysadmin", auth.RoleSystemAdmin)
			u := f.signUp(t, "disabled", auth.RoleEndUser)
			return func(opts ...requestOption) auditWant {
				f.adminPatch(t, admin, u.id, map[string]any{"is_active": false}, opts...)
				return auditWant{actor: admin.id, targetType: auth.TargetUser, targetID: u.id}
			}
		},
	},
	{
		name:  "replacing a role's permissions records permissions.changed on the role, with its scope",
		event: auth.EventPermissionsChanged,
		flow: func(t *testing.T, f *auditFixture) auditAct {
			admin := f.signUp(t, "sysadmin", auth.RoleSystemAdmin)
			current := decode[struct {
				OrgRoles map[string][]string `json:"org_roles"`
			}](t, f.do(t, "GET", "/api/v1/internal/permissions/", nil, admin.auth()), http.StatusOK)
			perms := current.OrgRoles["MEMBER"] // unchanged, so that the other rows see the defaults
			return func(opts ...requestOption) auditWant {
				wantStatus(t, f.do(t, "PUT", "/api/v1/internal/permissions/org/MEMBER/", map[string]any{"permissions": perms},
					append(opts, admin.auth())...), http.StatusOK)
				return auditWant{actor: admin.id, targetType: auth.TargetRole, targetID: "MEMBER",
					meta: map[string]string{"scope": "org"}}
			}
		},
	},
}

func TestAuditEvents(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) { runAuditRows(t, db) })
	}
}

func TestAuditEventsHoldNoSecret(t *testing.T) {
	t.Run("the scan finds each form of a planted secret", func(t *testing.T) {
		secret := auditSecret{kind: "planted token", value: "pL4nted-t0ken-value_0123456789abcdef"}
		sum := sha256.Sum256([]byte(secret.value))
		for _, text := range []string{
			"x" + secret.value + "x",
			strings.ToUpper(hex.EncodeToString(sum[:])),
			base64.StdEncoding.EncodeToString(sum[:]),
			base64.RawURLEncoding.EncodeToString(sum[:]),
		} {
			if got := findLeaks([]auditField{{"planted", text}}, []auditSecret{secret}); len(got) != 1 {
				t.Errorf("scan of %q found %v, want one leak", text, got)
			}
		}
		if got := findLeaks([]auditField{{"clean", "nothing to see"}}, []auditSecret{secret}); len(got) != 0 {
			t.Errorf("scan of a clean text found %v", got)
		}
	})
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			f := runAuditRows(t, db)
			secrets := f.allSecrets(t)
			kinds := map[string]bool{}
			for _, s := range secrets {
				kinds[s.kind] = true
			}
			for _, kind := range []string{"password", "access token", "refresh token", "refresh token jti",
				"mailed token", "SSO exchange code", "SSO code with its state", "SSO provider code", "SSO state",
				"SSO provider secret"} {
				if !kinds[kind] {
					t.Errorf("the flows handled no %s: the scan would miss it", kind)
				}
			}
			fields := f.storedEventFields(t)
			if len(fields) == 0 {
				t.Fatal("no stored event to scan")
			}
			for _, leak := range findLeaks(fields, secrets) {
				t.Error(leak)
			}
			t.Logf("scanned %d stored values for %d secrets and their hashes", len(fields), len(secrets))
		})
	}
}

func TestAuditTableCoversEveryEvent(t *testing.T) {
	covered := map[string]bool{}
	for _, row := range auditRows {
		covered[row.event] = true
	}
	constants := eventConstants(t)
	if constants[auth.EventLogin] == "" || constants[auth.EventInviteRevoked] == "" {
		t.Fatalf("reading the event constants found %v, not auth.EventLogin and auth.EventInviteRevoked", constants)
	}
	for value, name := range constants {
		if !covered[value] {
			t.Errorf("auth.%s (%q) has no row in auditRows", name, value)
		}
	}
	var doc struct {
		Components struct {
			Schemas struct {
				AuditEvent struct {
					Properties struct {
						Event struct {
							Enum []string `json:"enum"`
						} `json:"event"`
					} `json:"properties"`
				} `json:"AuditEvent"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(httpapi.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	enum := doc.Components.Schemas.AuditEvent.Properties.Event.Enum
	if len(enum) == 0 {
		t.Fatal("the OpenAPI document's AuditEvent lists no event")
	}
	for _, e := range enum {
		if !covered[e] {
			t.Errorf("the OpenAPI document's event %q has no row in auditRows", e)
		}
		if constants[e] == "" {
			t.Errorf("the OpenAPI document's event %q has no constant in package auth", e)
		}
	}
	for value, name := range constants {
		if !slices.Contains(enum, value) {
			t.Errorf("auth.%s (%q) is missing from the OpenAPI document's AuditEvent", name, value)
		}
	}
	for _, row := range auditRows {
		if constants[row.event] == "" {
			t.Errorf("row %q expects %q, which is no event constant", row.name, row.event)
		}
	}
}

// eventConstants returns the string constants named Event… declared in
// package auth (the repository root), value → name.
func eventConstants(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Event") || !name.IsExported() || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Errorf("%s: constant %s is not a string literal", file, name.Name)
						continue
					}
					value, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					out[value] = name.Name
				}
			}
		}
	}
	return out
}

// runAuditRows runs every row of auditRows on a new stack on db, each as
// a subtest, and returns the fixture with the secrets the flows handled.
// The stack trusts X-Forwarded-For from the test client, so each row's
// action comes from an address of its own (IPv4 and IPv6 in turn) with a
// User-Agent of its own, while setup requests come from 127.0.0.1 with
// Go's default User-Agent.
func runAuditRows(t *testing.T, db database) *auditFixture {
	t.Helper()
	s := newStackOn(t, db, withTrustedProxies(t, "127.0.0.1, ::1"))
	f := &auditFixture{s: s, seen: map[string]bool{}}
	f.auditor = f.signUp(t, "auditor", auth.RoleDataAdmin)
	for i, row := range auditRows {
		ip := fmt.Sprintf("198.51.100.%d", i+1)
		if i%2 == 1 {
			ip = fmt.Sprintf("2001:db8::%x", i+1)
		}
		ua := fmt.Sprintf("audit-events-test/%d (%s)", i+1, row.event)
		t.Run(row.name, func(t *testing.T) { f.check(t, row, ip, ua) })
	}
	return f
}

// auditFixture runs the flows of the audit table through the stack's
// do, remembering every secret that went out or came back.
type auditFixture struct {
	s       *stack
	auditor auditUser // a DATA_ADMIN who reads the log
	n       int       // makes emails and slugs unique
	secrets []auditSecret
	seen    map[string]bool
}

// auditUser is a signed-in user of the audit table.
type auditUser struct {
	actor
	refresh, session string
}

// check runs row: its flow, then its action from the client (ip, ua),
// and checks that the action recorded exactly one event row.event,
// holding what the action expects.
func (f *auditFixture) check(t *testing.T, row auditRow, ip, ua string) {
	act := row.flow(t, f)
	before := map[string]bool{}
	for _, e := range f.events(t, row.event) {
		before[e.ID] = true
	}
	want := act(header("X-Forwarded-For", ip), header("User-Agent", ua))
	var got []auditEventObject
	for _, e := range f.events(t, row.event) {
		if !before[e.ID] {
			got = append(got, e)
		}
	}
	if len(got) != 1 {
		t.Fatalf("the action recorded %d %s events, want 1: %+v", len(got), row.event, got)
	}
	e := got[0]
	str := func(p *string) string {
		if p == nil {
			return "<null>"
		}
		return *p
	}
	null := func(v string) string {
		if v == "" {
			return "<null>"
		}
		return v
	}
	for _, c := range []struct{ field, got, want string }{
		{"event", e.Event, row.event},
		{"actor_id", str(e.ActorID), null(want.actor)},
		{"org_id", str(e.OrgID), null(want.org)},
		{"target_type", str(e.TargetType), null(want.targetType)},
		{"target_id", str(e.TargetID), null(want.targetID)},
		{"ip", e.IP, ip},
		{"user_agent", e.UserAgent, ua},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	for k, v := range want.meta {
		if e.Metadata[k] != v {
			t.Errorf("metadata[%q] = %q, want %q (metadata %v)", k, e.Metadata[k], v, e.Metadata)
		}
	}
	at, err := time.Parse(time.RFC3339Nano, e.OccurredAt)
	if now := f.s.clock.Now(); err != nil || !at.Equal(now) {
		t.Errorf("occurred_at = %q, want the flow's time %s", e.OccurredAt, now.UTC().Format(time.RFC3339Nano))
	}
}

// events returns every event named event, newest first, as the auditor
// reads them through GET /internal/audit/.
func (f *auditFixture) events(t *testing.T, event string) []auditEventObject {
	t.Helper()
	var out []auditEventObject
	cursor := ""
	for {
		path := "/api/v1/internal/audit/?limit=200&event=" + url.QueryEscape(event)
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		page := decodeList[auditEventObject](t, f.s.do(t, "GET", path, nil, f.auditor.auth()), "events")
		for i := range page.items {
			wantKeys(t, page.raw[i], auditEventKeys...)
		}
		out = append(out, page.items...)
		if page.next == nil {
			return out
		}
		cursor = *page.next
	}
}

// addr returns a new email address, label in its local part.
func (f *auditFixture) addr(label string) string {
	f.n++
	return fmt.Sprintf("audit%d-%s@example.com", f.n, label)
}

// slug returns a new organisation slug.
func (f *auditFixture) slug() string {
	f.n++
	return fmt.Sprintf("audit-org-%d", f.n)
}

// do is the stack's do, remembering the secrets of the request (body
// fields and query) and of the response (body fields and Location).
func (f *auditFixture) do(t *testing.T, method, path string, body any, opts ...requestOption) response {
	t.Helper()
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]any
		json.Unmarshal(raw, &fields)
		f.harvest(fields, map[string]string{"password": "password", "current_password": "password",
			"new_password": "password", "token": "mailed token", "refresh": "refresh token",
			"code": "SSO exchange code", "state": "SSO state"})
		code, _ := fields["code"].(string)
		state, _ := fields["state"].(string)
		if code != "" && state != "" {
			f.remember("SSO code with its state", code+"|"+state) // the form sso stores, hashed
		}
	}
	if u, err := url.Parse(path); err == nil {
		f.harvestQuery(u.Query(), "SSO provider code")
	}
	res := f.s.do(t, method, path, body, opts...)
	var fields map[string]any
	if json.Unmarshal(res.body, &fields) == nil {
		f.harvest(fields, map[string]string{"access": "access token", "refresh": "refresh token", "state": "SSO state"})
	}
	if loc, err := url.Parse(res.header.Get("Location")); err == nil {
		f.harvestQuery(loc.Query(), "SSO exchange code")
	}
	return res
}

// harvest remembers the string values of fields under the keys of kinds,
// as the kind each key names; a JWT's jti is remembered as well.
func (f *auditFixture) harvest(fields map[string]any, kinds map[string]string) {
	for key, kind := range kinds {
		v, _ := fields[key].(string)
		f.remember(kind, v)
		if parts := strings.Split(v, "."); len(parts) == 3 {
			if payload, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
				var claims struct {
					JTI string `json:"jti"`
				}
				if json.Unmarshal(payload, &claims) == nil {
					f.remember(kind+" jti", claims.JTI)
				}
			}
		}
	}
}

// harvestQuery remembers a URL query's code (as codeKind) and state.
func (f *auditFixture) harvestQuery(q url.Values, codeKind string) {
	f.remember(codeKind, q.Get("code"))
	f.remember("SSO state", q.Get("state"))
}

// remember adds a secret; values under 8 characters are not secrets of
// these flows and would only match by chance.
func (f *auditFixture) remember(kind, value string) {
	if len(value) < 8 || f.seen[value] {
		return
	}
	f.seen[value] = true
	f.secrets = append(f.secrets, auditSecret{kind: kind, value: value})
}

// mailToken returns the token of the one new mail to addr with a link to
// FRONTEND_URL+path.
func (f *auditFixture) mailToken(t *testing.T, addr, path string) string {
	t.Helper()
	token := linkToken(t, f.s.takeMail(t, addr), path)
	f.remember("mailed token", token)
	return token
}

// register signs addr up and returns the token of its verification mail.
func (f *auditFixture) register(t *testing.T, addr string) string {
	t.Helper()
	wantStatus(t, f.do(t, "POST", "/api/v1/auth/register/",
		map[string]any{"email": addr, "password": testPassword, "name": "Audit User"}), http.StatusAccepted)
	return f.mailToken(t, addr, "/verify-email")
}

// signUp registers and verifies a new user with the global role role
// (set in the store: test setup only) and signs it in.
func (f *auditFixture) signUp(t *testing.T, label string, role auth.GlobalRole) auditUser {
	t.Helper()
	addr := f.addr(label)
	token := f.register(t, addr)
	decode[userBody](t, f.do(t, "POST", "/api/v1/auth/verify-email/", map[string]any{"token": token}), http.StatusOK)
	if role != auth.RoleEndUser {
		f.s.updateUser(t, addr, func(u *auth.User) { u.Role = role })
	}
	return f.login(t, addr)
}

// login signs addr in with testPassword.
func (f *auditFixture) login(t *testing.T, addr string, opts ...requestOption) auditUser {
	t.Helper()
	tok := decode[tokensObject](t, f.do(t, "POST", "/api/v1/auth/login/",
		map[string]any{"email": addr, "password": testPassword}, opts...), http.StatusOK)
	return auditUser{actor: actor{id: tok.User.ID, email: addr, access: tok.Access}, refresh: tok.Refresh, session: tok.SessionID}
}

// org makes a new organisation owned by a new user.
func (f *auditFixture) org(t *testing.T) (orgObject, auditUser) {
	t.Helper()
	owner := f.signUp(t, "owner", auth.RoleEndUser)
	o := decode[orgBody](t, f.do(t, "POST", "/api/v1/orgs/create/", map[string]any{"name": "Audit Org", "slug": f.slug()},
		owner.auth()), http.StatusCreated).Org
	return o, owner
}

// invite has inviter invite addr with role and returns the invite and the
// token of its mail.
func (f *auditFixture) invite(t *testing.T, inviter auditUser, slug, addr, role string) (inviteObject, string) {
	t.Helper()
	inv := decode[inviteBody](t, f.do(t, "POST", "/api/v1/orgs/"+slug+"/invites/",
		map[string]any{"email": addr, "role": role}, inviter.auth()), http.StatusCreated).Invite
	return inv, f.mailToken(t, addr, "/invites/accept")
}

// member makes a new user a member of o with role, invited by owner.
func (f *auditFixture) member(t *testing.T, owner auditUser, o orgObject, role string) auditUser {
	t.Helper()
	u := f.signUp(t, "member", auth.RoleEndUser)
	_, token := f.invite(t, owner, o.Slug, u.email, role)
	decode[acceptBody](t, f.do(t, "POST", "/api/v1/orgs/invites/accept/", map[string]any{"token": token}, u.auth()), http.StatusOK)
	return u
}

// adminPatch has admin change the user id through PATCH /internal/users/{id}/.
func (f *auditFixture) adminPatch(t *testing.T, admin auditUser, id string, body map[string]any, opts ...requestOption) {
	t.Helper()
	decode[userBody](t, f.do(t, "PATCH", "/api/v1/internal/users/"+id+"/", body, append(opts, admin.auth())...), http.StatusOK)
}

// ssoAuthorize has the fake provider sign in a new identity with the
// verified email addr: it starts a sign-in with provider, plays the
// browser at the provider and returns the redirect to the callback.
func (f *auditFixture) ssoAuthorize(t *testing.T, provider, addr string) *url.URL {
	t.Helper()
	f.n++
	f.s.fake.SetIdentity(ssotest.Identity{Subject: strconv.Itoa(7000 + f.n), Email: addr, EmailVerified: true,
		Name: "SSO User", Login: fmt.Sprintf("sso%d", f.n)})
	started := decode[struct {
		AuthorizationURL string `json:"authorization_url"`
		State            string `json:"state"`
	}](t, f.do(t, "POST", "/api/v1/auth/sso/"+provider+"/", map[string]any{}), http.StatusOK)
	return f.s.fake.Authorize(t, started.AuthorizationURL)
}

// ssoCallback sends the provider's redirect back to the callback and
// returns the query of the successful completion it redirects to.
func (f *auditFixture) ssoCallback(t *testing.T, back *url.URL, opts ...requestOption) url.Values {
	t.Helper()
	res := f.do(t, "GET", "/api/v1/auth/sso/callback/?"+back.RawQuery, nil, opts...)
	wantStatus(t, res, http.StatusFound)
	loc, err := url.Parse(res.header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("callback redirected to %q, want a code", res.header.Get("Location"))
	}
	return loc.Query()
}

// ssoExchange trades the code of a completion query for a session.
func (f *auditFixture) ssoExchange(t *testing.T, q url.Values, opts ...requestOption) auditUser {
	t.Helper()
	tok := decode[tokensObject](t, f.do(t, "POST", "/api/v1/auth/sso/exchange/",
		map[string]any{"code": q.Get("code"), "state": q.Get("state")}, opts...), http.StatusOK)
	return auditUser{actor: actor{id: tok.User.ID, email: tok.User.Email, access: tok.Access}, refresh: tok.Refresh, session: tok.SessionID}
}

// ssoUser signs a new user up through provider and returns it signed in.
func (f *auditFixture) ssoUser(t *testing.T, provider string) auditUser {
	t.Helper()
	return f.ssoExchange(t, f.ssoCallback(t, f.ssoAuthorize(t, provider, f.addr("sso-user"))))
}

// mailLinkToken finds the token of a link in a mail body.
var mailLinkToken = regexp.MustCompile(`[?&]token=([^\s"<>&]+)`)

// allSecrets returns the secrets the flows handled, with every token of
// every mail written (read or not), the fake provider's access tokens and
// PKCE verifiers and the keys of the stack.
func (f *auditFixture) allSecrets(t *testing.T) []auditSecret {
	t.Helper()
	entries, err := os.ReadDir(f.s.mailDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".eml") {
			continue
		}
		m := readEML(t, filepath.Join(f.s.mailDir, e.Name()))
		for _, match := range mailLinkToken.FindAllStringSubmatch(m.Text, -1) {
			if token, err := url.QueryUnescape(match[1]); err == nil {
				f.remember("mailed token", token)
			}
		}
	}
	for _, s := range f.s.fake.Secrets() {
		f.remember("SSO provider secret", s)
	}
	f.remember("SSO provider secret", ssotest.ClientSecret)
	f.remember("JWT key", string(testJWTSecret))
	return f.secrets
}

// auditField is one stored value of an audit event, with where it is.
type auditField struct {
	where, text string
}

// storedEventFields returns every column of every row of audit_events, as
// the database holds it, and every field of every event as the store
// decodes it (metadata keys and values included).
func (f *auditFixture) storedEventFields(t *testing.T) []auditField {
	t.Helper()
	ctx := context.Background()
	rows, err := f.s.store.DB().QueryContext(ctx, "SELECT * FROM audit_events")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []auditField
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		texts := make([]string, len(cols))
		id := ""
		for i, v := range vals {
			switch v := v.(type) {
			case nil:
			case []byte:
				texts[i] = string(v)
			case string:
				texts[i] = v
			default:
				texts[i] = fmt.Sprint(v)
			}
			if cols[i] == "id" {
				id = texts[i]
			}
		}
		for i, text := range texts {
			out = append(out, auditField{where: fmt.Sprintf("audit_events row %s, column %s", id, cols[i]), text: text})
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	cursor := ""
	for {
		events, next, err := f.s.store.AuditEvents(ctx, auth.AuditFilter{}, auth.Page{Limit: 200, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			where := "event " + e.ID + " (" + e.Event + "), "
			for name, text := range map[string]string{"actor_id": e.ActorID, "org_id": e.OrgID, "target_type": e.TargetType,
				"target_id": e.TargetID, "ip": e.IP, "user_agent": e.UserAgent} {
				out = append(out, auditField{where + name, text})
			}
			for k, v := range e.Metadata {
				out = append(out, auditField{where + "metadata key", k}, auditField{where + "metadata[" + k + "]", v})
			}
		}
		if next == "" {
			return out
		}
		cursor = next
	}
}

// auditSecret is a secret a flow handled, and what it is.
type auditSecret struct {
	kind, value string
}

// findLeaks returns a line for each field that holds a secret, its
// SHA-256 in hex (either case) or its SHA-256 in base64 (standard or URL
// alphabet, padded or not). The lines name the kind of secret and the
// form, never the secret.
func findLeaks(fields []auditField, secrets []auditSecret) []string {
	type form struct {
		name, text string
		fold       bool
	}
	var out []string
	for _, s := range secrets {
		sum := sha256.Sum256([]byte(s.value))
		forms := []form{
			{"itself", s.value, false},
			{"its SHA-256 in hex", hex.EncodeToString(sum[:]), true},
			// Unpadded, so that a padded copy matches too.
			{"its SHA-256 in base64", base64.RawStdEncoding.EncodeToString(sum[:]), false},
			{"its SHA-256 in URL-safe base64", base64.RawURLEncoding.EncodeToString(sum[:]), false},
		}
		for _, fl := range fields {
			for _, fm := range forms {
				text := fl.text
				if fm.fold {
					text = strings.ToLower(text)
				}
				if strings.Contains(text, fm.text) {
					out = append(out, fmt.Sprintf("%s holds a %s (%s)", fl.where, s.kind, fm.name))
				}
			}
		}
	}
	return out
}
