package sso_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/authd/auth"
	"github.com/authd/auth/sso"
	"github.com/authd/auth/sso/ssotest"
)

var providers = []string{"google", "github"}

func TestSignInCreatesAUserThenSignsItInAgain(t *testing.T) {
	t.Parallel()
	for _, provider := range providers {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ctx := context.Background()

			tok, u, created := f.signIn(t, provider)
			if !created {
				t.Error("first sign-in: created = false, want true")
			}
			if u.Email != "ada@example.com" || u.Name != "Ada Lovelace" || !u.EmailVerified || u.HasPassword() || !u.IsActive {
				t.Errorf("new user = %+v, want ada@example.com, verified, without a password", u)
			}
			p, err := f.auth.Authenticate(ctx, tok.Access)
			if err != nil || p.UserID != u.ID {
				t.Fatalf("the access token does not authenticate the user: %v", err)
			}
			ids, err := f.store.UserIdentities(ctx, u.ID)
			if err != nil || len(ids) != 1 || ids[0].Provider != provider || ids[0].Subject != "4242" {
				t.Errorf("identities = %+v, %v; want one %s identity with subject 4242", ids, err, provider)
			}

			_, again, created := f.signIn(t, provider)
			if created || again.ID != u.ID {
				t.Errorf("second sign-in: user %s, created %v; want %s, false", again.ID, created, u.ID)
			}
			if n := len(f.users(t)); n != 1 {
				t.Errorf("%d users, want 1", n)
			}
			if n := len(f.events(t, auth.EventSSOLogin)); n != 2 {
				t.Errorf("%d sso.login events, want 2", n)
			}
		})
	}
}

func TestAuthorizationRequestUsesPKCEAndTheCallback(t *testing.T) {
	t.Parallel()
	scopes := map[string]string{"google": "openid email profile", "github": "read:user user:email"}
	for _, provider := range providers {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.start(t, provider)
			q := f.fake.LastAuthorization()
			if q.Get("scope") != scopes[provider] || q.Get("redirect_uri") != callbackURL ||
				q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
				t.Errorf("authorization request %v: want scopes %q, the callback and an S256 challenge", q, scopes[provider])
			}
			if q.Has("code_verifier") {
				t.Error("the PKCE verifier travelled through the browser")
			}
		})
	}
}

func TestSignInLinksAVerifiedEmailToTheExistingUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	existing := f.passwordUser(t, "ada@example.com")

	_, u, created := f.signIn(t, "github")
	if created || u.ID != existing.ID || !u.HasPassword() {
		t.Fatalf("sign-in: user %s (password %v), created %v; want the existing %s, not created",
			u.ID, u.HasPassword(), created, existing.ID)
	}
	ids, err := f.store.UserIdentities(context.Background(), existing.ID)
	if err != nil || len(ids) != 1 || ids[0].Provider != "github" {
		t.Errorf("identities = %+v, %v; want the github identity", ids, err)
	}
	linked := f.events(t, auth.EventSSOLinked)
	if len(linked) != 1 || linked[0].ActorID != existing.ID || linked[0].Metadata["provider"] != "github" {
		t.Errorf("sso.linked events = %+v, want one for the existing user", linked)
	}
}

func TestAnEmailTheProviderDoesNotVouchForIsRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		provider string
		edit     func(*ssotest.Identity)
	}{
		{"github with only a verified secondary address", "github", func(id *ssotest.Identity) {
			id.Emails = []ssotest.Email{{Email: "ada@example.com", Verified: true}, {Email: "ada@work.example", Primary: true}}
		}},
		{"github with an unverified primary address", "github", func(id *ssotest.Identity) { id.EmailVerified = false }},
		{"github without any address", "github", func(id *ssotest.Identity) { id.Emails = []ssotest.Email{} }},
		{"google with email_verified false", "google", func(id *ssotest.Identity) { id.EmailVerified = false }},
		{`google with email_verified "false"`, "google", func(id *ssotest.Identity) {
			id.EmailVerified, id.VerifiedAsString = false, true
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			id := ssotest.DefaultIdentity()
			tt.edit(&id)
			f.fake.SetIdentity(id)
			if got := f.failure(t, tt.provider); got != "email_not_verified" {
				t.Errorf("error = %s, want email_not_verified", got)
			}
			if us := f.users(t); len(us) != 0 {
				t.Errorf("users = %+v, want none", us)
			}
		})
	}
}

func TestAStringTrueEmailVerifiedCounts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := ssotest.DefaultIdentity()
	id.VerifiedAsString = true
	f.fake.SetIdentity(id)
	if _, u, created := f.signIn(t, "google"); !created || !u.EmailVerified {
		t.Errorf("user %+v, created %v; want a new verified user", u, created)
	}
}

func TestADisabledUserIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	disable := func(t *testing.T, f *fixture, id string) {
		u, err := f.store.UserByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		u.IsActive = false
		if err := f.store.UpdateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("at the callback", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		_, u, _ := f.signIn(t, "google")
		disable(t, f, u.ID)
		if got := f.failure(t, "google"); got != "account_disabled" {
			t.Errorf("error = %s, want account_disabled", got)
		}
	})
	t.Run("when linking by email", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		disable(t, f, f.passwordUser(t, "ada@example.com").ID)
		if got := f.failure(t, "github"); got != "account_disabled" {
			t.Errorf("error = %s, want account_disabled", got)
		}
	})
	t.Run("between the callback and the exchange", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		_, u, _ := f.signIn(t, "google")
		q := f.callback(t, f.start(t, "google"))
		disable(t, f, u.ID)
		_, _, _, err := f.svc.Exchange(ctx, client, q.Get("code"), q.Get("state"))
		if !errors.Is(err, auth.ErrAccountDisabled) {
			t.Errorf("exchange: %v, want ErrAccountDisabled", err)
		}
	})
}

func TestTheUserDecliningIsAccessDenied(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fake.DenyNext()
	if got := f.failure(t, "google"); got != "access_denied" {
		t.Errorf("error = %s, want access_denied", got)
	}
	if n := f.fake.TokenRequests(); n != 0 {
		t.Errorf("%d token requests, want none", n)
	}
}

func TestProviderFailuresAreProviderError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		provider string
		setup    func(*setup)
		fake     func(*ssotest.Server)
		logged   string // the reason the service logs
	}{
		{name: "token endpoint 500", provider: "google", logged: "token endpoint answered 500",
			fake: func(s *ssotest.Server) { s.FailNext(http.StatusInternalServerError) }},
		{name: "wrong client secret", provider: "github", logged: `answered 401 with error \"invalid_client\"`,
			setup: func(s *setup) { s.github.ClientSecret = "wrong" }},
		{name: "wrong PKCE verifier", provider: "google", logged: `answered 400 with error \"invalid_grant\"`, setup: func(s *setup) {
			s.tokens = func(ts auth.TokenStore) auth.TokenStore {
				return tamperedTokens{ts, func(t auth.OneTimeToken) auth.OneTimeToken {
					if t.Purpose == auth.PurposeSSOState {
						provider, _, _ := strings.Cut(t.Data, "\n")
						t.Data = provider + "\n" + strings.Repeat("v", 43)
					}
					return t
				}}
			}
		}},
		{name: "userinfo 500", provider: "google", logged: "userinfo: GET", fake: func(s *ssotest.Server) {
			s.Handle("/google/userinfo", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
		}},
		{name: "userinfo not JSON", provider: "google", logged: "decode answer", fake: func(s *ssotest.Server) {
			s.Handle("/google/userinfo", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) })
		}},
		{name: "emails 403", provider: "github", logged: "emails: GET", fake: func(s *ssotest.Server) {
			s.Handle("/github/api/user/emails", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var edits []func(*setup)
			if tt.setup != nil {
				edits = append(edits, tt.setup)
			}
			f := newFixture(t, edits...)
			if tt.fake != nil {
				tt.fake(f.fake)
			}
			if got := f.failure(t, tt.provider); got != "provider_error" {
				t.Errorf("error = %s, want provider_error", got)
			}
			if logs := f.logs.String(); !strings.Contains(logs, tt.logged) {
				t.Errorf("logs %q do not say %q", logs, tt.logged)
			}
			if us := f.users(t); len(us) != 0 {
				t.Errorf("users = %+v, want none", us)
			}
		})
	}
}

func TestACallbackWithoutACodeIsProviderError(t *testing.T) {
	t.Parallel()
	for name, edit := range map[string]func(url.Values){
		"no code":             func(q url.Values) { q.Del("code") },
		"another error value": func(q url.Values) { q.Del("code"); q.Set("error", "temporarily_unavailable") },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			q := f.start(t, "github")
			edit(q)
			if got := f.callback(t, q).Get("error"); got != "provider_error" {
				t.Errorf("error = %s, want provider_error", got)
			}
			if n := f.fake.TokenRequests(); n != 0 {
				t.Errorf("%d token requests, want none", n)
			}
		})
	}
}

