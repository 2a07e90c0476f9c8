package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"

	auth "github.com/authd/auth"
)

// TLSMode says how [SMTP] protects its connection to the server.
type TLSMode int

const (
	// TLSAuto is implicit TLS on port 465, and STARTTLS elsewhere when the
	// server offers it. Credentials are still never sent in clear text,
	// except to localhost.
	TLSAuto TLSMode = iota
	// TLSImplicit speaks TLS from the first byte (SMTPS, usually port 465).
	TLSImplicit
	// TLSStartTLS requires STARTTLS: a server that does not offer it is an
	// error.
	TLSStartTLS
	// TLSNone never encrypts, and so sends credentials to localhost only.
	// Use it for a relay on the same host or a trusted network.
	TLSNone
)

// SMTPConfig configures [NewSMTP]. Zero fields take the documented defaults.
type SMTPConfig struct {
	// Host is the mail server's host name or IP address. Required.
	Host string
	// Port is the server's port; 0 means 465 with TLSImplicit, else 587.
	Port int
	// Username and Password authenticate with SMTP AUTH (PLAIN, or LOGIN if
	// the server offers only that). An empty Username skips authentication.
	Username string
	Password string
	// From is the sender address, which may carry a display name
	// ("authd <no-reply@example.com>"). Required.
	From string
	// TLS says how the connection is encrypted; the zero value is TLSAuto.
	TLS TLSMode
	// Timeout bounds connecting and each exchange with the server; 0 means
	// 30 seconds.
	Timeout time.Duration
}

// SMTP is an [auth.Mailer] that delivers each message to an SMTP server on
// a connection of its own. It is safe for concurrent use.
type SMTP struct {
	cfg  SMTPConfig
	from *mail.Address
}

var _ auth.Mailer = (*SMTP)(nil)

// NewSMTP returns an SMTP mailer for cfg, with defaults filled in. It
// returns an error when Host is empty, From is not an email address, or
// another field is out of range. It does not connect: a server that is down
// shows in the first Send.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Host == "" {
		return nil, errors.New("mailer: no SMTP host")
	}
	from, err := parseFrom(cfg.From)
	if err != nil {
		return nil, err
	}
	if cfg.TLS == TLSAuto && cfg.Port == 465 {
		cfg.TLS = TLSImplicit
	}
	switch {
	case cfg.Port == 0 && cfg.TLS == TLSImplicit:
		cfg.Port = 465
	case cfg.Port == 0:
		cfg.Port = 587
	case cfg.Port < 0 || cfg.Port > 65535:
		return nil, fmt.Errorf("mailer: SMTP port %d out of range", cfg.Port)
	}
	if cfg.TLS < TLSAuto || cfg.TLS > TLSNone {
		return nil, fmt.Errorf("mailer: unknown TLS mode %d", cfg.TLS)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("mailer: negative SMTP timeout %s", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &SMTP{cfg: cfg, from: from}, nil
}

// Send delivers m: it connects, authenticates, sends and quits. Cancelling
// ctx, or its deadline, abandons the delivery and closes the connection. It
// returns an error wrapping [ErrInvalidMessage] for a message it refuses,
// or the error of the connection or of the server.
func (s *SMTP) Send(ctx context.Context, m auth.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	msg, err := compose(s.from, m, time.Now(), gomail.EncodingQP)
	if err != nil {
		return err
	}
	// go-mail watches ctx only while connecting: close the connection when
	// ctx ends during the exchange, which fails it at once. Close it in any
	// case when done, as go-mail leaves it open on some errors.
	var conn net.Conn
	var stopWatching func() bool
	watch := func(c net.Conn) {
		conn = c
		stopWatching = context.AfterFunc(ctx, func() { c.Close() })
	}
	client, err := gomail.NewClient(s.cfg.Host, s.options(watch)...)
	if err != nil {
		return fmt.Errorf("mailer: SMTP client: %w", err)
	}
	err = client.DialAndSendWithContext(ctx, msg)
	if conn != nil {
		stopWatching()
		conn.Close()
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		return fmt.Errorf("mailer: send mail to %s via %s: %w", m.To, net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)), err)
	}
	return nil
}

// options returns the go-mail client options of one delivery; watch is
// called with the connection once it is open.
func (s *SMTP) options(watch func(net.Conn)) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithDialContextFunc(s.dialer(watch)),
	}
	switch s.cfg.TLS {
	case TLSImplicit:
		// The dialer speaks TLS; WithSSL keeps go-mail from trying STARTTLS.
		opts = append(opts, gomail.WithSSL())
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.cfg.Username != "" {
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.cfg.Username),
			gomail.WithPassword(s.cfg.Password))
	}
	return opts
}

// dialer returns a dial function for go-mail that opens the connection, with
// TLS in TLSImplicit mode, and hands it to watch.
func (s *SMTP) dialer(watch func(net.Conn)) gomail.DialContextFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var (
			d    net.Dialer
			conn net.Conn
			err  error
		)
		if s.cfg.TLS == TLSImplicit {
			tlsDialer := tls.Dialer{NetDialer: &d, Config: &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}}
			conn, err = tlsDialer.DialContext(ctx, network, addr)
		} else {
			conn, err = d.DialContext(ctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		watch(conn)
		return conn, nil
	}
}
