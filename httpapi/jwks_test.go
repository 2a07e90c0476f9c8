package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	auth "github.com/authd/auth"
	"github.com/authd/auth/httpapi"
	"github.com/authd/auth/storage"
)

// jwksAuthenticator returns an Authenticator on a fresh SQLite store,
// signing with keys (HS256 when there are none).
func jwksAuthenticator(t *testing.T, keys ...auth.SigningKey) *auth.Authenticator {
	t.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "authd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := auth.Config{SigningKeys: keys, Argon2: auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1}}
	if len(keys) == 0 {
		cfg.JWTSecret = []byte("an HS256 key of at least 32 bytes, for tests only")
	}
	a, err := auth.NewAuthenticator(st, &jwksMailer{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

type jwksMailer struct{}

func (*jwksMailer) Send(context.Context, auth.Message) error { return nil }

func TestJWKS(t *testing.T) {
	signing, err := auth.GenerateSigningKey(auth.AlgEdDSA)
	if err != nil {
		t.Fatal(err)
	}
	previous, err := auth.GenerateSigningKey(auth.AlgEdDSA)
	if err != nil {
		t.Fatal(err)
	}
	previous.VerifyOnly = true
	a := jwksAuthenticator(t, signing, previous)
	h := httpapi.JWKS(a)

	t.Run("GET answers the public keys, cacheable for five minutes", func(t *testing.T) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
		if w.Code != http.StatusOK {
			t.Fatalf("status = %d", w.Code)
		}
		for k, want := range map[string]string{"Content-Type": "application/json",
			"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"} {
			if got := w.Header().Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		if w.Header().Get("X-Request-Id") == "" {
			t.Error("no X-Request-Id")
		}
		var set struct {
			Keys []map[string]string `json:"keys"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &set); err != nil {
			t.Fatal(err)
		}
		if len(set.Keys) != 2 {
			t.Fatalf("%d keys, want 2: %s", len(set.Keys), w.Body)
		}
		for i, want := range []string{signing.ID, previous.ID} {
			k := set.Keys[i]
			if k["kid"] != want || k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" ||
				k["use"] != "sig" || k["x"] == "" || k["d"] != "" {
				t.Errorf("key %d = %v, want the public JWK of %s", i, k, want)
			}
		}
	})
	t.Run("HEAD answers without a body", func(t *testing.T) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		resp, err := http.Head(srv.URL + "/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("HEAD = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
	t.Run("another method is 405 with Allow", func(t *testing.T) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/.well-known/jwks.json", strings.NewReader("{}")))
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" ||
			w.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("POST = %d, Allow %q, %s", w.Code, w.Header().Get("Allow"), w.Header().Get("Content-Type"))
		}
	})
	t.Run("with HS256 it is 404 not_found", func(t *testing.T) {
		w := httptest.NewRecorder()
		httpapi.JWKS(jwksAuthenticator(t)).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
		var p struct {
			Code   string `json:"code"`
			Status int    `json:"status"`
		}
		json.Unmarshal(w.Body.Bytes(), &p)
		if w.Code != http.StatusNotFound || p.Code != "not_found" || p.Status != 404 ||
			w.Header().Get("Content-Type") != "application/problem+json" || w.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("HS256 JWKS = %d %s %s %s", w.Code, w.Header().Get("Content-Type"), w.Header().Get("Cache-Control"), w.Body)
		}
	})
}
