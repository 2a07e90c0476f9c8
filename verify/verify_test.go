package verify_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authd/auth"
	"github.com/authd/auth/internal/testkit"
	"github.com/authd/auth/storage"
	"github.com/authd/auth/verify"
)

const (
	issuer   = "https://auth.example.test"
	password = "correct horse battery staple"
)

type discardMailer struct{}

func (discardMailer) Send(context.Context, auth.Message) error { return nil }

// issuerEnv is an authd library instance on SQLite whose JWK Set an
// httptest server publishes; swap replaces the Authenticator (a key
// rotation) on the same store.
type issuerEnv struct {
	t       *testing.T
	store   *storage.Store
	clock   *testkit.Clock
	srv     *httptest.Server
	fetches atomic.Int32
	down    atomic.Bool

	mu   sync.Mutex
	auth *auth.Authenticator
}

func newIssuer(t *testing.T, keys ...auth.SigningKey) *issuerEnv {
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
	e := &issuerEnv{t: t, store: st, clock: testkit.NewClock(time.Now().Truncate(time.Second))}
	e.swap(keys...)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.fetches.Add(1)
		if e.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		e.mu.Lock()
		body, ok := e.auth.JWKS()
		e.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(e.srv.Close)
	if _, err := e.authenticator().CreateSuperuser(ctx, "ada@example.com", password); err != nil {
		t.Fatal(err)
	}
	return e
}

// swap replaces the Authenticator with one on keys (HS256 when none).
func (e *issuerEnv) swap(keys ...auth.SigningKey) {
	e.t.Helper()
	cfg := auth.Config{Issuer: issuer, SigningKeys: keys, Now: e.clock.Now,
		Argon2: auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1}, RateLimitDisabled: true}
	if len(keys) == 0 {
		cfg.JWTSecret = []byte("an HS256 secret of at least 32 bytes!")
	}
	a, err := auth.NewAuthenticator(e.store, discardMailer{}, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	e.auth = a
	e.mu.Unlock()
}

func (e *issuerEnv) authenticator() *auth.Authenticator {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.auth
}

func (e *issuerEnv) jwksURL() string { return e.srv.URL + "/.well-known/jwks.json" }

