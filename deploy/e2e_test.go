package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/authd/auth/internal/testkit"
)

// authdBinary is the authd built once for this package's tests.
var authdBinary struct {
	once sync.Once
	path string
	err  error
}

// buildAuthd builds ./cmd/authd as the Dockerfile's first stage does, with
// cgo off (without -trimpath: see TestDockerfile), and returns its path.
func buildAuthd(t *testing.T) string {
	t.Helper()
	authdBinary.once.Do(func() {
		dir, err := os.MkdirTemp("", "authd-deploy-test-")
		if err != nil {
			authdBinary.err = err
			return
		}
		authdBinary.path = filepath.Join(dir, "authd")
		cmd := exec.Command("go", "build", "-ldflags=-s -w", "-o", authdBinary.path, "./cmd/authd")
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			authdBinary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if authdBinary.err != nil {
		t.Fatal(authdBinary.err)
	}
	return authdBinary.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if authdBinary.path != "" {
		os.RemoveAll(filepath.Dir(authdBinary.path))
	}
	os.Exit(code)
}

// freePort returns a free TCP port on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start runs cmd until the test ends, then stops it with SIGTERM (SIGKILL
// after 10 s) and waits for it.
func start(t *testing.T, cmd *exec.Cmd) *testkit.Buffer {
	t.Helper()
	out := &testkit.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(cmd.Path), out.String())
		}
	})
	return out
}

