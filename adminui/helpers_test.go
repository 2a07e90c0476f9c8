package adminui_test

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	auth "github.com/authd/auth"
	"github.com/authd/auth/adminui"
	"github.com/authd/auth/httpapi"
	"github.com/authd/auth/internal/testkit"
	"github.com/authd/auth/storage"
)

// testPassword passes every password rule.
const testPassword = "plum sextant harbour 9071"

// testClock is the wall clock plus an offset that tests move.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// Set puts the clock at the wall clock plus offset.
func (c *testClock) Set(offset time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = offset
}

// memMailer keeps the messages it is given.
type memMailer struct {
	mu   sync.Mutex
	sent []auth.Message
}

func (m *memMailer) Send(_ context.Context, msg auth.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, msg)
	return nil
}

var tokenInLink = regexp.MustCompile(`token=([^\s]+)`)

// lastToken returns the token of the last link mailed to to.
func (m *memMailer) lastToken(t *testing.T, to string) string {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.sent) - 1; i >= 0; i-- {
		if m.sent[i].To == to {
			if sub := tokenInLink.FindStringSubmatch(m.sent[i].Text); sub != nil {
				tok, err := url.QueryUnescape(sub[1])
				if err != nil {
					t.Fatal(err)
				}
				return tok
			}
		}
	}
	t.Fatalf("no link was mailed to %s", to)
	return ""
}

// stack is authd as `authd serve` wires it: the REST API at / and the
// admin panel at /admin/, on a real SQLite store, behind a real HTTP
// server. root is a SYSTEM_ADMIN made with CreateSuperuser.
type stack struct {
	srv   *httptest.Server
	store *storage.Store
	auth  *auth.Authenticator
	orgs  *auth.OrgService
	admin *auth.Admin
	clock *testClock
	mail  *memMailer
	root  auth.User
}

// stackOption adjusts the configuration before the stack is built.
type stackOption func(*auth.Config, *adminui.Config)

// withLimits turns the rate limits on with l's non-zero fields over the
// defaults.
func withLimits(l auth.Limits) stackOption {
	return func(c *auth.Config, _ *adminui.Config) { c.RateLimitDisabled, c.Limits = false, l }
}

// withTrustedProxies makes the panel believe the proxies in cidrs.
func withTrustedProxies(cidrs ...string) stackOption {
	return func(_ *auth.Config, c *adminui.Config) {
		for _, s := range cidrs {
			c.TrustedProxies = append(c.TrustedProxies, netip.MustParsePrefix(s))
		}
	}
}

func newStack(t *testing.T, opts ...stackOption) *stack {
	t.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "authd.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if _, err := auth.SeedPermissions(ctx, st); err != nil {
		t.Fatalf("seed permissions: %v", err)
	}
	clock := &testClock{}
	logs := &testkit.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
	})
	acfg := auth.Config{
		Issuer:            "http://authd.test",
		FrontendURL:       "http://app.test",
		JWTSecret:         []byte("an HS256 key of at least 32 bytes, for tests only"),
		Argon2:            auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1},
		PasswordMinLength: 15,
		RateLimitDisabled: true,
		Now:               clock.Now,
		Logger:            logger,
	}
	pcfg := adminui.Config{Logger: logger, Now: clock.Now}
	for _, o := range opts {
		o(&acfg, &pcfg)
	}
	acfg.Limiter = &auth.MemoryLimiter{Now: clock.Now}
	mail := &memMailer{}
	a, err := auth.NewAuthenticator(st, mail, acfg)
	if err != nil {
		t.Fatalf("authenticator: %v", err)
	}
	guard, err := auth.NewGuard(ctx, st, auth.GuardConfig{Logger: logger})
	if err != nil {
		t.Fatalf("guard: %v", err)
	}
	t.Cleanup(guard.Close)
	orgs, err := auth.NewOrgService(st, mail, guard, acfg)
	if err != nil {
		t.Fatalf("org service: %v", err)
	}
	admin, err := auth.NewAdmin(st, guard, clock.Now)
	if err != nil {
		t.Fatalf("admin: %v", err)
	}
	api, err := httpapi.New(httpapi.Config{Auth: a, Orgs: orgs, Admin: admin, Logger: logger})
	if err != nil {
		t.Fatalf("httpapi.New: %v", err)
	}
	pcfg.Auth, pcfg.Admin = a, admin
	panel, err := adminui.New(pcfg)
	if err != nil {
		t.Fatalf("adminui.New: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", api)
	mux.Handle("/admin/", panel)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	root, err := a.CreateSuperuser(ctx, "root@example.com", testPassword)
	if err != nil {
		t.Fatalf("create superuser: %v", err)
	}
	return &stack{srv: srv, store: st, auth: a, orgs: orgs, admin: admin, clock: clock, mail: mail, root: root}
}

