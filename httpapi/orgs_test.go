package httpapi_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	auth "github.com/authd/auth"
)

// clockStart is the test clock's start, as the API formats times.
const clockStart = "2026-03-14T15:09:26Z"

func TestCreateOrg(t *testing.T) {
	s := newStack(t)
	ann := s.newActor(t, "ann@example.com", auth.RoleEndUser)
	create := func(t *testing.T, body any) response {
		return s.do(t, "POST", "/api/v1/orgs/create/", body, ann.auth())
	}

	t.Run("the caller creates an organisation and becomes its OWNER", func(t *testing.T) {
		res := create(t, map[string]string{"name": " Acme Corp "})
		wantKeys(t, res.body, "org")
		wantKeys(t, decode[map[string]json.RawMessage](t, res, http.StatusCreated)["org"], orgKeys...)
		org := decode[orgBody](t, res, http.StatusCreated).Org
		if org.Name != "Acme Corp" || org.Slug != "acme-corp" || org.OwnerID != ann.id || org.CreatedAt != clockStart ||
			org.Role == nil || *org.Role != "OWNER" || len(org.ID) != 36 {
			t.Errorf("org = %+v, want Acme Corp (acme-corp) owned by %s, created %s, role OWNER", org, ann.id, clockStart)
		}
		if got := s.roles(t, ann, "acme-corp"); len(got) != 1 || got[ann.id] != "OWNER" {
			t.Errorf("members = %v, want only the creator as OWNER", got)
		}
		events := s.auditEvents(t, auth.EventOrgCreated)
		if len(events) != 1 || events[0].OrgID != org.ID || events[0].ActorID != ann.id || events[0].TargetID != org.ID {
			t.Errorf("org.created events = %+v", events)
		}
	})

	t.Run("a slug derived from a taken one gets -2, -3, …", func(t *testing.T) {
		for _, want := range []string{"acme-corp-2", "acme-corp-3"} {
			org := decode[orgBody](t, create(t, map[string]string{"name": "ACME  corp!"}), http.StatusCreated).Org
			if org.Slug != want {
				t.Errorf("slug = %q, want %q", org.Slug, want)
			}
		}
	})

	t.Run("a name too short for a slug gets one prefixed with org-", func(t *testing.T) {
		org := decode[orgBody](t, create(t, map[string]string{"name": "Q"}), http.StatusCreated).Org
		if org.Slug != "org-q" {
			t.Errorf("slug = %q, want org-q", org.Slug)
		}
	})

	t.Run("a given slug is kept", func(t *testing.T) {
		org := decode[orgBody](t, create(t, map[string]string{"name": "Acme Labs", "slug": "labs-1"}), http.StatusCreated).Org
		if org.Slug != "labs-1" || org.Name != "Acme Labs" {
			t.Errorf("org = %+v, want slug labs-1", org)
		}
	})

	t.Run("a given slug that is taken is 409 slug_taken", func(t *testing.T) {
		wantProblem(t, create(t, map[string]string{"name": "Other", "slug": "labs-1"}), http.StatusConflict, "slug_taken")
	})

	t.Run("a given slug that breaks the rules is 400 on slug", func(t *testing.T) {
		for _, slug := range []string{"Acme", "ab", "create", "invites", "-acme", "acme-", "acme_corp", strings.Repeat("a", 51)} {
			wantValidation(t, create(t, map[string]string{"name": "Acme", "slug": slug}), "slug")
		}
	})

	t.Run("a missing or blank name is 400 on name", func(t *testing.T) {
		wantValidation(t, create(t, `{}`), "name")
		wantValidation(t, create(t, map[string]string{"name": "   "}), "name")
	})

	t.Run("a field of the wrong type is 400 invalid_request", func(t *testing.T) {
		wantProblem(t, create(t, `{"name": 7}`), http.StatusBadRequest, "invalid_request")
		wantProblem(t, create(t, `{"name": "Acme", "slug": true}`), http.StatusBadRequest, "invalid_request")
	})
}