// waitHealthy polls url until it answers 200.
func waitHealthy(t *testing.T, url string, out *testkit.Buffer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200 within 60 s (%v); output:\n%s", url, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestThroughNginx runs deploy/nginx.conf in a real nginx in front of two
// authd processes, as docker-compose.yml does but on loopback addresses:
// the replicas on 127.0.0.1, trusting 127.0.0.1 (nginx), and the client on
// 127.0.0.2, so that authd must see the client's address, not nginx's nor
// one the client wrote into X-Forwarded-For.
func TestThroughNginx(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			need(t, "nginx", err)
		}
		nginx = "/usr/sbin/nginx"
	}
	if os.Geteuid() != 0 {
		// nginx as another user cannot write Debian's temp directories.
		need(t, "nginx as root", fmt.Errorf("running as uid %d", os.Geteuid()))
	}
	bin := buildAuthd(t)
	dir := t.TempDir()

	// Two replicas sharing one database and the secrets.
	env := []string{
		"DATABASE_URL=sqlite:" + filepath.Join(dir, "authd.db"),
		"SECRET_KEY=0123456789abcdef0123456789abcdef-secret",
		"JWT_SECRET_KEY=0123456789abcdef0123456789abcdef-jwt",
		"TRUSTED_PROXIES=127.0.0.1/32",
		"MAIL_DIR=" + filepath.Join(dir, "mail"),
		"PATH=" + os.Getenv("PATH"),
	}
	var replicas []string
	for i := range 2 {
		addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
		cmd := exec.Command(bin, "serve")
		cmd.Dir = filepath.Join(dir, "replica"+strconv.Itoa(i+1))
		if err := os.Mkdir(cmd.Dir, 0o700); err != nil {
			t.Fatal(err)
		}
		cmd.Env = append(env, "ADDR="+addr)
		out := start(t, cmd)
		// One after the other: both migrate the same SQLite file.
		waitHealthy(t, "http://"+addr+"/healthz", out)
		replicas = append(replicas, addr)
	}

	// nginx with the deployed configuration, its upstreams and listener
	// moved to loopback ports.
	conf, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	copied := upstreamServer.ReplaceAllStringFunc(string(conf), func(line string) string {
		m := upstreamServer.FindStringSubmatch(line)
		i++
		return m[1] + replicas[i-1]
	})
	listen := "127.0.0.1:" + strconv.Itoa(freePort(t))
	copied = regexp.MustCompile(`(?m)^(\s*listen\s+)80;`).ReplaceAllString(copied, "${1}"+listen+";")
	if i != 2 || !strings.Contains(copied, "listen "+listen+";") {
		t.Fatalf("could not rewrite nginx.conf (%d upstreams):\n%s", i, copied)
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(copied), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginx, "-p", dir, "-c", path, "-e", filepath.Join(dir, "nginx-error.log"),
		"-g", "daemon off; pid "+filepath.Join(dir, "nginx.pid")+";")
	access := start(t, cmd)
	base := "http://" + listen
	waitHealthy(t, base+"/healthz", access)

	// The client comes from 127.0.0.2, which no one trusts.
	client := &http.Client{Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext,
	}}
	do := func(method, path, body string, header ...string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}

	// Sign up through nginx; the mail lands in the shared MAIL_DIR.
	const creds = `{"email":"ada@example.com","password":"correct horse battery staple"}`
	if res, b := do("POST", "/api/v1/auth/register/", creds); res.StatusCode != http.StatusAccepted {
		t.Fatalf("register = %d %s", res.StatusCode, b)
	}
	token := verificationToken(t, filepath.Join(dir, "mail"))
	if res, b := do("POST", "/api/v1/auth/verify-email/", `{"token":"`+token+`"}`); res.StatusCode != http.StatusOK {
		t.Fatalf("verify = %d %s", res.StatusCode, b)
	}

	t.Run("authd sees the client's address, not one the client forged", func(t *testing.T) {
		res, b := do("POST", "/api/v1/auth/login/", creds, "X-Forwarded-For", "203.0.113.50")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("login = %d %s", res.StatusCode, b)
		}
		var tokens struct {
			Access string `json:"access"`
		}
		json.Unmarshal(b, &tokens)
		res, b = do("GET", "/api/v1/auth/sessions/", "", "Authorization", "Bearer "+tokens.Access)
		var list struct {
			Sessions []struct {
				IP string `json:"ip"`
			} `json:"sessions"`
		}
		if err := json.Unmarshal(b, &list); err != nil || res.StatusCode != http.StatusOK || len(list.Sessions) != 1 {
			t.Fatalf("sessions = %d %s", res.StatusCode, b)
		}
		if ip := list.Sessions[0].IP; ip != "127.0.0.2" {
			t.Fatalf("the session's ip = %q, want the client's 127.0.0.2", ip)
		}
	})

	t.Run("both replicas serve and accept each other's tokens", func(t *testing.T) {
		_, b := do("POST", "/api/v1/auth/login/", creds)
		var tokens struct {
			Access string `json:"access"`
		}
		json.Unmarshal(b, &tokens)
		for range 6 {
			if res, b := do("GET", "/api/v1/auth/me/", "", "Authorization", "Bearer "+tokens.Access); res.StatusCode != http.StatusOK {
				t.Fatalf("me = %d %s", res.StatusCode, b)
			}
		}
		deadline := time.Now().Add(5 * time.Second) // the access log is written after the answer
		for _, r := range replicas {
			for !strings.Contains(access.String(), "upstream="+r) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if !strings.Contains(access.String(), "upstream="+r) {
				t.Errorf("no request went to the replica on %s; nginx's log:\n%s", r, access.String())
			}
		}
	})

	t.Run("the client's request id reaches authd and comes back", func(t *testing.T) {
		res, _ := do("GET", "/api/v1/auth/me/", "", "X-Request-Id", "e2e-request-2")
		if got := res.Header.Get("X-Request-Id"); got != "e2e-request-2" {
			t.Fatalf("X-Request-Id = %q, want the client's", got)
		}
		res, _ = do("GET", "/api/v1/auth/me/", "")
		if got := res.Header.Get("X-Request-Id"); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(got) {
			t.Fatalf("X-Request-Id without one sent = %q, want nginx's $request_id", got)
		}
	})

	t.Run("a body over 64 KiB gets authd's 413, not nginx's", func(t *testing.T) {
		big := `{"email":"` + strings.Repeat("a", 70<<10) + `","password":"x"}`
		res, b := do("POST", "/api/v1/auth/login/", big)
		if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), `"payload_too_large"`) {
			t.Fatalf("a 70 KiB body = %d %s", res.StatusCode, b)
		}
	})

	t.Run("metrics are not served through nginx", func(t *testing.T) {
		if res, _ := do("GET", "/metrics", ""); res.StatusCode != http.StatusNotFound {
			t.Fatalf("GET /metrics through nginx = %d, want 404", res.StatusCode)
		}
		res, err := http.Get("http://" + replicas[0] + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics on a replica = %d, want 200", res.StatusCode)
		}
	})
}

// verificationToken reads the token of the verification link in the one
// .eml file in dir.
func verificationToken(t *testing.T, dir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("%d mail files in %s, want 1", len(files), dir)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	body := msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`token=([A-Za-z0-9_-]+)`).FindSubmatch(text)
	if m == nil {
		t.Fatalf("no token in %s:\n%s", files[0], text)
	}
	return string(m[1])
}