// login returns fresh tokens of the test user from the current
// Authenticator.
func (e *issuerEnv) login() auth.Tokens {
	e.t.Helper()
	tok, _, err := e.authenticator().Login(context.Background(), auth.Client{IP: "192.0.2.1"}, "ada@example.com", password)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// verifier returns a Verifier of e's JWK Set, closed when the test ends.
func (e *issuerEnv) verifier(edit ...func(*verify.Config)) *verify.Verifier {
	e.t.Helper()
	cfg := verify.Config{Issuer: issuer, Now: e.clock.Now}
	for _, f := range edit {
		f(&cfg)
	}
	v, err := verify.New(context.Background(), e.jwksURL(), cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(v.Close)
	return v
}

func key(t *testing.T, alg string) auth.SigningKey {
	t.Helper()
	k, err := auth.GenerateSigningKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func verifyOnly(k auth.SigningKey) auth.SigningKey { k.VerifyOnly = true; return k }

func TestVerify(t *testing.T) {
	for _, alg := range []string{auth.AlgEdDSA, auth.AlgRS256} {
		t.Run("a valid "+alg+" access token is accepted", func(t *testing.T) {
			e := newIssuer(t, key(t, alg))
			v := e.verifier()
			tok := e.login()
			c, err := v.Verify(t.Context(), tok.Access)
			if err != nil {
				t.Fatalf("Verify = %v", err)
			}
			p, err := e.authenticator().VerifyAccessToken(tok.Access)
			if err != nil {
				t.Fatal(err)
			}
			if c.UserID != p.UserID || c.SessionID != tok.SessionID || c.Role != "SYSTEM_ADMIN" || c.ID == "" {
				t.Fatalf("claims = %+v, want user %s session %s role SYSTEM_ADMIN", c, p.UserID, tok.SessionID)
			}
			if want := e.clock.Now().Add(5 * time.Minute); !c.ExpiresAt.Equal(want) || !c.IssuedAt.Equal(e.clock.Now()) {
				t.Fatalf("iat/exp = %v/%v, want %v/%v", c.IssuedAt, c.ExpiresAt, e.clock.Now(), want)
			}
		})
	}

	e := newIssuer(t, key(t, auth.AlgEdDSA))
	v := e.verifier()
	tok := e.login()
	refused := func(t *testing.T, v *verify.Verifier, token string) {
		t.Helper()
		if _, err := v.Verify(t.Context(), token); !errors.Is(err, verify.ErrInvalidToken) {
			t.Fatalf("Verify = %v, want ErrInvalidToken", err)
		}
	}

	t.Run("a refresh token is refused", func(t *testing.T) { refused(t, v, tok.Refresh) })
	t.Run("garbage is refused", func(t *testing.T) { refused(t, v, "not.a.token") })
	t.Run("another issuer's verifier refuses the token", func(t *testing.T) {
		refused(t, e.verifier(func(c *verify.Config) { c.Issuer = "https://other.example.test" }), tok.Access)
	})
	t.Run("another audience's verifier refuses the token", func(t *testing.T) {
		refused(t, e.verifier(func(c *verify.Config) { c.Audience = "billing" }), tok.Access)
	})
	t.Run("an HS256 token is refused", func(t *testing.T) {
		hs := newIssuer(t)
		refused(t, v, hs.login().Access)
	})
	t.Run("an HS256 token keyed with the public key and naming its kid is refused", func(t *testing.T) {
		body, _ := e.authenticator().JWKS()
		forged := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": issuer, "aud": "authd",
			"sub": "u", "sid": "s", "jti": "j", "typ": "access", "exp": e.clock.Now().Add(time.Minute).Unix()})
		forged.Header["kid"] = kidOf(t, tok.Access)
		s, err := forged.SignedString(body)
		if err != nil {
			t.Fatal(err)
		}
		refused(t, v, s)
	})
	t.Run("a token with a jku header is refused and the jku is never fetched", func(t *testing.T) {
		var hits atomic.Int32
		evil := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
		defer evil.Close()
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		forged := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"iss": issuer, "aud": "authd",
			"sub": "u", "sid": "s", "jti": "j", "typ": "access", "exp": e.clock.Now().Add(time.Minute).Unix()})
		forged.Header["kid"] = kidOf(t, tok.Access)
		forged.Header["jku"] = evil.URL
		forged.Header["x5u"] = evil.URL
		s, err := forged.SignedString(priv)
		if err != nil {
			t.Fatal(err)
		}
		refused(t, v, s)
		if hits.Load() != 0 {
			t.Fatal("the jku/x5u server was fetched")
		}
	})
	t.Run("an expired token is refused", func(t *testing.T) {
		e := newIssuer(t, key(t, auth.AlgEdDSA))
		v := e.verifier()
		tok := e.login()
		e.clock.Advance(5*time.Minute + 10*time.Second)
		refused(t, v, tok.Access)
	})
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Header["kid"].(string)
}

