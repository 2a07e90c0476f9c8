package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authd/auth/internal/testenv"
	"github.com/authd/auth/internal/testkit"
)

// envOf returns a getenv over vars.
func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs `authd serve` with vars until the test ends and returns
// its base URL once /healthz answers.
func startServe(t *testing.T, vars map[string]string) string {
	t.Helper()
	addr := vars["ADDR"]
	if addr == "" {
		addr = freeAddr(t)
		vars["ADDR"] = addr
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &testkit.Buffer{}
	go func() {
		done <- run(ctx, []string{"serve"}, envOf(vars), strings.NewReader(""), io.Discard, logs)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v after shutdown", err)
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("authd did not become healthy within 60s")
		}
	}
}

func TestServeOnEmbeddedDefaults(t *testing.T) {
	t.Chdir(t.TempDir())
	base := startServe(t, map[string]string{})

	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
		}
	}
	for _, f := range []string{"data/authd.db", "data/secret_key", "data/jwt_secret_key"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatalf("%s was not created: %v", f, err)
		}
		if strings.HasSuffix(f, "_key") && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}

	// Register; the verification mail lands in data/mail.
	resp := post(t, base+"/api/v1/auth/register/", `{"email":"new@example.com","password":"correct horse battery staple"}`, "")
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("register = %d", resp.StatusCode)
	}
	mails, _ := filepath.Glob("data/mail/*.eml")
	if len(mails) != 1 {
		t.Fatalf("%d mail files in data/mail, want 1", len(mails))
	}
}

func TestGeneratedSecretsSurviveARestart(t *testing.T) {
	t.Chdir(t.TempDir())
	s := settings{}
	if err := s.loadSecrets(envOf(nil), discardLogger()); err != nil {
		t.Fatal(err)
	}
	again := settings{}
	if err := again.loadSecrets(envOf(nil), discardLogger()); err != nil {
		t.Fatal(err)
	}
	if len(s.Auth.JWTSecret) < 32 || !bytes.Equal(s.Auth.JWTSecret, again.Auth.JWTSecret) || !bytes.Equal(s.SecretKey, again.SecretKey) {
		t.Fatal("generated secrets differ between starts")
	}
	set := settings{}
	if err := set.loadSecrets(envOf(map[string]string{"JWT_SECRET_KEY": "short"}), discardLogger()); err == nil {
		t.Fatal("a JWT_SECRET_KEY under 32 bytes was accepted")
	}
}

func TestCreateSuperuserThenLogin(t *testing.T) {
	t.Chdir(t.TempDir())
	vars := map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "a.db")}
	var out bytes.Buffer
	err := run(context.Background(), []string{"createsuperuser", "--email", "Root@Example.com"}, envOf(vars),
		strings.NewReader("a very long admin passphrase\n"), &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "root@example.com") {
		t.Fatalf("output %q does not name the user", out.String())
	}
	base := startServe(t, vars)
	resp := post(t, base+"/api/v1/auth/login", `{"email":"root@example.com","password":"a very long admin passphrase"}`, "")
	var body struct {
		User struct {
			Role          string `json:"role"`
			EmailVerified bool   `json:"email_verified"`
		} `json:"user"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusOK || body.User.Role != "SYSTEM_ADMIN" || !body.User.EmailVerified {
		t.Fatalf("login = %d %+v", resp.StatusCode, body)
	}

	err = run(context.Background(), []string{"createsuperuser", "--email", "x@example.com"}, envOf(vars),
		strings.NewReader("short\n"), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("a weak password = %v, want a password error", err)
	}
}

func TestServeOnPostgresAndRedis(t *testing.T) {
	redisURL, _ := testenv.RedisURL(t)
	vars := map[string]string{
		"DATABASE_URL":   testenv.PostgresURL(t),
		"REDIS_URL":      redisURL,
		"SECRET_KEY":     "0123456789abcdef0123456789abcdef",
		"JWT_SECRET_KEY": "0123456789abcdef0123456789abcdef",
		"MAIL_DIR":       t.TempDir(),
		// Redis outlives the test run: a generous limit keeps reruns
		// within the hour from tripping the default 10/h.
		"RATE_LIMIT_REGISTER_IP": "1000/s",
	}
	t.Chdir(t.TempDir())
	base := startServe(t, vars)
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz = %d", resp.StatusCode)
	}
	resp = post(t, base+"/api/v1/auth/register/", `{"email":"pg@example.com","password":"correct horse battery staple"}`, "")
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("register on PostgreSQL = %d", resp.StatusCode)
	}
}

func TestCommands(t *testing.T) {
	t.Chdir(t.TempDir())
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, envOf(nil), nil, &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "authd ") {
		t.Fatalf("version = %q, %v", out.String(), err)
	}
	vars := map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "m.db")}
	for range 2 {
		out.Reset()
		if err := run(context.Background(), []string{"migrate"}, envOf(vars), nil, &out, io.Discard); err != nil {
			t.Fatalf("migrate = %v", err)
		}
	}
	if err := run(context.Background(), []string{"frobnicate"}, envOf(nil), nil, io.Discard, io.Discard); err == nil {
		t.Fatal("an unknown command succeeded")
	}
	bad := map[string]string{"ACCESS_TOKEN_TTL": "five minutes", "RATE_LIMIT_LOGIN": "5 per minute", "TRUSTED_PROXIES": "nonsense"}
	err := run(context.Background(), []string{"migrate"}, envOf(bad), nil, io.Discard, io.Discard)
	for _, name := range []string{"ACCESS_TOKEN_TTL", "RATE_LIMIT_LOGIN", "TRUSTED_PROXIES"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("bad %s: error %v does not name it", name, err)
		}
	}
}

func post(t *testing.T, url, body, bearer string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}
