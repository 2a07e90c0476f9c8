package mailer_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/authd/auth/mailer"
)

// delivery is what the test server received in one SMTP transaction.
type delivery struct {
	username, password string // from AUTH PLAIN; empty without AUTH
	from               string
	to                 []string
	data               []byte
}

// smtpServer is an SMTP server on 127.0.0.1 that accepts mail from clients
// that authenticated as authd/s3cret (or did not authenticate at all), and
// records it.
type smtpServer struct {
	addr *net.TCPAddr

	mu         sync.Mutex
	deliveries []delivery
}

func startSMTPServer(t *testing.T) *smtpServer {
	t.Helper()
	s := &smtpServer{}
	server := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &smtpSession{server: s}, nil
	}))
	server.Domain = "localhost"
	server.AllowInsecureAuth = true // PLAIN over plain text, to this test only
	server.ReadTimeout = 10 * time.Second
	server.WriteTimeout = 10 * time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().(*net.TCPAddr)
	go server.Serve(l)
	t.Cleanup(func() { server.Close() })
	return s
}

func (s *smtpServer) received() []delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivery(nil), s.deliveries...)
}

type smtpSession struct {
	server *smtpServer
	d      delivery
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != "authd" || password != "s3cret" {
			return errors.New("invalid credentials")
		}
		s.d.username, s.d.password = username, password
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.d.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.d.to = append(s.d.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.d.data = data
	s.server.mu.Lock()
	s.server.deliveries = append(s.server.deliveries, s.d)
	s.server.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset() { s.d = delivery{username: s.d.username, password: s.d.password} }

func (s *smtpSession) Logout() error { return nil }

func newSMTP(t *testing.T, cfg mailer.SMTPConfig) *mailer.SMTP {
	t.Helper()
	m, err := mailer.NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSMTP(t *testing.T) {
	t.Run("the server receives exactly the message, after AUTH PLAIN", func(t *testing.T) {
		server := startSMTPServer(t)
		m := newSMTP(t, mailer.SMTPConfig{
			Host: "127.0.0.1", Port: server.addr.Port, Username: "authd", Password: "s3cret",
			From: "authd <no-reply@example.com>", Timeout: 5 * time.Second,
		})
		if err := m.Send(context.Background(), message); err != nil {
			t.Fatal(err)
		}
		got := server.received()
		if len(got) != 1 {
			t.Fatalf("server received %d messages, want 1", len(got))
		}
		d := got[0]
		if d.username != "authd" || d.password != "s3cret" {
			t.Errorf("AUTH as %q/%q, want authd/s3cret", d.username, d.password)
		}
		if d.from != "no-reply@example.com" || len(d.to) != 1 || d.to[0] != message.To {
			t.Errorf("envelope from %q to %q, want from no-reply@example.com to %s", d.from, d.to, message.To)
		}
		checkMessage(t, d.data, "authd", "no-reply@example.com", message)
	})

	t.Run("concurrent sends each deliver their message", func(t *testing.T) {
		server := startSMTPServer(t)
		m := newSMTP(t, mailer.SMTPConfig{
			Host: "127.0.0.1", Port: server.addr.Port, Username: "authd", Password: "s3cret",
			From: "no-reply@example.com",
		})
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if err := m.Send(context.Background(), message); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := server.received(); len(got) != 10 {
			t.Fatalf("server received %d messages, want 10", len(got))
		}
	})

	t.Run("implicit TLS does not fall back to clear text", func(t *testing.T) {
		server := startSMTPServer(t)
		m := newSMTP(t, mailer.SMTPConfig{
			Host: "127.0.0.1", Port: server.addr.Port, Username: "authd", Password: "s3cret",
			From: "no-reply@example.com", TLS: mailer.TLSImplicit, Timeout: 2 * time.Second,
		})
		if err := m.Send(context.Background(), message); err == nil {
			t.Fatal("Send succeeded in clear text with implicit TLS")
		}
		if got := server.received(); len(got) != 0 {
			t.Fatalf("server received %d messages, want none", len(got))
		}
	})

	t.Run("without a username it sends without AUTH", func(t *testing.T) {
		server := startSMTPServer(t)
		m := newSMTP(t, mailer.SMTPConfig{Host: "127.0.0.1", Port: server.addr.Port, From: "no-reply@example.com"})
		if err := m.Send(context.Background(), message); err != nil {
			t.Fatal(err)
		}
		if got := server.received(); len(got) != 1 || got[0].username != "" {
			t.Fatalf("received %+v, want one message without AUTH", got)
		}
	})

	t.Run("wrong credentials are an error", func(t *testing.T) {
		server := startSMTPServer(t)
		m := newSMTP(t, mailer.SMTPConfig{
			Host: "127.0.0.1", Port: server.addr.Port, Username: "authd", Password: "wrong",
			From: "no-reply@example.com",
		})
		if err := m.Send(context.Background(), message); err == nil {
			t.Fatal("Send succeeded with a wrong password")
		}
		if got := server.received(); len(got) != 0 {
			t.Fatalf("server received %d messages, want none", len(got))
		}
	})

	t.Run("required STARTTLS refuses a server that does not offer it", func(t *testing.T) {
		server := startSMTPServer(t)
		m := newSMTP(t, mailer.SMTPConfig{
			Host: "127.0.0.1", Port: server.addr.Port, Username: "authd", Password: "s3cret",
			From: "no-reply@example.com", TLS: mailer.TLSStartTLS,
		})
		if err := m.Send(context.Background(), message); err == nil {
			t.Fatal("Send succeeded in clear text with STARTTLS required")
		}
		if got := server.received(); len(got) != 0 {
			t.Fatalf("server received %d messages, want none", len(got))
		}
	})

	t.Run("a message that could add headers is refused before connecting", func(t *testing.T) {
		server := startSMTPServer(t)
		m := newSMTP(t, mailer.SMTPConfig{Host: "127.0.0.1", Port: server.addr.Port, From: "no-reply@example.com"})
		for _, msg := range invalidMessages {
			if err := m.Send(context.Background(), msg); !errors.Is(err, mailer.ErrInvalidMessage) {
				t.Errorf("Send(%q, %q) = %v, want ErrInvalidMessage", msg.To, msg.Subject, err)
			}
		}
		if got := server.received(); len(got) != 0 {
			t.Fatalf("server received %d messages, want none", len(got))
		}
	})

	t.Run("a server that is down is an error", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		m := newSMTP(t, mailer.SMTPConfig{Host: "127.0.0.1", Port: port, From: "no-reply@example.com", Timeout: time.Second})
		if err := m.Send(context.Background(), message); err == nil {
			t.Fatal("Send to a closed port succeeded")
		}
	})

	t.Run("a server that never answers is an error within the timeout", func(t *testing.T) {
		addr := silentServer(t)
		m := newSMTP(t, mailer.SMTPConfig{Host: "127.0.0.1", Port: addr.Port, From: "no-reply@example.com", Timeout: 200 * time.Millisecond})
		start := time.Now()
		err := m.Send(context.Background(), message)
		if err == nil {
			t.Fatal("Send to a silent server succeeded")
		}
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Fatalf("Send gave up after %s, want about the 200ms timeout", elapsed)
		}
	})

	t.Run("the context's deadline ends a delivery the server stalls", func(t *testing.T) {
		addr := silentServer(t)
		m := newSMTP(t, mailer.SMTPConfig{Host: "127.0.0.1", Port: addr.Port, From: "no-reply@example.com", Timeout: time.Minute})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := m.Send(ctx, message)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send = %v, want context.DeadlineExceeded", err)
		}
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Fatalf("Send gave up after %s, want about the 200ms deadline", elapsed)
		}
	})

	t.Run("a cancelled context sends nothing", func(t *testing.T) {
		server := startSMTPServer(t)
		m := newSMTP(t, mailer.SMTPConfig{Host: "127.0.0.1", Port: server.addr.Port, From: "no-reply@example.com"})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := m.Send(ctx, message); !errors.Is(err, context.Canceled) {
			t.Fatalf("Send = %v, want context.Canceled", err)
		}
		if got := server.received(); len(got) != 0 {
			t.Fatalf("server received %d messages, want none", len(got))
		}
	})
}

// silentServer accepts connections and never says a word.
func silentServer(t *testing.T) *net.TCPAddr {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().(*net.TCPAddr)
}

func TestNewSMTP(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  mailer.SMTPConfig
	}{
		{"no host", mailer.SMTPConfig{From: "no-reply@example.com"}},
		{"a negative port", mailer.SMTPConfig{Host: "mail.example.com", Port: -1, From: "no-reply@example.com"}},
		{"a port past 65535", mailer.SMTPConfig{Host: "mail.example.com", Port: 70000, From: "no-reply@example.com"}},
		{"an unknown TLS mode", mailer.SMTPConfig{Host: "mail.example.com", From: "no-reply@example.com", TLS: 9}},
		{"a negative timeout", mailer.SMTPConfig{Host: "mail.example.com", From: "no-reply@example.com", Timeout: -time.Second}},
	} {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			if _, err := mailer.NewSMTP(tt.cfg); err == nil {
				t.Fatal("no error")
			}
		})
	}
	for _, from := range badSenders {
		t.Run(fmt.Sprintf("sender %q is refused", from), func(t *testing.T) {
			if _, err := mailer.NewSMTP(mailer.SMTPConfig{Host: "mail.example.com", From: from}); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
