package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	auth "github.com/authd/auth"
	"github.com/authd/auth/httpapi"
	"github.com/authd/auth/internal/testenv"
	"github.com/authd/auth/internal/testkit"
	"github.com/authd/auth/mailer"
	"github.com/authd/auth/sso"
	"github.com/authd/auth/sso/ssotest"
	"github.com/authd/auth/storage"
)

// testPassword passes every password rule (15+ characters, not common, no
// email local part of the test addresses).
const testPassword = "plum sextant harbour 9071"

// unknownID is a well-formed id that names nothing.
const unknownID = "0b5c2c52-47d4-4b4e-9d37-6b2f3f0b2a11"

// newTestClock returns the tests' clock, stopped at a fixed instant.
func newTestClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC))
}

// stack is the whole of authd's HTTP API on real parts: a real database
// (SQLite in a temp directory unless a test asks for another), the .eml
// mailer, the Authenticator, the Guard, the OrgService, the Admin and the
// handler behind a real HTTP server.
type stack struct {
	srv     *httptest.Server
	store   *storage.Store
	auth    *auth.Authenticator
	orgs    *auth.OrgService
	admin   *auth.Admin
	fake    *ssotest.Server // the identity provider of both SSO providers
	clock   *testkit.Clock
	mailDir string
	logs    *testkit.Buffer
	// cookies is set when the handler delivers tokens as cookies; the
	// OpenAPI check then lets token bodies leave them out.
	cookies bool

	mu       sync.Mutex
	seenMail map[string]bool
}

// stackOption adjusts the configuration of a stack before it is built.
type stackOption func(*auth.Config, *httpapi.Config)

// withLimits turns rate limiting on (it is off by default) with the
// contract's defaults overridden by l's non-zero fields.
func withLimits(l auth.Limits) stackOption {
	return func(c *auth.Config, _ *httpapi.Config) {
		c.RateLimitDisabled = false
		c.Limits = l
	}
}

// testJWTSecret keys the tokens of every stack.
var testJWTSecret = []byte("an HS256 key of at least 32 bytes, for tests only")

// testAuthConfig is the Authenticator configuration of the tests: cheap
// Argon2, the contract's defaults otherwise.
func testAuthConfig(clock *testkit.Clock) auth.Config {
	return auth.Config{
		Issuer:            "http://authd.test",
		FrontendURL:       "http://app.test",
		JWTSecret:         testJWTSecret,
		Argon2:            auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1},
		PasswordMinLength: 15,
		RateLimitDisabled: true,
		Limiter:           &auth.MemoryLimiter{Now: clock.Now},
		Now:               clock.Now,
	}
}

// database is a kind of store a stack can run on.
type database struct {
	name string
	// url returns the URL of a new, empty database for t, dropped when t
	// ends.
	url func(t testing.TB) string
}

// databases are the stores a test that must hold on every backend runs
// on. PostgreSQL is skipped when unreachable, unless
// AUTHD_REQUIRE_SERVICES=1.
var databases = []database{
	{"SQLite", func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "authd.db") }},
	{"PostgreSQL", testenv.PostgresURL},
}

// newStack returns a stack on SQLite.
func newStack(t *testing.T, opts ...stackOption) *stack {
	t.Helper()
	return newStackOn(t, databases[0], opts...)
}

