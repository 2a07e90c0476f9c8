package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	auth "github.com/authd/auth"
)

// crew is one user of each global role.
type crew struct {
	sys, data, staff, user actor
}

func (s *stack) newCrew(t *testing.T) crew {
	t.Helper()
	return crew{
		sys:   s.newActor(t, "sys@example.com", auth.RoleSystemAdmin),
		data:  s.newActor(t, "data@example.com", auth.RoleDataAdmin),
		staff: s.newActor(t, "staff@example.com", auth.RoleStaff),
		user:  s.newActor(t, "user@example.com", auth.RoleEndUser),
	}
}

// setPermissions replaces the permissions of a role as the SYSTEM_ADMIN
// sys.
func (s *stack) setPermissions(t *testing.T, sys actor, scope, role string, perms ...auth.Permission) response {
	t.Helper()
	if perms == nil {
		perms = []auth.Permission{}
	}
	return s.do(t, "PUT", "/api/v1/internal/permissions/"+scope+"/"+role+"/",
		map[string]any{"permissions": perms}, sys.auth())
}

func TestAdminDashboard(t *testing.T) {
	s := newStack(t)
	c := s.newCrew(t)
	s.createOrg(t, c.user, "acme")
	s.login(t, c.user.email)

	t.Run("STAFF reads the counts", func(t *testing.T) {
		res := s.do(t, "GET", "/api/v1/internal/dashboard/", nil, c.staff.auth())
		wantKeys(t, res.body, "users", "active_sessions", "orgs", "logins_24h")
		got := decode[map[string]int](t, res, http.StatusOK)
		want := map[string]int{"users": 4, "active_sessions": 5, "orgs": 1, "logins_24h": 5}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %d, want %d", k, got[k], v)
			}
		}
	})

	t.Run("an END_USER may not", func(t *testing.T) {
		wantProblem(t, s.do(t, "GET", "/api/v1/internal/dashboard/", nil, c.user.auth()), http.StatusForbidden, "permission_denied")
	})
}

func TestAdminUsers(t *testing.T) {
	s := newStack(t)
	c := s.newCrew(t)
	users := func(t *testing.T, query string) []string {
		page := decodeList[userObject](t, s.do(t, "GET", "/api/v1/internal/users/?"+query, nil, c.staff.auth()), "users")
		var emails []string
		for i, u := range page.items {
			wantKeys(t, page.raw[i], userKeys...)
			emails = append(emails, u.Email)
		}
		slices.Sort(emails)
		return emails
	}

	t.Run("STAFF lists every user", func(t *testing.T) {
		if got := users(t, ""); len(got) != 4 {
			t.Errorf("users = %v, want all 4", got)
		}
	})

	t.Run("q matches a part of the email or name, case-insensitively", func(t *testing.T) {
		if got := users(t, "q=DATA"); !slices.Equal(got, []string{"data@example.com"}) {
			t.Errorf("q=DATA: %v", got)
		}
		if got := users(t, "q=test+user"); len(got) != 4 {
			t.Errorf("q=test user: %v, want every user (all are named Test User)", got)
		}
		if got := users(t, "q=nobody"); len(got) != 0 {
			t.Errorf("q=nobody: %v", got)
		}
	})

	t.Run("role matches the global role", func(t *testing.T) {
		if got := users(t, "role=STAFF"); !slices.Equal(got, []string{"staff@example.com"}) {
			t.Errorf("role=STAFF: %v", got)
		}
		if got := users(t, "role=END_USER&q=user"); !slices.Equal(got, []string{"user@example.com"}) {
			t.Errorf("role=END_USER&q=user: %v", got)
		}
	})

	t.Run("an unknown role is 400 on role", func(t *testing.T) {
		wantValidation(t, s.do(t, "GET", "/api/v1/internal/users/?role=king", nil, c.staff.auth()), "role")
	})

	t.Run("an END_USER may not list users", func(t *testing.T) {
		wantProblem(t, s.do(t, "GET", "/api/v1/internal/users/", nil, c.user.auth()), http.StatusForbidden, "permission_denied")
	})
}

