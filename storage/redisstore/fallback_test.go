package redisstore_test

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	auth "github.com/authd/auth"
	"github.com/authd/auth/internal/testkit"
	"github.com/authd/auth/internal/testservices"
	"github.com/authd/auth/storage"
	"github.com/authd/auth/storage/redisstore"
)

const probe = time.Second // the fallback's ProbeInterval in these tests

// privateRedis starts a Redis server of this test's own, which it may stop,
// and a client of it with go-redis's default options.
func privateRedis(t *testing.T) (*testservices.Redis, *redis.Client) {
	t.Helper()
	server := testservices.StartRedis(t)
	opts, err := redis.ParseURL(server.URL())
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	return server, client
}

// logLines returns the lines of logs at level that contain msg.
func logLines(logs *testkit.Buffer, level, msg string) int {
	n := 0
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "level="+level) && strings.Contains(line, msg) {
			n++
		}
	}
	return n
}

// TestLimiterFallsBackWhileRedisIsStopped stops a real Redis server under
// a Limiter: the limits keep holding, from memory, with one warning; once
// the server is back the Limiter uses it again, with one notice, and the
// counts are shared with other instances again.
func TestLimiterFallsBackWhileRedisIsStopped(t *testing.T) {
	server, client := privateRedis(t)
	clock := testkit.NewClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	logs := &testkit.Buffer{}
	newLimiter := func() *redisstore.Limiter {
		return redisstore.NewLimiterWith(client, "fallback:", redisstore.LimiterConfig{
			Logger: slog.New(slog.NewTextHandler(logs, nil)), ProbeInterval: probe, Now: clock.Now})
	}
	lim, other := newLimiter(), newLimiter()
	ctx := context.Background()
	l := auth.Limit{Burst: 5, Period: time.Hour}
	allowN := func(lim *redisstore.Limiter, key string, n int) {
		t.Helper()
		for i := range n {
			if res, err := lim.Allow(ctx, key, l); err != nil || !res.Allowed {
				t.Fatalf("%s: request %d of %d: got %+v, %v; want allowed", key, i+1, n, res, err)
			}
		}
	}
	refused := func(lim *redisstore.Limiter, key string) {
		t.Helper()
		if res, err := lim.Allow(ctx, key, l); err != nil || res.Allowed || res.RetryAfter <= 0 {
			t.Fatalf("%s: got %+v, %v; want refused with a RetryAfter", key, res, err)
		}
	}
	inRedis := func(key string) bool {
		t.Helper()
		n, err := client.Exists(ctx, "rate:fallback:"+key).Result()
		if err != nil {
			t.Fatalf("EXISTS: %v", err)
		}
		return n == 1
	}

	// Redis up: the counts are in Redis.
	allowN(lim, "before", 5)
	if !inRedis("before") || lim.Fallback() {
		t.Fatalf("with Redis up: key in Redis %v, Fallback() %v; want true, false", inRedis("before"), lim.Fallback())
	}

	server.Stop()
	allowN(lim, "during", 5)
	refused(lim, "during") // the sixth within the window
	if res, err := lim.Peek(ctx, "during", l); err != nil || res.Allowed {
		t.Fatalf("Peek during the outage: got %+v, %v; want refused", res, err)
	}
	if !lim.Fallback() || lim.Fallbacks() != 1 {
		t.Fatalf("Fallback() = %v, Fallbacks() = %d; want true, 1", lim.Fallback(), lim.Fallbacks())
	}
	if n := logLines(logs, "WARN", "falling back"); n != 1 {
		t.Errorf("%d warnings about the fallback after 7 calls, want exactly 1:\n%s", n, logs)
	}

	// Redis back: nothing changes until a probe is due; the call that
	// finds it due starts the probe (and answers from memory), and once the
	// probe has its PONG the next calls use Redis.
	server.Start()
	allowN(lim, "between", 1)
	if !lim.Fallback() {
		t.Fatal("the Limiter left the fallback before its probe interval")
	}
	clock.Advance(probe)
	allowN(lim, "between", 1)
	waitForRedis(t, lim)
	allowN(lim, "after", 3)
	if !inRedis("after") || inRedis("between") {
		t.Fatalf("after the probe: key after in Redis %v, key between in Redis %v; want true, false",
			inRedis("after"), inRedis("between"))
	}
	if n := logLines(logs, "INFO", "reachable again"); n != 1 {
		t.Errorf("%d notices that Redis is back, want exactly 1:\n%s", n, logs)
	}
	// Shared again: the other instance sees the three requests.
	allowN(other, "after", 2)
	refused(other, "after")
	refused(lim, "after")
	if lim.Fallbacks() != 1 || other.Fallbacks() != 0 {
		t.Errorf("Fallbacks() = %d and %d, want 1 and 0", lim.Fallbacks(), other.Fallbacks())
	}
	if strings.Contains(logs.String(), "during") || strings.Contains(logs.String(), "fallback:") {
		t.Errorf("the logs name a key:\n%s", logs)
	}
}

