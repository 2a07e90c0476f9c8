package faulttest_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	auth "github.com/authd/auth"
	"github.com/authd/auth/httpapi"
	"github.com/authd/auth/internal/testkit"
	"github.com/authd/auth/internal/testservices"
	"github.com/authd/auth/storage"
)

// maxLatency bounds every answer, during the outage too: a request that
// cannot reach the database must fail fast, not hang.
const maxLatency = 2 * time.Second

const password = "correct horse battery staple"

// mailbox is a Mailer that keeps each recipient's mail.
type mailbox struct {
	mu   sync.Mutex
	mail map[string][]auth.Message
}

func (m *mailbox) Send(_ context.Context, msg auth.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mail[msg.To] = append(m.mail[msg.To], msg)
	return nil
}

// token returns the token of the link in the newest mail to, or "".
func (m *mailbox) token(to string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	msgs := m.mail[to]
	if len(msgs) == 0 {
		return ""
	}
	for _, f := range strings.Fields(msgs[len(msgs)-1].Text) {
		if u, err := url.Parse(f); err == nil && u.Query().Get("token") != "" {
			return u.Query().Get("token")
		}
	}
	return ""
}

// outcome is one answer the load got.
type outcome struct {
	op      string
	status  int
	code    string
	took    time.Duration
	problem string // why the answer is not an acceptable one, or ""
}

// recorder tallies the answers of the load.
type recorder struct {
	chains atomic.Int64 // complete chains of requests, every step a success
	fails  atomic.Int64 // 503 unavailable answers, readable without the lock

	mu          sync.Mutex
	answers     int
	unavailable int            // 503 unavailable answers
	byOp        map[string]int // 503 unavailable answers by operation
	slowest     outcome        // the longest answer
	bad         []outcome      // answers that are neither the success nor 503 unavailable
	registered  []string       // emails whose registration was acknowledged
	orgs        []string       // slugs whose creation was acknowledged
	invites     []string       // ids of invites whose creation was acknowledged
}

func (r *recorder) record(o outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers++
	if o.code == "unavailable" {
		r.unavailable++
		r.byOp[o.op]++
		r.fails.Add(1)
	}
	if o.took > r.slowest.took {
		r.slowest = o
	}
	if o.problem != "" {
		r.bad = append(r.bad, o)
	}
}

func (r *recorder) acknowledge(list *[]string, v string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*list = append(*list, v)
}

// client sends the load's requests and judges each answer.
type client struct {
	t    *testing.T
	base string
	http *http.Client
	rec  *recorder
	spec routers.Router
}

// call sends one request and returns the decoded body when the answer is
// want, or ok=false for any other answer. Every answer must be want or 503
// unavailable (with Retry-After: 1), within maxLatency, and match the
// OpenAPI document.
func (c *client) call(op, method, path string, body any, token string, want int) (map[string]any, bool) {
	var rd io.Reader
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Errorf("%s: %v", op, err)
		return nil, false
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	began := time.Now()
	res, err := c.http.Do(req)
	took := time.Since(began)
	if err != nil {
		c.rec.record(outcome{op: op, took: took, problem: "no answer: " + err.Error()})
		return nil, false
	}
	resBody, _ := io.ReadAll(res.Body)
	res.Body.Close()
	o := outcome{op: op, status: res.StatusCode, took: took}
	var decoded map[string]any
	json.Unmarshal(resBody, &decoded)
	if code, _ := decoded["code"].(string); code != "" {
		o.code = code
	}
	switch {
	case res.StatusCode == want:
	case res.StatusCode == http.StatusServiceUnavailable && o.code == "unavailable":
		if ra := res.Header.Get("Retry-After"); ra != "1" {
			o.problem = fmt.Sprintf("503 unavailable with Retry-After %q, want 1", ra)
		}
	default:
		o.problem = fmt.Sprintf("answered %d %s, want %d or 503 unavailable: %s", res.StatusCode, o.code, want, resBody)
	}
	if took > maxLatency && o.problem == "" {
		o.problem = fmt.Sprintf("took %s, more than %s", took, maxLatency)
	}
	if o.problem == "" {
		if err := c.validate(req, raw, res, resBody); err != nil {
			o.problem = "not as openapi.json documents it: " + err.Error()
		}
	}
	c.rec.record(o)
	return decoded, res.StatusCode == want && o.problem == ""
}