func TestAdminUser(t *testing.T) {
	s := newStack(t)
	c := s.newCrew(t)
	s.createOrg(t, c.user, "acme")
	other := s.newActor(t, "other@example.com", auth.RoleEndUser)
	s.createOrg(t, other, "bolt")
	s.join(t, other, "bolt", c.user, "ADMIN")
	get := func(t *testing.T, id string, a actor) response {
		return s.do(t, "GET", "/api/v1/internal/users/"+id+"/", nil, a.auth())
	}

	t.Run("STAFF reads a user with its organisations and roles there", func(t *testing.T) {
		res := get(t, c.user.id, c.staff)
		wantKeys(t, res.body, "user", "orgs", "identities")
		body := decode[struct {
			User       json.RawMessage   `json:"user"`
			Orgs       []json.RawMessage `json:"orgs"`
			Identities json.RawMessage   `json:"identities"`
		}](t, res, http.StatusOK)
		wantKeys(t, body.User, userKeys...)
		if string(body.Identities) != "[]" {
			t.Errorf("identities = %s, want []", body.Identities)
		}
		roles := map[string]string{}
		for _, raw := range body.Orgs {
			wantKeys(t, raw, orgKeys...)
			var o orgObject
			json.Unmarshal(raw, &o)
			roles[o.Slug] = *o.Role
		}
		if len(roles) != 2 || roles["acme"] != "OWNER" || roles["bolt"] != "ADMIN" {
			t.Errorf("orgs with roles = %v, want acme OWNER and bolt ADMIN", roles)
		}
	})

	t.Run("an upper-case id names the same user", func(t *testing.T) {
		var body userBody
		json.Unmarshal(get(t, strings.ToUpper(c.user.id), c.staff).body, &body)
		if body.User.ID != c.user.id {
			t.Errorf("user = %+v", body.User)
		}
	})

	t.Run("an unknown id is 404", func(t *testing.T) {
		for _, id := range []string{unknownID, "not-an-id"} {
			wantProblem(t, get(t, id, c.staff), http.StatusNotFound, "not_found")
		}
	})

	t.Run("an END_USER may not read users, itself included", func(t *testing.T) {
		wantProblem(t, get(t, c.user.id, c.user), http.StatusForbidden, "permission_denied")
	})
}