func TestOrgLiteralPaths(t *testing.T) {
	s := newStack(t)
	ann := s.newActor(t, "ann@example.com", auth.RoleEndUser)

	t.Run("POST /orgs/create/ reaches the create handler, with or without the slash", func(t *testing.T) {
		for _, path := range []string{"/api/v1/orgs/create/", "/api/v1/orgs/create"} {
			decode[orgBody](t, s.do(t, "POST", path, map[string]string{"name": "Created Here"}, ann.auth()), http.StatusCreated)
		}
	})

	t.Run("POST /orgs/invites/accept/ reaches the accept handler, with or without the slash", func(t *testing.T) {
		for _, path := range []string{"/api/v1/orgs/invites/accept/", "/api/v1/orgs/invites/accept"} {
			wantValidation(t, s.do(t, "POST", path, `{}`, ann.auth()), "token")
			wantProblem(t, s.do(t, "POST", path, map[string]string{"token": "unknown"}, ann.auth()),
				http.StatusBadRequest, "invalid_token")
		}
	})

	t.Run("another method on them is 405, not a route of an organisation", func(t *testing.T) {
		for _, path := range []string{"/api/v1/orgs/create/", "/api/v1/orgs/invites/accept/"} {
			res := s.do(t, "GET", path, nil, ann.auth())
			wantProblem(t, res, http.StatusMethodNotAllowed, "method_not_allowed")
			if allow := res.header.Get("Allow"); allow != "POST" {
				t.Errorf("GET %s: Allow = %q, want POST", path, allow)
			}
		}
	})

	t.Run("the reserved words name no organisation", func(t *testing.T) {
		for _, path := range []string{"/api/v1/orgs/create/members/", "/api/v1/orgs/invites/", "/api/v1/orgs/invites/audit/"} {
			wantProblem(t, s.do(t, "GET", path, nil, ann.auth()), http.StatusNotFound, "not_found")
		}
		wantProblem(t, s.do(t, "POST", "/api/v1/orgs/create/leave/", nil, ann.auth()), http.StatusNotFound, "not_found")
	})

	t.Run("the request log names the route with its method", func(t *testing.T) {
		s.do(t, "POST", "/api/v1/orgs/create/", map[string]string{"name": "Logged"}, ann.auth(), header("X-Request-Id", "create-1"))
		s.do(t, "PATCH", "/api/v1/orgs/logged/", map[string]string{"name": "Logged"}, ann.auth(), header("X-Request-Id", "patch-1"))
		s.do(t, "HEAD", "/api/v1/orgs/logged/", nil, ann.auth(), header("X-Request-Id", "head-1"))
		for id, want := range map[string]string{
			"create-1": "POST /api/v1/orgs/create/{$}",
			"patch-1":  "PATCH /api/v1/orgs/{slug}/{$}",
			"head-1":   "GET /api/v1/orgs/{slug}/{$}",
		} {
			if got := s.loggedRoute(t, id); got != want {
				t.Errorf("request %s logged route %q, want %q", id, got, want)
			}
		}
	})
}

func TestMyOrgs(t *testing.T) {
	s := newStack(t)
	ann := s.newActor(t, "ann@example.com", auth.RoleEndUser)
	bob := s.newActor(t, "bob@example.com", auth.RoleEndUser)
	s.createOrg(t, ann, "ann-one")
	s.createOrg(t, ann, "ann-two")
	s.createOrg(t, bob, "bob-one")
	s.join(t, bob, "bob-one", ann, "MEMBER")

	t.Run("the caller's organisations, each with its role", func(t *testing.T) {
		page := decodeList[orgObject](t, s.do(t, "GET", "/api/v1/orgs/", nil, ann.auth()), "orgs")
		var got []string
		for i, o := range page.items {
			wantKeys(t, page.raw[i], orgKeys...)
			got = append(got, o.Slug+":"+*o.Role)
		}
		slices.Sort(got) // all joined at the same instant: their order is the ids'
		if want := "ann-one:OWNER ann-two:OWNER bob-one:MEMBER"; strings.Join(got, " ") != want || page.next != nil {
			t.Errorf("orgs = %v (next %v), want %s and no next page", got, page.next, want)
		}
	})

	t.Run("never another user's organisations", func(t *testing.T) {
		orgs := list[orgObject](t, s, bob, "/api/v1/orgs/", "orgs")
		if len(orgs) != 1 || orgs[0].Slug != "bob-one" || *orgs[0].Role != "OWNER" {
			t.Errorf("bob's orgs = %+v", orgs)
		}
	})

	t.Run("a user of no organisation gets []", func(t *testing.T) {
		cy := s.newActor(t, "cy@example.com", auth.RoleEndUser)
		res := s.do(t, "GET", "/api/v1/orgs/", nil, cy.auth())
		if got := strings.TrimSpace(string(res.body)); got != `{"next_cursor":null,"orgs":[]}` {
			t.Errorf("body = %s", got)
		}
	})
}