// newStackOn returns a stack on db, with every service authd passes to
// httpapi.New.
func newStackOn(t *testing.T, db database, opts ...stackOption) *stack {
	t.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, db.url(t))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	mailDir := filepath.Join(t.TempDir(), "mail")
	m, err := mailer.NewDir(mailDir, "authd <no-reply@authd.test>", nil)
	if err != nil {
		t.Fatalf("mailer: %v", err)
	}
	clock := newTestClock()
	acfg := testAuthConfig(clock)
	logs := &testkit.Buffer{}
	hcfg := httpapi.Config{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, o := range opts {
		o(&acfg, &hcfg)
	}
	a, err := auth.NewAuthenticator(st, m, acfg)
	if err != nil {
		t.Fatalf("authenticator: %v", err)
	}
	if _, err := auth.SeedPermissions(ctx, st); err != nil {
		t.Fatalf("seed permissions: %v", err)
	}
	guard, err := auth.NewGuard(ctx, st, auth.GuardConfig{})
	if err != nil {
		t.Fatalf("guard: %v", err)
	}
	t.Cleanup(guard.Close)
	orgs, err := auth.NewOrgService(st, m, guard, acfg)
	if err != nil {
		t.Fatalf("org service: %v", err)
	}
	admin, err := auth.NewAdmin(st, guard, clock.Now)
	if err != nil {
		t.Fatalf("admin: %v", err)
	}
	// The server's URL is the SSO redirect's base, so it starts first and
	// gets its handler once the providers know that URL.
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	fake := ssotest.NewServer(t)
	callback := srv.URL + "/api/v1/auth/sso/callback/"
	google, err := sso.Google(fake.GoogleConfig(callback))
	if err != nil {
		t.Fatal(err)
	}
	github, err := sso.GitHub(fake.GitHubConfig(callback))
	if err != nil {
		t.Fatal(err)
	}
	signOn, err := sso.NewService(a, st, map[string]sso.Provider{"google": google, "github": github}, sso.Config{
		SecretKey: []byte("an SSO state key of at least 32 bytes"), FrontendURL: acfg.FrontendURL,
		Limiter: acfg.Limiter, Limit: acfg.Limits.SSOStartIP, RateLimitDisabled: acfg.RateLimitDisabled, Now: clock.Now})
	if err != nil {
		t.Fatalf("sso service: %v", err)
	}
	hcfg.Auth, hcfg.Orgs, hcfg.Admin, hcfg.SSO = a, orgs, admin, signOn
	if h, err = httpapi.New(hcfg); err != nil {
		t.Fatalf("httpapi.New: %v", err)
	}
	return &stack{srv: srv, store: st, auth: a, orgs: orgs, admin: admin, fake: fake, clock: clock, mailDir: mailDir,
		logs: logs, cookies: hcfg.Cookies != nil, seenMail: map[string]bool{}}
}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

// requestOption adjusts a request before it is sent.
type requestOption func(*http.Request)

func bearer(token string) requestOption {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func header(name, value string) requestOption {
	return func(r *http.Request) { r.Header.Set(name, value) }
}

// do sends a request to path on the stack's server. body is nil (no body),
// a string (sent as is) or a value (sent as JSON); a body is declared as
// application/json unless an option says otherwise. A redirect is not
// followed. The request and the response are checked against the OpenAPI
// document (see checkOpenAPI): what it does not describe fails the test.
func (s *stack) do(t *testing.T, method, path string, body any, opts ...requestOption) response {
	t.Helper()
	var rd io.Reader
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		raw = j
	}
	if body != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	client := *s.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	out := response{status: res.StatusCode, header: res.Header, body: b}
	if err := openAPIFor(t, s.cookies).checkOpenAPI(req, raw, out); err != nil {
		t.Errorf("OpenAPI: %s %s → %d: %v", method, path, out.status, err)
	}
	return out
}

// problem is a decoded problem+json body.
type problem struct {
	Type   string            `json:"type"`
	Title  string            `json:"title"`
	Status int               `json:"status"`
	Code   string            `json:"code"`
	Detail string            `json:"detail"`
	Errors map[string]string `json:"errors"`
}