func TestAdminUpdateUser(t *testing.T) {
	s := newStack(t)
	c := s.newCrew(t)
	patch := func(t *testing.T, by actor, id string, body any) response {
		return s.do(t, "PATCH", "/api/v1/internal/users/"+id+"/", body, by.auth())
	}

	t.Run("a SYSTEM_ADMIN renames a user; absent fields stay", func(t *testing.T) {
		res := patch(t, c.sys, c.user.id, map[string]string{"name": "  Renamed  "})
		wantKeys(t, decode[map[string]json.RawMessage](t, res, http.StatusOK)["user"], userKeys...)
		u := decode[userBody](t, res, http.StatusOK).User
		if u.Name != "Renamed" || u.Role != "END_USER" || !u.IsActive || u.ID != c.user.id {
			t.Errorf("user = %+v, want only the name changed", u)
		}
		events := s.auditEvents(t, auth.EventUserUpdated)
		if len(events) != 1 || events[0].TargetID != c.user.id || events[0].ActorID != c.sys.id {
			t.Errorf("user.updated events = %+v", events)
		}
	})

	t.Run("an empty body or null fields change nothing", func(t *testing.T) {
		for _, body := range []any{nil, `{}`, `{"name": null, "is_active": null, "role": null}`} {
			u := decode[userBody](t, patch(t, c.sys, c.user.id, body), http.StatusOK).User
			if u.Name != "Renamed" || u.Role != "END_USER" || !u.IsActive {
				t.Errorf("user = %+v", u)
			}
		}
	})

	t.Run("a field of the wrong type is 400 invalid_request", func(t *testing.T) {
		for _, body := range []string{`{"is_active": "false"}`, `{"is_active": 0}`, `{"role": 3}`, `{"name": ["x"]}`} {
			wantProblem(t, patch(t, c.sys, c.user.id, body), http.StatusBadRequest, "invalid_request")
		}
	})

	t.Run("a bad role or an empty name is 400 on that field", func(t *testing.T) {
		wantValidation(t, patch(t, c.sys, c.user.id, map[string]string{"role": "KING"}), "role")
		wantValidation(t, patch(t, c.sys, c.user.id, map[string]string{"role": ""}), "role")
		wantValidation(t, patch(t, c.sys, c.user.id, map[string]string{"name": " "}), "name")
	})

	t.Run("a role change takes effect on the very next request", func(t *testing.T) {
		dashboard := func() response { return s.do(t, "GET", "/api/v1/internal/dashboard/", nil, c.user.auth()) }
		wantProblem(t, dashboard(), http.StatusForbidden, "permission_denied")
		u := decode[userBody](t, patch(t, c.sys, c.user.id, map[string]string{"role": "STAFF"}), http.StatusOK).User
		if u.Role != "STAFF" {
			t.Fatalf("role = %s, want STAFF", u.Role)
		}
		wantStatus(t, dashboard(), http.StatusOK) // same token, whose claim still says END_USER
		events := s.auditEvents(t, auth.EventUserRoleChanged)
		if len(events) != 1 || events[0].Metadata["from"] != "END_USER" || events[0].Metadata["to"] != "STAFF" {
			t.Errorf("user.role_changed events = %+v", events)
		}
		decode[userBody](t, patch(t, c.sys, c.user.id, map[string]string{"role": "END_USER"}), http.StatusOK)
		wantProblem(t, dashboard(), http.StatusForbidden, "permission_denied")
	})

	t.Run("disabling a user revokes every session and refuses its login", func(t *testing.T) {
		second := s.login(t, c.user.email)
		u := decode[userBody](t, patch(t, c.sys, c.user.id, `{"is_active": false}`), http.StatusOK).User
		if u.IsActive {
			t.Fatalf("user = %+v, want inactive", u)
		}
		wantProblem(t, s.me(t, c.user.access), http.StatusUnauthorized, "unauthenticated")
		wantProblem(t, s.me(t, second.Access), http.StatusUnauthorized, "unauthenticated")
		wantProblem(t, s.refresh(t, second.Refresh), http.StatusUnauthorized, "invalid_token")
		wantProblem(t, s.do(t, "POST", "/api/v1/auth/login/", map[string]string{"email": c.user.email, "password": testPassword}),
			http.StatusForbidden, "account_disabled")
		if events := s.auditEvents(t, auth.EventUserDisabled); len(events) != 1 || events[0].TargetID != c.user.id {
			t.Errorf("user.disabled events = %+v", events)
		}
	})

	t.Run("enabling it again lets it sign in", func(t *testing.T) {
		decode[userBody](t, patch(t, c.sys, c.user.id, `{"is_active": true}`), http.StatusOK)
		c.user.access = s.login(t, c.user.email).Access
	})

	t.Run("nobody changes their own role or disables themselves", func(t *testing.T) {
		wantProblem(t, patch(t, c.sys, c.sys.id, map[string]string{"role": "STAFF"}), http.StatusForbidden, "permission_denied")
		wantProblem(t, patch(t, c.sys, c.sys.id, `{"is_active": false}`), http.StatusForbidden, "permission_denied")
		if u := s.user(t, c.sys.email); u.Role != auth.RoleSystemAdmin || !u.IsActive {
			t.Errorf("the SYSTEM_ADMIN changed itself: %+v", u)
		}
		u := decode[userBody](t, patch(t, c.sys, c.sys.id, map[string]string{"name": "Sys"}), http.StatusOK).User
		if u.Name != "Sys" {
			t.Errorf("renaming oneself: %+v", u)
		}
	})

	t.Run("without internal.users.write: 403", func(t *testing.T) {
		for _, a := range []actor{c.data, c.staff, c.user} {
			wantProblem(t, patch(t, a, c.user.id, map[string]string{"name": "Nope"}), http.StatusForbidden, "permission_denied")
		}
	})

	t.Run("a role change also needs internal.roles.change", func(t *testing.T) {
		decode[map[string]any](t, s.setPermissions(t, c.sys, "user", "STAFF",
			auth.PermDashboardView, auth.PermUsersRead, auth.PermOrgsRead, auth.PermUsersWrite), http.StatusOK)
		decode[userBody](t, patch(t, c.staff, c.user.id, map[string]string{"name": "By Staff"}), http.StatusOK)
		wantProblem(t, patch(t, c.staff, c.user.id, map[string]string{"name": "Both", "role": "STAFF"}),
			http.StatusForbidden, "permission_denied")
		if u := s.user(t, c.user.email); u.Name != "By Staff" || u.Role != auth.RoleEndUser {
			t.Errorf("a refused change was partly applied: %+v", u)
		}
	})

	t.Run("an unknown id is 404", func(t *testing.T) {
		wantProblem(t, patch(t, c.sys, unknownID, map[string]string{"name": "X"}),
			http.StatusNotFound, "not_found")
	})
}

