package httpapi_test

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	auth "github.com/authd/auth"
	"github.com/authd/auth/httpapi"
)

// routeCall is a request to one route of API.md's Organisations or
// Internal rows. Its body passes validation, so that only who asks decides
// the answer. The path and the body hold {placeholders} that a test fills
// in with callRoute.
type routeCall struct {
	route string // "METHOD /path/" under /api/v1, as in httpapi's route table
	body  string // JSON; "" for no body
}

// everyOrgAndInternalRoute has one call per route of the Organisations
// and Internal rows. TestEveryRouteIsCalled keeps it complete.
var everyOrgAndInternalRoute = []routeCall{
	{"POST /orgs/create/", `{"name": "Made Here"}`},
	{"GET /orgs/", ""},
	{"POST /orgs/invites/accept/", `{"token": "{token}"}`},
	{"GET /orgs/{slug}/", ""},
	{"PATCH /orgs/{slug}/", `{"name": "Renamed"}`},
	{"DELETE /orgs/{slug}/", ""},
	{"GET /orgs/{slug}/members/", ""},
	{"PATCH /orgs/{slug}/members/{user_id}/", `{"role": "MEMBER"}`},
	{"DELETE /orgs/{slug}/members/{user_id}/", ""},
	{"POST /orgs/{slug}/leave/", ""},
	{"POST /orgs/{slug}/transfer-ownership/", `{"user_id": "{user_id}"}`},
	{"POST /orgs/{slug}/invites/", `{"email": "newcomer@example.com", "role": "MEMBER"}`},
	{"GET /orgs/{slug}/invites/", ""},
	{"DELETE /orgs/{slug}/invites/{id}/", ""},
	{"GET /orgs/{slug}/audit/", ""},
	{"GET /internal/dashboard/", ""},
	{"GET /internal/users/", ""},
	{"GET /internal/users/{id}/", ""},
	{"PATCH /internal/users/{id}/", `{"name": "Renamed", "is_active": true, "role": "STAFF"}`},
	{"GET /internal/users/{id}/sessions/", ""},
	{"DELETE /internal/sessions/{id}/", ""},
	{"GET /internal/orgs/", ""},
	{"GET /internal/orgs/{slug}/", ""},
	{"GET /internal/audit/", ""},
	{"GET /internal/permissions/", ""},
	{"PUT /internal/permissions/{scope}/{role}/", `{"permissions": ["internal.dashboard.view", "internal.users.read", "internal.orgs.read"]}`},
}

