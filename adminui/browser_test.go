package adminui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	auth "github.com/authd/auth"
	"github.com/authd/auth/internal/testenv"
)

// The browser tests drive Debian's headless Chromium (the chromium
// package; scripts/services.sh installs it in CI) through the panel. They
// skip when it is missing, unless AUTHD_REQUIRE_SERVICES=1. Screenshots of
// the main pages are saved in the test's temporary directory and, when
// ADMINUI_SCREENSHOTS names a directory (relative to the repository's
// root), copied there: docs/admin/ holds the committed ones.

// chromiumPath is where Debian installs Chromium; ADMINUI_CHROMIUM
// overrides it.
const chromiumPath = "/usr/bin/chromium"

// browserTimeout bounds one browser test, generously: the machines are
// small and shared.
const browserTimeout = 5 * time.Minute

// browser is one headless Chromium with a fresh profile, driving the
// panel of a stack.
type browser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	path := chromiumPath
	if p := os.Getenv("ADMINUI_CHROMIUM"); p != "" {
		path = p
	}
	if _, err := exec.LookPath(path); err != nil {
		if testenv.Required() {
			t.Fatalf("Chromium is required (AUTHD_REQUIRE_SERVICES=1) but %s is missing: %v; "+
				"install it with `apt-get install -y --no-install-recommends chromium` (scripts/services.sh does as root)", path, err)
		}
		t.Skipf("skipping the browser test: %s is missing (%v); install Debian's chromium, "+
			"or set AUTHD_REQUIRE_SERVICES=1 to fail instead", path, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancel()
	})
	b := &browser{t: t, ctx: tabCtx, base: base, shots: t.TempDir()}
	if err := chromedp.Do(tabCtx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	return b
}

// do runs steps and fails the test on error.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// open loads the panel's path and returns the HTTP status.
func (b *browser) open(path string) int {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	return int(resp.Status)
}

// submit clicks sel, waits for the page it leads to and returns its
// HTTP status (after redirects).
func (b *browser) submit(sel string) int {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("click %s: %v", sel, err)
	}
	return int(resp.Status)
}

