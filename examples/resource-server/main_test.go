package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/auth"
	"github.com/authd/auth/httpapi"
	"github.com/authd/auth/storage"
)

const (
	email    = "ada@example.com"
	password = "correct horse battery staple"
)

type discardMailer struct{}

func (discardMailer) Send(context.Context, auth.Message) error { return nil }

// authd is the authd handler stack in-process: httpapi and the JWKS
// handler of an Authenticator on SQLite, behind a real HTTP server.
// rotate builds a new Authenticator over the same store with other keys
// and swaps it in, as a restart with new key files would.
type authd struct {
	t       *testing.T
	store   *storage.Store
	srv     *httptest.Server
	handler atomic.Pointer[http.Handler]
}

func startAuthd(t *testing.T, keys ...auth.SigningKey) *authd {
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
	d := &authd{t: t, store: st}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*d.handler.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(d.srv.Close)
	a := d.rotate(keys...)
	if _, err := a.CreateSuperuser(ctx, email, password); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *authd) rotate(keys ...auth.SigningKey) *auth.Authenticator {
	d.t.Helper()
	a, err := auth.NewAuthenticator(d.store, discardMailer{}, auth.Config{
		Issuer: d.srv.URL, SigningKeys: keys, RateLimitDisabled: true,
		Argon2: auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1},
	})
	if err != nil {
		d.t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Auth: a})
	if err != nil {
		d.t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", api)
	mux.Handle("GET /.well-known/jwks.json", httpapi.JWKS(a))
	var h http.Handler = mux
	d.handler.Store(&h)
	return a
}

type tokens struct {
	Access  string `json:"access"`
	Refresh string `json:"refresh"`
}

// call posts body to authd's path and decodes the tokens it answers.
func (d *authd) call(path, body string) tokens {
	d.t.Helper()
	resp, err := http.Post(d.srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok tokens
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK {
		d.t.Fatalf("POST %s = %d, %v", path, resp.StatusCode, err)
	}
	return tok
}

func (d *authd) login() tokens {
	return d.call("/api/v1/auth/login/", `{"email":"`+email+`","password":"`+password+`"}`)
}

func kid(t *testing.T, token string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	json.Unmarshal(b, &h)
	return h.Kid
}

// startResourceServer runs the example against d until the test ends and
// returns its base URL.
func startResourceServer(t *testing.T, d *authd) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-issuer", d.srv.URL,
			"-jwks", d.srv.URL + "/.well-known/jwks.json", "-jwks-min-refresh", "1ms"},
			io.Discard, func(addr string) { addrc <- addr })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run returned %v after shutdown", err)
		}
	})
	select {
	case addr := <-addrc:
		return "http://" + addr
	case err := <-done:
		t.Fatalf("run exited early: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the resource server did not start within 30s")
	}
	return ""
}

// getProfile calls the protected route with token ("" for none).
func getProfile(t *testing.T, base, token string) (int, map[string]string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/profile", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body, resp.Header
}

func TestResourceServerVerifiesTokensAcrossAKeyRotation(t *testing.T) {
	oldKey, err := auth.GenerateSigningKey(auth.AlgEdDSA)
	if err != nil {
		t.Fatal(err)
	}
	newKey, err := auth.GenerateSigningKey(auth.AlgEdDSA)
	if err != nil {
		t.Fatal(err)
	}
	d := startAuthd(t, oldKey)
	rs := startResourceServer(t, d)
	before := d.login()

	t.Run("a token from authd is accepted", func(t *testing.T) {
		code, body, _ := getProfile(t, rs, before.Access)
		if code != http.StatusOK || body["role"] != "SYSTEM_ADMIN" || body["user_id"] == "" || body["session_id"] == "" {
			t.Fatalf("GET /api/profile = %d %v", code, body)
		}
	})
	t.Run("no token is 401 with a Bearer challenge", func(t *testing.T) {
		code, body, h := getProfile(t, rs, "")
		if code != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") || body["code"] != "unauthenticated" {
			t.Fatalf("GET /api/profile without a token = %d %v %q", code, body, h.Get("WWW-Authenticate"))
		}
	})
	t.Run("a bad token is 401", func(t *testing.T) {
		if code, _, _ := getProfile(t, rs, before.Access+"x"); code != http.StatusUnauthorized {
			t.Fatalf("GET /api/profile with a forged token = %d", code)
		}
		if code, _, _ := getProfile(t, rs, before.Refresh); code != http.StatusUnauthorized {
			t.Fatalf("GET /api/profile with a refresh token = %d", code)
		}
	})

	// Rotate: the new key signs, the old one only verifies.
	d.rotate(newKey, auth.SigningKey{Key: oldKey.Key, VerifyOnly: true})
	after := d.login()
	if kid(t, after.Access) != newKey.ID || kid(t, before.Access) != oldKey.ID {
		t.Fatalf("kids = %s, %s; want the new key after the rotation", kid(t, before.Access), kid(t, after.Access))
	}
	t.Run("after the rotation the old key's tokens are still accepted", func(t *testing.T) {
		if code, body, _ := getProfile(t, rs, before.Access); code != http.StatusOK {
			t.Fatalf("old token = %d %v", code, body)
		}
	})
	t.Run("after the rotation the new key's tokens are accepted (the unknown kid is fetched)", func(t *testing.T) {
		if code, body, _ := getProfile(t, rs, after.Access); code != http.StatusOK {
			t.Fatalf("new token = %d %v", code, body)
		}
	})
	t.Run("a refresh token of the old key refreshes into a token of the new key", func(t *testing.T) {
		next := d.call("/api/v1/auth/token/refresh/", `{"refresh":"`+before.Refresh+`"}`)
		if kid(t, next.Access) != newKey.ID {
			t.Fatalf("refreshed token kid = %s", kid(t, next.Access))
		}
		if code, body, _ := getProfile(t, rs, next.Access); code != http.StatusOK {
			t.Fatalf("refreshed token = %d %v", code, body)
		}
	})
}