// TestASlowProviderFailsPromptly is not parallel: it counts goroutines.
func TestASlowProviderFailsPromptly(t *testing.T) {
	const timeout = 300 * time.Millisecond
	f := newFixture(t, func(s *setup) { s.google.Timeout = timeout })
	f.fake.Delay(time.Minute)
	q := f.start(t, "google")
	f.fake.CloseClientConnections()

	before := runtime.NumGoroutine()
	began := time.Now()
	got := f.callback(t, q).Get("error")
	if took := time.Since(began); took > timeout+2*time.Second {
		t.Errorf("the callback took %s with a timeout of %s", took, timeout)
	}
	if got != "provider_error" {
		t.Errorf("error = %s, want provider_error", got)
	}
	// The abandoned request's goroutines, on both sides of the connection,
	// end once it is closed; wait a bounded while for that.
	var n int
	var left []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		n, left = runtime.NumGoroutine(), requestGoroutines()
		if n <= before && len(left) == 0 {
			return
		}
	}
	t.Errorf("%d goroutines after the callback, %d before; still serving the request:\n%s",
		n, before, strings.Join(left, "\n\n"))
}

// requestGoroutines returns the stacks of the goroutines that serve or
// make an HTTP request.
func requestGoroutines() []string {
	buf := make([]byte, 1<<20)
	var found []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "net/http.(*conn).serve") || strings.Contains(g, "net/http.(*persistConn)") {
			found = append(found, g)
		}
	}
	return found
}

func TestABadStateNeverReachesTheProvider(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(*setup)
		// state returns the query to call back with, given a genuine one.
		query func(t *testing.T, f *fixture, q url.Values) url.Values
	}{
		{name: "no state", query: func(_ *testing.T, _ *fixture, q url.Values) url.Values {
			q.Del("state")
			return q
		}},
		{name: "garbage", query: func(_ *testing.T, _ *fixture, q url.Values) url.Values {
			q.Set("state", "not-a-state")
			return q
		}},
		{name: "forged MAC", query: func(_ *testing.T, _ *fixture, q url.Values) url.Values {
			payload, mac, _ := strings.Cut(q.Get("state"), ".")
			q.Set("state", payload+"."+flip(mac))
			return q
		}},
		{name: "provider changed inside", query: func(t *testing.T, _ *fixture, q url.Values) url.Values {
			payload, mac, _ := strings.Cut(q.Get("state"), ".")
			raw, err := base64.RawURLEncoding.DecodeString(payload)
			if err != nil || !strings.HasPrefix(string(raw), "google|") {
				t.Fatalf("state payload %q, %v: want it to name google first", raw, err)
			}
			changed := "github|" + strings.TrimPrefix(string(raw), "google|")
			q.Set("state", base64.RawURLEncoding.EncodeToString([]byte(changed))+"."+mac)
			return q
		}},
		{name: "signed with another key", query: func(t *testing.T, f *fixture, q url.Values) url.Values {
			other, err := sso.NewService(f.auth, f.store, map[string]sso.Provider{"google": mustGoogle(t, f)},
				sso.Config{SecretKey: []byte(strings.Repeat("k", 32)), Now: f.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			_, state, err := other.Start(context.Background(), client, "google")
			if err != nil {
				t.Fatal(err)
			}
			q.Set("state", state)
			return q
		}},
		{name: "expired", query: func(_ *testing.T, f *fixture, q url.Values) url.Values {
			f.clock.Advance(11 * time.Minute)
			return q
		}},
		{name: "stored for another provider", setup: func(s *setup) {
			s.tokens = func(ts auth.TokenStore) auth.TokenStore {
				return tamperedTokens{ts, func(t auth.OneTimeToken) auth.OneTimeToken {
					if t.Purpose == auth.PurposeSSOState {
						t.Data = strings.Replace(t.Data, "google\n", "github\n", 1)
					}
					return t
				}}
			}
		}, query: func(_ *testing.T, _ *fixture, q url.Values) url.Values { return q }},
		{name: "already used", query: func(t *testing.T, f *fixture, q url.Values) url.Values {
			if e := f.callback(t, q).Get("error"); e != "" {
				t.Fatalf("first callback: %s", e)
			}
			return q
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var edits []func(*setup)
			if tt.setup != nil {
				edits = append(edits, tt.setup)
			}
			f := newFixture(t, edits...)
			q := tt.query(t, f, f.start(t, "google"))
			calls := f.fake.TokenRequests()
			if got := f.callback(t, q).Get("error"); got != "invalid_state" {
				t.Errorf("error = %s, want invalid_state", got)
			}
			if n := f.fake.TokenRequests(); n != calls {
				t.Errorf("the provider's token endpoint was called %d times more", n-calls)
			}
		})
	}
}

func TestAnExchangeCodeIsSingleUseShortLivedAndBoundToItsState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("a second exchange is invalid_token", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		q := f.callback(t, f.start(t, "google"))
		if _, _, _, err := f.svc.Exchange(ctx, client, q.Get("code"), q.Get("state")); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := f.svc.Exchange(ctx, client, q.Get("code"), q.Get("state")); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("replayed code: %v, want ErrInvalidToken", err)
		}
	})
	t.Run("another state is invalid_token", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		first := f.callback(t, f.start(t, "google"))
		second := f.callback(t, f.start(t, "google"))
		if _, _, _, err := f.svc.Exchange(ctx, client, first.Get("code"), second.Get("state")); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("code with another state: %v, want ErrInvalidToken", err)
		}
	})
	t.Run("after 60 seconds it is invalid_token", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		q := f.callback(t, f.start(t, "google"))
		f.clock.Advance(61 * time.Second)
		if _, _, _, err := f.svc.Exchange(ctx, client, q.Get("code"), q.Get("state")); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("late exchange: %v, want ErrInvalidToken", err)
		}
	})
	t.Run("missing fields are a validation error", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		_, _, _, err := f.svc.Exchange(ctx, client, "", "")
		var verr *auth.ValidationError
		if !errors.As(err, &verr) || verr.Fields["code"] == "" || verr.Fields["state"] == "" {
			t.Errorf("empty exchange: %v, want a validation error on code and state", err)
		}
	})
}