// text returns the visible text of sel, once it is visible.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// exists reports whether the page has an element matching sel now.
func (b *browser) exists(sel string) bool {
	b.t.Helper()
	js, _ := json.Marshal(sel)
	ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.querySelector(`+string(js)+`) !== null`))
	if err != nil {
		b.t.Fatalf("query %s: %v", sel, err)
	}
	return ok
}

// expectText fails unless the text of sel contains every want.
func (b *browser) expectText(sel string, want ...string) {
	b.t.Helper()
	got := b.text(sel)
	for _, w := range want {
		if !strings.Contains(got, w) {
			b.t.Fatalf("%s reads %q, want it to contain %q", sel, got, w)
		}
	}
}

// screenshot saves the viewport as name.png in the test's directory and,
// for a main page (publish) with ADMINUI_SCREENSHOTS set, there too.
func (b *browser) screenshot(name string, publish bool) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	file := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	if dir := os.Getenv("ADMINUI_SCREENSHOTS"); dir != "" && publish {
		if !filepath.IsAbs(dir) {
			dir = filepath.Join("..", dir) // relative to the repository's root, not to adminui/
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

// signIn fills in and submits the sign-in form.
func (b *browser) signIn(email string) {
	b.t.Helper()
	if status := b.open("/admin/"); status != http.StatusOK {
		b.t.Fatalf("the sign-in page answered %d", status)
	}
	b.do("fill in the sign-in form",
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
	)
	if status := b.submit("#sign-in"); status != http.StatusOK {
		b.t.Fatalf("signing in answered %d", status)
	}
	b.do("wait for the dashboard", chromedp.WaitVisible(chromedp.CSS("#logins-chart")))
}

// showcase is what seedShowcase made.
type showcase struct {
	users map[string]auth.User // by first name, lower case
	// dana's session, opened over the REST API, and its refresh token.
	danaSession, danaRefresh string
}

// seedShowcase fills the stack with a small, plausible platform: users
// who joined over the last weeks, three organisations with members and
// pending invites, SSO identities and a week of logins. The clock ends
// at the present.
func seedShowcase(t *testing.T, s *stack) showcase {
	t.Helper()
	ctx := context.Background()
	day := 24 * time.Hour
	sc := showcase{users: map[string]auth.User{}}
	people := []struct {
		name  string
		role  auth.GlobalRole
		since int // days ago
	}{
		{"Alice Martin", auth.RoleDataAdmin, 40}, {"Sam Patel", auth.RoleStaff, 35},
		{"Bruno Costa", auth.RoleEndUser, 30}, {"Chloé Dubois", auth.RoleEndUser, 25},
		{"Dana Kim", auth.RoleEndUser, 21}, {"Erik Larsen", auth.RoleEndUser, 14},
		{"Fatima Rahman", auth.RoleEndUser, 9}, {"Grace Liu", auth.RoleEndUser, 5},
		{"Hugo Weber", auth.RoleEndUser, 3},
	}
	for _, p := range people {
		first := strings.ToLower(strings.Fields(p.name)[0])
		first = strings.ReplaceAll(first, "é", "e")
		s.clock.Set(-time.Duration(p.since)*day + 2*time.Hour)
		sc.users[first] = s.newUser(t, first+"@example.com", p.name, p.role)
	}
	u := sc.users
	client := func(i int) auth.Client {
		agents := []string{
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
			"Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/138.0 Safari/537.36",
		}
		return auth.Client{IP: "203.0.113." + strconv.Itoa(10+i%9*13), UserAgent: agents[i%len(agents)]}
	}
	org := func(owner auth.User, name, slug string, ago int, members map[string]auth.OrgRole, pending map[string]auth.OrgRole) {
		s.clock.Set(-time.Duration(ago) * day)
		actor := auth.Principal{UserID: owner.ID}
		if _, err := s.orgs.Create(ctx, client(ago), actor, name, slug); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		for email, role := range members {
			if _, err := s.orgs.Invite(ctx, client(ago), actor, slug, email, role); err != nil {
				t.Fatal(err)
			}
			who, err := s.store.UserByEmail(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.orgs.AcceptInvite(ctx, client(ago), auth.Principal{UserID: who.ID}, s.mail.lastToken(t, email)); err != nil {
				t.Fatalf("%s joins %s: %v", email, name, err)
			}
		}
		s.clock.Set(-day + 3*time.Hour)
		for email, role := range pending {
			if _, err := s.orgs.Invite(ctx, client(ago), actor, slug, email, role); err != nil {
				t.Fatal(err)
			}
		}
	}
	org(u["bruno"], "Acme Rockets", "acme-rockets", 28,
		map[string]auth.OrgRole{"dana@example.com": auth.OrgAdmin, "grace@example.com": auth.OrgMember},
		map[string]auth.OrgRole{"ivan@partner.example": auth.OrgMember, "jade@partner.example": auth.OrgAdmin})
	org(u["chloe"], "Globex Research", "globex", 20,
		map[string]auth.OrgRole{"fatima@example.com": auth.OrgAdmin},
		map[string]auth.OrgRole{"kai@example.org": auth.OrgMember})
	org(u["erik"], "Initech", "initech", 12, nil, nil)

	for _, id := range []auth.Identity{
		{UserID: u["dana"].ID, Provider: "github", Subject: "51873920", Email: "dana@example.com"},
		{UserID: u["grace"].ID, Provider: "google", Subject: "108235496120004371553", Email: "grace@example.com"},
		{UserID: u["chloe"].ID, Provider: "google", Subject: "117740012358791002214", Email: "chloe.dubois@example.com"},
	} {
		id.CreatedAt = time.Now().UTC().Add(-3 * day)
		if err := s.store.CreateIdentity(ctx, id); err != nil {
			t.Fatal(err)
		}
	}

	// A week of logins: so many on each day, spread over the day.
	names := []string{"alice", "sam", "bruno", "chloe", "dana", "erik", "fatima", "grace"}
	i := 0
	for ago, n := range []int{4, 6, 5, 8, 7, 3, 2} {
		for k := range n {
			s.clock.Set(-time.Duration(6-ago)*day - time.Duration(1+k)*time.Hour)
			s.login(t, client(i), names[i%len(names)]+"@example.com")
			i++
		}
	}
	s.clock.Set(0)
	role := auth.RoleEndUser
	off := false
	if _, err := s.admin.UpdateUser(ctx, client(1), s.rootPrincipal(), u["hugo"].ID, auth.UserUpdate{IsActive: &off, Role: &role}); err != nil {
		t.Fatal(err)
	}

	// Dana signs in to an app over the REST API.
	body, _ := json.Marshal(map[string]string{"email": "dana@example.com", "password": testPassword})
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/api/v1/auth/login/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) Mobile/15E148 Safari/604.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tokens struct {
		Refresh   string `json:"refresh"`
		SessionID string `json:"session_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tokens); err != nil || resp.StatusCode != http.StatusOK || tokens.Refresh == "" {
		t.Fatalf("REST login = %d (%v)", resp.StatusCode, err)
	}
	sc.danaSession, sc.danaRefresh = tokens.SessionID, tokens.Refresh
	return sc
}