// wantProblem checks that res is a well-formed problem with status and code
// and returns it.
func wantProblem(t *testing.T, res response, status int, code string) problem {
	t.Helper()
	if res.status != status {
		t.Fatalf("status = %d, want %d; body %s", res.status, status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	var p problem
	if err := json.Unmarshal(res.body, &p); err != nil {
		t.Fatalf("problem body %s: %v", res.body, err)
	}
	if p.Code != code {
		t.Fatalf("code = %q, want %q; body %s", p.Code, code, res.body)
	}
	if p.Type != "about:blank" || p.Status != status || p.Title == "" || p.Detail == "" {
		t.Errorf("problem %s: want type about:blank, status %d, a title and a detail", res.body, status)
	}
	var raw map[string]any
	json.Unmarshal(res.body, &raw)
	if _, has := raw["errors"]; has != (code == "validation_failed") {
		t.Errorf("problem %s: errors present = %v, want it only with validation_failed", res.body, has)
	}
	if status == http.StatusUnauthorized && res.header.Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("WWW-Authenticate = %q, want Bearer", res.header.Get("WWW-Authenticate"))
	}
	return p
}

// wantValidation checks a 400 validation_failed whose errors name exactly
// fields, and returns the messages.
func wantValidation(t *testing.T, res response, fields ...string) map[string]string {
	t.Helper()
	p := wantProblem(t, res, http.StatusBadRequest, "validation_failed")
	got := make([]string, 0, len(p.Errors))
	for f := range p.Errors {
		got = append(got, f)
	}
	slices.Sort(got)
	slices.Sort(fields)
	if !slices.Equal(got, fields) {
		t.Fatalf("errors name %v, want %v; body %s", got, fields, res.body)
	}
	return p.Errors
}

// wantStatus checks the status of res.
func wantStatus(t *testing.T, res response, status int) {
	t.Helper()
	if res.status != status {
		t.Fatalf("status = %d, want %d; body %s", res.status, status, res.body)
	}
}

// decode checks the status and decodes the JSON body of res into a T.
func decode[T any](t *testing.T, res response, status int) T {
	t.Helper()
	wantStatus(t, res, status)
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var v T
	if err := json.Unmarshal(res.body, &v); err != nil {
		t.Fatalf("decode %s: %v", res.body, err)
	}
	return v
}

// The shapes of API.md's objects, as a client reads them.
type (
	userObject struct {
		ID            string `json:"id"`
		Email         string `json:"email"`
		Name          string `json:"name"`
		Role          string `json:"role"`
		EmailVerified bool   `json:"email_verified"`
		HasPassword   bool   `json:"has_password"`
		IsActive      bool   `json:"is_active"`
		CreatedAt     string `json:"created_at"`
	}
	tokensObject struct {
		Access           string      `json:"access"`
		Refresh          string      `json:"refresh"`
		TokenType        string      `json:"token_type"`
		ExpiresIn        int         `json:"expires_in"`
		RefreshExpiresIn int         `json:"refresh_expires_in"`
		SessionID        string      `json:"session_id"`
		User             *userObject `json:"user"`
	}
	sessionObject struct {
		ID         string `json:"id"`
		CreatedAt  string `json:"created_at"`
		LastUsedAt string `json:"last_used_at"`
		ExpiresAt  string `json:"expires_at"`
		IP         string `json:"ip"`
		UserAgent  string `json:"user_agent"`
		Current    bool   `json:"current"`
	}
	userBody struct {
		User userObject `json:"user"`
	}
	sessionsBody struct {
		Sessions   []sessionObject `json:"sessions"`
		NextCursor *string         `json:"next_cursor"`
	}
)

// email is one message the mailer wrote.
type email struct {
	To      string
	Subject string
	Text    string
}

// takeMail returns the one message to `to` written since the last call, and
// fails unless there is exactly one.
func (s *stack) takeMail(t *testing.T, to string) email {
	t.Helper()
	got := s.newMail(t, to)
	if len(got) != 1 {
		t.Fatalf("%d new messages to %s, want 1: %+v", len(got), to, got)
	}
	return got[0]
}

// wantNoMail fails if a message to `to` was written since the last look.
func (s *stack) wantNoMail(t *testing.T, to string) {
	t.Helper()
	if got := s.newMail(t, to); len(got) != 0 {
		t.Fatalf("%d new messages to %s, want none: %+v", len(got), to, got)
	}
}

// newMail reads the .eml files not read before and returns those to `to`,
// oldest first.
func (s *stack) newMail(t *testing.T, to string) []email {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	entries, err := os.ReadDir(s.mailDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []email
	for _, e := range entries { // ReadDir sorts by name, and names sort by time
		if !strings.HasSuffix(e.Name(), ".eml") || s.seenMail[e.Name()] {
			continue
		}
		m := readEML(t, filepath.Join(s.mailDir, e.Name()))
		if m.To == to {
			s.seenMail[e.Name()] = true
			out = append(out, m)
		}
	}
	return out
}

// readEML parses an RFC 5322 file and returns its recipient, subject and
// decoded plain-text body.
func readEML(t *testing.T, path string) email {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	to, err := mail.ParseAddress(msg.Header.Get("To"))
	if err != nil {
		t.Fatalf("%s: To: %v", path, err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("%s: Subject: %v", path, err)
	}
	text, err := plainText(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	if err != nil {
		t.Fatalf("%s: body: %v", path, err)
	}
	return email{To: to.Address, Subject: subject, Text: text}
}

// plainText returns the decoded text/plain part of a MIME body.
func plainText(contentType, encoding string, body io.Reader) (string, error) {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType = "text/plain"
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if err != nil {
				return "", err
			}
			text, err := plainText(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part)
			if err == nil && text != "" {
				return text, nil
			}
		}
	}
	if mediaType != "text/plain" {
		return "", nil
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(body)
	return strings.ReplaceAll(string(b), "\r\n", "\n"), err
}

// linkToken returns the token of the link to FRONTEND_URL+path in m.
func linkToken(t *testing.T, m email, path string) string {
	t.Helper()
	re := regexp.MustCompile(regexp.QuoteMeta("http://app.test"+path+"?token=") + `([^\s"<>]+)`)
	match := re.FindStringSubmatch(m.Text)
	if match == nil {
		t.Fatalf("no %s link in mail %q:\n%s", path, m.Subject, m.Text)
	}
	token, err := url.QueryUnescape(match[1])
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// register signs email up and returns the token of its verification mail.
func (s *stack) register(t *testing.T, addr string) string {
	t.Helper()
	wantStatus(t, s.do(t, "POST", "/api/v1/auth/register/",
		map[string]string{"email": addr, "password": testPassword, "name": "Test User"}), http.StatusAccepted)
	return linkToken(t, s.takeMail(t, addr), "/verify-email")
}

// signUp registers email and verifies it, and returns the user.
func (s *stack) signUp(t *testing.T, addr string) userObject {
	t.Helper()
	token := s.register(t, addr)
	return decode[userBody](t, s.do(t, "POST", "/api/v1/auth/verify-email/",
		map[string]string{"token": token}), http.StatusOK).User
}

// login signs email in with testPassword and returns the tokens.
func (s *stack) login(t *testing.T, addr string, opts ...requestOption) tokensObject {
	t.Helper()
	return s.loginWith(t, addr, testPassword, opts...)
}

func (s *stack) loginWith(t *testing.T, addr, password string, opts ...requestOption) tokensObject {
	t.Helper()
	return decode[tokensObject](t, s.do(t, "POST", "/api/v1/auth/login/",
		map[string]string{"email": addr, "password": password}, opts...), http.StatusOK)
}

// refresh presents a refresh token.
func (s *stack) refresh(t *testing.T, token string) response {
	t.Helper()
	return s.do(t, "POST", "/api/v1/auth/token/refresh/", map[string]string{"refresh": token})
}

// me asks for the current user with an access token.
func (s *stack) me(t *testing.T, token string) response {
	t.Helper()
	return s.do(t, "GET", "/api/v1/auth/me/", nil, bearer(token))
}

// auditEvents returns the events named event, newest first.
func (s *stack) auditEvents(t *testing.T, event string) []auth.AuditEvent {
	t.Helper()
	events, _, err := s.store.AuditEvents(context.Background(), auth.AuditFilter{Event: event}, auth.Page{Limit: 100})
	if err != nil {
		t.Fatalf("audit events: %v", err)
	}
	return events
}

// user reads a user from the store by email.
func (s *stack) user(t *testing.T, addr string) auth.User {
	t.Helper()
	u, err := s.store.UserByEmail(context.Background(), addr)
	if err != nil {
		t.Fatalf("user %s: %v", addr, err)
	}
	return u
}

// updateUser changes a user directly in the store.
func (s *stack) updateUser(t *testing.T, addr string, change func(*auth.User)) {
	t.Helper()
	u := s.user(t, addr)
	change(&u)
	if err := s.store.UpdateUser(context.Background(), u); err != nil {
		t.Fatalf("update user %s: %v", addr, err)
	}
}

// The shapes of API.md's organisation and internal objects, as a client
// reads them.
type (
	orgObject struct {
		ID        string  `json:"id"`
		Name      string  `json:"name"`
		Slug      string  `json:"slug"`
		OwnerID   string  `json:"owner_id"`
		CreatedAt string  `json:"created_at"`
		Role      *string `json:"role"`
	}
	memberObject struct {
		UserID   string `json:"user_id"`
		Email    string `json:"email"`
		Name     string `json:"name"`
		Role     string `json:"role"`
		JoinedAt string `json:"joined_at"`
	}
	inviteObject struct {
		ID        string `json:"id"`
		Email     string `json:"email"`
		Role      string `json:"role"`
		ExpiresAt string `json:"expires_at"`
		InvitedBy string `json:"invited_by"`
		CreatedAt string `json:"created_at"`
	}
	auditEventObject struct {
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
	orgBody struct {
		Org orgObject `json:"org"`
	}
	memberBody struct {
		Member memberObject `json:"member"`
	}
	inviteBody struct {
		Invite inviteObject `json:"invite"`
	}
	acceptBody struct {
		Org    orgObject    `json:"org"`
		Member memberObject `json:"member"`
	}
)

// The keys of API.md's objects, exactly.
var (
	orgKeys        = []string{"id", "name", "slug", "owner_id", "created_at", "role"}
	memberKeys     = []string{"user_id", "email", "name", "role", "joined_at"}
	inviteKeys     = []string{"id", "email", "role", "expires_at", "invited_by", "created_at"}
	auditEventKeys = []string{"id", "occurred_at", "event", "actor_id", "org_id", "target_type", "target_id", "ip", "user_agent", "metadata"}
	userKeys       = []string{"id", "email", "name", "role", "email_verified", "has_password", "is_active", "created_at"}
	sessionKeys    = []string{"id", "created_at", "last_used_at", "expires_at", "ip", "user_agent", "current"}
)

// wantKeys fails unless the JSON object raw has exactly keys.
func wantKeys(t *testing.T, raw json.RawMessage, keys ...string) {
	t.Helper()
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		t.Fatalf("%s is not a JSON object: %v", raw, err)
	}
	got := slices.Sorted(maps.Keys(obj))
	want := slices.Sorted(slices.Values(keys))
	if !slices.Equal(got, want) {
		t.Errorf("object keys %v, want %v: %s", got, want, raw)
	}
}

// listPage is one page of a list, as a client reads it.
type listPage[T any] struct {
	items []T
	raw   []json.RawMessage // the items as sent, for wantKeys
	next  *string
}

// decodeList checks that res is 200 with exactly a list under key (an
// array, never null) and "next_cursor", and returns the page.
func decodeList[T any](t *testing.T, res response, key string) listPage[T] {
	t.Helper()
	body := decode[map[string]json.RawMessage](t, res, http.StatusOK)
	wantKeys(t, res.body, key, "next_cursor")
	var p listPage[T]
	if err := json.Unmarshal(body[key], &p.raw); err != nil || p.raw == nil {
		t.Fatalf("%q is not an array: %s", key, res.body)
	}
	if err := json.Unmarshal(body[key], &p.items); err != nil {
		t.Fatalf("decode %q: %v", key, err)
	}
	if err := json.Unmarshal(body["next_cursor"], &p.next); err != nil {
		t.Fatalf("next_cursor is neither a string nor null: %s", res.body)
	}
	return p
}

// list returns the first page (of at most 200) of the list at path, which
// may have a query, read by a.
func list[T any](t *testing.T, s *stack, a actor, path, key string) []T {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return decodeList[T](t, s.do(t, "GET", path+sep+"limit=200", nil, a.auth()), key).items
}

// actor is a signed-in user of a test.
type actor struct {
	id, email, access string
}

// auth authenticates a request as a.
func (a actor) auth() requestOption { return bearer(a.access) }

// newActor signs addr up with the global role role (set in the store:
// test setup only), signs it in and returns it.
func (s *stack) newActor(t *testing.T, addr string, role auth.GlobalRole) actor {
	t.Helper()
	u := s.signUp(t, addr)
	if role != auth.RoleEndUser {
		s.updateUser(t, addr, func(u *auth.User) { u.Role = role })
	}
	return actor{id: u.ID, email: addr, access: s.login(t, addr).Access}
}

// createOrg has owner create the organisation slug and returns it.
func (s *stack) createOrg(t *testing.T, owner actor, slug string) orgObject {
	t.Helper()
	return decode[orgBody](t, s.do(t, "POST", "/api/v1/orgs/create/",
		map[string]string{"name": "Org " + slug, "slug": slug}, owner.auth()), http.StatusCreated).Org
}

// invite has inviter invite addr to the organisation slug with role, and
// returns the invite and the token of the mail it sent.
func (s *stack) invite(t *testing.T, inviter actor, slug, addr, role string) (inviteObject, string) {
	t.Helper()
	inv := decode[inviteBody](t, s.do(t, "POST", "/api/v1/orgs/"+slug+"/invites/",
		map[string]string{"email": addr, "role": role}, inviter.auth()), http.StatusCreated).Invite
	return inv, linkToken(t, s.takeMail(t, addr), "/invites/accept")
}

// accept has a accept the invite with token.
func (s *stack) accept(t *testing.T, a actor, token string) response {
	t.Helper()
	return s.do(t, "POST", "/api/v1/orgs/invites/accept/", map[string]string{"token": token}, a.auth())
}

// join makes a a member of the organisation slug with role, invited by
// inviter.
func (s *stack) join(t *testing.T, inviter actor, slug string, a actor, role string) {
	t.Helper()
	_, token := s.invite(t, inviter, slug, a.email, role)
	decode[acceptBody](t, s.accept(t, a, token), http.StatusOK)
}

// team is an organisation with an OWNER, two ADMINs and two MEMBERs, all
// END_USERs globally, and an END_USER outside it.
type team struct {
	slug                                            string
	org                                             orgObject
	owner, admin, admin2, member, member2, outsider actor
}

// newTeam makes the team of the organisation slug; its users' emails
// start with slug.
func (s *stack) newTeam(t *testing.T, slug string) team {
	t.Helper()
	tm := team{slug: slug}
	for _, u := range []struct {
		a    *actor
		name string
	}{{&tm.owner, "owner"}, {&tm.admin, "admin"}, {&tm.admin2, "admin2"}, {&tm.member, "member"},
		{&tm.member2, "member2"}, {&tm.outsider, "outsider"}} {
		*u.a = s.newActor(t, slug+"-"+u.name+"@example.com", auth.RoleEndUser)
	}
	tm.org = s.createOrg(t, tm.owner, slug)
	s.join(t, tm.owner, slug, tm.admin, "ADMIN")
	s.join(t, tm.owner, slug, tm.admin2, "ADMIN")
	s.join(t, tm.owner, slug, tm.member, "MEMBER")
	s.join(t, tm.owner, slug, tm.member2, "MEMBER")
	return tm
}

// path returns the path of the team's organisation under /api/v1, with
// rest appended.
func (tm team) path(rest string) string { return "/api/v1/orgs/" + tm.slug + "/" + rest }

// roles returns the team's members as user id → role, read by a.
func (s *stack) roles(t *testing.T, a actor, slug string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range list[memberObject](t, s, a, "/api/v1/orgs/"+slug+"/members/", "members") {
		out[m.UserID] = m.Role
	}
	return out
}

// loggedRoute returns the route the request log recorded for the request
// with this id.
func (s *stack) loggedRoute(t *testing.T, requestID string) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(s.logs.String()))
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "request" && line["request_id"] == requestID {
			route, _ := line["route"].(string)
			return route
		}
	}
	t.Fatalf("no request line with id %s", requestID)
	return ""
}
