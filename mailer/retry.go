package mailer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gomail "github.com/wneessen/go-mail"

	auth "github.com/authd/auth"
)

// Errors of [Retrier.Send] for a message it does not take. Either way the
// message is recorded as a failure (logged and counted) before Send
// returns.
var (
	// ErrQueueFull is a message refused because RetryConfig.QueueSize
	// messages are pending already.
	ErrQueueFull = errors.New("mailer: too many messages pending delivery")
	// ErrClosed is a message sent after [Retrier.Close].
	ErrClosed = errors.New("mailer: closed")
)

// RetryConfig configures [Retry]. Zero (or negative) fields take the
// documented defaults.
type RetryConfig struct {
	// Attempts is how many times one message is tried in all before it is
	// given up. Default 10.
	Attempts int
	// Backoff returns the wait after the n-th failed attempt (n from 1).
	// Default: 1 s doubled after each attempt, at most 2 minutes, which
	// with 10 attempts keeps a message for about 6 minutes.
	Backoff func(n int) time.Duration
	// Sleep waits d, or returns ctx's error if ctx ends first. Default: a
	// timer. Tests replace it to run retries when they choose.
	Sleep func(ctx context.Context, d time.Duration) error
	// QueueSize is how many messages may be pending (waiting to be tried or
	// retried) at once; Send refuses more. Default 1000.
	QueueSize int
	// Workers is how many deliveries may run at once. Default 4.
	Workers int
	// AttemptTimeout bounds one attempt, on top of the wrapped mailer's own
	// timeouts. Default 1 minute.
	AttemptTimeout time.Duration
	// Logger receives a warning per failed attempt, an error per message
	// given up and a notice per message delivered after a retry. Records
	// name the message by an id of its own and its subject, never its
	// recipient, body or link. Nil discards.
	Logger *slog.Logger
}

// Retrier is an [auth.Mailer] that delivers mail in the background through
// another Mailer, retrying failed deliveries with exponential backoff, so
// that a mail server that is down for a while loses no mail, and a request
// that sends mail never waits for the server. A message that cannot be
// delivered within RetryConfig.Attempts (or that the server refuses for
// good, with a 5xx reply, or that is invalid) is never lost silently: it
// is logged at error level and counted by [Retrier.Failures]. It is safe
// for concurrent use.
type Retrier struct {
	next  auth.Mailer
	cfg   RetryConfig
	log   *slog.Logger
	slots chan struct{} // one per delivery running

	ctx    context.Context // ends when Close gives up waiting
	cancel context.CancelFunc

	mu       sync.RWMutex // Close holds it to stop Send
	closed   bool
	wg       sync.WaitGroup // one per pending message
	pending  atomic.Int64
	failures atomic.Uint64
}

var _ auth.Mailer = (*Retrier)(nil)

// Retry returns a Retrier that delivers through m with the settings of
// cfg. It starts nothing until the first Send; call [Retrier.Close] to
// deliver what is pending before exiting.
func Retry(m auth.Mailer, cfg RetryConfig) *Retrier {
	if cfg.Attempts <= 0 {
		cfg.Attempts = 10
	}
	if cfg.Backoff == nil {
		cfg.Backoff = defaultBackoff
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1000
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = time.Minute
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Retrier{next: m, cfg: cfg, log: log, slots: make(chan struct{}, cfg.Workers), ctx: ctx, cancel: cancel}
}

// defaultBackoff is 1 s, 2 s, 4 s, … up to 2 minutes.
func defaultBackoff(n int) time.Duration {
	if n > 7 {
		return 2 * time.Minute
	}
	return min(time.Second<<(n-1), 2*time.Minute)
}

// sleep waits d unless ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Send queues m for delivery and returns at once, without waiting for the
// mail server: nil means the message is taken, not yet delivered. It
// returns ErrQueueFull when RetryConfig.QueueSize messages are pending and
// ErrClosed after Close; such a message is recorded as a failure. ctx is
// not used for the delivery, which outlives the request that sent it.
func (r *Retrier) Send(ctx context.Context, m auth.Message) error {
	id := newMailID()
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		r.fail(id, m, 0, ErrClosed.Error())
		return ErrClosed
	}
	if r.pending.Add(1) > int64(r.cfg.QueueSize) {
		r.pending.Add(-1)
		r.fail(id, m, 0, ErrQueueFull.Error())
		return ErrQueueFull
	}
	r.wg.Add(1)
	go r.deliver(id, m)
	return nil
}

// deliver tries m until it is delivered, given up, or Close gives up on it.
func (r *Retrier) deliver(id string, m auth.Message) {
	defer r.wg.Done()
	defer r.pending.Add(-1)
	for attempt := 1; ; attempt++ {
		err := r.attempt(m)
		if err == nil {
			if attempt > 1 {
				r.log.Info("mail delivered after a retry", "mail_id", id, "subject", m.Subject, "attempts", attempt)
			}
			return
		}
		reason := scrub(err, m.To)
		switch {
		case r.ctx.Err() != nil:
			r.fail(id, m, attempt, "shut down before delivery: "+reason)
			return
		case permanent(err):
			r.fail(id, m, attempt, "refused for good: "+reason)
			return
		case attempt >= r.cfg.Attempts:
			r.fail(id, m, attempt, reason)
			return
		}
		wait := r.cfg.Backoff(attempt)
		r.log.Warn("mail delivery failed; will retry", "mail_id", id, "subject", m.Subject,
			"attempt", attempt, "retry_in", wait, "err", reason)
		if r.cfg.Sleep(r.ctx, wait) != nil {
			r.fail(id, m, attempt, "shut down before delivery: "+reason)
			return
		}
	}
}

// attempt sends m once, when a delivery slot is free.
func (r *Retrier) attempt(m auth.Message) error {
	select {
	case r.slots <- struct{}{}:
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
	defer func() { <-r.slots }()
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.AttemptTimeout)
	defer cancel()
	return r.next.Send(ctx, m)
}

// fail records a message given up: one error record, one count.
func (r *Retrier) fail(id string, m auth.Message, attempts int, reason string) {
	r.failures.Add(1)
	r.log.Error("mail not delivered", "mail_id", id, "subject", m.Subject, "attempts", attempts, "err", reason)
}

// permanent reports whether err will not change on a retry: an invalid
// message, or a 5xx reply of the server.
func permanent(err error) bool {
	if errors.Is(err, ErrInvalidMessage) {
		return true
	}
	var se *gomail.SendError
	return errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() <= 599
}

// scrub returns err's message with the recipient's address taken out, as
// mail errors tend to name it.
func scrub(err error, to string) string {
	msg := err.Error()
	if to != "" {
		msg = strings.ReplaceAll(msg, to, "<recipient>")
	}
	return msg
}

// newMailID returns a random id that names one message in the logs.
func newMailID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Failures returns how many messages were given up (or refused by Send)
// since the Retrier was made. It is safe for concurrent use.
func (r *Retrier) Failures() uint64 { return r.failures.Load() }

// Pending returns how many messages wait for delivery or a retry. It is
// safe for concurrent use.
func (r *Retrier) Pending() int { return int(r.pending.Load()) }

// Close stops taking messages and waits until every pending one is
// delivered or given up, retries and their waits included, or until ctx
// ends: then the attempts in flight are cancelled, and every message still
// pending is recorded as a failure before Close returns ctx's error.
// Calling Close again waits again.
func (r *Retrier) Close(ctx context.Context) error {
	defer r.cancel() // nothing is pending when Close returns
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		r.cancel()
		<-done
		return ctx.Err()
	}
}
