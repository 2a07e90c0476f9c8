package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authd/auth"
	"github.com/authd/auth/verify"
)

func TestServeWithEdDSAPublishesItsKeys(t *testing.T) {
	t.Chdir(t.TempDir())
	vars := map[string]string{"JWT_ALGORITHM": "EdDSA", "DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "a.db")}
	err := run(context.Background(), []string{"createsuperuser", "--email", "root@example.com"}, envOf(vars),
		strings.NewReader("a very long admin passphrase\n"), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	base := startServe(t, vars)

	resp := post(t, base+"/api/v1/auth/login/", `{"email":"root@example.com","password":"a very long admin passphrase"}`, "")
	var tokens struct {
		Access string `json:"access"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tokens); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("login = %d, %v", resp.StatusCode, err)
	}

	jwksResp, err := http.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	jwksResp.Body.Close()
	if jwksResp.StatusCode != http.StatusOK || jwksResp.Header.Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("GET /.well-known/jwks.json = %d, Cache-Control %q", jwksResp.StatusCode, jwksResp.Header.Get("Cache-Control"))
	}

	v, err := verify.New(t.Context(), base+"/.well-known/jwks.json", verify.Config{Issuer: "http://localhost:8080"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	c, err := v.Verify(t.Context(), tokens.Access)
	if err != nil {
		t.Fatalf("the verify package refused authd's access token: %v", err)
	}
	if c.Role != "SYSTEM_ADMIN" {
		t.Errorf("role = %q", c.Role)
	}

	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/auth/me/", nil)
	req.Header.Set("Authorization", "Bearer "+tokens.Access)
	me, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	me.Body.Close()
	if me.StatusCode != http.StatusOK {
		t.Fatalf("GET /auth/me/ with the EdDSA token = %d", me.StatusCode)
	}

	fi, err := os.Stat("data/jwt_signing_key.pem")
	if err != nil {
		t.Fatalf("the signing key was not generated: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("data/jwt_signing_key.pem has mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := os.Stat("data/jwt_secret_key"); err == nil {
		t.Error("a JWT secret was generated though tokens are signed with EdDSA")
	}
}

// writeJWTKeyFile writes k as PEM into dir/name and returns the path.
func writeJWTKeyFile(t *testing.T, k auth.SigningKey, name string) string {
	t.Helper()
	b, err := auth.MarshalSigningKeyPEM(k)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadJWTKeys runs loadSettings and loadSecrets on vars.
func loadJWTKeys(vars map[string]string) ([]auth.SigningKey, error) {
	s, err := loadSettings(envOf(vars))
	if err != nil {
		return nil, err
	}
	if err := s.loadSecrets(envOf(vars), discardLogger()); err != nil {
		return nil, err
	}
	return s.Auth.SigningKeys, nil
}

func TestSigningKeySettings(t *testing.T) {
	t.Chdir(t.TempDir())
	newKey := func(alg string) auth.SigningKey {
		k, err := auth.GenerateSigningKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	current, previous, next, rsaKey := newKey(auth.AlgEdDSA), newKey(auth.AlgEdDSA), newKey(auth.AlgEdDSA), newKey(auth.AlgRS256)
	currentFile := writeJWTKeyFile(t, current, "current.pem")
	previousFile := writeJWTKeyFile(t, previous, "previous.pem")
	nextPublicFile := writeJWTKeyFile(t, auth.SigningKey{Key: next.Key.(ed25519.PrivateKey).Public()}, "next.pub.pem")
	rsaFile := writeJWTKeyFile(t, rsaKey, "rsa.pem")

	t.Run("key files give one signing key and verify-only keys", func(t *testing.T) {
		keys, err := loadJWTKeys(map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_SIGNING_KEY_FILE": currentFile,
			"JWT_VERIFY_KEY_FILES": previousFile + ", " + nextPublicFile})
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 3 || keys[0].ID != current.ID || keys[0].VerifyOnly ||
			keys[1].ID != previous.ID || !keys[1].VerifyOnly || keys[2].ID != next.ID || !keys[2].VerifyOnly {
			t.Fatalf("keys = %+v", keys)
		}
	})
	t.Run("an RS256 key file is read", func(t *testing.T) {
		keys, err := loadJWTKeys(map[string]string{"JWT_ALGORITHM": "RS256", "JWT_SIGNING_KEY_FILE": rsaFile})
		if err != nil || len(keys) != 1 || keys[0].Algorithm != auth.AlgRS256 {
			t.Fatalf("keys = %+v, %v", keys, err)
		}
	})
	t.Run("the generated key survives a restart", func(t *testing.T) {
		first, err := loadJWTKeys(map[string]string{"JWT_ALGORITHM": "EdDSA"})
		if err != nil {
			t.Fatal(err)
		}
		again, err := loadJWTKeys(map[string]string{"JWT_ALGORITHM": "EdDSA"})
		if err != nil {
			t.Fatal(err)
		}
		if len(first) != 1 || len(again) != 1 || first[0].ID != again[0].ID {
			t.Fatalf("generated keys differ between starts: %v / %v", first, again)
		}
	})

	tests := []struct {
		name string
		vars map[string]string
		want string // in the error
	}{
		{"an unknown algorithm", map[string]string{"JWT_ALGORITHM": "ES256"}, "JWT_ALGORITHM"},
		{"alg none", map[string]string{"JWT_ALGORITHM": "none"}, "JWT_ALGORITHM"},
		{"key files with HS256", map[string]string{"JWT_SIGNING_KEY_FILE": currentFile}, "JWT_ALGORITHM"},
		{"a key of another algorithm", map[string]string{"JWT_ALGORITHM": "RS256", "JWT_SIGNING_KEY_FILE": currentFile}, "JWT_ALGORITHM=RS256"},
		{"a verify-only key of another algorithm", map[string]string{"JWT_ALGORITHM": "EdDSA",
			"JWT_SIGNING_KEY_FILE": currentFile, "JWT_VERIFY_KEY_FILES": rsaFile}, "only one algorithm"},
		{"a public key as the signing key", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_SIGNING_KEY_FILE": nextPublicFile}, "private key"},
		{"a missing key file", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_SIGNING_KEY_FILE": "/nonexistent.pem"}, "JWT_SIGNING_KEY_FILE"},
		{"a file that is not a key", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_VERIFY_KEY_FILES": writeJunkKey(t, "junk")}, "JWT_VERIFY_KEY_FILES"},
		{"the generated EdDSA key under RS256", map[string]string{"JWT_ALGORITHM": "RS256"}, "move it away"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			_, err := loadJWTKeys(tt.vars)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func writeJunkKey(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "junk.pem")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
