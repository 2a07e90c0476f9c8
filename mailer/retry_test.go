package mailer_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	auth "github.com/authd/auth"
	"github.com/authd/auth/httpapi"
	"github.com/authd/auth/internal/testkit"
	"github.com/authd/auth/mailer"
	"github.com/authd/auth/storage"
)

// freeAddr returns a loopback address where nothing listens: a mail
// server that is down.
func freeAddr(t *testing.T) *net.TCPAddr {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	l.Close()
	return addr
}

// startSMTPServerAt starts the recording server of smtp_test.go on addr,
// for a mail server that comes up where it was down.
func startSMTPServerAt(t *testing.T, addr *net.TCPAddr, rcpt func(string) error) *smtpServer {
	t.Helper()
	s := &smtpServer{addr: addr}
	server := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &refusingSession{smtpSession: smtpSession{server: s}, rcpt: rcpt}, nil
	}))
	server.Domain = "localhost"
	server.ReadTimeout = 10 * time.Second
	server.WriteTimeout = 10 * time.Second
	l, err := net.Listen("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	go server.Serve(l)
	t.Cleanup(func() { server.Close() })
	return s
}

// refusingSession is smtpSession with a hook that may refuse a recipient.
type refusingSession struct {
	smtpSession
	rcpt func(string) error
}

func (s *refusingSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	if s.rcpt != nil {
		if err := s.rcpt(to); err != nil {
			return err
		}
	}
	return s.smtpSession.Rcpt(to, opts)
}

// sleeper is RetryConfig.Sleep under the test's control: each wait is
// announced on waits and lasts until the test sends on release (or the
// Retrier's context ends). With instant set it returns at once.
type sleeper struct {
	waits   chan time.Duration
	release chan struct{}
	instant bool
}

func newSleeper(instant bool) *sleeper {
	return &sleeper{waits: make(chan time.Duration, 100), release: make(chan struct{}), instant: instant}
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.waits <- d
	if s.instant {
		return nil
	}
	select {
	case <-s.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// nextWait returns the next wait the Retrier began, failing after a while.
func (s *sleeper) nextWait(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-s.waits:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("the Retrier began no wait within 10 s")
		return 0
	}
}

// closeRetrier drains r within 10 seconds.
func closeRetrier(t *testing.T, r *mailer.Retrier) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// checkNoSecrets fails when the logs name the recipient or carry the link.
func checkNoSecrets(t *testing.T, logs string, m auth.Message) {
	t.Helper()
	for _, secret := range []string{m.To, "token=", "SECRET-TOKEN", "http"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs hold %q:\n%s", secret, logs)
		}
	}
}