// refreshStatus presents a refresh token to the REST API and returns the
// status.
func refreshStatus(t *testing.T, base, refresh string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"refresh": refresh})
	resp, err := http.Post(base+"/api/v1/auth/token/refresh/", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestBrowserSystemAdminManagesThePlatform(t *testing.T) {
	s := newStack(t)
	b := newBrowser(t, s.srv.URL)
	sc := seedShowcase(t, s)
	dana := sc.users["dana"]

	t.Log("signing in as a SYSTEM_ADMIN")
	b.signIn(s.root.Email)
	if b.exists(".flash") {
		b.t.Fatal("a message is shown after signing in")
	}
	b.expectText(".stats", "Users", "10", "Organisations", "3")
	b.screenshot("dashboard", true)

	t.Log("finding a user")
	if status := b.open("/admin/users/"); status != http.StatusOK {
		t.Fatalf("users page: %d", status)
	}
	b.screenshot("users", true)
	b.do("search", chromedp.SendKeys(chromedp.CSS("#q"), "dana"))
	b.submit("#search-users")
	b.expectText("#users-table tbody", "dana@example.com", "Dana Kim")
	if strings.Contains(b.text("#users-table tbody"), "alice@example.com") {
		t.Fatal("the search listed a user that does not match")
	}
	b.submit(`#users-table a[href="/admin/users/` + dana.ID + `/"]`)
	b.expectText("#identities-table", "github", "51873920")
	b.expectText("#sessions-table", sc.danaSession[:8])

	t.Log("changing the user's role")
	b.do("choose a role", chromedp.SetValue(chromedp.CSS("#new-role"), "DATA_ADMIN"))
	if status := b.submit("#change-role"); status != http.StatusOK {
		t.Fatalf("changing the role answered %d", status)
	}
	b.expectText(".flash-success", "dana@example.com is now DATA_ADMIN")
	b.expectText("#user-role", "DATA_ADMIN")
	if got := s.role(t, dana.ID); got != auth.RoleDataAdmin {
		t.Fatalf("the store has role %s", got)
	}

	t.Log("revoking the user's session")
	if status := refreshStatus(t, s.srv.URL, "not-a-token"); status != http.StatusUnauthorized {
		t.Fatalf("a bogus refresh answered %d", status)
	}
	b.submit("#session-" + sc.danaSession + " button")
	b.expectText(".flash-success", "The session was revoked")
	if b.exists("#session-" + sc.danaSession) {
		t.Fatal("the revoked session is still listed")
	}
	b.screenshot("user", true)
	if status := refreshStatus(t, s.srv.URL, sc.danaRefresh); status != http.StatusUnauthorized {
		t.Fatalf("refreshing the revoked session over the API answered %d, want 401", status)
	}

	t.Log("finding those events in the audit log")
	if status := b.open("/admin/audit/"); status != http.StatusOK {
		t.Fatalf("audit page: %d", status)
	}
	b.screenshot("audit", true)
	b.do("filter by event", chromedp.SendKeys(chromedp.CSS("#event"), "session.revoked"))
	b.submit("#filter-audit")
	b.expectText("#audit-table tbody", "session.revoked", s.root.Email, sc.danaSession[:8], "user_id")
	b.do("filter by another event", chromedp.SetValue(chromedp.CSS("#event"), "user.role_changed"),
		chromedp.SendKeys(chromedp.CSS("#actor_id"), s.root.ID))
	b.submit("#filter-audit")
	b.expectText("#audit-table tbody", "user.role_changed", "from END_USER", "to DATA_ADMIN")
	if b.exists(`form[action*="/audit/"]`+`[method="post"]`) || b.exists(`button[id*="delete"]`) {
		t.Fatal("the audit log offers to change an event")
	}

	t.Log("editing a permission mapping")
	b.open("/admin/permissions/")
	b.screenshot("permissions", true)
	b.do("grant STAFF the audit log", chromedp.Click(chromedp.CSS("#perm-user-staff-internal-audit-read")))
	b.submit("#save-user-staff")
	b.expectText(".flash-success", "The permissions of STAFF are saved")
	m, err := s.admin.Permissions(context.Background(), s.rootPrincipal())
	if err != nil || !slices.Contains(m.UserRoles[auth.RoleStaff], auth.PermAuditRead) {
		t.Fatalf("STAFF has %v (%v)", m.UserRoles[auth.RoleStaff], err)
	}
	checked, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.querySelector("#perm-user-staff-internal-audit-read").checked`))
	if err != nil || !checked {
		t.Fatalf("the saved box is not ticked after saving (%v)", err)
	}
	b.do("take internal.permissions.manage from SYSTEM_ADMIN",
		chromedp.Click(chromedp.CSS("#perm-user-system_admin-internal-permissions-manage")))
	b.submit("#save-user-system_admin")
	b.expectText(".flash-error", "SYSTEM_ADMIN must keep internal.permissions.manage")
	if m, _ := s.admin.Permissions(context.Background(), s.rootPrincipal()); !slices.Contains(m.UserRoles[auth.RoleSystemAdmin], auth.PermPermissionsManage) {
		t.Fatal("SYSTEM_ADMIN lost internal.permissions.manage")
	}

	t.Log("organisations and identities")
	b.open("/admin/orgs/")
	b.expectText("#orgs-table", "Acme Rockets", "Globex Research", "Initech")
	b.screenshot("orgs", true)
	b.submit(`#orgs-table a[href="/admin/orgs/acme-rockets/"]`)
	b.expectText("#members-table", "bruno@example.com", "OWNER", "dana@example.com", "grace@example.com")
	b.expectText("#invites-table", "ivan@partner.example", "jade@partner.example", "bruno@example.com")
	b.screenshot("org", true)
	b.open("/admin/identities/")
	b.expectText("#all-identities-table", "dana@example.com", "github", "grace@example.com", "google")
	b.screenshot("identities", true)

	t.Log("a forged CSRF token")
	bruno := sc.users["bruno"]
	b.open("/admin/users/" + bruno.ID + "/")
	b.do("forge the form's token",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#role-form input[name="csrf"]').value = "forged-token"`),
		chromedp.SetValue(chromedp.CSS("#new-role"), "SYSTEM_ADMIN"))
	if status := b.submit("#change-role"); status != http.StatusForbidden {
		t.Fatalf("a forged token answered %d, want 403", status)
	}
	b.expectText("#error-title", "Forbidden")
	b.screenshot("forbidden", false)
	if got := s.role(t, bruno.ID); got != auth.RoleEndUser {
		t.Fatalf("the forged form changed the role to %s", got)
	}

	t.Log("signing out")
	b.open("/admin/")
	b.submit("#sign-out")
	b.expectText(".flash-success", "You have signed out")
	b.screenshot("login", true)
	if status := b.open("/admin/users/"); status != http.StatusOK || !b.exists("#login-form") {
		t.Fatalf("after signing out the users page answered %d without the sign-in form", status)
	}
}

func TestBrowserStaffCanViewButNotChange(t *testing.T) {
	s := newStack(t)
	b := newBrowser(t, s.srv.URL)
	sc := seedShowcase(t, s)
	target := sc.users["dana"]
	b.signIn("sam@example.com")

	for _, hidden := range []string{`a[href="/admin/audit/"]`, `a[href="/admin/permissions/"]`} {
		if b.exists(hidden) {
			t.Errorf("STAFF is offered %s", hidden)
		}
	}
	b.expectText(".sidebar", "Users", "Organisations", "SSO identities", "STAFF")

	b.open("/admin/users/" + target.ID + "/")
	b.expectText("#read-only-note", "can view this user but not change it")
	b.expectText("#identities-table", "github")
	for _, control := range []string{"#role-form", "#active-form", `form[action*="/revoke/"]`, "#sessions-table"} {
		if b.exists(control) {
			t.Errorf("STAFF sees %s", control)
		}
	}
	b.screenshot("staff-user", false)

	if status := b.open("/admin/audit/"); status != http.StatusForbidden {
		t.Fatalf("the audit log answered STAFF %d, want 403", status)
	}
	b.expectText("#error-title", "Forbidden")

	t.Log("posting anyway, with the STAFF's own cookie and CSRF token")
	b.open("/admin/")
	cookies, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{s.srv.URL + "/admin/"}})
	if err != nil {
		t.Fatal(err)
	}
	var session string
	for _, c := range cookies.Cookies {
		if c.Name == "authd_admin" {
			session = c.Value
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || c.Path != "/admin/" {
				t.Errorf("the session cookie is %+v", c)
			}
		}
	}
	csrf, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('input[name="csrf"]').value`))
	if err != nil || session == "" || csrf == "" {
		t.Fatalf("no session cookie or CSRF token in the browser (%v)", err)
	}
	post := func(path string, form url.Values) int {
		form.Set("csrf", csrf)
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "authd_admin", Value: session})
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, a := range []struct {
		path string
		form url.Values
	}{
		{"/admin/users/" + target.ID + "/role/", url.Values{"role": {"SYSTEM_ADMIN"}}},
		{"/admin/users/" + target.ID + "/active/", url.Values{"active": {"false"}}},
		{"/admin/sessions/" + sc.danaSession + "/revoke/", url.Values{"user_id": {target.ID}}},
		{"/admin/permissions/user/STAFF/", url.Values{"permission": {"internal.permissions.manage"}}},
	} {
		if status := post(a.path, a.form); status != http.StatusForbidden {
			t.Errorf("POST %s as STAFF = %d, want 403", a.path, status)
		}
	}
	if got := s.role(t, target.ID); got != auth.RoleEndUser {
		t.Fatalf("a STAFF POST changed the role to %s", got)
	}
	if status := refreshStatus(t, s.srv.URL, sc.danaRefresh); status != http.StatusOK {
		t.Fatalf("the session a STAFF tried to revoke no longer refreshes (%d)", status)
	}
	t.Log("the same token is still good for what STAFF may do: signing out")
	if status := post("/admin/logout/", url.Values{}); status != http.StatusSeeOther {
		t.Fatalf("signing out with the token answered %d", status)
	}
}