// validate checks an answer against the OpenAPI document, its status
// included.
func (c *client) validate(req *http.Request, reqBody []byte, res *http.Response, body []byte) error {
	ctx := context.Background()
	lookup := req.Clone(ctx)
	lookup.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := c.spec.FindRoute(lookup)
	if err != nil {
		return fmt.Errorf("find route: %w", err)
	}
	in := &openapi3filter.RequestValidationInput{Request: lookup, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode,
		Header: res.Header, Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	out.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(ctx, out)
}

// chain is one user's way through the API: register, verify the email,
// log in, refresh, read itself, create an organisation, invite someone,
// log out. It stops at the first step that does not succeed (during the
// outage, 503 unavailable) and reports whether every step succeeded.
func (c *client) chain(worker, n int, mail *mailbox) bool {
	email := fmt.Sprintf("load-%d-%d@example.com", worker, n)
	if _, ok := c.call("register", "POST", "/api/v1/auth/register/",
		map[string]string{"email": email, "password": password}, "", http.StatusAccepted); !ok {
		return false
	}
	c.rec.acknowledge(&c.rec.registered, email)
	if _, ok := c.call("verify-email", "POST", "/api/v1/auth/verify-email/",
		map[string]string{"token": mail.token(email)}, "", http.StatusOK); !ok {
		return false
	}
	tokens, ok := c.call("login", "POST", "/api/v1/auth/login/",
		map[string]string{"email": email, "password": password}, "", http.StatusOK)
	if !ok {
		return false
	}
	refresh, _ := tokens["refresh"].(string)
	if tokens, ok = c.call("refresh", "POST", "/api/v1/auth/token/refresh/",
		map[string]string{"refresh": refresh}, "", http.StatusOK); !ok {
		return false
	}
	access, _ := tokens["access"].(string)
	if _, ok := c.call("me", "GET", "/api/v1/auth/me/", nil, access, http.StatusOK); !ok {
		return false
	}
	slug := fmt.Sprintf("org-%d-%d", worker, n)
	if _, ok := c.call("create-org", "POST", "/api/v1/orgs/create/",
		map[string]string{"name": "Org " + slug, "slug": slug}, access, http.StatusCreated); !ok {
		return false
	}
	c.rec.acknowledge(&c.rec.orgs, slug)
	inv, ok := c.call("invite", "POST", "/api/v1/orgs/"+slug+"/invites/",
		map[string]string{"email": "guest-" + email, "role": "MEMBER"}, access, http.StatusCreated)
	if !ok {
		return false
	}
	if invite, _ := inv["invite"].(map[string]any); invite != nil {
		id, _ := invite["id"].(string)
		c.rec.acknowledge(&c.rec.invites, id)
	}
	_, ok = c.call("logout", "POST", "/api/v1/auth/logout/", nil, access, http.StatusNoContent)
	return ok
}

// session registers, verifies and logs in a user for an authenticated
// loop, and returns its access token.
func (c *client) session(t *testing.T, email string, mail *mailbox) string {
	t.Helper()
	if _, ok := c.call("register", "POST", "/api/v1/auth/register/",
		map[string]string{"email": email, "password": password}, "", http.StatusAccepted); !ok {
		t.Fatalf("register %s failed before the fault", email)
	}
	c.rec.acknowledge(&c.rec.registered, email)
	if _, ok := c.call("verify-email", "POST", "/api/v1/auth/verify-email/",
		map[string]string{"token": mail.token(email)}, "", http.StatusOK); !ok {
		t.Fatalf("verify %s failed before the fault", email)
	}
	tokens, ok := c.call("login", "POST", "/api/v1/auth/login/",
		map[string]string{"email": email, "password": password}, "", http.StatusOK)
	if !ok {
		t.Fatalf("login %s failed before the fault", email)
	}
	access, _ := tokens["access"].(string)
	return access
}

// work is one round of a signed-in user that keeps its session through
// the fault: read itself, list its sessions, create an organisation and
// invite someone to it. Its access token stays valid; each request needs
// the database (the session is looked up on every one). It reports
// whether every step succeeded.
func (c *client) work(access string, worker, n int) bool {
	if _, ok := c.call("me", "GET", "/api/v1/auth/me/", nil, access, http.StatusOK); !ok {
		return false
	}
	if _, ok := c.call("sessions", "GET", "/api/v1/auth/sessions/", nil, access, http.StatusOK); !ok {
		return false
	}
	slug := fmt.Sprintf("team-%d-%d", worker, n)
	if _, ok := c.call("create-org", "POST", "/api/v1/orgs/create/",
		map[string]string{"name": "Team " + slug, "slug": slug}, access, http.StatusCreated); !ok {
		return false
	}
	c.rec.acknowledge(&c.rec.orgs, slug)
	inv, ok := c.call("invite", "POST", "/api/v1/orgs/"+slug+"/invites/",
		map[string]string{"email": "guest-" + slug + "@example.com", "role": "ADMIN"}, access, http.StatusCreated)
	if invite, _ := inv["invite"].(map[string]any); ok && invite != nil {
		id, _ := invite["id"].(string)
		c.rec.acknowledge(&c.rec.invites, id)
	}
	return ok
}

// TestPostgresRestartUnderLoad stops, starts and restarts a private
// PostgreSQL server under a steady load of mixed requests from several
// goroutines. While the database is away every answer is 503 unavailable
// (or a success), fast; once it is back the same handler serves again,
// nothing rebuilt; and no transaction was left half-written.
func TestPostgresRestartUnderLoad(t *testing.T) {
	pg := testservices.StartPostgres(t)
	ctx := context.Background()
	st, err := storage.Open(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.SeedPermissions(ctx, st); err != nil {
		t.Fatal(err)
	}
	mail := &mailbox{mail: map[string][]auth.Message{}}
	cfg := auth.Config{
		Issuer: "http://authd.test", FrontendURL: "http://app.test",
		JWTSecret:         []byte("fault-test-secret-fault-test-secret!"),
		Argon2:            auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1},
		RateLimitDisabled: true,
	}
	a, err := auth.NewAuthenticator(st, mail, cfg)
	if err != nil {
		t.Fatal(err)
	}
	guard, err := auth.NewGuard(ctx, st, auth.GuardConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(guard.Close)
	orgs, err := auth.NewOrgService(st, mail, guard, cfg)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testkit.Buffer{}
	h, err := httpapi.New(httpapi.Config{Auth: a, Orgs: orgs,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{byOp: map[string]int{}}
	c := &client{t: t, base: srv.URL, rec: rec, spec: router,
		http: &http.Client{Timeout: 4 * maxLatency, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}

	// Four workers run whole chains from registration on (a chain cut
	// short starts again with a new user); two keep one session each
	// through the fault.
	const workers, signedIn = 4, 2
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers + signedIn {
		access := ""
		if w >= workers {
			access = c.session(t, fmt.Sprintf("member-%d@example.com", w), mail)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				var ok bool
				if access == "" {
					ok = c.chain(w, n, mail)
				} else {
					ok = c.work(access, w, n)
				}
				if ok {
					rec.chains.Add(1)
				}
			}
		}()
	}
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopLoad)

	// waitFor polls cond until it holds, failing the test after limit.
	waitFor := func(what string, limit time.Duration, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(limit); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				stopLoad()
				t.Fatalf("waited %s for %s", limit, what)
			}
		}
	}
	chainsAtLeast := func(n int64) func() bool { return func() bool { return rec.chains.Load() >= n } }

	waitFor("the load to run", 30*time.Second, chainsAtLeast(workers))

	// Stop: pooled connections are terminated (57P01), new ones refused.
	pg.Stop()
	stoppedAt := rec.fails.Load()
	waitFor("requests to meet the stopped database", 20*time.Second,
		func() bool { return rec.fails.Load() >= stoppedAt+4*(workers+signedIn) })
	pg.Start()
	after := rec.chains.Load()
	waitFor("the service to recover after the database started again", 30*time.Second, chainsAtLeast(after+2*workers))

	// Restart in one step, under the load.
	pg.Restart()
	after = rec.chains.Load()
	waitFor("the service to recover after a restart", 30*time.Second, chainsAtLeast(after+2*workers))
	stopLoad()

	rec.mu.Lock()
	t.Logf("%d answers, %d complete chains, %d of them 503 unavailable; slowest: %s %d %s in %s",
		rec.answers, rec.chains.Load(), rec.unavailable, rec.slowest.op, rec.slowest.status, rec.slowest.code, rec.slowest.took)
	for i, o := range rec.bad {
		if i == 10 {
			t.Errorf("… and %d more bad answers", len(rec.bad)-10)
			break
		}
		t.Errorf("%s: %s", o.op, o.problem)
	}
	t.Logf("503 unavailable by operation: %v", rec.byOp)
	if rec.byOp["register"] == 0 || rec.byOp["me"]+rec.byOp["sessions"]+rec.byOp["create-org"]+rec.byOp["invite"] == 0 {
		t.Error("the outage was not met both by anonymous and by authenticated requests")
	}
	registered, orgSlugs, invites := rec.registered, rec.orgs, rec.invites
	rec.mu.Unlock()
	if l := logs.String(); strings.Contains(l, "panic") || strings.Contains(l, `"msg":"internal error"`) {
		t.Errorf("the handler logged a panic or an internal error:\n%s", l)
	}

	checkConsistency(t, pg.URL(), registered, orgSlugs, invites)
}

// checkConsistency checks, with SQL on the database itself, that every
// transaction of the flows the load ran committed whole or not at all, and
// that every write the load saw acknowledged is there.
func checkConsistency(t *testing.T, dbURL string, registered, orgSlugs, invites []string) {
	t.Helper()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Each query counts rows that break one transaction boundary: it must
	// find none.
	halfWritten := []struct{ name, query string }{
		{"users without their user.registered event (register: user, token, event)",
			`SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM audit_events e
			 WHERE e.event = 'user.registered' AND e.target_id = u.id::text)`},
		{"users.registered events without their user",
			`SELECT count(*) FROM audit_events e WHERE e.event = 'user.registered'
			 AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id::text = e.target_id)`},
		{"users without their verification token (register)",
			`SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM one_time_tokens o
			 WHERE o.user_id = u.id AND o.purpose = 'verify_email')`},
		{"verified users without their user.email_verified event (verify: token, user, event)",
			`SELECT count(*) FROM users u WHERE u.email_verified AND NOT EXISTS (SELECT 1 FROM audit_events e
			 WHERE e.event = 'user.email_verified' AND e.target_id = u.id::text)`},
		{"verified users whose verification token is unused",
			`SELECT count(*) FROM users u WHERE u.email_verified AND NOT EXISTS (SELECT 1 FROM one_time_tokens o
			 WHERE o.user_id = u.id AND o.purpose = 'verify_email' AND o.used_at IS NOT NULL)`},
		{"used verification tokens of unverified users",
			`SELECT count(*) FROM one_time_tokens o JOIN users u ON u.id = o.user_id
			 WHERE o.purpose = 'verify_email' AND o.used_at IS NOT NULL AND NOT u.email_verified`},
		{"sessions without their auth.login event (login: session, event)",
			`SELECT count(*) FROM sessions s WHERE NOT EXISTS (SELECT 1 FROM audit_events e
			 WHERE e.event = 'auth.login' AND e.target_type = 'session' AND e.target_id = s.id::text)`},
		{"auth.login events without their session",
			`SELECT count(*) FROM audit_events e WHERE e.event = 'auth.login'
			 AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id::text = e.target_id)`},
		{"revoked sessions without their auth.logout event (logout: revoke, event)",
			`SELECT count(*) FROM sessions s WHERE s.revoked_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM audit_events e
			 WHERE e.event = 'auth.logout' AND e.target_id = s.id::text)`},
		{"orgs without exactly one OWNER, their owner (create org: org, member, event)",
			`SELECT count(*) FROM orgs o WHERE (SELECT count(*) FROM org_members m
			 WHERE m.org_id = o.id AND m.role = 'OWNER' AND m.user_id = o.owner_id) <> 1`},
		{"orgs without their org.created event",
			`SELECT count(*) FROM orgs o WHERE NOT EXISTS (SELECT 1 FROM audit_events e
			 WHERE e.event = 'org.created' AND e.target_id = o.id::text)`},
		{"org.created events without their org",
			`SELECT count(*) FROM audit_events e WHERE e.event = 'org.created'
			 AND NOT EXISTS (SELECT 1 FROM orgs o WHERE o.id::text = e.target_id)`},
		{"members of an org that is gone or never was",
			`SELECT count(*) FROM org_members m WHERE NOT EXISTS (SELECT 1 FROM orgs o WHERE o.id = m.org_id)`},
		{"invites without their member.invited event (invite: invite, event)",
			`SELECT count(*) FROM org_invites i WHERE NOT EXISTS (SELECT 1 FROM audit_events e
			 WHERE e.event = 'member.invited' AND e.target_id = i.id::text)`},
		{"member.invited events without their invite",
			`SELECT count(*) FROM audit_events e WHERE e.event = 'member.invited'
			 AND NOT EXISTS (SELECT 1 FROM org_invites i WHERE i.id::text = e.target_id)`},
	}
	for _, q := range halfWritten {
		var n int
		if err := db.QueryRowContext(ctx, q.query).Scan(&n); err != nil {
			t.Errorf("%s: %v", q.name, err)
		} else if n != 0 {
			t.Errorf("%d %s", n, q.name)
		}
	}

	// Nothing acknowledged is lost.
	acknowledged := []struct {
		what, query string
		values      []string
	}{
		{"registered users", `SELECT count(*) FROM users WHERE email = ANY($1)`, registered},
		{"created orgs", `SELECT count(*) FROM orgs WHERE slug = ANY($1)`, orgSlugs},
		{"created invites", `SELECT count(*) FROM org_invites WHERE id::text = ANY($1)`, invites},
	}
	for _, a := range acknowledged {
		var n int
		if err := db.QueryRowContext(ctx, a.query, a.values).Scan(&n); err != nil {
			t.Errorf("%s: %v", a.what, err)
		} else if n != len(a.values) {
			t.Errorf("%d %s acknowledged, %d in the database", len(a.values), a.what, n)
		}
	}
}
