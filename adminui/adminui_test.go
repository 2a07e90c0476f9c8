package adminui_test

import (
	"context"
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
	"github.com/authd/auth/adminui"
)

func TestNewRejectsAnIncompleteConfig(t *testing.T) {
	s := newStack(t)
	for _, tc := range []struct {
		name string
		cfg  adminui.Config
	}{
		{"without an Authenticator", adminui.Config{Admin: s.admin}},
		{"without an Admin", adminui.Config{Auth: s.auth}},
		{"with a prefix ending in a slash", adminui.Config{Auth: s.auth, Admin: s.admin, Prefix: "/admin/"}},
		{"with a relative prefix", adminui.Config{Auth: s.auth, Admin: s.admin, Prefix: "admin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := adminui.New(tc.cfg); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}

func TestEveryResponseCarriesTheSecurityHeaders(t *testing.T) {
	s := newStack(t)
	pc := s.signIn(t, s.root.Email)
	anon := s.newPanelClient(t)
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; " +
			"frame-ancestors 'none'; base-uri 'none'",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"X-Frame-Options":        "DENY",
	}
	css := regexp.MustCompile(`href="(/admin/static/admin\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(pc.get(t, "/admin/").body)
	if css == nil {
		t.Fatal("the page links no stylesheet")
	}
	for _, tc := range []struct {
		name   string
		client *panelClient
		method string
		path   string
		status int
	}{
		{"the sign-in page", anon, http.MethodGet, "/admin/login/", http.StatusOK},
		{"a redirect to sign in", anon, http.MethodGet, "/admin/users/", http.StatusSeeOther},
		{"the dashboard", pc, http.MethodGet, "/admin/", http.StatusOK},
		{"the stylesheet", pc, http.MethodGet, css[1], http.StatusOK},
		{"an unknown page", pc, http.MethodGet, "/admin/nothing-here/", http.StatusNotFound},
		{"a refused POST", pc, http.MethodPost, "/admin/logout/", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := tc.client.do(t, tc.method, tc.path, nil, nil)
			if resp.status != tc.status {
				t.Fatalf("%s %s = %d, want %d", tc.method, tc.path, resp.status, tc.status)
			}
			for k, v := range want {
				if got := resp.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
	t.Run("pages hold no script, inline style or external resource", func(t *testing.T) {
		body := pc.get(t, "/admin/").body
		for _, bad := range []string{"<script", "style=", "onclick", "javascript:", "http://", "https://"} {
			if strings.Contains(body, bad) {
				t.Errorf("the dashboard contains %q", bad)
			}
		}
	})
}

func TestSignIn(t *testing.T) {
	s := newStack(t)
	staff := s.newUser(t, "sam@example.com", "Sam Staff", auth.RoleStaff)
	endUser := s.newUser(t, "eve@example.com", "Eve User", auth.RoleEndUser)

	t.Run("a wrong password is refused like the API refuses it", func(t *testing.T) {
		resp := s.newPanelClient(t).tryLogin(t, staff.Email, "not the password at all", nil)
		if resp.status != http.StatusUnauthorized || !strings.Contains(resp.body, "not correct") {
			t.Fatalf("status %d, body:\n%s", resp.status, resp.body)
		}
		if sessionCookie(resp) != nil {
			t.Fatal("a session cookie was set")
		}
	})
	t.Run("a user without internal.dashboard.view cannot enter and keeps no session", func(t *testing.T) {
		pc := s.newPanelClient(t)
		resp := pc.tryLogin(t, endUser.Email, testPassword, nil)
		if resp.status != http.StatusForbidden || !strings.Contains(resp.body, "no access to the admin panel") {
			t.Fatalf("status %d, body:\n%s", resp.status, resp.body)
		}
		if sessionCookie(resp) != nil {
			t.Fatal("a session cookie was set")
		}
		active, err := s.store.ActiveSessions(context.Background(), endUser.ID, s.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(active) != 0 {
			t.Fatalf("the refused login left %d active sessions", len(active))
		}
		if got := pc.get(t, "/admin/"); got.status != http.StatusSeeOther {
			t.Fatalf("GET /admin/ after a refused sign-in = %d, want 303", got.status)
		}
	})
	t.Run("a sign-in form without its token is refused", func(t *testing.T) {
		pc := s.newPanelClient(t)
		form := url.Values{"email": {staff.Email}, "password": {testPassword}, "csrf": {"forged"}}
		resp := pc.do(t, http.MethodPost, "/admin/login/", strings.NewReader(form.Encode()), nil)
		if resp.status != http.StatusForbidden {
			t.Fatalf("status %d, want 403", resp.status)
		}
	})
	t.Run("staff get a strict HttpOnly cookie scoped to the panel, not Secure over HTTP", func(t *testing.T) {
		pc := s.newPanelClient(t)
		resp := pc.tryLogin(t, staff.Email, testPassword, nil)
		c := sessionCookie(resp)
		if resp.status != http.StatusSeeOther || c == nil {
			t.Fatalf("status %d, cookie %v", resp.status, c)
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/admin/" || c.Secure || c.MaxAge != 0 {
			t.Fatalf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/admin/, not Secure, a browser-session cookie", c)
		}
		if len(c.Value) != 43 {
			t.Fatalf("the session id %q is not 32 random bytes in base64url", c.Value)
		}
		if got := pc.get(t, "/admin/"); got.status != http.StatusOK {
			t.Fatalf("GET /admin/ = %d", got.status)
		}
	})
	t.Run("the panel returns to the page asked for, never to another site", func(t *testing.T) {
		for next, want := range map[string]string{
			"/admin/users/?q=sam":   "/admin/users/?q=sam",
			"https://evil.example/": "/admin/",
			"//evil.example/admin/": "/admin/",
			"/api/v1/auth/me/":      "/admin/",
			"/admin/../api/v1/":     "/admin/",
			`/\evil.example/`:       "/admin/",
		} {
			resp := s.newPanelClient(t).tryLogin(t, staff.Email, testPassword, url.Values{"next": {next}})
			if got := resp.header.Get("Location"); resp.status != http.StatusSeeOther || got != want {
				t.Errorf("next=%q: %d to %q, want 303 to %q", next, resp.status, got, want)
			}
		}
	})
	t.Run("a page asked for while signed out is where signing in leads", func(t *testing.T) {
		resp := s.newPanelClient(t).get(t, "/admin/orgs/?q=acme")
		loc, err := url.Parse(resp.header.Get("Location"))
		if err != nil || resp.status != http.StatusSeeOther || loc.Path != "/admin/login/" || loc.Query().Get("next") != "/admin/orgs/?q=acme" {
			t.Fatalf("%d to %q", resp.status, resp.header.Get("Location"))
		}
	})
}

func TestTheSessionCookieIsSecureOverHTTPS(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []stackOption
		headers map[string]string
		secure  bool
	}{
		{"behind a trusted proxy that says HTTPS", []stackOption{withTrustedProxies("127.0.0.0/8", "::1/128")},
			map[string]string{"X-Forwarded-Proto": "https"}, true},
		{"not when an untrusted peer says HTTPS", nil, map[string]string{"X-Forwarded-Proto": "https"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, tc.opts...)
			pc := s.newPanelClient(t)
			page := pc.do(t, http.MethodGet, "/admin/login/", nil, tc.headers)
			form := url.Values{"email": {s.root.Email}, "password": {testPassword}, "csrf": {formToken(t, page.body)}}
			// The jar keeps only non-Secure cookies over http, so send the
			// form token's cookie by hand.
			hdr := map[string]string{"Cookie": "authd_admin_login=" + formToken(t, page.body)}
			for k, v := range tc.headers {
				hdr[k] = v
			}
			resp := pc.do(t, http.MethodPost, "/admin/login/", strings.NewReader(form.Encode()), hdr)
			c := sessionCookie(resp)
			if c == nil || c.Secure != tc.secure {
				t.Fatalf("status %d, cookie %+v, want Secure=%v", resp.status, c, tc.secure)
			}
		})
	}
}

func TestSignInIsThrottledLikeTheAPI(t *testing.T) {
	s := newStack(t, withLimits(auth.Limits{Login: auth.Limit{Burst: 2, Period: time.Minute}}))
	pc := s.newPanelClient(t)
	for i := range 2 {
		if resp := pc.tryLogin(t, s.root.Email, "a wrong password, try "+string(rune('a'+i)), nil); resp.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d = %d, want 401", i+1, resp.status)
		}
	}
	resp := pc.tryLogin(t, s.root.Email, testPassword, nil)
	if resp.status != http.StatusTooManyRequests || resp.header.Get("Retry-After") == "" || !strings.Contains(resp.body, "Too many sign-in attempts") {
		t.Fatalf("third attempt = %d (Retry-After %q), want 429:\n%s", resp.status, resp.header.Get("Retry-After"), resp.body)
	}
	if sessionCookie(resp) != nil {
		t.Fatal("a throttled sign-in set a session cookie")
	}
}

// seedDirectory adds an organisation with a pending invite and a user with
// an SSO identity and a session, for the page tests.
func seedDirectory(t *testing.T, s *stack) (target auth.User, org auth.Org, sessionID string) {
	t.Helper()
	ctx := context.Background()
	target = s.newUser(t, "olga@example.com", "Olga Owner", auth.RoleEndUser)
	m, err := s.orgs.Create(ctx, seedClient, auth.Principal{UserID: target.ID}, "Acme Rockets", "acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.orgs.Invite(ctx, seedClient, auth.Principal{UserID: target.ID}, "acme", "newbie@example.com", auth.OrgMember); err != nil {
		t.Fatal(err)
	}
	if err := s.store.CreateIdentity(ctx, auth.Identity{UserID: target.ID, Provider: "github", Subject: "octo-4242",
		Email: target.Email, CreatedAt: s.clock.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	tok := s.login(t, seedClient, target.Email)
	return target, m.Org, tok.SessionID
}

func TestPagesArePermissionGated(t *testing.T) {
	s := newStack(t)
	target, org, sessionID := seedDirectory(t, s)
	s.newUser(t, "sam@example.com", "Sam Staff", auth.RoleStaff)
	s.newUser(t, "dora@example.com", "Dora Data", auth.RoleDataAdmin)
	clients := map[auth.GlobalRole]*panelClient{
		auth.RoleStaff:       s.signIn(t, "sam@example.com"),
		auth.RoleDataAdmin:   s.signIn(t, "dora@example.com"),
		auth.RoleSystemAdmin: s.signIn(t, s.root.Email),
	}
	const ok, forbidden = http.StatusOK, http.StatusForbidden
	pages := []struct {
		path string
		want map[auth.GlobalRole]int
	}{
		{"/admin/", map[auth.GlobalRole]int{auth.RoleStaff: ok, auth.RoleDataAdmin: ok, auth.RoleSystemAdmin: ok}},
		{"/admin/users/?q=olga", map[auth.GlobalRole]int{auth.RoleStaff: ok, auth.RoleDataAdmin: ok, auth.RoleSystemAdmin: ok}},
		{"/admin/users/" + target.ID + "/", map[auth.GlobalRole]int{auth.RoleStaff: ok, auth.RoleDataAdmin: ok, auth.RoleSystemAdmin: ok}},
		{"/admin/orgs/", map[auth.GlobalRole]int{auth.RoleStaff: ok, auth.RoleDataAdmin: ok, auth.RoleSystemAdmin: ok}},
		{"/admin/orgs/" + org.Slug + "/", map[auth.GlobalRole]int{auth.RoleStaff: ok, auth.RoleDataAdmin: ok, auth.RoleSystemAdmin: ok}},
		{"/admin/identities/", map[auth.GlobalRole]int{auth.RoleStaff: ok, auth.RoleDataAdmin: ok, auth.RoleSystemAdmin: ok}},
		{"/admin/audit/", map[auth.GlobalRole]int{auth.RoleStaff: forbidden, auth.RoleDataAdmin: ok, auth.RoleSystemAdmin: ok}},
		{"/admin/permissions/", map[auth.GlobalRole]int{auth.RoleStaff: forbidden, auth.RoleDataAdmin: forbidden, auth.RoleSystemAdmin: ok}},
	}
	for _, pg := range pages {
		for role, want := range pg.want {
			t.Run(string(role)+" GET "+pg.path, func(t *testing.T) {
				if got := clients[role].get(t, pg.path); got.status != want {
					t.Fatalf("status %d, want %d", got.status, want)
				}
			})
		}
	}

	actions := []struct {
		name string
		path string
		form url.Values
		want map[auth.GlobalRole]int
	}{
		{"change a role", "/admin/users/" + target.ID + "/role/", url.Values{"role": {"STAFF"}},
			map[auth.GlobalRole]int{auth.RoleStaff: forbidden, auth.RoleDataAdmin: forbidden}},
		{"disable a user", "/admin/users/" + target.ID + "/active/", url.Values{"active": {"false"}},
			map[auth.GlobalRole]int{auth.RoleStaff: forbidden, auth.RoleDataAdmin: forbidden}},
		{"revoke a session", "/admin/sessions/" + sessionID + "/revoke/", url.Values{"user_id": {target.ID}},
			map[auth.GlobalRole]int{auth.RoleStaff: forbidden, auth.RoleDataAdmin: forbidden}},
		{"edit a permission mapping", "/admin/permissions/user/STAFF/", url.Values{"permission": {"internal.audit.read"}},
			map[auth.GlobalRole]int{auth.RoleStaff: forbidden, auth.RoleDataAdmin: forbidden}},
	}
	for _, a := range actions {
		for role, want := range a.want {
			t.Run(string(role)+" may not "+a.name, func(t *testing.T) {
				if got := clients[role].post(t, a.path, a.form); got.status != want {
					t.Fatalf("status %d, want %d", got.status, want)
				}
			})
		}
	}
	t.Run("nothing changed", func(t *testing.T) {
		u, err := s.store.UserByID(context.Background(), target.ID)
		if err != nil {
			t.Fatal(err)
		}
		sess, err := s.store.SessionByID(context.Background(), sessionID)
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.admin.Permissions(context.Background(), s.rootPrincipal())
		if err != nil {
			t.Fatal(err)
		}
		if u.Role != auth.RoleEndUser || !u.IsActive || !sess.RevokedAt.IsZero() || slices.Contains(m.UserRoles[auth.RoleStaff], auth.PermAuditRead) {
			t.Fatalf("a refused action took effect: %+v, revoked %v, STAFF %v", u, sess.RevokedAt, m.UserRoles[auth.RoleStaff])
		}
	})
}

func TestNavigationAndControlsFollowThePermissions(t *testing.T) {
	s := newStack(t)
	target, _, _ := seedDirectory(t, s)
	s.newUser(t, "sam@example.com", "Sam Staff", auth.RoleStaff)
	s.newUser(t, "dora@example.com", "Dora Data", auth.RoleDataAdmin)
	page := func(email string) string {
		return s.signIn(t, email).get(t, "/admin/users/"+target.ID+"/").body
	}
	for _, tc := range []struct {
		who        string
		email      string
		present    []string
		notPresent []string
	}{
		{"STAFF views without edit controls", "sam@example.com",
			[]string{`href="/admin/users/"`, `href="/admin/orgs/"`, `id="read-only-note"`, "octo-4242", "Acme Rockets"},
			[]string{`href="/admin/audit/"`, `href="/admin/permissions/"`, `id="role-form"`, `id="active-form"`, "/revoke/", `id="sessions-table"`}},
		{"DATA_ADMIN sees sessions and the audit log, still without edit controls", "dora@example.com",
			[]string{`href="/admin/audit/"`, `id="sessions-table"`, `id="read-only-note"`},
			[]string{`href="/admin/permissions/"`, `id="role-form"`, `id="active-form"`, "/revoke/"}},
		{"SYSTEM_ADMIN gets every control", s.root.Email,
			[]string{`href="/admin/permissions/"`, `id="role-form"`, `id="active-form"`, "/revoke/"},
			[]string{`id="read-only-note"`}},
	} {
		t.Run(tc.who, func(t *testing.T) {
			body := page(tc.email)
			for _, p := range tc.present {
				if !strings.Contains(body, p) {
					t.Errorf("the page lacks %s", p)
				}
			}
			for _, p := range tc.notPresent {
				if strings.Contains(body, p) {
					t.Errorf("the page contains %s", p)
				}
			}
		})
	}
	t.Run("nobody is offered to change their own role", func(t *testing.T) {
		body := s.signIn(t, s.root.Email).get(t, "/admin/users/"+s.root.ID+"/").body
		if strings.Contains(body, `id="role-form"`) || strings.Contains(body, `id="active-form"`) {
			t.Fatal("the superuser's own page offers to change its role or disable it")
		}
	})
}

func TestEveryFormNeedsTheSessionsCSRFToken(t *testing.T) {
	s := newStack(t)
	target := s.newUser(t, "olga@example.com", "Olga Owner", auth.RoleEndUser)
	pc := s.signIn(t, s.root.Email)
	other := s.signIn(t, s.root.Email)
	path := "/admin/users/" + target.ID + "/role/"
	for _, tc := range []struct {
		name  string
		token []string
	}{
		{"a missing token", nil},
		{"an empty token", []string{""}},
		{"a forged token", []string{"forged-" + pc.csrf[7:]}},
		{"the token of another session", []string{other.csrf}},
	} {
		t.Run(tc.name+" is 403", func(t *testing.T) {
			form := url.Values{"role": {"STAFF"}}
			if tc.token != nil {
				form["csrf"] = tc.token
			} else {
				resp := pc.do(t, http.MethodPost, path, strings.NewReader(form.Encode()), nil)
				if resp.status != http.StatusForbidden {
					t.Fatalf("status %d, want 403", resp.status)
				}
				return
			}
			if resp := pc.post(t, path, form); resp.status != http.StatusForbidden || !strings.Contains(resp.body, "security token") {
				t.Fatalf("status %d, want 403:\n%s", resp.status, resp.body)
			}
		})
	}
	t.Run("a cross-site POST is 403 even with the token", func(t *testing.T) {
		form := url.Values{"role": {"STAFF"}, "csrf": {pc.csrf}}
		resp := pc.do(t, http.MethodPost, path, strings.NewReader(form.Encode()), map[string]string{"Sec-Fetch-Site": "cross-site"})
		if resp.status != http.StatusForbidden {
			t.Fatalf("status %d, want 403", resp.status)
		}
	})
	if got := s.role(t, target.ID); got != auth.RoleEndUser {
		t.Fatalf("a refused form changed the role to %s", got)
	}
	t.Run("the right token works", func(t *testing.T) {
		resp := pc.post(t, path, url.Values{"role": {"STAFF"}})
		if resp.status != http.StatusSeeOther || resp.header.Get("Location") != "/admin/users/"+target.ID+"/" {
			t.Fatalf("status %d to %q", resp.status, resp.header.Get("Location"))
		}
		if got := s.role(t, target.ID); got != auth.RoleStaff {
			t.Fatalf("role %s, want STAFF", got)
		}
		if page := pc.get(t, "/admin/users/"+target.ID+"/"); !strings.Contains(page.body, "is now STAFF") {
			t.Fatal("no success message after the change")
		}
	})
}

func TestTheAuditLogCannotBeChanged(t *testing.T) {
	s := newStack(t)
	pc := s.signIn(t, s.root.Email)
	events, _, err := s.admin.Audit(context.Background(), s.rootPrincipal(), auth.AuditFilter{}, auth.Page{Limit: 1})
	if err != nil || len(events) == 0 {
		t.Fatalf("no audit event to aim at: %v", err)
	}
	id := events[0].ID
	paths := []string{"/admin/audit/", "/admin/audit/" + id + "/", "/admin/audit/" + id + "/delete/", "/admin/audit/" + id + "/edit/"}
	for _, path := range paths {
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			t.Run(method+" "+path, func(t *testing.T) {
				form := url.Values{"csrf": {pc.csrf}, "event": {"forged"}}
				resp := pc.do(t, method, path, strings.NewReader(form.Encode()), nil)
				if resp.status != http.StatusMethodNotAllowed && resp.status != http.StatusNotFound {
					t.Fatalf("status %d, want 405 or 404", resp.status)
				}
			})
		}
	}
	t.Run("the audit page has no form that writes", func(t *testing.T) {
		body := pc.get(t, "/admin/audit/").body
		forms := regexp.MustCompile(`<form[^>]*method="post"[^>]*action="([^"]*)"`).FindAllStringSubmatch(body, -1)
		for _, f := range forms {
			if f[1] != "/admin/logout/" {
				t.Errorf("the audit page posts to %s", f[1])
			}
		}
		tmpl, err := os.ReadFile(filepath.Join("templates", "audit.html"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.ToLower(string(tmpl)), "post") {
			t.Error("the audit template has a POST form")
		}
	})
	t.Run("the events are unchanged", func(t *testing.T) {
		again, _, err := s.admin.Audit(context.Background(), s.rootPrincipal(), auth.AuditFilter{Event: events[0].Event}, auth.Page{Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(again, func(e auth.AuditEvent) bool { return e.ID == id }) {
			t.Fatal("the event is gone")
		}
	})
}

func TestAuditFilters(t *testing.T) {
	s := newStack(t)
	target, org, _ := seedDirectory(t, s)
	pc := s.signIn(t, s.root.Email)
	t.Run("by event", func(t *testing.T) {
		body := pc.get(t, "/admin/audit/?event=member.invited").body
		if !strings.Contains(body, "newbie@example.com") || strings.Contains(body, ">auth.login<") {
			t.Fatalf("the filter does not select member.invited alone:\n%s", body)
		}
	})
	t.Run("by actor and organisation", func(t *testing.T) {
		body := pc.get(t, "/admin/audit/?actor_id="+target.ID+"&org_id="+org.ID).body
		if !strings.Contains(body, ">org.created<") || strings.Contains(body, ">auth.login<") {
			t.Fatal("the filters do not select the organisation's events by its owner")
		}
	})
	t.Run("by time", func(t *testing.T) {
		future := s.clock.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04")
		body := pc.get(t, "/admin/audit/?since="+future).body
		if !strings.Contains(body, "No event matches") {
			t.Fatal("events from the future were listed")
		}
	})
	t.Run("a time that does not parse is explained", func(t *testing.T) {
		resp := pc.get(t, "/admin/audit/?since=yesterday")
		if resp.status != http.StatusBadRequest || !strings.Contains(resp.body, "as a date and time in UTC") {
			t.Fatalf("status %d", resp.status)
		}
	})
	t.Run("pages follow the cursor", func(t *testing.T) {
		for range 55 {
			s.login(t, seedClient, target.Email)
		}
		first := pc.get(t, "/admin/audit/?event=auth.login")
		link := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(first.body)
		if link == nil {
			t.Fatal("no next page after 50 events")
		}
		second := pc.get(t, strings.ReplaceAll(link[1], "&amp;", "&"))
		if second.status != http.StatusOK || !strings.Contains(second.body, "First page") {
			t.Fatalf("next page = %d", second.status)
		}
	})
}

func TestPermissionMappings(t *testing.T) {
	s := newStack(t)
	pc := s.signIn(t, s.root.Email)
	mappings := func() auth.Mappings {
		m, err := s.admin.Permissions(context.Background(), s.rootPrincipal())
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	flash := func() string {
		return regexp.MustCompile(`class="flash flash-(\w+)"[^>]*>([^<]*)<`).FindString(pc.get(t, "/admin/permissions/").body)
	}
	t.Run("a role's column is saved", func(t *testing.T) {
		perms := url.Values{"permission": {"internal.dashboard.view", "internal.users.read", "internal.orgs.read", "internal.audit.read"}}
		if resp := pc.post(t, "/admin/permissions/user/STAFF/", perms); resp.status != http.StatusSeeOther {
			t.Fatalf("status %d", resp.status)
		}
		if f := flash(); !strings.Contains(f, "success") {
			t.Fatalf("message %q", f)
		}
		if !slices.Contains(mappings().UserRoles[auth.RoleStaff], auth.PermAuditRead) {
			t.Fatal("STAFF did not get internal.audit.read")
		}
	})
	t.Run("SYSTEM_ADMIN keeps internal.permissions.manage", func(t *testing.T) {
		resp := pc.post(t, "/admin/permissions/user/SYSTEM_ADMIN/", url.Values{"permission": {"internal.dashboard.view"}})
		if resp.status != http.StatusSeeOther {
			t.Fatalf("status %d", resp.status)
		}
		if f := flash(); !strings.Contains(f, "error") || !strings.Contains(f, "SYSTEM_ADMIN must keep") {
			t.Fatalf("message %q", f)
		}
		if !slices.Contains(mappings().UserRoles[auth.RoleSystemAdmin], auth.PermPermissionsManage) {
			t.Fatal("SYSTEM_ADMIN lost internal.permissions.manage")
		}
	})
	t.Run("a permission of the other scope is refused", func(t *testing.T) {
		pc.post(t, "/admin/permissions/org/MEMBER/", url.Values{"permission": {"internal.audit.read"}})
		if f := flash(); !strings.Contains(f, "error") {
			t.Fatalf("message %q", f)
		}
	})
	t.Run("an organisation role is edited too", func(t *testing.T) {
		pc.post(t, "/admin/permissions/org/MEMBER/", url.Values{"permission": {"org.view"}})
		if got := mappings().OrgRoles[auth.OrgMember]; !slices.Equal(got, []auth.Permission{auth.PermOrgView}) {
			t.Fatalf("MEMBER has %v", got)
		}
	})
}

func TestUserActions(t *testing.T) {
	s := newStack(t)
	target, _, sessionID := seedDirectory(t, s)
	pc := s.signIn(t, s.root.Email)
	t.Run("revoking a session", func(t *testing.T) {
		resp := pc.post(t, "/admin/sessions/"+sessionID+"/revoke/", url.Values{"user_id": {target.ID}})
		if resp.status != http.StatusSeeOther || resp.header.Get("Location") != "/admin/users/"+target.ID+"/" {
			t.Fatalf("status %d to %q", resp.status, resp.header.Get("Location"))
		}
		sess, err := s.store.SessionByID(context.Background(), sessionID)
		if err != nil || sess.RevokedAt.IsZero() {
			t.Fatalf("the session was not revoked (%v)", err)
		}
		pc.post(t, "/admin/sessions/"+sessionID+"/revoke/", url.Values{"user_id": {target.ID}})
		if body := pc.get(t, "/admin/users/"+target.ID+"/").body; !strings.Contains(body, "already ended") {
			t.Fatal("revoking twice is not explained")
		}
	})
	t.Run("disabling and enabling", func(t *testing.T) {
		s.login(t, seedClient, target.Email)
		pc.post(t, "/admin/users/"+target.ID+"/active/", url.Values{"active": {"false"}})
		u, _ := s.store.UserByID(context.Background(), target.ID)
		active, _ := s.store.ActiveSessions(context.Background(), target.ID, s.clock.Now())
		if u.IsActive || len(active) != 0 {
			t.Fatalf("active %v with %d sessions after disabling", u.IsActive, len(active))
		}
		pc.post(t, "/admin/users/"+target.ID+"/active/", url.Values{"active": {"true"}})
		if u, _ := s.store.UserByID(context.Background(), target.ID); !u.IsActive {
			t.Fatal("enabling did not work")
		}
	})
	t.Run("an invalid role is explained", func(t *testing.T) {
		pc.post(t, "/admin/users/"+target.ID+"/role/", url.Values{"role": {"EMPEROR"}})
		if body := pc.get(t, "/admin/users/"+target.ID+"/").body; !strings.Contains(body, "Choose one of the roles") {
			t.Fatal("no message for an invalid role")
		}
	})
	t.Run("an unknown user is 404", func(t *testing.T) {
		if resp := pc.get(t, "/admin/users/0b5c2c52-47d4-4b4e-9d37-6b2f3f0b2a11/"); resp.status != http.StatusNotFound {
			t.Fatalf("status %d", resp.status)
		}
	})
}

func TestPanelSessions(t *testing.T) {
	s := newStack(t)
	staff := s.newUser(t, "sam@example.com", "Sam Staff", auth.RoleStaff)
	authdSession := func(t *testing.T, userID string) auth.Session {
		t.Helper()
		list, err := s.store.ActiveSessions(context.Background(), userID, s.clock.Now())
		if err != nil || len(list) != 1 {
			t.Fatalf("%d active sessions (%v), want 1", len(list), err)
		}
		return list[0]
	}
	expectLogin := func(t *testing.T, pc *panelClient, notice string) {
		t.Helper()
		resp := pc.get(t, "/admin/")
		if resp.status != http.StatusSeeOther || resp.header.Get("Location") != "/admin/login/?notice="+notice {
			t.Fatalf("GET /admin/ = %d to %q, want the sign-in page (%s)", resp.status, resp.header.Get("Location"), notice)
		}
	}
	t.Run("activity keeps a session alive past the access token's lifetime", func(t *testing.T) {
		pc := s.signIn(t, staff.Email)
		for range 4 {
			s.clock.Advance(6 * time.Minute)
			if resp := pc.get(t, "/admin/"); resp.status != http.StatusOK {
				t.Fatalf("status %d after 6 idle minutes", resp.status)
			}
		}
		pc.post(t, "/admin/logout/", nil)
	})
	t.Run("an idle session ends and its authd session is revoked", func(t *testing.T) {
		pc := s.signIn(t, staff.Email)
		sess := authdSession(t, staff.ID)
		s.clock.Advance(16 * time.Minute)
		expectLogin(t, pc, "expired")
		if got, _ := s.store.SessionByID(context.Background(), sess.ID); got.RevokedAt.IsZero() {
			t.Fatal("the authd session of an idle panel session was not revoked")
		}
	})
	t.Run("signing out revokes the authd session", func(t *testing.T) {
		pc := s.signIn(t, staff.Email)
		sess := authdSession(t, staff.ID)
		resp := pc.post(t, "/admin/logout/", nil)
		if resp.status != http.StatusSeeOther || resp.header.Get("Location") != "/admin/login/?notice=signed_out" {
			t.Fatalf("status %d to %q", resp.status, resp.header.Get("Location"))
		}
		if got, _ := s.store.SessionByID(context.Background(), sess.ID); got.RevokedAt.IsZero() {
			t.Fatal("the authd session was not revoked")
		}
		if c := sessionCookie(resp); c == nil || c.MaxAge >= 0 {
			t.Fatal("the cookie was not cleared")
		}
		if resp := pc.get(t, "/admin/"); resp.status != http.StatusSeeOther {
			t.Fatalf("GET /admin/ after signing out = %d", resp.status)
		}
	})
	t.Run("revoking the authd session ends the panel session", func(t *testing.T) {
		pc := s.signIn(t, staff.Email)
		sess := authdSession(t, staff.ID)
		if err := s.admin.RevokeSession(context.Background(), seedClient, s.rootPrincipal(), sess.ID); err != nil {
			t.Fatal(err)
		}
		expectLogin(t, pc, "expired")
	})
	t.Run("losing internal.dashboard.view signs the user out", func(t *testing.T) {
		pc := s.signIn(t, staff.Email)
		role := auth.RoleEndUser
		if _, err := s.admin.UpdateUser(context.Background(), seedClient, s.rootPrincipal(), staff.ID, auth.UserUpdate{Role: &role}); err != nil {
			t.Fatal(err)
		}
		expectLogin(t, pc, "denied")
		if list, _ := s.store.ActiveSessions(context.Background(), staff.ID, s.clock.Now()); len(list) != 0 {
			t.Fatal("the authd session was left active")
		}
	})
	t.Run("a POST without a session is 403, not a redirect", func(t *testing.T) {
		pc := s.newPanelClient(t)
		if resp := pc.post(t, "/admin/logout/", url.Values{"csrf": {"x"}}); resp.status != http.StatusForbidden {
			t.Fatalf("status %d", resp.status)
		}
	})
}

func TestDashboardChartsTheLoginsOfSevenDays(t *testing.T) {
	s := newStack(t)
	// Logins at noon UTC of the last days: 3 six days ago, none five days
	// ago, 1 a day from four days ago on, and the panel's own today.
	now := time.Now().UTC()
	noon := time.Date(now.Year(), now.Month(), now.Day(), 12, 0, 0, 0, time.UTC)
	for ago, n := range map[int]int{6: 3, 4: 1, 3: 1, 2: 1, 1: 1, 8: 5} {
		s.clock.Set(noon.AddDate(0, 0, -ago).Sub(now))
		for range n {
			s.login(t, seedClient, s.root.Email)
		}
	}
	s.clock.Set(0)
	body := s.signIn(t, s.root.Email).get(t, "/admin/").body
	desc := regexp.MustCompile(`<desc id="chart-desc">([^<]*)</desc>`).FindStringSubmatch(body)
	if desc == nil {
		t.Fatal("no chart")
	}
	want := []int{3, 0, 1, 1, 1, 1, 1}
	var parts []string
	for i, n := range want {
		d := noon.AddDate(0, 0, i-6)
		parts = append(parts, d.Format("Mon 2 Jan")+": "+strconv.Itoa(n))
	}
	if !strings.Contains(desc[1], strings.Join(parts, "; ")) {
		t.Fatalf("chart %q, want %q", desc[1], strings.Join(parts, "; "))
	}
	if got := strings.Count(body, `class="chart-bar`); got != 7 {
		t.Fatalf("%d bars, want 7", got)
	}
}

func TestUnknownPathsAndMethods(t *testing.T) {
	s := newStack(t)
	pc := s.signIn(t, s.root.Email)
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodGet, "/admin/nothing/", http.StatusNotFound, ""},
		{http.MethodGet, "/admin/logout/", http.StatusMethodNotAllowed, "POST"},
		{http.MethodDelete, "/admin/users/", http.StatusMethodNotAllowed, "GET, HEAD"},
		{http.MethodGet, "/admin/users", http.StatusTemporaryRedirect, ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			resp := pc.do(t, tc.method, tc.path, nil, nil)
			if resp.status != tc.status || resp.header.Get("Allow") != tc.allow {
				t.Fatalf("status %d, Allow %q; want %d, %q", resp.status, resp.header.Get("Allow"), tc.status, tc.allow)
			}
		})
	}
}