func TestVerifierFollowsKeyRotation(t *testing.T) {
	oldKey, newKey := key(t, auth.AlgEdDSA), key(t, auth.AlgEdDSA)
	e := newIssuer(t, oldKey)
	v := e.verifier()
	before := e.login()
	if _, err := v.Verify(t.Context(), before.Access); err != nil {
		t.Fatal(err)
	}

	e.swap(newKey, verifyOnly(oldKey))
	after := e.login()
	fetches := e.fetches.Load()

	t.Run("an unknown kid within MinRefreshInterval of the last fetch is refused without a fetch", func(t *testing.T) {
		if _, err := v.Verify(t.Context(), after.Access); !errors.Is(err, verify.ErrInvalidToken) {
			t.Fatalf("Verify = %v", err)
		}
		if n := e.fetches.Load(); n != fetches {
			t.Fatalf("%d fetches, want none", n-fetches)
		}
	})

	e.clock.Advance(31 * time.Second)
	after = e.login()
	t.Run("after the floor, the unknown kid is fetched once, however many callers ask", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 16 {
			wg.Go(func() {
				_, err := v.Verify(t.Context(), after.Access)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("Verify after the rotation = %v", err)
			}
		}
		if n := e.fetches.Load() - fetches; n != 1 {
			t.Fatalf("%d fetches, want 1", n)
		}
	})
	t.Run("tokens of the old key still verify", func(t *testing.T) {
		if _, err := v.Verify(t.Context(), before.Access); err != nil {
			t.Fatalf("Verify = %v", err)
		}
	})
	t.Run("a key removed from the set stops verifying after a refresh", func(t *testing.T) {
		e.swap(newKey)
		if err := v.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(t.Context(), before.Access); !errors.Is(err, verify.ErrInvalidToken) {
			t.Fatalf("Verify = %v", err)
		}
	})
}

func TestVerifierKeepsItsKeysWhenTheJWKSIsDown(t *testing.T) {
	e := newIssuer(t, key(t, auth.AlgEdDSA))
	v := e.verifier()
	tok := e.login()
	e.down.Store(true)

	if err := v.Refresh(t.Context()); err == nil {
		t.Fatal("Refresh succeeded with the JWK Set down")
	}
	if _, err := v.Verify(t.Context(), tok.Access); err != nil {
		t.Fatalf("Verify with the JWK Set down = %v", err)
	}

	e.srv.Close()
	if _, err := v.Verify(t.Context(), tok.Access); err != nil {
		t.Fatalf("Verify with the JWK Set server gone = %v", err)
	}
	// An unknown kid fails cleanly.
	e.swap(key(t, auth.AlgEdDSA))
	e.clock.Advance(time.Minute)
	if _, err := v.Verify(t.Context(), e.login().Access); !errors.Is(err, verify.ErrInvalidToken) {
		t.Fatalf("Verify of an unknown kid with the server gone = %v", err)
	}
}

func TestVerifierRefreshesInTheBackground(t *testing.T) {
	e := newIssuer(t, key(t, auth.AlgEdDSA))
	ctx, cancel := context.WithCancel(context.Background())
	v, err := verify.New(ctx, e.jwksURL(), verify.Config{Issuer: issuer, Now: e.clock.Now, RefreshInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.fetches.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("no background refresh within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}

	t.Run("the refresher stops when the context ends", func(t *testing.T) {
		cancel()
		v.Close() // waits for the refresher
		n := e.fetches.Load()
		time.Sleep(30 * time.Millisecond)
		if e.fetches.Load() != n {
			t.Fatal("fetches went on after the context ended")
		}
		v.Close() // a second Close is harmless
	})
	t.Run("a closed verifier still verifies with its keys", func(t *testing.T) {
		if _, err := v.Verify(t.Context(), e.login().Access); err != nil {
			t.Fatalf("Verify after Close = %v", err)
		}
	})
}

func TestNewFailsWithoutUsableKeys(t *testing.T) {
	hs := newIssuer(t)
	empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"x"},{"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"short"}]}`))
	}))
	defer empty.Close()
	tests := []struct {
		name, url string
		cfg       verify.Config
	}{
		{"an HS256 authd (JWK Set 404)", hs.jwksURL(), verify.Config{Issuer: issuer}},
		{"a set without usable keys", empty.URL, verify.Config{Issuer: issuer}},
		{"no issuer", hs.jwksURL(), verify.Config{}},
		{"an unreachable URL", "http://127.0.0.1:1/jwks.json", verify.Config{Issuer: issuer}},
		{"a negative interval", hs.jwksURL(), verify.Config{Issuer: issuer, RefreshInterval: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is an error", func(t *testing.T) {
			v, err := verify.New(t.Context(), tt.url, tt.cfg)
			if err == nil {
				v.Close()
				t.Fatal("New succeeded")
			}
		})
	}
}