// routesUnder returns the calls of every route whose path starts with
// prefix.
func routesUnder(prefix string) []routeCall {
	var out []routeCall
	for _, c := range everyOrgAndInternalRoute {
		if _, path, _ := strings.Cut(c.route, " "); strings.HasPrefix(path, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// callRoute sends c with each {name} in its path and body replaced by
// vars[name].
func (s *stack) callRoute(t *testing.T, c routeCall, vars map[string]string, opts ...requestOption) response {
	t.Helper()
	var pairs []string
	for k, v := range vars {
		pairs = append(pairs, "{"+k+"}", v)
	}
	fill := strings.NewReplacer(pairs...)
	method, path, _ := strings.Cut(c.route, " ")
	var body any
	if c.body != "" {
		body = fill.Replace(c.body)
	}
	return s.do(t, method, "/api/v1"+fill.Replace(path), body, opts...)
}

// TestEveryRouteIsCalled proves that everyOrgAndInternalRoute names every
// route of the Organisations and Internal rows, and nothing else, so that
// a new route cannot escape the tests driven by it.
func TestEveryRouteIsCalled(t *testing.T) {
	s := newStack(t)
	var served []string
	for _, r := range httpapi.Routes(httpapi.Config{Auth: s.auth, Orgs: s.orgs, Admin: s.admin}) {
		if _, path, _ := strings.Cut(r, " "); strings.HasPrefix(path, "/orgs/") || strings.HasPrefix(path, "/internal/") {
			served = append(served, r)
		}
	}
	var called []string
	for _, c := range everyOrgAndInternalRoute {
		called = append(called, c.route)
	}
	slices.Sort(served)
	slices.Sort(called)
	if !slices.Equal(served, called) {
		t.Errorf("routes served:\n%s\nroutes called by the tests:\n%s", strings.Join(served, "\n"), strings.Join(called, "\n"))
	}
	if n := len(slices.Compact(called)); n != len(everyOrgAndInternalRoute) {
		t.Errorf("a route is called twice")
	}
}

// TestScopesNeverBleed holds API.md's rule on every backend: global roles
// grant nothing inside an organisation, organisation roles nothing
// globally, and one organisation's roles nothing in another.
func TestScopesNeverBleed(t *testing.T) {
	for _, db := range databases {
		t.Run("on "+db.name, func(t *testing.T) {
			s := newStackOn(t, db)
			sys := s.newActor(t, "sys@example.com", auth.RoleSystemAdmin)
			ownerA := s.newActor(t, "owner-a@example.com", auth.RoleEndUser)
			memberA := s.newActor(t, "member-a@example.com", auth.RoleEndUser)
			ownerB := s.newActor(t, "owner-b@example.com", auth.RoleEndUser)
			adminB := s.newActor(t, "admin-b@example.com", auth.RoleEndUser) // a member of B only
			s.createOrg(t, ownerA, "alpha")
			s.join(t, ownerA, "alpha", memberA, "MEMBER")
			s.invite(t, ownerA, "alpha", "pending-a@example.com", "MEMBER")
			b := s.createOrg(t, ownerB, "bravo")
			s.join(t, ownerB, "bravo", adminB, "ADMIN")
			inviteB, _ := s.invite(t, ownerB, "bravo", "pending-b@example.com", "MEMBER")

			// bIntact checks that B, its members and its invite are as set up.
			bIntact := func(t *testing.T) {
				t.Helper()
				org := decode[orgBody](t, s.do(t, "GET", "/api/v1/orgs/bravo/", nil, ownerB.auth()), http.StatusOK).Org
				if org.Name != b.Name || org.OwnerID != ownerB.id {
					t.Errorf("org B = %+v, was %+v", org, b)
				}
				want := map[string]string{ownerB.id: "OWNER", adminB.id: "ADMIN"}
				if got := s.roles(t, ownerB, "bravo"); !maps.Equal(got, want) {
					t.Errorf("members of B = %v, want %v", got, want)
				}
				invites := list[inviteObject](t, s, ownerB, "/api/v1/orgs/bravo/invites/", "invites")
				if len(invites) != 1 || invites[0].ID != inviteB.ID {
					t.Errorf("invites of B = %+v, want %s still pending", invites, inviteB.ID)
				}
			}
			inB := map[string]string{"slug": "bravo", "user_id": adminB.id, "id": inviteB.ID}

			t.Run("a SYSTEM_ADMIN who is not a member gets 404 on every /orgs/{slug}/… route", func(t *testing.T) {
				for _, c := range routesUnder("/orgs/{slug}/") {
					wantProblem(t, s.callRoute(t, c, inB, sys.auth()), http.StatusNotFound, "not_found")
				}
				bIntact(t)
			})

			t.Run("the owner of org A gets 404 on every route of org B", func(t *testing.T) {
				for _, c := range routesUnder("/orgs/{slug}/") {
					wantProblem(t, s.callRoute(t, c, inB, ownerA.auth()), http.StatusNotFound, "not_found")
				}
				bIntact(t)
			})

			t.Run("B's member and invite ids through A's slug are 404", func(t *testing.T) {
				throughA := map[string]string{"slug": "alpha", "user_id": adminB.id, "id": inviteB.ID}
				var n int
				for _, c := range routesUnder("/orgs/{slug}/") {
					if !strings.Contains(c.route+c.body, "{user_id}") && !strings.Contains(c.route, "{id}") {
						continue
					}
					n++
					wantProblem(t, s.callRoute(t, c, throughA, ownerA.auth()), http.StatusNotFound, "not_found")
				}
				if n != 4 {
					t.Errorf("%d routes take a member or invite id, want 4", n)
				}
				bIntact(t)
				if got := s.roles(t, ownerA, "alpha"); got[ownerA.id] != "OWNER" || len(got) != 2 {
					t.Errorf("members of A = %v", got)
				}
			})

			t.Run("an organisation OWNER who is an END_USER gets 403 on every /internal/… route", func(t *testing.T) {
				// {id} is a user's id everywhere: on /internal/sessions/{id}/
				// too, as the permission is checked before any lookup.
				vars := map[string]string{"slug": "alpha", "id": memberA.id, "scope": "user", "role": "STAFF"}
				for _, c := range routesUnder("/internal/") {
					wantProblem(t, s.callRoute(t, c, vars, ownerA.auth()), http.StatusForbidden, "permission_denied")
				}
				if u := s.user(t, memberA.email); u.Name != "Test User" || u.Role != auth.RoleEndUser {
					t.Errorf("a refused PATCH changed the user: %+v", u)
				}
			})

			t.Run("each scope still grants its own", func(t *testing.T) {
				decode[map[string]any](t, s.do(t, "GET", "/api/v1/internal/orgs/bravo/", nil, sys.auth()), http.StatusOK)
				decode[orgBody](t, s.do(t, "GET", "/api/v1/orgs/alpha/", nil, ownerA.auth()), http.StatusOK)
			})
		})
	}
}

func TestOrgAndInternalRoutesNeedASession(t *testing.T) {
	s := newStack(t)
	ann := s.newActor(t, "ann@example.com", auth.RoleSystemAdmin)
	s.createOrg(t, ann, "acme")
	loggedOut := s.login(t, ann.email)
	wantStatus(t, s.do(t, "POST", "/api/v1/auth/logout/", nil, bearer(loggedOut.Access)), http.StatusNoContent)
	vars := map[string]string{"slug": "acme", "user_id": ann.id, "id": ann.id, "token": "x", "scope": "user", "role": "STAFF"}

	for _, c := range everyOrgAndInternalRoute {
		t.Run(c.route+" without a token or with a logged-out one is 401", func(t *testing.T) {
			wantProblem(t, s.callRoute(t, c, vars), http.StatusUnauthorized, "unauthenticated")
			wantProblem(t, s.callRoute(t, c, vars, bearer(loggedOut.Access)), http.StatusUnauthorized, "unauthenticated")
		})
	}
}

func TestWithoutOrgsAndAdmin(t *testing.T) {
	s := newStack(t)
	ann := s.newActor(t, "ann@example.com", auth.RoleSystemAdmin)
	s.createOrg(t, ann, "acme")
	h, err := httpapi.New(httpapi.Config{Auth: s.auth})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	authOnly := &stack{srv: srv}
	vars := map[string]string{"slug": "acme", "user_id": ann.id, "id": ann.id, "token": "x", "scope": "user", "role": "STAFF"}

	t.Run("every organisation and internal path is 404", func(t *testing.T) {
		for _, c := range everyOrgAndInternalRoute {
			wantProblem(t, authOnly.callRoute(t, c, vars, ann.auth()), http.StatusNotFound, "not_found")
		}
	})

	t.Run("the authentication endpoints are served", func(t *testing.T) {
		decode[userBody](t, authOnly.me(t, ann.access), http.StatusOK)
	})
}

func TestEveryListPages(t *testing.T) {
	s := newStack(t)
	sys := s.newActor(t, "sys@example.com", auth.RoleSystemAdmin)
	tm := s.newTeam(t, "acme")
	for _, slug := range []string{"acme-2", "acme-3"} {
		s.createOrg(t, tm.owner, slug)
	}
	for _, addr := range []string{"p1@example.com", "p2@example.com", "p3@example.com"} {
		s.invite(t, tm.owner, "acme", addr, "MEMBER")
	}
	for range 20 {
		s.login(t, sys.email) // the audit log grows past a page of 50
	}

	lists := []struct {
		name, path, key string
		reader          actor
	}{
		{"the caller's orgs", "/api/v1/orgs/", "orgs", tm.owner},
		{"an org's members", tm.path("members/"), "members", tm.owner},
		{"an org's invites", tm.path("invites/"), "invites", tm.owner},
		{"an org's audit", tm.path("audit/"), "events", tm.owner},
		{"internal users", "/api/v1/internal/users/", "users", sys},
		{"internal orgs", "/api/v1/internal/orgs/", "orgs", sys},
		{"internal audit", "/api/v1/internal/audit/", "events", sys},
	}
	for _, l := range lists {
		get := func(t *testing.T, query string) response {
			return s.do(t, "GET", l.path+"?"+query, nil, l.reader.auth())
		}
		total := len(decodeList[any](t, get(t, "limit=200"), l.key).raw)

		t.Run(l.name+": pages follow next_cursor to the end, without gaps or repeats", func(t *testing.T) {
			var whole []string
			for _, raw := range decodeList[any](t, get(t, "limit=200"), l.key).raw {
				whole = append(whole, string(raw))
			}
			if len(whole) < 3 {
				t.Fatalf("%d items: too few to page", len(whole))
			}
			var paged []string
			query := "limit=2"
			for range len(whole) {
				page := decodeList[any](t, get(t, query), l.key)
				if len(page.raw) > 2 || len(page.raw) == 0 {
					t.Fatalf("a page of %d items, want 1 or 2", len(page.raw))
				}
				for _, raw := range page.raw {
					paged = append(paged, string(raw))
				}
				if page.next == nil {
					break
				}
				query = "limit=2&cursor=" + *page.next
			}
			if !slices.Equal(paged, whole) {
				t.Errorf("the pages hold:\n%s\nthe whole list:\n%s", strings.Join(paged, "\n"), strings.Join(whole, "\n"))
			}
		})

		t.Run(l.name+": a page holds 50 when no limit is given", func(t *testing.T) {
			page := decodeList[any](t, get(t, ""), l.key)
			if len(page.raw) != min(total, 50) || (page.next != nil) != (total > 50) {
				t.Errorf("%d items of %d, next %v", len(page.raw), total, page.next)
			}
		})

		t.Run(l.name+": limit must be an integer from 1 to 200", func(t *testing.T) {
			for _, limit := range []string{"0", "201", "-1", "x", "1.5", "1e2"} {
				wantValidation(t, get(t, "limit="+limit), "limit")
			}
			decodeList[any](t, get(t, "limit=1"), l.key)
		})

		t.Run(l.name+": a cursor it did not give is 400 on cursor", func(t *testing.T) {
			wantValidation(t, get(t, "cursor=not-a-cursor"), "cursor")
		})
	}
}