func TestAdminSessions(t *testing.T) {
	s := newStack(t)
	c := s.newCrew(t)
	s.login(t, c.user.email)
	sessions := func(t *testing.T, by actor, id string) listPage[sessionObject] {
		return decodeList[sessionObject](t, s.do(t, "GET", "/api/v1/internal/users/"+id+"/sessions/", nil, by.auth()), "sessions")
	}

	var target sessionObject
	t.Run("a DATA_ADMIN lists a user's sessions, none of them current", func(t *testing.T) {
		page := sessions(t, c.data, c.user.id)
		if len(page.items) != 2 || page.next != nil {
			t.Fatalf("sessions = %+v, want the user's 2", page.items)
		}
		for i, sess := range page.items {
			wantKeys(t, page.raw[i], sessionKeys...)
			if sess.Current {
				t.Errorf("session %s is current for another user", sess.ID)
			}
		}
		target = page.items[0]
	})

	t.Run("the caller's own session is current", func(t *testing.T) {
		page := sessions(t, c.sys, c.sys.id)
		if len(page.items) != 1 || !page.items[0].Current {
			t.Errorf("own sessions = %+v", page.items)
		}
	})

	t.Run("an unknown user is 404", func(t *testing.T) {
		wantProblem(t, s.do(t, "GET", "/api/v1/internal/users/"+unknownID+"/sessions/", nil, c.data.auth()),
			http.StatusNotFound, "not_found")
	})

	t.Run("STAFF may not list sessions, nor a DATA_ADMIN revoke one", func(t *testing.T) {
		wantProblem(t, s.do(t, "GET", "/api/v1/internal/users/"+c.user.id+"/sessions/", nil, c.staff.auth()),
			http.StatusForbidden, "permission_denied")
		wantProblem(t, s.do(t, "DELETE", "/api/v1/internal/sessions/"+target.ID+"/", nil, c.data.auth()),
			http.StatusForbidden, "permission_denied")
	})

	t.Run("a SYSTEM_ADMIN revokes any session", func(t *testing.T) {
		wantStatus(t, s.do(t, "DELETE", "/api/v1/internal/sessions/"+target.ID+"/", nil, c.sys.auth()), http.StatusNoContent)
		if left := sessions(t, c.data, c.user.id).items; len(left) != 1 || left[0].ID == target.ID {
			t.Errorf("sessions after the revocation = %+v", left)
		}
		events := s.auditEvents(t, auth.EventSessionRevoked)
		if len(events) != 1 || events[0].TargetID != target.ID || events[0].ActorID != c.sys.id || events[0].Metadata["user_id"] != c.user.id {
			t.Errorf("session.revoked events = %+v", events)
		}
	})

	t.Run("a revoked session's token is 401", func(t *testing.T) {
		tok := s.login(t, c.user.email)
		wantStatus(t, s.do(t, "DELETE", "/api/v1/internal/sessions/"+tok.SessionID+"/", nil, c.sys.auth()), http.StatusNoContent)
		wantProblem(t, s.me(t, tok.Access), http.StatusUnauthorized, "unauthenticated")
	})

	t.Run("an ended or unknown session is 404", func(t *testing.T) {
		for _, id := range []string{target.ID, unknownID, "not-an-id"} {
			wantProblem(t, s.do(t, "DELETE", "/api/v1/internal/sessions/"+id+"/", nil, c.sys.auth()), http.StatusNotFound, "not_found")
		}
	})
}