func TestOrg(t *testing.T) {
	s := newStack(t)
	tm := s.newTeam(t, "acme")

	t.Run("every member reads the organisation with its own role", func(t *testing.T) {
		for _, c := range []struct {
			a    actor
			role string
		}{{tm.owner, "OWNER"}, {tm.admin, "ADMIN"}, {tm.member, "MEMBER"}} {
			res := s.do(t, "GET", tm.path(""), nil, c.a.auth())
			wantKeys(t, decode[map[string]json.RawMessage](t, res, http.StatusOK)["org"], orgKeys...)
			org := decode[orgBody](t, res, http.StatusOK).Org
			if org.ID != tm.org.ID || org.OwnerID != tm.owner.id || org.Role == nil || *org.Role != c.role {
				t.Errorf("%s reads %+v, want role %s", c.a.email, org, c.role)
			}
		}
	})

	t.Run("an ADMIN renames it", func(t *testing.T) {
		org := decode[orgBody](t, s.do(t, "PATCH", tm.path(""), map[string]string{"name": " Acme Two "}, tm.admin.auth()), http.StatusOK).Org
		if org.Name != "Acme Two" || org.Slug != "acme" || *org.Role != "ADMIN" {
			t.Errorf("renamed org = %+v", org)
		}
		events := s.auditEvents(t, auth.EventOrgUpdated)
		if len(events) != 1 || events[0].OrgID != tm.org.ID || events[0].ActorID != tm.admin.id {
			t.Errorf("org.updated events = %+v", events)
		}
	})

	t.Run("a MEMBER may not rename it", func(t *testing.T) {
		wantProblem(t, s.do(t, "PATCH", tm.path(""), map[string]string{"name": "Mine"}, tm.member.auth()),
			http.StatusForbidden, "permission_denied")
	})

	t.Run("a missing name is 400 on name, a wrong type 400 invalid_request", func(t *testing.T) {
		wantValidation(t, s.do(t, "PATCH", tm.path(""), `{}`, tm.owner.auth()), "name")
		wantProblem(t, s.do(t, "PATCH", tm.path(""), `{"name": ["x"]}`, tm.owner.auth()), http.StatusBadRequest, "invalid_request")
	})

	t.Run("only the OWNER deletes it", func(t *testing.T) {
		for _, a := range []actor{tm.admin, tm.member} {
			wantProblem(t, s.do(t, "DELETE", tm.path(""), nil, a.auth()), http.StatusForbidden, "permission_denied")
		}
		wantStatus(t, s.do(t, "DELETE", tm.path(""), nil, tm.owner.auth()), http.StatusNoContent)
		for _, a := range []actor{tm.owner, tm.member} {
			wantProblem(t, s.do(t, "GET", tm.path(""), nil, a.auth()), http.StatusNotFound, "not_found")
		}
		if orgs := list[orgObject](t, s, tm.member, "/api/v1/orgs/", "orgs"); len(orgs) != 0 {
			t.Errorf("a member still lists %+v", orgs)
		}
		events := s.auditEvents(t, auth.EventOrgDeleted)
		if len(events) != 1 || events[0].OrgID != tm.org.ID || events[0].Metadata["slug"] != "acme" {
			t.Errorf("org.deleted events = %+v", events)
		}
	})
}