func TestStartRefusesUnknownProviders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	google := mustGoogle(t, f)
	svc, err := sso.NewService(f.auth, f.store, map[string]sso.Provider{"google": google, "github": nil},
		sso.Config{SecretKey: secretKey})
	if err != nil {
		t.Fatal(err)
	}
	if got := svc.Providers(); len(got) != 1 || got[0] != "google" {
		t.Errorf("Providers() = %v, want [google]", got)
	}
	for _, name := range []string{"github", "facebook", ""} {
		if _, _, err := svc.Start(context.Background(), client, name); !errors.Is(err, auth.ErrUnknownProvider) {
			t.Errorf("Start(%q): %v, want ErrUnknownProvider", name, err)
		}
	}
}

func TestStartIsThrottledPerClientIP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	limit := func(s *setup) { s.cfg.Limit = auth.Limit{Burst: 2, Period: time.Minute} }

	t.Run("past the limit", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, limit)
		for range 2 {
			if _, _, err := f.svc.Start(ctx, client, "google"); err != nil {
				t.Fatal(err)
			}
		}
		_, _, err := f.svc.Start(ctx, client, "github")
		var throttled *auth.ThrottledError
		if !errors.As(err, &throttled) || throttled.RetryAfter <= 0 {
			t.Fatalf("third start: %v, want a *ThrottledError with a RetryAfter", err)
		}
		if _, _, err := f.svc.Start(ctx, auth.Client{IP: "198.51.100.7"}, "google"); err != nil {
			t.Errorf("another IP: %v", err)
		}
		f.clock.Advance(time.Minute)
		if _, _, err := f.svc.Start(ctx, client, "google"); err != nil {
			t.Errorf("a minute later: %v", err)
		}
	})
	t.Run("not when rate limits are disabled", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, limit, func(s *setup) { s.cfg.RateLimitDisabled = true })
		for range 5 {
			if _, _, err := f.svc.Start(ctx, client, "google"); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestNoTokenAppearsInARedirect(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var secrets []string
	for _, provider := range providers {
		tok, _, _ := f.signIn(t, provider)
		secrets = append(secrets, tok.Access, tok.Refresh)
	}
	secrets = append(secrets, f.fake.Secrets()...)
	if len(secrets) < 8 { // 2 × (access, refresh, provider token, verifier)
		t.Fatalf("only %d secrets seen", len(secrets))
	}
	for _, loc := range f.redirects {
		decoded, _ := url.QueryUnescape(loc)
		for _, s := range secrets {
			if strings.Contains(loc, s) || strings.Contains(decoded, s) {
				t.Errorf("redirect %s holds a token or verifier", loc)
			}
		}
	}
}

func TestNewServiceChecksItsSettings(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	google := mustGoogle(t, f)
	tests := []struct {
		name      string
		providers map[string]sso.Provider
		cfg       sso.Config
	}{
		{"a short secret key", nil, sso.Config{SecretKey: secretKey[:31]}},
		{"a provider under another name", map[string]sso.Provider{"github": google}, sso.Config{SecretKey: secretKey}},
		{"a relative frontend URL", nil, sso.Config{SecretKey: secretKey, FrontendURL: "/app"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sso.NewService(f.auth, f.store, tt.providers, tt.cfg); err == nil {
				t.Error("NewService accepted it")
			}
		})
	}
}

func mustGoogle(t *testing.T, f *fixture) sso.Provider {
	t.Helper()
	p, err := sso.Google(f.fake.GoogleConfig(callbackURL))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// flip changes the first character of a base64url string.
func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}
