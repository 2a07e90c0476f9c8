package auth

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
	"golang.org/x/text/unicode/norm"

	"github.com/authd/auth/internal/blocklist"
)

const maxPasswordLength = 256

// hasher runs Argon2id through a bounded queue: at most concurrency hashes
// run at once and at most queue more wait; past that it fails fast with
// ErrOverloaded instead of piling up memory under a login flood.
type hasher struct {
	params   *argon2id.Params
	admitted chan struct{} // running + waiting
	running  chan struct{} // running
	dummy    string        // a hash of a random password, for unknown users
	observe  func(wait, run time.Duration)
	wait     time.Duration // for a place in the queue (admitted) before ErrOverloaded
}

func newHasher(p Argon2Params, concurrency, queue int, wait time.Duration, observe func(wait, run time.Duration)) (*hasher, error) {
	h := &hasher{
		observe: observe,
		wait:    wait,
		params: &argon2id.Params{
			Memory: p.Memory, Iterations: p.Iterations, Parallelism: p.Parallelism,
			SaltLength: 16, KeyLength: 32,
		},
		admitted: make(chan struct{}, concurrency+queue),
		running:  make(chan struct{}, concurrency),
	}
	dummy, err := argon2id.CreateHash(randomToken(), h.params)
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

// do runs fn when a hashing slot is free, after admitting it to the queue.
func (h *hasher) do(ctx context.Context, fn func()) error {
	release, err := h.admit(ctx)
	if err != nil {
		return err
	}
	defer release()
	return h.run(ctx, fn)
}

// admit takes a place in the queue, waiting up to the configured
// HashQueueWait for one, or returns an *OverloadedError (ctx's error when
// it ends first). Call release once the hash is done. The wait is what
// keeps a flood cheap: a client told to retry at once would cost the
// server another request straight away.
func (h *hasher) admit(ctx context.Context) (release func(), err error) {
	release = func() { <-h.admitted }
	select {
	case h.admitted <- struct{}{}:
		return release, nil
	default:
	}
	if h.wait <= 0 {
		return nil, &OverloadedError{RetryAfter: time.Second}
	}
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.admitted <- struct{}{}:
		return release, nil
	case <-t.C:
		return nil, &OverloadedError{RetryAfter: time.Second}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// run waits for a hashing slot and runs fn in it. The caller holds an
// admission (see admit).
func (h *hasher) run(ctx context.Context, fn func()) error {
	queued := time.Now()
	select {
	case h.running <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-h.running }()
	started := time.Now()
	fn()
	if h.observe != nil {
		h.observe(started.Sub(queued), time.Since(started))
	}
	return nil
}

// depth returns how many hashes are running or waiting.
func (h *hasher) depth() int { return len(h.admitted) }

// hash returns the Argon2id PHC string of the normalised password.
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	var out string
	var err error
	if qerr := h.do(ctx, func() { out, err = argon2id.CreateHash(normalizePassword(password), h.params) }); qerr != nil {
		return "", qerr
	}
	return out, err
}

// verify reports whether password matches encoded, and whether encoded was
// made with other parameters than the current ones. An empty encoded is
// checked against the dummy hash, so unknown users cost the same, and
// never matches.
func (h *hasher) verify(ctx context.Context, password, encoded string) (match, stale bool, err error) {
	release, err := h.admit(ctx)
	if err != nil {
		return false, false, err
	}
	defer release()
	return h.verifyAdmitted(ctx, password, encoded)
}

// verifyAdmitted is verify for a caller that holds an admission already.
func (h *hasher) verifyAdmitted(ctx context.Context, password, encoded string) (match, stale bool, err error) {
	target := encoded
	if target == "" {
		target = h.dummy
	}
	var params *argon2id.Params
	if qerr := h.run(ctx, func() {
		match, params, err = argon2id.CheckHash(normalizePassword(password), target)
	}); qerr != nil {
		return false, false, qerr
	}
	if err != nil || encoded == "" {
		return false, false, nil
	}
	stale = params.Memory != h.params.Memory || params.Iterations != h.params.Iterations ||
		params.Parallelism != h.params.Parallelism || params.KeyLength != h.params.KeyLength
	return match, stale, nil
}

func normalizePassword(p string) string { return norm.NFKC.String(p) }

// checkPassword applies the password rules of the contract (NIST 800-63B)
// and returns a message for the field, or "" when the password is
// acceptable. email, when known, rules out passwords containing its local
// part.
func checkPassword(password, email string, minLength int) string {
	p := normalizePassword(password)
	switch n := utf8.RuneCountInString(p); {
	case n == 0:
		return "required"
	case n < minLength:
		return "must be at least " + itoa(minLength) + " characters"
	case n > maxPasswordLength:
		return "must be at most " + itoa(maxPasswordLength) + " characters"
	}
	if blocklist.Contains(p) {
		return "is too common"
	}
	if local, _, ok := strings.Cut(email, "@"); ok && utf8.RuneCountInString(local) >= 4 &&
		strings.Contains(strings.ToLower(p), strings.ToLower(local)) {
		return "must not contain your email address"
	}
	return ""
}