func TestMembers(t *testing.T) {
	s := newStack(t)
	tm := s.newTeam(t, "acme")
	member := func(a actor) string { return tm.path("members/" + a.id + "/") }
	setRole := func(t *testing.T, by, target actor, role string) response {
		return s.do(t, "PATCH", member(target), map[string]string{"role": role}, by.auth())
	}
	remove := func(t *testing.T, by, target actor) response {
		return s.do(t, "DELETE", member(target), nil, by.auth())
	}

	t.Run("a MEMBER lists the members as Member objects", func(t *testing.T) {
		page := decodeList[memberObject](t, s.do(t, "GET", tm.path("members/"), nil, tm.member.auth()), "members")
		if len(page.items) != 5 {
			t.Fatalf("%d members, want 5", len(page.items))
		}
		for i, m := range page.items {
			wantKeys(t, page.raw[i], memberKeys...)
			if m.JoinedAt != clockStart || m.Name != "Test User" || !strings.HasPrefix(m.Email, "acme-") {
				t.Errorf("member %+v", m)
			}
		}
		roles := map[string]string{}
		for _, m := range page.items {
			roles[m.Email] = m.Role
		}
		if roles[tm.owner.email] != "OWNER" || roles[tm.admin.email] != "ADMIN" || roles[tm.member.email] != "MEMBER" {
			t.Errorf("roles by email = %v", roles)
		}
	})

	before := s.roles(t, tm.owner, "acme")
	denied := []struct {
		name string
		res  func(t *testing.T) response
	}{
		{"an ADMIN may not make a MEMBER an ADMIN", func(t *testing.T) response { return setRole(t, tm.admin, tm.member, "ADMIN") }},
		{"an ADMIN may not change another ADMIN", func(t *testing.T) response { return setRole(t, tm.admin, tm.admin2, "MEMBER") }},
		{"an ADMIN may not change the OWNER", func(t *testing.T) response { return setRole(t, tm.admin, tm.owner, "MEMBER") }},
		{"an ADMIN may not change itself", func(t *testing.T) response { return setRole(t, tm.admin, tm.admin, "MEMBER") }},
		{"the OWNER may not change itself", func(t *testing.T) response { return setRole(t, tm.owner, tm.owner, "ADMIN") }},
		{"the OWNER may not give OWNER: only a transfer does", func(t *testing.T) response { return setRole(t, tm.owner, tm.admin, "OWNER") }},
		{"a MEMBER may not change anyone", func(t *testing.T) response { return setRole(t, tm.member, tm.member2, "MEMBER") }},
		{"an ADMIN may not remove another ADMIN", func(t *testing.T) response { return remove(t, tm.admin, tm.admin2) }},
		{"an ADMIN may not remove the OWNER", func(t *testing.T) response { return remove(t, tm.admin, tm.owner) }},
		{"an ADMIN may not remove itself (it leaves instead)", func(t *testing.T) response { return remove(t, tm.admin, tm.admin) }},
		{"the OWNER may not remove itself", func(t *testing.T) response { return remove(t, tm.owner, tm.owner) }},
		{"a MEMBER may not remove anyone", func(t *testing.T) response { return remove(t, tm.member, tm.member2) }},
	}
	for _, d := range denied {
		t.Run(d.name+": 403 permission_denied", func(t *testing.T) {
			wantProblem(t, d.res(t), http.StatusForbidden, "permission_denied")
		})
	}
	t.Run("the refusals changed nothing", func(t *testing.T) {
		if after := s.roles(t, tm.owner, "acme"); !maps.Equal(after, before) {
			t.Errorf("roles = %v, were %v", after, before)
		}
	})

	t.Run("a role that is not ADMIN or MEMBER is 400 on role", func(t *testing.T) {
		for _, body := range []any{`{}`, map[string]string{"role": "KING"}, map[string]string{"role": "admin"}} {
			wantValidation(t, s.do(t, "PATCH", member(tm.member), body, tm.owner.auth()), "role")
		}
		wantProblem(t, s.do(t, "PATCH", member(tm.member), `{"role": 1}`, tm.owner.auth()), http.StatusBadRequest, "invalid_request")
	})

	t.Run("a user who is not a member is 404", func(t *testing.T) {
		for _, id := range []string{tm.outsider.id, unknownID, "not-an-id"} {
			wantProblem(t, s.do(t, "PATCH", tm.path("members/"+id+"/"), map[string]string{"role": "MEMBER"}, tm.owner.auth()),
				http.StatusNotFound, "not_found")
			wantProblem(t, s.do(t, "DELETE", tm.path("members/"+id+"/"), nil, tm.owner.auth()), http.StatusNotFound, "not_found")
		}
	})

	t.Run("an ADMIN keeps a MEMBER a MEMBER", func(t *testing.T) {
		m := decode[memberBody](t, setRole(t, tm.admin, tm.member, "MEMBER"), http.StatusOK).Member
		if m.Role != "MEMBER" || m.UserID != tm.member.id {
			t.Errorf("member = %+v", m)
		}
	})

	t.Run("the OWNER promotes a MEMBER and demotes an ADMIN", func(t *testing.T) {
		res := setRole(t, tm.owner, tm.member, "ADMIN")
		wantKeys(t, decode[map[string]json.RawMessage](t, res, http.StatusOK)["member"], memberKeys...)
		if m := decode[memberBody](t, res, http.StatusOK).Member; m.Role != "ADMIN" || m.Email != tm.member.email {
			t.Errorf("promoted member = %+v", m)
		}
		// An upper-case id names the same member.
		decode[memberBody](t, s.do(t, "PATCH", tm.path("members/"+strings.ToUpper(tm.admin2.id)+"/"),
			map[string]string{"role": "MEMBER"}, tm.owner.auth()), http.StatusOK)
		roles := s.roles(t, tm.owner, "acme")
		if roles[tm.member.id] != "ADMIN" || roles[tm.admin2.id] != "MEMBER" {
			t.Errorf("roles = %v", roles)
		}
		events := s.auditEvents(t, auth.EventMemberRoleChanged)
		if len(events) != 2 || events[1].TargetID != tm.member.id || events[1].Metadata["from"] != "MEMBER" ||
			events[1].Metadata["to"] != "ADMIN" || events[1].OrgID != tm.org.ID {
			t.Errorf("member.role_changed events = %+v", events)
		}
	})

	t.Run("an ADMIN removes a MEMBER, who then cannot see the organisation", func(t *testing.T) {
		wantStatus(t, remove(t, tm.admin, tm.member2), http.StatusNoContent)
		wantProblem(t, s.do(t, "GET", tm.path(""), nil, tm.member2.auth()), http.StatusNotFound, "not_found")
		wantProblem(t, remove(t, tm.admin, tm.member2), http.StatusNotFound, "not_found")
		events := s.auditEvents(t, auth.EventMemberRemoved)
		if len(events) != 1 || events[0].TargetID != tm.member2.id || events[0].ActorID != tm.admin.id {
			t.Errorf("member.removed events = %+v", events)
		}
	})

	t.Run("the OWNER removes an ADMIN", func(t *testing.T) {
		wantStatus(t, remove(t, tm.owner, tm.admin), http.StatusNoContent)
		if _, ok := s.roles(t, tm.owner, "acme")[tm.admin.id]; ok {
			t.Error("the removed ADMIN is still a member")
		}
	})
}