// rootPrincipal acts as the superuser in direct library calls.
func (s *stack) rootPrincipal() auth.Principal { return auth.Principal{UserID: s.root.ID} }

// client is what the seeding calls record in the audit log.
var seedClient = auth.Client{IP: "198.51.100.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}

// newUser registers and verifies a user, then gives it role.
func (s *stack) newUser(t *testing.T, email, name string, role auth.GlobalRole) auth.User {
	t.Helper()
	ctx := context.Background()
	if err := s.auth.Register(ctx, seedClient, auth.RegisterInput{Email: email, Password: testPassword, Name: name}); err != nil {
		t.Fatalf("register %s: %v", email, err)
	}
	u, err := s.auth.VerifyEmail(ctx, seedClient, s.mail.lastToken(t, email))
	if err != nil {
		t.Fatalf("verify %s: %v", email, err)
	}
	if role != auth.RoleEndUser {
		if u, err = s.admin.UpdateUser(ctx, seedClient, s.rootPrincipal(), u.ID, auth.UserUpdate{Role: &role}); err != nil {
			t.Fatalf("give %s the role %s: %v", email, role, err)
		}
	}
	return u
}

// login signs email in through the library, from client c.
func (s *stack) login(t *testing.T, c auth.Client, email string) auth.Tokens {
	t.Helper()
	tok, _, err := s.auth.Login(context.Background(), c, email, testPassword)
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	return tok
}

// role returns the user's current global role from the store.
func (s *stack) role(t *testing.T, id string) auth.GlobalRole {
	t.Helper()
	u, err := s.store.UserByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u.Role
}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   string
}

// panelClient is a browser stand-in: a cookie jar, no redirects followed.
type panelClient struct {
	s    *stack
	http *http.Client
	csrf string // the panel session's CSRF token, once signed in
}

func (s *stack) newPanelClient(t *testing.T) *panelClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &panelClient{s: s, http: &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// formToken returns the first CSRF token of a page.
func formToken(t *testing.T, body string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf field in the page:\n%s", body)
	}
	return html.UnescapeString(m[1])
}

func (pc *panelClient) do(t *testing.T, method, path string, body io.Reader, hdr map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, pc.s.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := pc.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (pc *panelClient) get(t *testing.T, path string) response {
	t.Helper()
	return pc.do(t, http.MethodGet, path, nil, nil)
}

// post sends form to path with the session's CSRF token, unless form sets
// "csrf" itself.
func (pc *panelClient) post(t *testing.T, path string, form url.Values) response {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", pc.csrf)
	}
	return pc.do(t, http.MethodPost, path, strings.NewReader(form.Encode()), nil)
}

// tryLogin submits the sign-in form as a browser would.
func (pc *panelClient) tryLogin(t *testing.T, email, password string, extra url.Values) response {
	t.Helper()
	page := pc.get(t, "/admin/login/")
	if page.status != http.StatusOK {
		t.Fatalf("GET /admin/login/ = %d", page.status)
	}
	form := url.Values{"email": {email}, "password": {password}, "csrf": {formToken(t, page.body)}}
	for k, v := range extra {
		form[k] = v
	}
	return pc.do(t, http.MethodPost, "/admin/login/", strings.NewReader(form.Encode()), nil)
}

// signIn signs email in to the panel and keeps the session's CSRF token.
func (s *stack) signIn(t *testing.T, email string) *panelClient {
	t.Helper()
	pc := s.newPanelClient(t)
	resp := pc.tryLogin(t, email, testPassword, nil)
	if resp.status != http.StatusSeeOther || resp.header.Get("Location") != "/admin/" {
		t.Fatalf("sign in as %s = %d to %q, want 303 to /admin/\n%s", email, resp.status, resp.header.Get("Location"), resp.body)
	}
	home := pc.get(t, "/admin/")
	if home.status != http.StatusOK {
		t.Fatalf("GET /admin/ after signing in = %d", home.status)
	}
	pc.csrf = formToken(t, home.body)
	return pc
}

// sessionCookie returns the panel's session cookie set by resp, if any.
func sessionCookie(resp response) *http.Cookie {
	for _, c := range (&http.Response{Header: resp.header}).Cookies() {
		if c.Name == "authd_admin" {
			return c
		}
	}
	return nil
}