func TestAdminOrgs(t *testing.T) {
	s := newStack(t)
	c := s.newCrew(t)
	acme := s.newTeam(t, "acme")
	s.newTeam(t, "bolt")

	t.Run("STAFF lists every organisation, with a null role", func(t *testing.T) {
		page := decodeList[orgObject](t, s.do(t, "GET", "/api/v1/internal/orgs/", nil, c.staff.auth()), "orgs")
		var slugs []string
		for i, o := range page.items {
			wantKeys(t, page.raw[i], orgKeys...)
			if !strings.Contains(string(page.raw[i]), `"role":null`) {
				t.Errorf("org %s: %s, want role null", o.Slug, page.raw[i])
			}
			slugs = append(slugs, o.Slug)
		}
		slices.Sort(slugs)
		if !slices.Equal(slugs, []string{"acme", "bolt"}) {
			t.Errorf("orgs = %v", slugs)
		}
	})

	t.Run("q matches a part of the name or slug", func(t *testing.T) {
		for q, want := range map[string]int{"ACM": 1, "org": 2, "zzz": 0} {
			if got := list[orgObject](t, s, c.staff, "/api/v1/internal/orgs/?q="+q, "orgs"); len(got) != want {
				t.Errorf("q=%s: %d orgs, want %d", q, len(got), want)
			}
		}
	})

	t.Run("STAFF reads one organisation with its members", func(t *testing.T) {
		res := s.do(t, "GET", "/api/v1/internal/orgs/acme/", nil, c.staff.auth())
		wantKeys(t, res.body, "org", "members")
		body := decode[struct {
			Org     json.RawMessage `json:"org"`
			Members []memberObject  `json:"members"`
		}](t, res, http.StatusOK)
		wantKeys(t, body.Org, orgKeys...)
		var o orgObject
		json.Unmarshal(body.Org, &o)
		if o.ID != acme.org.ID || o.Role != nil || o.OwnerID != acme.owner.id {
			t.Errorf("org = %s", body.Org)
		}
		if len(body.Members) != 5 {
			t.Errorf("%d members, want 5", len(body.Members))
		}
	})

	t.Run("an unknown slug is 404", func(t *testing.T) {
		wantProblem(t, s.do(t, "GET", "/api/v1/internal/orgs/nope/", nil, c.staff.auth()), http.StatusNotFound, "not_found")
	})
}