func TestLeave(t *testing.T) {
	s := newStack(t)
	tm := s.newTeam(t, "acme")
	leave := func(t *testing.T, a actor) response { return s.do(t, "POST", tm.path("leave/"), nil, a.auth()) }

	t.Run("a MEMBER and an ADMIN leave", func(t *testing.T) {
		for _, a := range []actor{tm.member, tm.admin} {
			wantStatus(t, leave(t, a), http.StatusNoContent)
			wantProblem(t, s.do(t, "GET", tm.path(""), nil, a.auth()), http.StatusNotFound, "not_found")
		}
		events := s.auditEvents(t, auth.EventMemberLeft)
		if len(events) != 2 || events[1].ActorID != tm.member.id || events[1].TargetID != tm.member.id || events[1].OrgID != tm.org.ID {
			t.Errorf("member.left events = %+v", events)
		}
	})

	t.Run("leaving again is 404", func(t *testing.T) {
		wantProblem(t, leave(t, tm.member), http.StatusNotFound, "not_found")
	})

	t.Run("the OWNER cannot leave: 409 owner_cannot_leave", func(t *testing.T) {
		wantProblem(t, leave(t, tm.owner), http.StatusConflict, "owner_cannot_leave")
		if s.roles(t, tm.owner, "acme")[tm.owner.id] != "OWNER" {
			t.Error("the owner is gone")
		}
	})

	t.Run("a body that is not JSON is refused", func(t *testing.T) {
		wantProblem(t, s.do(t, "POST", tm.path("leave/"), "x", tm.member2.auth(), header("Content-Type", "text/plain")),
			http.StatusUnsupportedMediaType, "unsupported_media_type")
	})
}

