package auth_test

import (
	"context"
	"encoding/base64"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/auth"
	"github.com/authd/auth/internal/testkit"
	"github.com/authd/auth/storage"
)

// newClock returns the tests' clock, stopped at a fixed instant.
func newClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
}

// mailbox is a Mailer that keeps what it was given.
type mailbox struct {
	mu   sync.Mutex
	msgs []auth.Message
}

func (m *mailbox) Send(_ context.Context, msg auth.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msg)
	return nil
}

func (m *mailbox) all() []auth.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]auth.Message(nil), m.msgs...)
}

// last returns the newest message to addr and the token of its link.
func (m *mailbox) last(t *testing.T, addr string) (auth.Message, string) {
	t.Helper()
	msgs := m.all()
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].To != addr {
			continue
		}
		var token string
		for _, f := range strings.Fields(msgs[i].Text) {
			if u, err := url.Parse(f); err == nil && u.Query().Get("token") != "" {
				token = u.Query().Get("token")
			}
		}
		return msgs[i], token
	}
	t.Fatalf("no mail to %s", addr)
	return auth.Message{}, ""
}

type fixture struct {
	auth  *auth.Authenticator
	orgs  *auth.OrgService
	admin *auth.Admin
	guard *auth.Guard
	store *storage.Store
	mail  *mailbox
	clock *testkit.Clock
	crews map[string]team
}

// cheapArgon2 keeps tests fast; production uses the OWASP defaults.
var cheapArgon2 = auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1}

const goodPassword = "correct horse battery staple"

var client = auth.Client{IP: "192.0.2.10", UserAgent: "authd-test/1.0"}

// newFixture returns an Authenticator on a fresh SQLite store, with a test
// clock and mailbox. edit may change the config first.
func newFixture(t *testing.T, edit ...func(*auth.Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "authd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: st, mail: &mailbox{}, clock: newClock()}
	cfg := auth.Config{
		JWTSecret: []byte("test-secret-test-secret-test-secret!"),
		Argon2:    cheapArgon2,
		Now:       f.clock.Now,
		Limiter:   nil,
	}
	for _, e := range edit {
		e(&cfg)
	}
	if cfg.Limiter == nil {
		l := auth.NewMemoryLimiter()
		l.Now = f.clock.Now
		cfg.Limiter = l
	}
	if f.auth, err = auth.NewAuthenticator(st, f.mail, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.SeedPermissions(ctx, st); err != nil {
		t.Fatal(err)
	}
	if f.guard, err = auth.NewGuard(ctx, st, auth.GuardConfig{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.guard.Close)
	if f.orgs, err = auth.NewOrgService(st, f.mail, f.guard, cfg); err != nil {
		t.Fatal(err)
	}
	if f.admin, err = auth.NewAdmin(st, f.guard, f.clock.Now); err != nil {
		t.Fatal(err)
	}
	return f
}

// principal logs email in and returns its principal.
func (f *fixture) principal(t *testing.T, email string) auth.Principal {
	t.Helper()
	p, err := f.auth.Authenticate(context.Background(), f.login(t, email).Access)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// setRole gives the user a global role directly in the store (test setup).
func (f *fixture) setRole(t *testing.T, u auth.User, role auth.GlobalRole) auth.User {
	t.Helper()
	u, err := f.store.UserByID(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	u.Role = role
	if err := f.store.UpdateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// verifiedUser registers email with goodPassword and verifies it.
func (f *fixture) verifiedUser(t *testing.T, email string) auth.User {
	t.Helper()
	ctx := context.Background()
	if err := f.auth.Register(ctx, client, auth.RegisterInput{Email: email, Password: goodPassword, Name: "Test"}); err != nil {
		t.Fatalf("register %s: %v", email, err)
	}
	_, token := f.mail.last(t, email)
	u, err := f.auth.VerifyEmail(ctx, client, token)
	if err != nil {
		t.Fatalf("verify %s: %v", email, err)
	}
	return u
}

// login logs email in with goodPassword.
func (f *fixture) login(t *testing.T, email string) auth.Tokens {
	t.Helper()
	tok, _, err := f.auth.Login(context.Background(), client, email, goodPassword)
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	return tok
}

// events returns the audit events named name, newest first.
func (f *fixture) events(t *testing.T, name string) []auth.AuditEvent {
	t.Helper()
	evs, _, err := f.store.AuditEvents(context.Background(), auth.AuditFilter{Event: name}, auth.Page{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// flip changes the first character of a base64url string.
func flip(s string) string {
	c := byte('A')
	if s[0] == 'A' {
		c = 'B'
	}
	return string(c) + s[1:]
}