// waitForRedis waits until lim's background probe has found Redis again.
func waitForRedis(t *testing.T, lim *redisstore.Limiter) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); lim.Fallback(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the Limiter still falls back 10 s after its probe started")
		}
	}
}

// mailbox is a Mailer that keeps the last message.
type mailbox struct {
	mu   sync.Mutex
	last auth.Message
}

func (m *mailbox) Send(_ context.Context, msg auth.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last = msg
	return nil
}

func (m *mailbox) token(t *testing.T) string {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range strings.Fields(m.last.Text) {
		if u, err := url.Parse(f); err == nil && u.Query().Get("token") != "" {
			return u.Query().Get("token")
		}
	}
	t.Fatal("no link with a token in the last mail")
	return ""
}

// TestLoginWhileRedisIsStopped: with the shared limiter's Redis stopped,
// logins keep working and the login limit (5 a minute per client and
// email) still refuses the sixth failed attempt; with Redis back, the
// counts are in Redis again.
func TestLoginWhileRedisIsStopped(t *testing.T) {
	server, client := privateRedis(t)
	ctx := context.Background()
	st, err := storage.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "authd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	clock := testkit.NewClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	logs := &testkit.Buffer{}
	lim := redisstore.NewLimiterWith(client, "login:", redisstore.LimiterConfig{
		Logger: slog.New(slog.NewTextHandler(logs, nil)), ProbeInterval: probe, Now: clock.Now})
	mail := &mailbox{}
	a, err := auth.NewAuthenticator(st, mail, auth.Config{
		JWTSecret: []byte("fallback-test-secret-fallback-test!"),
		Argon2:    auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1},
		Limiter:   lim, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	const password = "correct horse battery staple"
	c := auth.Client{IP: "192.0.2.7", UserAgent: "fallback-test"}
	for _, email := range []string{"ann@example.com", "bob@example.com"} {
		if err := a.Register(ctx, c, auth.RegisterInput{Email: email, Password: password}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.VerifyEmail(ctx, c, mail.token(t)); err != nil {
			t.Fatal(err)
		}
	}

	server.Stop()
	if _, _, err := a.Login(ctx, c, "ann@example.com", password); err != nil {
		t.Fatalf("login with Redis stopped: %v", err)
	}
	for i := range 5 {
		if _, _, err := a.Login(ctx, c, "bob@example.com", "wrong wrong wrong"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("failed login %d with Redis stopped: %v, want invalid credentials", i+1, err)
		}
	}
	var te *auth.ThrottledError
	if _, _, err := a.Login(ctx, c, "bob@example.com", password); !errors.As(err, &te) || te.Limit != "login" {
		t.Fatalf("the sixth login within the minute: %v, want throttled by login", err)
	}
	if !lim.Fallback() {
		t.Error("Fallback() = false with Redis stopped")
	}

	server.Start()
	clock.Advance(time.Minute) // the login limit refills; a probe is due
	if _, _, err := a.Login(ctx, c, "ann@example.com", password); err != nil {
		t.Fatalf("login with Redis back, before the probe: %v", err)
	}
	waitForRedis(t, lim)
	if _, _, err := a.Login(ctx, c, "bob@example.com", password); err != nil {
		t.Fatalf("login with Redis back: %v", err)
	}
	keys, err := client.Keys(ctx, "rate:login:login:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("with Redis back: keys %q (%v); want bob's login key in Redis", keys, err)
	}
	if strings.Contains(logs.String(), "example.com") {
		t.Errorf("the limiter logged an email:\n%s", logs)
	}
}