func TestTransferOwnership(t *testing.T) {
	s := newStack(t)
	tm := s.newTeam(t, "acme")
	transfer := func(t *testing.T, by actor, body any) response {
		return s.do(t, "POST", tm.path("transfer-ownership/"), body, by.auth())
	}
	to := func(a actor) map[string]string { return map[string]string{"user_id": a.id} }

	t.Run("an ADMIN or a MEMBER may not transfer", func(t *testing.T) {
		wantProblem(t, transfer(t, tm.admin, to(tm.admin2)), http.StatusForbidden, "permission_denied")
		wantProblem(t, transfer(t, tm.member, to(tm.member2)), http.StatusForbidden, "permission_denied")
	})

	t.Run("the OWNER may not transfer to itself", func(t *testing.T) {
		wantProblem(t, transfer(t, tm.owner, to(tm.owner)), http.StatusForbidden, "permission_denied")
	})

	t.Run("a user who is not a member is 404", func(t *testing.T) {
		wantProblem(t, transfer(t, tm.owner, to(tm.outsider)), http.StatusNotFound, "not_found")
		wantProblem(t, transfer(t, tm.owner, map[string]string{"user_id": unknownID}),
			http.StatusNotFound, "not_found")
	})

	t.Run("a missing user_id is 400 on user_id, a wrong type 400 invalid_request", func(t *testing.T) {
		wantValidation(t, transfer(t, tm.owner, `{}`), "user_id")
		wantProblem(t, transfer(t, tm.owner, `{"user_id": 42}`), http.StatusBadRequest, "invalid_request")
	})

	t.Run("the OWNER transfers to a MEMBER and becomes an ADMIN", func(t *testing.T) {
		org := decode[orgBody](t, transfer(t, tm.owner, to(tm.member)), http.StatusOK).Org
		if org.OwnerID != tm.member.id || org.Role == nil || *org.Role != "ADMIN" || org.ID != tm.org.ID {
			t.Errorf("org = %+v, want owner %s and the caller's role ADMIN", org, tm.member.id)
		}
		roles := s.roles(t, tm.member, "acme")
		if roles[tm.member.id] != "OWNER" || roles[tm.owner.id] != "ADMIN" {
			t.Errorf("roles = %v", roles)
		}
		if o := decode[orgBody](t, s.do(t, "GET", tm.path(""), nil, tm.member.auth()), http.StatusOK).Org; o.OwnerID != tm.member.id || *o.Role != "OWNER" {
			t.Errorf("the new owner reads %+v", o)
		}
		events := s.auditEvents(t, auth.EventOwnershipTransferred)
		if len(events) != 1 || events[0].TargetID != tm.member.id || events[0].ActorID != tm.owner.id || events[0].OrgID != tm.org.ID {
			t.Errorf("org.ownership_transferred events = %+v", events)
		}
	})

	t.Run("the old OWNER has an ADMIN's rights only, and may now leave", func(t *testing.T) {
		wantProblem(t, transfer(t, tm.owner, to(tm.owner)), http.StatusForbidden, "permission_denied")
		wantProblem(t, s.do(t, "DELETE", tm.path(""), nil, tm.owner.auth()), http.StatusForbidden, "permission_denied")
		wantStatus(t, s.do(t, "POST", tm.path("leave/"), nil, tm.owner.auth()), http.StatusNoContent)
		wantProblem(t, s.do(t, "POST", tm.path("leave/"), nil, tm.member.auth()), http.StatusConflict, "owner_cannot_leave")
	})
}