func TestAdminAudit(t *testing.T) {
	s := newStack(t)
	c := s.newCrew(t)
	acme := s.newTeam(t, "acme")
	wantProblem(t, s.do(t, "POST", "/api/v1/auth/login/", map[string]string{"email": "ghost@example.com", "password": testPassword}),
		http.StatusUnauthorized, "invalid_credentials")
	s.clock.Advance(time.Hour)
	late := s.login(t, c.user.email)
	c.data.access = s.login(t, c.data.email).Access
	audit := func(t *testing.T, query string) []auditEventObject {
		page := decodeList[auditEventObject](t, s.do(t, "GET", "/api/v1/internal/audit/?limit=200&"+query, nil, c.data.auth()), "events")
		for i := range page.items {
			wantKeys(t, page.raw[i], auditEventKeys...)
		}
		return page.items
	}

	t.Run("a DATA_ADMIN reads every event, newest first", func(t *testing.T) {
		events := audit(t, "")
		if len(events) < 20 || events[0].Event != auth.EventLogin || *events[0].ActorID != c.data.id {
			t.Fatalf("%d events, the newest %+v; want the DATA_ADMIN's login first", len(events), events[0])
		}
		for i := 1; i < len(events); i++ {
			if events[i].OccurredAt > events[i-1].OccurredAt {
				t.Errorf("event %d (%s) is newer than event %d (%s)", i, events[i].OccurredAt, i-1, events[i-1].OccurredAt)
			}
		}
	})

	t.Run("empty actor, org and target are null, empty metadata {}", func(t *testing.T) {
		failed := audit(t, "event=auth.login_failed")
		if len(failed) != 1 || failed[0].ActorID != nil || failed[0].OrgID != nil || failed[0].Metadata["email"] != "ghost@example.com" {
			t.Errorf("auth.login_failed = %+v, want a null actor, a null org and the email", failed)
		}
		registered := audit(t, "event=user.registered&actor_id="+c.user.id)
		if len(registered) != 1 || registered[0].OrgID != nil || *registered[0].TargetType != "user" || *registered[0].TargetID != c.user.id {
			t.Errorf("user.registered = %+v", registered)
		}
		for _, e := range audit(t, "event=member.joined") {
			if e.Metadata == nil {
				t.Errorf("metadata of %s is null", e.ID)
			}
		}
	})

	t.Run("event, actor_id and org_id filter", func(t *testing.T) {
		for _, e := range audit(t, "event=auth.login") {
			if e.Event != auth.EventLogin {
				t.Errorf("event=auth.login gave %s", e.Event)
			}
		}
		byActor := audit(t, "actor_id="+strings.ToUpper(c.user.id))
		for _, e := range byActor {
			if *e.ActorID != c.user.id {
				t.Errorf("actor_id gave an event of %v", *e.ActorID)
			}
		}
		if len(byActor) != 4 { // registered, verified, two logins
			t.Errorf("%d events of the user, want 4", len(byActor))
		}
		byOrg := audit(t, "org_id="+acme.org.ID)
		if len(byOrg) != 9 {
			t.Errorf("%d events of acme, want 9", len(byOrg))
		}
		for _, e := range byOrg {
			if *e.OrgID != acme.org.ID {
				t.Errorf("org_id gave an event of %v", *e.OrgID)
			}
		}
	})

	t.Run("since is inclusive and until exclusive", func(t *testing.T) {
		cut := url.QueryEscape(s.clock.Now().Format(time.RFC3339))
		recent := audit(t, "since="+cut)
		if len(recent) != 2 || recent[1].Event != auth.EventLogin || *recent[1].TargetID != late.SessionID {
			t.Errorf("since the cut: %+v, want the two late logins", recent)
		}
		older := audit(t, "until="+cut)
		all := audit(t, "")
		if len(older)+len(recent) != len(all) {
			t.Errorf("until %d + since %d != all %d", len(older), len(recent), len(all))
		}
		offset := url.QueryEscape(s.clock.Now().Add(-time.Minute).In(time.FixedZone("", 2*3600)).Format(time.RFC3339))
		if got := audit(t, "since="+offset); len(got) != 2 {
			t.Errorf("since a time with an offset: %d events, want 2", len(got))
		}
	})

	t.Run("a bad since or until is 400 on that parameter", func(t *testing.T) {
		get := func(query string) response {
			return s.do(t, "GET", "/api/v1/internal/audit/?"+query, nil, c.data.auth())
		}
		wantValidation(t, get("since=yesterday"), "since")
		wantValidation(t, get("until=2026-03-14"), "until")
		wantValidation(t, get("since=1&until=2"), "since", "until")
	})

	t.Run("STAFF may not read the audit log", func(t *testing.T) {
		c.staff.access = s.login(t, c.staff.email).Access
		wantProblem(t, s.do(t, "GET", "/api/v1/internal/audit/", nil, c.staff.auth()), http.StatusForbidden, "permission_denied")
	})
}

