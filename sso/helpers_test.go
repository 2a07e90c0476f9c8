package sso_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/auth"
	"github.com/authd/auth/internal/testkit"
	"github.com/authd/auth/sso"
	"github.com/authd/auth/sso/ssotest"
	"github.com/authd/auth/storage"
)

const (
	callbackURL = "http://authd.test/api/v1/auth/sso/callback/"
	frontendURL = "http://app.test"
	completeURL = frontendURL + "/auth/sso/complete"
	password    = "correct horse battery staple"
)

var (
	client    = auth.Client{IP: "192.0.2.10", UserAgent: "sso-test/1.0"}
	secretKey = []byte("sso-test-secret-sso-test-secret-!")
)

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

// token returns the token of the link in the newest message.
func (m *mailbox) token(t *testing.T) string {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.msgs) == 0 {
		t.Fatal("no mail")
	}
	for _, f := range strings.Fields(m.msgs[len(m.msgs)-1].Text) {
		if u, err := url.Parse(f); err == nil && u.Query().Get("token") != "" {
			return u.Query().Get("token")
		}
	}
	t.Fatal("no link with a token in the newest mail")
	return ""
}

// logBuffer collects the service's logs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tamperedTokens is a TokenStore that lets a test rewrite the tokens the
// service stores, to present it with rows it would never write itself.
type tamperedTokens struct {
	auth.TokenStore
	rewrite func(auth.OneTimeToken) auth.OneTimeToken
}

func (s tamperedTokens) CreateToken(ctx context.Context, t auth.OneTimeToken) error {
	return s.TokenStore.CreateToken(ctx, s.rewrite(t))
}

// setup is what a test may change before the fixture is built.
type setup struct {
	google, github sso.ProviderConfig
	cfg            sso.Config
	tokens         func(auth.TokenStore) auth.TokenStore
}

type fixture struct {
	auth  *auth.Authenticator
	store *storage.Store
	svc   *sso.Service
	fake  *ssotest.Server
	clock *testkit.Clock
	mail  *mailbox
	logs  *logBuffer
	// redirects holds every URL the browser was sent to.
	redirects []string
}

// newFixture returns a Service with Google and GitHub played by one fake
// provider, on an Authenticator over a fresh SQLite store, with a test
// clock. edit may change the setup first.
func newFixture(t *testing.T, edit ...func(*setup)) *fixture {
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
	f := &fixture{store: st, fake: ssotest.NewServer(t), mail: &mailbox{}, logs: &logBuffer{},
		clock: testkit.NewClock(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))}
	limiter := auth.NewMemoryLimiter()
	limiter.Now = f.clock.Now
	f.auth, err = auth.NewAuthenticator(st, f.mail, auth.Config{
		JWTSecret: []byte("test-secret-test-secret-test-secret!"),
		Argon2:    auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1},
		Limiter:   limiter,
		Now:       f.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}

	s := setup{
		google: f.fake.GoogleConfig(callbackURL),
		github: f.fake.GitHubConfig(callbackURL),
		cfg: sso.Config{SecretKey: secretKey, FrontendURL: frontendURL, Limiter: limiter, Now: f.clock.Now,
			Logger: slog.New(slog.NewTextHandler(f.logs, nil))},
		tokens: func(ts auth.TokenStore) auth.TokenStore { return ts },
	}
	for _, e := range edit {
		e(&s)
	}
	google, err := sso.Google(s.google)
	if err != nil {
		t.Fatal(err)
	}
	github, err := sso.GitHub(s.github)
	if err != nil {
		t.Fatal(err)
	}
	f.svc, err = sso.NewService(f.auth, s.tokens(st), map[string]sso.Provider{"google": google, "github": github}, s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// start begins a sign-in with provider and sends the browser to the fake;
// it returns the query the fake redirects back to the callback with.
func (f *fixture) start(t *testing.T, provider string) url.Values {
	t.Helper()
	authURL, state, err := f.svc.Start(context.Background(), client, provider)
	if err != nil {
		t.Fatalf("start %s: %v", provider, err)
	}
	f.redirects = append(f.redirects, authURL)
	back := f.fake.Authorize(t, authURL)
	f.redirects = append(f.redirects, back.String())
	if got := back.Scheme + "://" + back.Host + back.Path; got != callbackURL {
		t.Fatalf("provider redirected to %s, want the callback %s", got, callbackURL)
	}
	if got := back.Query().Get("state"); got != state {
		t.Fatalf("provider returned state %q, want %q", got, state)
	}
	return back.Query()
}

// callback hands query to the callback and returns the query of the
// redirect to the frontend.
func (f *fixture) callback(t *testing.T, query url.Values) url.Values {
	t.Helper()
	loc := f.svc.Callback(context.Background(), client, query)
	f.redirects = append(f.redirects, loc)
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != completeURL {
		t.Fatalf("callback redirected to %s, want %s", got, completeURL)
	}
	return u.Query()
}

// failure runs a sign-in with provider up to the callback and returns the
// error code of its redirect.
func (f *fixture) failure(t *testing.T, provider string) string {
	t.Helper()
	q := f.callback(t, f.start(t, provider))
	if q.Get("code") != "" || q.Get("error") == "" {
		t.Fatalf("callback redirect %v: want an error and no code", q)
	}
	return q.Get("error")
}

// signIn runs a whole sign-in with provider: start, the provider, the
// callback and the exchange.
func (f *fixture) signIn(t *testing.T, provider string) (auth.Tokens, auth.User, bool) {
	t.Helper()
	q := f.callback(t, f.start(t, provider))
	if e := q.Get("error"); e != "" {
		t.Fatalf("sign-in with %s: callback error %s", provider, e)
	}
	tok, u, created, err := f.svc.Exchange(context.Background(), client, q.Get("code"), q.Get("state"))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok, u, created
}

// passwordUser registers email with a password and verifies it.
func (f *fixture) passwordUser(t *testing.T, email string) auth.User {
	t.Helper()
	ctx := context.Background()
	if err := f.auth.Register(ctx, client, auth.RegisterInput{Email: email, Password: password, Name: "Pat"}); err != nil {
		t.Fatal(err)
	}
	u, err := f.auth.VerifyEmail(ctx, client, f.mail.token(t))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// users returns every user.
func (f *fixture) users(t *testing.T) []auth.User {
	t.Helper()
	us, _, err := f.store.Users(context.Background(), auth.UserFilter{}, auth.Page{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	return us
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