func TestInvites(t *testing.T) {
	s := newStack(t)
	tm := s.newTeam(t, "acme")
	invite := func(t *testing.T, by actor, body any) response {
		return s.do(t, "POST", tm.path("invites/"), body, by.auth())
	}
	pending := func(t *testing.T) []inviteObject {
		return list[inviteObject](t, s, tm.owner, tm.path("invites/"), "invites")
	}

	var first inviteObject
	var firstToken string
	t.Run("the OWNER invites an ADMIN: 201, a mail with a link, a pending invite", func(t *testing.T) {
		res := invite(t, tm.owner, map[string]string{"email": " New@Example.com ", "role": "ADMIN"})
		wantKeys(t, decode[map[string]json.RawMessage](t, res, http.StatusCreated)["invite"], inviteKeys...)
		first = decode[inviteBody](t, res, http.StatusCreated).Invite
		if first.Email != "new@example.com" || first.Role != "ADMIN" || first.InvitedBy != tm.owner.id ||
			first.CreatedAt != clockStart || first.ExpiresAt != "2026-03-21T15:09:26Z" {
			t.Errorf("invite = %+v, want new@example.com as ADMIN by the owner, valid 7 days", first)
		}
		m := s.takeMail(t, "new@example.com")
		if !strings.Contains(m.Subject, "Org acme") {
			t.Errorf("subject %q does not name the organisation", m.Subject)
		}
		firstToken = linkToken(t, m, "/invites/accept")
		page := decodeList[inviteObject](t, s.do(t, "GET", tm.path("invites/"), nil, tm.admin.auth()), "invites")
		if len(page.items) != 1 || page.items[0] != first {
			t.Errorf("pending = %+v, want the invite", page.items)
		}
		wantKeys(t, page.raw[0], inviteKeys...)
		events := s.auditEvents(t, auth.EventMemberInvited)
		if e := events[0]; e.TargetType != auth.TargetInvite || e.TargetID != first.ID || e.OrgID != tm.org.ID || e.Metadata["role"] != "ADMIN" {
			t.Errorf("member.invited event = %+v", e)
		}
	})

	t.Run("an ADMIN invites MEMBERs only, a MEMBER nobody, nobody an OWNER", func(t *testing.T) {
		decode[inviteBody](t, invite(t, tm.admin, map[string]string{"email": "m1@example.com", "role": "MEMBER"}), http.StatusCreated)
		s.takeMail(t, "m1@example.com")
		for _, c := range []struct {
			by   actor
			role string
		}{{tm.admin, "ADMIN"}, {tm.admin, "OWNER"}, {tm.owner, "OWNER"}, {tm.member, "MEMBER"}} {
			wantProblem(t, invite(t, c.by, map[string]string{"email": "m2@example.com", "role": c.role}),
				http.StatusForbidden, "permission_denied")
		}
		s.wantNoMail(t, "m2@example.com")
		wantProblem(t, s.do(t, "GET", tm.path("invites/"), nil, tm.member.auth()), http.StatusForbidden, "permission_denied")
	})

	t.Run("inviting a member is 409 already_member", func(t *testing.T) {
		wantProblem(t, invite(t, tm.owner, map[string]string{"email": "ACME-member@example.com", "role": "MEMBER"}),
			http.StatusConflict, "already_member")
		s.wantNoMail(t, tm.member.email)
	})

	t.Run("a bad email or role is 400 on that field", func(t *testing.T) {
		wantValidation(t, invite(t, tm.owner, map[string]string{"email": "nope", "role": "MEMBER"}), "email")
		wantValidation(t, invite(t, tm.owner, map[string]string{"email": "x@example.com", "role": "KING"}), "role")
		wantValidation(t, invite(t, tm.owner, `{}`), "email", "role")
		wantProblem(t, invite(t, tm.owner, `{"email": "x@example.com", "role": ["MEMBER"]}`), http.StatusBadRequest, "invalid_request")
	})

	newcomer := s.newActor(t, "new@example.com", auth.RoleEndUser)
	t.Run("inviting again replaces the pending invite: the old token is 400 invalid_token", func(t *testing.T) {
		_, token := s.invite(t, tm.owner, "acme", "new@example.com", "MEMBER")
		var forNew []inviteObject
		for _, inv := range pending(t) {
			if inv.Email == "new@example.com" {
				forNew = append(forNew, inv)
			}
		}
		if len(forNew) != 1 || forNew[0].ID == first.ID || forNew[0].Role != "MEMBER" {
			t.Fatalf("pending invites of new@example.com = %+v, want only the new one", forNew)
		}
		wantProblem(t, s.accept(t, newcomer, firstToken), http.StatusBadRequest, "invalid_token")
		firstToken = token
	})

	t.Run("another user accepting is 403 invite_email_mismatch, and the invite stays usable", func(t *testing.T) {
		wantProblem(t, s.accept(t, tm.outsider, firstToken), http.StatusForbidden, "invite_email_mismatch")
		if _, ok := s.roles(t, tm.owner, "acme")[tm.outsider.id]; ok {
			t.Error("the outsider joined")
		}
	})

	t.Run("the invited user accepts: 200 {org, member}", func(t *testing.T) {
		res := s.accept(t, newcomer, firstToken)
		raw := decode[map[string]json.RawMessage](t, res, http.StatusOK)
		wantKeys(t, res.body, "org", "member")
		wantKeys(t, raw["org"], orgKeys...)
		wantKeys(t, raw["member"], memberKeys...)
		body := decode[acceptBody](t, res, http.StatusOK)
		if body.Org.ID != tm.org.ID || body.Org.Role == nil || *body.Org.Role != "MEMBER" || body.Org.OwnerID != tm.owner.id {
			t.Errorf("org = %+v", body.Org)
		}
		if m := body.Member; m.UserID != newcomer.id || m.Role != "MEMBER" || m.Email != "new@example.com" || m.JoinedAt != clockStart {
			t.Errorf("member = %+v", m)
		}
		decode[orgBody](t, s.do(t, "GET", tm.path(""), nil, newcomer.auth()), http.StatusOK)
		for _, inv := range pending(t) {
			if inv.Email == "new@example.com" {
				t.Errorf("the accepted invite is still pending: %+v", inv)
			}
		}
		events := s.auditEvents(t, auth.EventMemberJoined)
		if e := events[0]; e.ActorID != newcomer.id || e.TargetID != newcomer.id || e.OrgID != tm.org.ID {
			t.Errorf("member.joined event = %+v", e)
		}
	})

	t.Run("a used token is 400 invalid_token", func(t *testing.T) {
		wantProblem(t, s.accept(t, newcomer, firstToken), http.StatusBadRequest, "invalid_token")
	})

	t.Run("an unknown token is 400 invalid_token, a missing one 400 on token", func(t *testing.T) {
		wantProblem(t, s.accept(t, newcomer, "unknown"), http.StatusBadRequest, "invalid_token")
		wantValidation(t, s.do(t, "POST", "/api/v1/orgs/invites/accept/", `{}`, newcomer.auth()), "token")
	})

	t.Run("a revoked invite is gone and its token is 400 invalid_token", func(t *testing.T) {
		later := s.newActor(t, "later@example.com", auth.RoleEndUser)
		inv, token := s.invite(t, tm.admin, "acme", "later@example.com", "MEMBER")
		wantProblem(t, s.do(t, "DELETE", tm.path("invites/"+inv.ID+"/"), nil, tm.member.auth()), http.StatusForbidden, "permission_denied")
		wantStatus(t, s.do(t, "DELETE", tm.path("invites/"+strings.ToUpper(inv.ID)+"/"), nil, tm.admin.auth()), http.StatusNoContent)
		wantProblem(t, s.do(t, "DELETE", tm.path("invites/"+inv.ID+"/"), nil, tm.admin.auth()), http.StatusNotFound, "not_found")
		wantProblem(t, s.accept(t, later, token), http.StatusBadRequest, "invalid_token")
		for _, id := range []string{unknownID, "not-an-id"} {
			wantProblem(t, s.do(t, "DELETE", tm.path("invites/"+id+"/"), nil, tm.admin.auth()), http.StatusNotFound, "not_found")
		}
	})

	t.Run("an expired invite is 400 invalid_token and no longer pending", func(t *testing.T) {
		late := s.newActor(t, "late@example.com", auth.RoleEndUser)
		_, token := s.invite(t, tm.owner, "acme", "late@example.com", "MEMBER")
		s.clock.Advance(7*24*time.Hour + time.Second)
		late.access = s.login(t, late.email).Access
		tm.owner.access = s.login(t, tm.owner.email).Access
		wantProblem(t, s.accept(t, late, token), http.StatusBadRequest, "invalid_token")
		for _, inv := range pending(t) {
			t.Errorf("an expired invite is pending: %+v", inv)
		}
	})
}