// TestRegisterWhileTheMailServerIsDown: the registration answers 202 at
// once with the mail server down; the verification mail is retried after
// a backoff and arrives once the server is up.
func TestRegisterWhileTheMailServerIsDown(t *testing.T) {
	ctx := context.Background()
	st, err := storage.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "authd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	logs := &testkit.Buffer{}
	sleep := newSleeper(false)
	retrier := mailer.Retry(newSMTP(t, mailer.SMTPConfig{Host: "127.0.0.1", Port: addr.Port,
		From: "authd <no-reply@example.com>", TLS: mailer.TLSNone, Timeout: 5 * time.Second}),
		mailer.RetryConfig{Sleep: sleep.Sleep, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	a, err := auth.NewAuthenticator(st, retrier, auth.Config{
		FrontendURL: "http://app.test",
		JWTSecret:   []byte("retry-test-secret-retry-test-secret!"),
		Argon2:      auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.New(httpapi.Config{Auth: a})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	res, err := http.Post(srv.URL+"/api/v1/auth/register/", "application/json",
		strings.NewReader(`{"email": "ann@example.com", "password": "correct horse battery staple"}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("register with the mail server down: %d, want 202", res.StatusCode)
	}

	if d := sleep.nextWait(t); d != time.Second {
		t.Errorf("first backoff %s, want 1s", d)
	}
	if retrier.Pending() != 1 || retrier.Failures() != 0 {
		t.Errorf("Pending() %d, Failures() %d while retrying; want 1, 0", retrier.Pending(), retrier.Failures())
	}
	server := startSMTPServerAt(t, addr, nil)
	sleep.release <- struct{}{}
	closeRetrier(t, retrier)

	got := server.received()
	if len(got) != 1 || len(got[0].to) != 1 || got[0].to[0] != "ann@example.com" ||
		!bytes.Contains(got[0].data, []byte("verify-email?token=")) {
		t.Fatalf("the server received %d messages (%+v), want the verification mail to ann", len(got), got)
	}
	if retrier.Failures() != 0 {
		t.Errorf("Failures() = %d after the delivery, want 0", retrier.Failures())
	}
	l := logs.String()
	if !strings.Contains(l, "level=WARN") || !strings.Contains(l, "mail delivered after a retry") {
		t.Errorf("want a warning for the failed attempt and a notice for the delivery:\n%s", l)
	}
	checkNoSecrets(t, l, auth.Message{To: "ann@example.com"})
}

// TestMailThatCannotBeDeliveredIsRecorded: when the server never comes up,
// or refuses the message for good, the message is given up and recorded:
// counted once and logged once at error level, by id and subject only.
func TestMailThatCannotBeDeliveredIsRecorded(t *testing.T) {
	msg := auth.Message{To: "bob@example.com", Subject: "Reset your password",
		Text: "Open http://app.test/reset-password?token=SECRET-TOKEN-abc within the hour.\n"}
	ctx := context.Background()

	tests := []struct {
		name     string
		server   func(t *testing.T, addr *net.TCPAddr)
		attempts int
		waits    []time.Duration
	}{
		{"a server that never comes up: every attempt, with growing waits", func(*testing.T, *net.TCPAddr) {}, 4,
			[]time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
		{"a server that refuses the recipient for good: one attempt", func(t *testing.T, addr *net.TCPAddr) {
			startSMTPServerAt(t, addr, func(string) error {
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
			})
		}, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := freeAddr(t)
			tt.server(t, addr)
			logs := &testkit.Buffer{}
			sleep := newSleeper(true)
			r := mailer.Retry(newSMTP(t, mailer.SMTPConfig{Host: "127.0.0.1", Port: addr.Port,
				From: "authd <no-reply@example.com>", TLS: mailer.TLSNone, Timeout: 5 * time.Second}),
				mailer.RetryConfig{Attempts: 4, Sleep: sleep.Sleep, Logger: slog.New(slog.NewTextHandler(logs, nil))})
			if err := r.Send(ctx, msg); err != nil {
				t.Fatalf("Send: %v, want the message taken", err)
			}
			closeRetrier(t, r)
			if r.Failures() != 1 || r.Pending() != 0 {
				t.Errorf("Failures() %d, Pending() %d; want 1, 0", r.Failures(), r.Pending())
			}
			close(sleep.waits)
			var waits []time.Duration
			for d := range sleep.waits {
				waits = append(waits, d)
			}
			if !equalDurations(waits, tt.waits) {
				t.Errorf("waits %v, want %v", waits, tt.waits)
			}
			l := logs.String()
			if n := strings.Count(l, "level=ERROR"); n != 1 || !strings.Contains(l, `msg="mail not delivered"`) ||
				!strings.Contains(l, "mail_id=") || !strings.Contains(l, `subject="Reset your password"`) ||
				!strings.Contains(l, "attempts="+strconv.Itoa(tt.attempts)) {
				t.Errorf("want one error record with the mail id, the subject and %d attempts:\n%s", tt.attempts, l)
			}
			if n := strings.Count(l, "level=WARN"); n != tt.attempts-1 {
				t.Errorf("%d warnings, want one per retried attempt (%d):\n%s", n, tt.attempts-1, l)
			}
			checkNoSecrets(t, l, msg)
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// recordingMailer fails every Send with err and counts the calls.
type recordingMailer struct {
	err   error
	calls chan auth.Message
}

func (m *recordingMailer) Send(_ context.Context, msg auth.Message) error {
	m.calls <- msg
	return m.err
}

func TestRetrierRefusesAndRecords(t *testing.T) {
	ctx := context.Background()
	msg := auth.Message{To: "carol@example.com", Subject: "Verify your email address", Text: "token=SECRET-TOKEN"}

	t.Run("a full queue refuses the message and records it", func(t *testing.T) {
		logs := &testkit.Buffer{}
		sleep := newSleeper(false)
		down := &recordingMailer{err: errors.New("dial tcp: connection refused"), calls: make(chan auth.Message, 10)}
		r := mailer.Retry(down, mailer.RetryConfig{QueueSize: 1, Sleep: sleep.Sleep,
			Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err := r.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
		sleep.nextWait(t) // the first message waits for its retry
		if err := r.Send(ctx, msg); !errors.Is(err, mailer.ErrQueueFull) {
			t.Fatalf("Send with the queue full: %v, want ErrQueueFull", err)
		}
		if r.Failures() != 1 || !strings.Contains(logs.String(), "mail not delivered") {
			t.Errorf("Failures() = %d, logs:\n%s\nwant the refused message recorded", r.Failures(), logs)
		}
		// Close gives up on the waiting message when its context ends.
		closing, cancel := context.WithCancel(ctx)
		cancel()
		if err := r.Close(closing); !errors.Is(err, context.Canceled) {
			t.Fatalf("Close with an ended context: %v, want context.Canceled", err)
		}
		if r.Failures() != 2 || r.Pending() != 0 {
			t.Errorf("after Close: Failures() %d, Pending() %d; want 2, 0", r.Failures(), r.Pending())
		}
		if err := r.Send(ctx, msg); !errors.Is(err, mailer.ErrClosed) || r.Failures() != 3 {
			t.Errorf("Send after Close: %v, Failures() %d; want ErrClosed, 3", err, r.Failures())
		}
		checkNoSecrets(t, logs.String(), msg)
	})

	t.Run("an invalid message is not retried", func(t *testing.T) {
		bad := &recordingMailer{err: mailer.ErrInvalidMessage, calls: make(chan auth.Message, 10)}
		r := mailer.Retry(bad, mailer.RetryConfig{Sleep: newSleeper(true).Sleep})
		if err := r.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
		closeRetrier(t, r)
		if len(bad.calls) != 1 || r.Failures() != 1 {
			t.Errorf("%d attempts, Failures() %d; want 1, 1", len(bad.calls), r.Failures())
		}
	})
}
