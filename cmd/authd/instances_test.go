package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/authd/auth/internal/testenv"
	"github.com/authd/auth/internal/testkit"
	"github.com/authd/auth/internal/testservices"
)

// TestTwoInstances runs two authd processes, A and B, built from this
// package, on one PostgreSQL database and one Redis, as a deployment with
// two replicas does, and checks over HTTP that they behave as one service:
// a logout on one ends the session on the other, failed logins count
// across both, a permission-mapping change on one is honoured on the other
// within a second, and only one of them seals the audit log at a time.
//
// The subtests share the processes and the database and run in order.
func TestTwoInstances(t *testing.T) {
	dbURL := testenv.PostgresURL(t)
	// A private Redis: the instances' keys and pub/sub channels use the
	// fixed prefix "authd:", which other tests on the shared server use too.
	redisServer := testservices.StartRedis(t)
	bin := buildInstanceBinary(t)
	dir := t.TempDir()

	const password = "correct horse battery staple"
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"REDIS_URL=" + redisServer.URL(),
		"PUBLIC_URL=http://authd.test",
		"SECRET_KEY=instances-test-secret-key-0123456789abcdef",
		"JWT_SECRET_KEY=instances-test-jwt-secret-0123456789abcdef",
		"MAIL_DIR=" + filepath.Join(dir, "mail"),
		// Debug logs name each sealing round that chained events.
		"LOG_LEVEL=debug",
		// Only the per-email failure limit may throttle: the per-IP limits
		// would otherwise count every login from 127.0.0.1.
		"RATE_LIMIT_LOGIN=1000/s",
		"RATE_LIMIT_LOGIN_IP=1000/s",
		"RATE_LIMIT_LOGIN_FAILURES=5/h",
	}
	// One database; only the connection's application_name differs, so
	// that pg_stat_activity tells which instance holds a lock.
	envFor := func(name string) []string {
		return append(slices.Clone(env), "DATABASE_URL="+withApplicationName(t, dbURL, "authd-"+name))
	}
	// Both start at once: they migrate and seed the same database together.
	a := startInstance(t, bin, "A", envFor("A"))
	b := startInstance(t, bin, "B", envFor("B"))
	a.waitReady(t)
	b.waitReady(t)

	// The test's own connection, for what HTTP does not show.
	db, err := sql.Open("pgx", withApplicationName(t, dbURL, "authd-test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	// Users: createsuperuser makes verified SYSTEM_ADMINs; the root demotes
	// two of them, on A, to an END_USER and a STAFF member.
	cliEnv := envFor("cli")
	superuser := func(email string) {
		t.Helper()
		if out, err := runInstanceCommand(t, bin, cliEnv, password+"\n", "createsuperuser", "--email", email); err != nil {
			t.Fatalf("createsuperuser --email %s: %v\n%s", email, err, out)
		}
	}
	superuser("root@example.com")
	superuser("ada@example.com")
	superuser("grace@example.com")
	root := a.login(t, "root@example.com", password)
	for email, role := range map[string]string{"ada@example.com": "END_USER", "grace@example.com": "STAFF"} {
		u := b.login(t, email, password)
		r := a.call(t, http.MethodPatch, "/api/v1/internal/users/"+u.UserID+"/", root.Access, map[string]any{"role": role})
		if r.Status != http.StatusOK || r.Body["user"].(map[string]any)["role"] != role {
			t.Fatalf("PATCH role %s of %s on A = %d %s", role, email, r.Status, r.Raw)
		}
	}

	t.Run("a session logged out on A cannot be refreshed on B", func(t *testing.T) {
		tok := a.login(t, "ada@example.com", password)
		// B takes A's session, so the 401 below is the logout's doing.
		r := b.call(t, http.MethodPost, "/api/v1/auth/token/refresh/", "", map[string]any{"refresh": tok.Refresh})
		if r.Status != http.StatusOK {
			t.Fatalf("refresh on B of a session opened on A = %d %s", r.Status, r.Raw)
		}
		tok = r.tokens(t)
		r = a.call(t, http.MethodPost, "/api/v1/auth/logout/", tok.Access, map[string]any{"refresh": tok.Refresh})
		if r.Status != http.StatusNoContent {
			t.Fatalf("logout on A = %d %s", r.Status, r.Raw)
		}
		r = b.call(t, http.MethodPost, "/api/v1/auth/token/refresh/", "", map[string]any{"refresh": tok.Refresh})
		if r.Status != http.StatusUnauthorized || r.Code() != "invalid_token" {
			t.Fatalf("refresh on B after logout on A = %d %s, want 401 invalid_token", r.Status, r.Raw)
		}
	})

	t.Run("five failed logins spread over A and B throttle the email on both", func(t *testing.T) {
		const email = "ada@example.com"
		for i, in := range []*instance{a, b, a, b, a} {
			r := in.call(t, http.MethodPost, "/api/v1/auth/login/", "", map[string]any{"email": email, "password": "not the password at all"})
			if r.Status != http.StatusUnauthorized || r.Code() != "invalid_credentials" {
				t.Fatalf("failed login %d on %s = %d %s, want 401 invalid_credentials", i+1, in.name, r.Status, r.Raw)
			}
		}
		// RATE_LIMIT_LOGIN_FAILURES=5/h is spent: even the right password
		// is refused, on either instance.
		for _, in := range []*instance{a, b} {
			r := in.call(t, http.MethodPost, "/api/v1/auth/login/", "", map[string]any{"email": email, "password": password})
			if r.Status != http.StatusTooManyRequests || r.Code() != "throttled" {
				t.Fatalf("sixth login on %s = %d %s, want 429 throttled", in.name, r.Status, r.Raw)
			}
			retry, err := strconv.Atoi(r.Header.Get("Retry-After"))
			if err != nil || retry < 1 || retry > 3600 {
				t.Fatalf("sixth login on %s: Retry-After %q, want whole seconds in [1, 3600]", in.name, r.Header.Get("Retry-After"))
			}
		}
	})

	t.Run("a permission-mapping change on A is honoured on B within one second", func(t *testing.T) {
		staff := b.login(t, "grace@example.com", password)
		const probe = "/api/v1/internal/audit/" // internal.audit.read: not STAFF's by default
		if r := b.call(t, http.MethodGet, probe, staff.Access, nil); r.Status != http.StatusForbidden || r.Code() != "permission_denied" {
			t.Fatalf("STAFF GET %s on B before the change = %d %s, want 403 permission_denied", probe, r.Status, r.Raw)
		}
		r := a.call(t, http.MethodGet, "/api/v1/internal/permissions/", root.Access, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET permissions on A = %d %s", r.Status, r.Raw)
		}
		var defaults []any
		for _, p := range r.Body["user_roles"].(map[string]any)["STAFF"].([]any) {
			defaults = append(defaults, p)
		}
		for _, step := range []struct {
			what  string
			perms []any
			want  int
		}{
			{"gains internal.audit.read", append(slices.Clone(defaults), "internal.audit.read"), http.StatusOK},
			{"loses it again", defaults, http.StatusForbidden},
		} {
			r := a.call(t, http.MethodPut, "/api/v1/internal/permissions/user/STAFF/", root.Access, map[string]any{"permissions": step.perms})
			if r.Status != http.StatusOK {
				t.Fatalf("PUT STAFF's permissions on A (%s) = %d %s", step.what, r.Status, r.Raw)
			}
			changed := time.Now()
			deadline := changed.Add(time.Second)
			polls := 0
			for {
				polls++
				got := b.call(t, http.MethodGet, probe, staff.Access, nil)
				if got.Status == step.want {
					t.Logf("STAFF %s: B honoured it %v after A answered the PUT (%d polls)", step.what, time.Since(changed).Round(time.Millisecond), polls)
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("STAFF %s on A: B still answers GET %s with %d %s after 1s, want %d", step.what, probe, got.Status, got.Raw, step.want)
				}
				time.Sleep(5 * time.Millisecond) // polling another process
			}
		}
	})

	t.Run("the audit log is sealed by one instance at a time", func(t *testing.T) {
		ctx := context.Background()
		// What the earlier subtests recorded, sealed first.
		waitSealed(t, db, 15*time.Second)

		// Hold the sealing lock (a session-level advisory lock on the same
		// key as the sealers' transaction-level one): neither instance may
		// seal while it is held.
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", sealLockKey); err != nil {
			t.Fatal(err)
		}
		if holders := sealLockHolders(t, db); len(holders) != 1 || holders[0] != "authd-test" {
			t.Fatalf("pg_locks shows the sealing lock held by %q, want only this test's connection", holders)
		}
		before := chainLength(t, db)

		// Events on both instances at once: logins and failed logins.
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for _, in := range []*instance{a, b} {
			wg.Go(func() {
				for i := range 6 {
					if r := in.post("/api/v1/auth/login/", map[string]any{"email": "root@example.com", "password": password}); r.err != nil || r.Status != http.StatusOK {
						errs <- fmt.Errorf("login %d on %s = %d %v %s", i, in.name, r.Status, r.err, r.Raw)
					}
					unknown := fmt.Sprintf("nobody-%s-%d@example.com", strings.ToLower(in.name), i)
					if r := in.post("/api/v1/auth/login/", map[string]any{"email": unknown, "password": password}); r.err != nil || r.Status != http.StatusUnauthorized {
						errs <- fmt.Errorf("failed login %d on %s = %d %v %s", i, in.name, r.Status, r.err, r.Raw)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if t.Failed() {
			t.FailNow()
		}
		events := eventCount(t, db)
		if events < before+24 {
			t.Fatalf("%d audit events after 24 more logins, want at least %d", events, before+24)
		}
		// More than two sealing intervals: each instance's sealer ran at
		// least twice, and neither sealed.
		window := time.Now().Add(2*sealInterval + 500*time.Millisecond)
		for time.Now().Before(window) {
			if n := chainLength(t, db); n != before {
				t.Fatalf("the chain grew from %d to %d links while the test held the sealing lock", before, n)
			}
			time.Sleep(50 * time.Millisecond) // observing another process
		}

		// Release it and watch pg_locks while the instances seal.
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", sealLockKey); err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		sampled := make(chan lockSamples, 1)
		go func() { sampled <- sampleSealLock(db, stop) }()
		waitSealed(t, db, 15*time.Second)
		// One more sealing interval of sampling, to see the lock taken by
		// rounds with nothing left: an observation window, not a wait.
		time.Sleep(sealInterval)
		close(stop)
		s := <-sampled
		if s.err != nil {
			t.Fatalf("sample pg_locks: %v", s.err)
		}
		t.Logf("pg_locks sampled %d times while sealing: the sealing lock held by %v", s.samples, s.seen)
		if s.maxHolders > 1 {
			t.Errorf("pg_locks showed %d holders of the sealing lock at once, want at most 1", s.maxHolders)
		}
		for name := range s.seen {
			if name != "authd-A" && name != "authd-B" {
				t.Errorf("the sealing lock was held by %q, not an instance", name)
			}
		}

		// Every event is chained exactly once, at positions 1..n.
		events = eventCount(t, db)
		var links, distinctSeqs, minPos, maxPos int64
		err = db.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT event_seq), coalesce(min(position), 0), coalesce(max(position), 0) FROM audit_chain`).
			Scan(&links, &distinctSeqs, &minPos, &maxPos)
		if err != nil {
			t.Fatal(err)
		}
		if links != events || distinctSeqs != links || minPos != 1 || maxPos != links {
			t.Fatalf("audit_chain: %d links, %d distinct seqs, positions %d..%d; want %d of each, positions 1..%d",
				links, distinctSeqs, minPos, maxPos, events, events)
		}
		// The links were made by the two instances' sealers, and their
		// rounds add up to the chain: no event was sealed by both.
		sealedBy := map[string]int64{}
		for _, in := range []*instance{a, b} {
			for _, m := range sealedLine.FindAllStringSubmatch(in.out.String(), -1) {
				n, _ := strconv.ParseInt(m[1], 10, 64)
				sealedBy[in.name] += n
			}
		}
		t.Logf("links sealed: %v of %d", sealedBy, links)
		if sealedBy["A"]+sealedBy["B"] != links {
			t.Errorf("the instances logged %d + %d sealed events, want %d in all", sealedBy["A"], sealedBy["B"], links)
		}

		// The binary's verify agrees.
		out, err := runInstanceCommand(t, bin, cliEnv, "", "audit", "verify")
		if err != nil {
			t.Fatalf("authd audit verify: %v\n%s", err, out)
		}
		m := regexp.MustCompile(`audit chain verified: (\d+) events sealed`).FindStringSubmatch(out)
		if m == nil || m[1] != strconv.FormatInt(events, 10) {
			t.Fatalf("authd audit verify printed:\n%s\nwant %d events sealed", out, events)
		}
		if strings.Contains(out, "UNSEALED") || strings.Contains(out, "pending") {
			t.Fatalf("authd audit verify found events outside the chain:\n%s", out)
		}
	})
}

// sealLockKey is the key of storage's PostgreSQL advisory lock for sealing
// (sealLockID there, "authd_sl"); pg_locks shows a bigint key as classid
// (high half) and objid (low half) with objsubid 1.
const sealLockKey int64 = 0x61757468645f736c

// sealedLine is the debug line that the sealer logs for each round that
// chained events.
var sealedLine = regexp.MustCompile(`msg="sealed audit events".*? count=(\d+)`)

// buildInstanceBinary builds ./cmd/authd into a temporary directory and
// returns its path.
func buildInstanceBinary(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "authd")
	cmd := exec.Command("go", "build", "-o", path, "./cmd/authd")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/authd: %v\n%s", err, out)
	}
	t.Logf("built authd in %v", time.Since(start).Round(time.Millisecond))
	return path
}

// withApplicationName returns the PostgreSQL URL with application_name set.
func withApplicationName(t *testing.T, raw, name string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// runInstanceCommand runs the authd binary with args, env and stdin, and
// returns its combined output.
func runInstanceCommand(t *testing.T, bin string, env []string, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// instance is one running `authd serve` process.
type instance struct {
	name   string
	base   string
	out    *testkit.Buffer
	exited chan struct{}
	client *http.Client
}

// startInstance starts `authd serve` on a free port with env. When the
// test ends it stops the process with SIGTERM (SIGKILL after 20 s), fails
// the test if it did not exit cleanly, and shows its log if the test
// failed.
func startInstance(t *testing.T, bin, name string, env []string) *instance {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve")
	cmd.Dir = t.TempDir()
	cmd.Env = append(slices.Clone(env), "ADDR="+addr)
	in := &instance{name: name, base: "http://" + addr, out: &testkit.Buffer{}, exited: make(chan struct{}),
		client: &http.Client{Timeout: 10 * time.Second}}
	cmd.Stdout, cmd.Stderr = in.out, in.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start instance %s: %v", name, err)
	}
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(in.exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-in.exited:
			if waitErr != nil {
				t.Errorf("instance %s exited with %v after SIGTERM", name, waitErr)
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-in.exited
			t.Errorf("instance %s did not stop within 20 s of SIGTERM", name)
		}
		if t.Failed() {
			t.Logf("instance %s (%s) log:\n%s", name, in.base, in.out.String())
		}
	})
	return in
}

// waitReady polls GET /readyz until it answers 200, for up to 60 s.
func (in *instance) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := in.client.Get(in.base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-in.exited:
			t.Fatalf("instance %s exited before it was ready", in.name)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s not ready within 60 s (last: %v)", in.name, err)
		}
		time.Sleep(20 * time.Millisecond) // polling another process
	}
}

// response is one HTTP exchange with an instance.
type response struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any
	err    error
}

// Code returns the problem's code.
func (r response) Code() string {
	c, _ := r.Body["code"].(string)
	return c
}

// instanceTokens is what login and refresh return, in part.
type instanceTokens struct {
	Access, Refresh, UserID string
}

func (r response) tokens(t *testing.T) instanceTokens {
	t.Helper()
	tok := instanceTokens{}
	tok.Access, _ = r.Body["access"].(string)
	tok.Refresh, _ = r.Body["refresh"].(string)
	if u, ok := r.Body["user"].(map[string]any); ok {
		tok.UserID, _ = u["id"].(string)
	}
	if tok.Access == "" || tok.Refresh == "" {
		t.Fatalf("no tokens in %s", r.Raw)
	}
	return tok
}

// do sends a request with an optional bearer token and JSON body; it is
// safe to call from any goroutine.
func (in *instance) do(method, path, bearer string, body any) response {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return response{err: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, in.base+path, rd)
	if err != nil {
		return response{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := in.client.Do(req)
	if err != nil {
		return response{err: err}
	}
	defer res.Body.Close()
	r := response{Status: res.StatusCode, Header: res.Header}
	if r.Raw, err = io.ReadAll(res.Body); err != nil {
		return response{err: err}
	}
	if len(r.Raw) > 0 {
		json.Unmarshal(r.Raw, &r.Body)
	}
	return r
}

// post is do for an unauthenticated POST.
func (in *instance) post(path string, body any) response {
	return in.do(http.MethodPost, path, "", body)
}

// call is do that fails the test when the request gets no answer.
func (in *instance) call(t *testing.T, method, path, bearer string, body any) response {
	t.Helper()
	r := in.do(method, path, bearer, body)
	if r.err != nil {
		t.Fatalf("%s %s on %s: %v", method, path, in.name, r.err)
	}
	return r
}

// login logs in on the instance and returns the tokens.
func (in *instance) login(t *testing.T, email, password string) instanceTokens {
	t.Helper()
	r := in.call(t, http.MethodPost, "/api/v1/auth/login/", "", map[string]any{"email": email, "password": password})
	if r.Status != http.StatusOK {
		t.Fatalf("login %s on %s = %d %s", email, in.name, r.Status, r.Raw)
	}
	return r.tokens(t)
}

func eventCount(t *testing.T, db *sql.DB) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow("SELECT count(*) FROM audit_events").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func chainLength(t *testing.T, db *sql.DB) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow("SELECT count(*) FROM audit_chain").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitSealed polls until every audit event has its link, for up to max.
func waitSealed(t *testing.T, db *sql.DB, max time.Duration) {
	t.Helper()
	deadline := time.Now().Add(max)
	for {
		var unsealed int64
		err := db.QueryRow(`SELECT count(*) FROM audit_events e WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.event_seq = e.seq)`).Scan(&unsealed)
		if err != nil {
			t.Fatal(err)
		}
		if unsealed == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d audit events still unsealed after %v", unsealed, max)
		}
		time.Sleep(50 * time.Millisecond) // polling the instances' sealers
	}
}

const sealLockQuery = `SELECT a.application_name
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 1`

// sealLockHolders returns the application_name of each connection that
// holds the sealing lock now.
func sealLockHolders(t *testing.T, db *sql.DB) []string {
	t.Helper()
	names, err := querySealLock(db)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func querySealLock(db *sql.DB) ([]string, error) {
	key := uint64(sealLockKey)
	rows, err := db.Query(sealLockQuery, int64(key>>32), int64(key&0xffffffff))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// lockSamples is what sampleSealLock saw.
type lockSamples struct {
	samples    int
	maxHolders int
	seen       map[string]int // application_name → samples in which it held the lock
	err        error
}

// sampleSealLock reads the holders of the sealing lock every 2 ms until
// stop is closed.
func sampleSealLock(db *sql.DB, stop <-chan struct{}) lockSamples {
	s := lockSamples{seen: map[string]int{}}
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return s
		case <-tick.C:
		}
		names, err := querySealLock(db)
		if err != nil {
			s.err = err
			return s
		}
		s.samples++
		s.maxHolders = max(s.maxHolders, len(names))
		for _, n := range names {
			s.seen[n]++
		}
	}
}