func TestInviteThrottle(t *testing.T) {
	s := newStack(t, withLimits(auth.Limits{Invite: auth.Limit{Burst: 1, Period: time.Hour}}))
	ann := s.newActor(t, "ann@example.com", auth.RoleEndUser)
	s.createOrg(t, ann, "acme")
	s.invite(t, ann, "acme", "one@example.com", "MEMBER")
	res := s.do(t, "POST", "/api/v1/orgs/acme/invites/", map[string]string{"email": "two@example.com", "role": "MEMBER"}, ann.auth())
	wantProblem(t, res, http.StatusTooManyRequests, "throttled")
	if res.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
}

func TestOrgAudit(t *testing.T) {
	s := newStack(t)
	acme := s.newTeam(t, "acme")
	bolt := s.newTeam(t, "bolt")
	wantStatus(t, s.do(t, "POST", acme.path("leave/"), nil, acme.member2.auth()), http.StatusNoContent)

	t.Run("an ADMIN reads only its organisation's events, newest first", func(t *testing.T) {
		page := decodeList[auditEventObject](t, s.do(t, "GET", acme.path("audit/?limit=200"), nil, acme.admin.auth()), "events")
		// org.created, then an invite and a join for each of 4 members, then a leave.
		if len(page.items) != 10 {
			t.Fatalf("%d events, want 10: %+v", len(page.items), page.items)
		}
		for i, e := range page.items {
			wantKeys(t, page.raw[i], auditEventKeys...)
			if e.OrgID == nil || *e.OrgID != acme.org.ID {
				t.Errorf("event %s of org %v, want only %s", e.Event, e.OrgID, acme.org.ID)
			}
		}
		newest, oldest := page.items[0], page.items[len(page.items)-1]
		if newest.Event != auth.EventMemberLeft || oldest.Event != auth.EventOrgCreated {
			t.Errorf("newest %s, oldest %s; want member.left and org.created", newest.Event, oldest.Event)
		}
		if newest.Metadata == nil || len(newest.Metadata) != 0 || !strings.Contains(string(page.raw[0]), `"metadata":{}`) {
			t.Errorf("member.left metadata: %s, want {}", page.raw[0])
		}
		if *newest.ActorID != acme.member2.id || *newest.TargetType != "member" || *newest.TargetID != acme.member2.id ||
			newest.IP != "127.0.0.1" || newest.UserAgent == "" || newest.OccurredAt != clockStart {
			t.Errorf("member.left event = %s", page.raw[0])
		}
	})

	t.Run("the other organisation's events stay with it", func(t *testing.T) {
		for _, e := range list[auditEventObject](t, s, bolt.owner, bolt.path("audit/"), "events") {
			if *e.OrgID != bolt.org.ID {
				t.Errorf("bolt's audit holds %s of org %s", e.Event, *e.OrgID)
			}
		}
	})

	t.Run("a MEMBER may not read it", func(t *testing.T) {
		wantProblem(t, s.do(t, "GET", acme.path("audit/"), nil, acme.member.auth()), http.StatusForbidden, "permission_denied")
	})
}
