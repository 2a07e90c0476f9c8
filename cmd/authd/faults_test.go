package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/authd/auth/internal/testservices"
)

// metricValue returns the value of the sample name (without labels) at
// base/metrics, or -1 when it is absent.
func metricValue(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return f
		}
	}
	return -1
}

// waitForMetric polls base/metrics until name reads want, failing after
// 15 seconds.
func waitForMetric(t *testing.T, base, name string, want float64) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got := metricValue(t, base, name)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v after 15 s, want %v", name, got, want)
		}
	}
}

// recordingBackend is a go-smtp backend that counts the messages it takes.
type recordingBackend struct {
	mu       sync.Mutex
	messages int
}

func (b *recordingBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return b, nil }
func (b *recordingBackend) Mail(string, *smtp.MailOptions) error        { return nil }
func (b *recordingBackend) Rcpt(string, *smtp.RcptOptions) error        { return nil }
func (b *recordingBackend) Reset()                                      {}
func (b *recordingBackend) Logout() error                               { return nil }
func (b *recordingBackend) Data(r io.Reader) error {
	io.Copy(io.Discard, r)
	b.mu.Lock()
	b.messages++
	b.mu.Unlock()
	return nil
}

func (b *recordingBackend) count() int { b.mu.Lock(); defer b.mu.Unlock(); return b.messages }

// TestServeThroughRedisAndMailOutages runs authd serve with a private
// Redis and an SMTP server that is down at first. Registration answers 202
// and its mail waits for a retry (authd_mail_pending), then arrives once
// the server is up; with Redis stopped, logins keep working, the login
// limit still refuses the sixth failure, and authd_ratelimit_fallback says
// so until Redis is back.
func TestServeThroughRedisAndMailOutages(t *testing.T) {
	rdb := testservices.StartRedis(t)
	smtpAddr := freeAddr(t) // nothing listens there yet
	_, smtpPort, _ := net.SplitHostPort(smtpAddr)
	vars := map[string]string{
		"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "a.db"),
		"REDIS_URL":    rdb.URL(),
		"EMAIL_HOST":   "127.0.0.1", "EMAIL_PORT": smtpPort,
		"SECRET_KEY":     "0123456789abcdef0123456789abcdef",
		"JWT_SECRET_KEY": "0123456789abcdef0123456789abcdef",
	}
	t.Chdir(t.TempDir())
	base := startServe(t, vars)

	began := time.Now()
	resp := post(t, base+"/api/v1/auth/register/", `{"email":"ann@example.com","password":"correct horse battery staple"}`, "")
	if resp.StatusCode != http.StatusAccepted || time.Since(began) > 2*time.Second {
		t.Fatalf("register with the mail server down: %d in %s, want 202 at once", resp.StatusCode, time.Since(began))
	}
	if got := metricValue(t, base, "authd_mail_pending"); got != 1 {
		t.Errorf("authd_mail_pending = %v with the mail server down, want 1", got)
	}
	backend := &recordingBackend{}
	server := smtp.NewServer(backend)
	server.Domain = "localhost"
	l, err := net.Listen("tcp", smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	go server.Serve(l)
	t.Cleanup(func() { server.Close() })
	waitForMetric(t, base, "authd_mail_pending", 0)
	if backend.count() != 1 || metricValue(t, base, "authd_mail_failures_total") != 0 {
		t.Errorf("%d messages delivered, authd_mail_failures_total %v; want 1 and 0",
			backend.count(), metricValue(t, base, "authd_mail_failures_total"))
	}

	if got := metricValue(t, base, "authd_ratelimit_fallback"); got != 0 {
		t.Errorf("authd_ratelimit_fallback = %v with Redis up, want 0", got)
	}
	rdb.Stop()
	login := `{"email":"ann@example.com","password":"wrong wrong wrong wrong"}`
	for i := range 5 {
		if resp := post(t, base+"/api/v1/auth/login/", login, ""); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failed login %d with Redis stopped: %d, want 401", i+1, resp.StatusCode)
		}
	}
	if resp := post(t, base+"/api/v1/auth/login/", login, ""); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the sixth failed login within the minute: %d, want 429", resp.StatusCode)
	}
	if metricValue(t, base, "authd_ratelimit_fallback") != 1 || metricValue(t, base, "authd_ratelimit_fallback_total") != 1 {
		t.Errorf("authd_ratelimit_fallback %v, authd_ratelimit_fallback_total %v with Redis stopped; want 1 and 1",
			metricValue(t, base, "authd_ratelimit_fallback"), metricValue(t, base, "authd_ratelimit_fallback_total"))
	}
	rdb.Start()
	// The limiter probes Redis once a second while it falls back; a call
	// starts the probe.
	for deadline := time.Now().Add(15 * time.Second); metricValue(t, base, "authd_ratelimit_fallback") != 0; time.Sleep(50 * time.Millisecond) {
		post(t, base+"/api/v1/auth/password/forgot/", `{"email":"nobody@example.com"}`, "")
		if time.Now().After(deadline) {
			t.Fatal("authd_ratelimit_fallback still 1 15 s after Redis came back")
		}
	}
}