func TestAdminPermissions(t *testing.T) {
	s := newStack(t)
	c := s.newCrew(t)
	acme := s.newTeam(t, "acme")
	const path = "/api/v1/internal/permissions/"

	t.Run("a SYSTEM_ADMIN reads every permission and both mappings", func(t *testing.T) {
		res := s.do(t, "GET", path, nil, c.sys.auth())
		wantKeys(t, res.body, "permissions", "user_roles", "org_roles")
		body := decode[struct {
			Permissions []string            `json:"permissions"`
			UserRoles   map[string][]string `json:"user_roles"`
			OrgRoles    map[string][]string `json:"org_roles"`
		}](t, res, http.StatusOK)
		var all []string
		for _, p := range auth.AllPermissions() {
			all = append(all, string(p))
		}
		if !slices.Equal(body.Permissions, all) {
			t.Errorf("permissions = %v, want %v", body.Permissions, all)
		}
		def := auth.DefaultPermissions()
		if len(body.UserRoles) != 4 || len(body.OrgRoles) != 3 {
			t.Fatalf("user_roles %v, org_roles %v: want every role", body.UserRoles, body.OrgRoles)
		}
		for role, perms := range def.UserRoles {
			if got := body.UserRoles[string(role)]; got == nil || len(got) != len(perms) {
				t.Errorf("user_roles[%s] = %v, want %v", role, got, perms)
			}
		}
		for role, perms := range def.OrgRoles {
			if got := body.OrgRoles[string(role)]; len(got) != len(perms) {
				t.Errorf("org_roles[%s] = %v, want %v", role, got, perms)
			}
		}
		if !strings.Contains(string(res.body), `"END_USER":[]`) {
			t.Errorf("END_USER should map to []: %s", res.body)
		}
	})

	t.Run("DATA_ADMIN and STAFF may not manage permissions", func(t *testing.T) {
		for _, a := range []actor{c.data, c.staff} {
			wantProblem(t, s.do(t, "GET", path, nil, a.auth()), http.StatusForbidden, "permission_denied")
			wantProblem(t, s.setPermissions(t, a, "user", "STAFF", auth.PermDashboardView), http.StatusForbidden, "permission_denied")
		}
	})

	t.Run("granting STAFF internal.audit.read takes effect on the very next request", func(t *testing.T) {
		wantProblem(t, s.do(t, "GET", "/api/v1/internal/audit/", nil, c.staff.auth()), http.StatusForbidden, "permission_denied")
		res := s.setPermissions(t, c.sys, "user", "STAFF",
			auth.PermAuditRead, auth.PermUsersRead, auth.PermDashboardView, auth.PermOrgsRead, auth.PermUsersRead)
		wantKeys(t, res.body, "role", "permissions")
		got := decode[struct {
			Role        string   `json:"role"`
			Permissions []string `json:"permissions"`
		}](t, res, http.StatusOK)
		want := []string{"internal.dashboard.view", "internal.users.read", "internal.orgs.read", "internal.audit.read"}
		if got.Role != "STAFF" || !slices.Equal(got.Permissions, want) {
			t.Errorf("answer = %+v, want STAFF with %v (deduplicated, in canonical order)", got, want)
		}
		decodeList[auditEventObject](t, s.do(t, "GET", "/api/v1/internal/audit/", nil, c.staff.auth()), "events")
		events := s.auditEvents(t, auth.EventPermissionsChanged)
		if len(events) != 1 || events[0].TargetID != "STAFF" || events[0].Metadata["scope"] != "user" || events[0].ActorID != c.sys.id {
			t.Errorf("permissions.changed events = %+v", events)
		}
	})

	t.Run("an organisation role's mapping takes effect at once too", func(t *testing.T) {
		decode[map[string]any](t, s.setPermissions(t, c.sys, "org", "MEMBER"), http.StatusOK)
		wantProblem(t, s.do(t, "GET", acme.path(""), nil, acme.member.auth()), http.StatusForbidden, "permission_denied")
		decode[map[string]any](t, s.setPermissions(t, c.sys, "org", "MEMBER", auth.PermOrgView, auth.PermMemberView), http.StatusOK)
		decode[orgBody](t, s.do(t, "GET", acme.path(""), nil, acme.member.auth()), http.StatusOK)
	})

	t.Run("taking internal.permissions.manage from SYSTEM_ADMIN is 409 conflict", func(t *testing.T) {
		wantProblem(t, s.setPermissions(t, c.sys, "user", "SYSTEM_ADMIN", auth.PermDashboardView), http.StatusConflict, "conflict")
		decode[map[string]any](t, s.do(t, "GET", path, nil, c.sys.auth()), http.StatusOK)
	})

	t.Run("an unknown permission, or one of the other scope, is 400 on permissions", func(t *testing.T) {
		wantValidation(t, s.setPermissions(t, c.sys, "user", "STAFF", "internal.everything"), "permissions")
		wantValidation(t, s.setPermissions(t, c.sys, "user", "STAFF", auth.PermOrgView), "permissions")
		wantValidation(t, s.setPermissions(t, c.sys, "org", "ADMIN", auth.PermUsersRead), "permissions")
	})

	t.Run("an unknown role is 400 on role", func(t *testing.T) {
		for _, r := range []struct{ scope, role string }{{"user", "KING"}, {"user", "staff"}, {"org", "STAFF"}, {"user", "OWNER"}} {
			wantValidation(t, s.setPermissions(t, c.sys, r.scope, r.role, auth.PermDashboardView), "role")
		}
	})

	t.Run("an unknown scope is 404", func(t *testing.T) {
		wantProblem(t, s.setPermissions(t, c.sys, "global", "STAFF", auth.PermDashboardView), http.StatusNotFound, "not_found")
	})

	t.Run("a missing or null permissions is 400 on permissions, never an empty grant", func(t *testing.T) {
		for _, body := range []string{`{}`, `{"permissions": null}`, ``} {
			wantValidation(t, s.do(t, "PUT", path+"user/STAFF/", body, c.sys.auth()), "permissions")
		}
		decode[map[string]any](t, s.do(t, "GET", "/api/v1/internal/dashboard/", nil, c.staff.auth()), http.StatusOK)
	})

	t.Run("permissions that are not an array of strings are 400 invalid_request", func(t *testing.T) {
		for _, body := range []string{`{"permissions": "internal.users.read"}`, `{"permissions": [1]}`, `{"permissions": {}}`} {
			wantProblem(t, s.do(t, "PUT", path+"user/STAFF/", body, c.sys.auth()), http.StatusBadRequest, "invalid_request")
		}
	})

	t.Run("an empty list takes every permission from a role", func(t *testing.T) {
		got := decode[struct {
			Permissions []string `json:"permissions"`
		}](t, s.setPermissions(t, c.sys, "user", "STAFF"), http.StatusOK)
		if got.Permissions == nil || len(got.Permissions) != 0 {
			t.Errorf("permissions = %v, want []", got.Permissions)
		}
		wantProblem(t, s.do(t, "GET", "/api/v1/internal/dashboard/", nil, c.staff.auth()), http.StatusForbidden, "permission_denied")
	})
}
