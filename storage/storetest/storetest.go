// Package storetest is the conformance suite of [auth.Store]: every
// implementation runs [Run] against a fresh store of its own and passes the
// same tests, which check each method, the error it returns, and the
// conditional statements that concurrent callers race on.
package storetest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/authd/auth"
)

// Run runs the suite. newStore returns a new, empty, migrated store and
// arranges, with t.Cleanup, to close it; it is called once per test, from
// tests that run in parallel, and should call t.Skip or t.Fatal when it
// cannot make a store. No test moves a clock: every time is an argument.
func Run(t *testing.T, newStore func(t *testing.T) auth.Store) {
	t.Helper()
	t.Run("users", func(t *testing.T) { testUsers(t, newStore) })
	t.Run("sessions", func(t *testing.T) { testSessions(t, newStore) })
	t.Run("session rotation", func(t *testing.T) { testRotation(t, newStore) })
	t.Run("one-time tokens", func(t *testing.T) { testTokens(t, newStore) })
	t.Run("audit log", func(t *testing.T) { testAudit(t, newStore) })
	t.Run("transactions", func(t *testing.T) { testTransactions(t, newStore) })
	t.Run("organisations", func(t *testing.T) { testOrgs(t, newStore) })
	t.Run("members", func(t *testing.T) { testMembers(t, newStore) })
	t.Run("invites", func(t *testing.T) { testInvites(t, newStore) })
	t.Run("paged lists", func(t *testing.T) { testPaging(t, newStore) })
	t.Run("role permissions", func(t *testing.T) { testPermissions(t, newStore) })
	t.Run("stats", func(t *testing.T) { testStats(t, newStore) })
	t.Run("identities", func(t *testing.T) { testIdentities(t, newStore) })
}

// base is the time the tests happen at. It has nanoseconds, which the store
// truncates to microseconds.
var base = time.Date(2031, time.March, 4, 5, 6, 7, 891234567, time.UTC)

// Two time zones, to show that the store compares instants.
var (
	eastern = time.FixedZone("UTC+5", 5*60*60)
	western = time.FixedZone("UTC-8", -8*60*60)
)

// concurrency is how many goroutines race in the concurrency tests.
const concurrency = 50

// newID returns a random version 4 UUID in canonical lower-case form.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// newHash returns a random SHA-256-sized hex string.
func newHash() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// stored returns t as a store gives it back: UTC, truncated to microseconds.
func stored(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

func storedUser(u auth.User) auth.User {
	u.CreatedAt = stored(u.CreatedAt)
	u.UpdatedAt = stored(u.UpdatedAt)
	return u
}

func storedSession(s auth.Session) auth.Session {
	s.RotatedAt = stored(s.RotatedAt)
	s.CreatedAt = stored(s.CreatedAt)
	s.LastUsedAt = stored(s.LastUsedAt)
	s.ExpiresAt = stored(s.ExpiresAt)
	s.MaxExpiresAt = stored(s.MaxExpiresAt)
	s.RevokedAt = stored(s.RevokedAt)
	return s
}

func storedToken(tok auth.OneTimeToken) auth.OneTimeToken {
	tok.CreatedAt = stored(tok.CreatedAt)
	tok.ExpiresAt = stored(tok.ExpiresAt)
	tok.UsedAt = stored(tok.UsedAt)
	return tok
}

func storedEvent(e auth.AuditEvent) auth.AuditEvent {
	e.OccurredAt = stored(e.OccurredAt)
	if len(e.Metadata) == 0 {
		e.Metadata = nil
	}
	return e
}

// checkEqual fails the test when got and want differ.
func checkEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// newUser returns a valid user with a unique email, created at base.
func newUser() auth.User {
	id := newID()
	return auth.User{
		ID:            id,
		Email:         "user-" + id[:8] + "@example.com",
		Name:          "User " + id[:8],
		Role:          auth.RoleEndUser,
		EmailVerified: true,
		IsActive:      true,
		PasswordHash:  "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		CreatedAt:     base,
		UpdatedAt:     base,
	}
}

// createUser stores a new user and returns it.
func createUser(t *testing.T, s auth.Store) auth.User {
	t.Helper()
	u := newUser()
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	return u
}

// newSession returns a session of the user, created an hour before base,
// last rotated ten seconds before base, idle-expiring an hour after base and
// ending for good a day after it.
func newSession(userID string) auth.Session {
	return auth.Session{
		ID:           newID(),
		UserID:       userID,
		RefreshHash:  newHash(),
		PreviousHash: newHash(),
		RotatedAt:    base.Add(-10 * time.Second),
		IP:           "203.0.113.7",
		UserAgent:    "storetest/1.0",
		CreatedAt:    base.Add(-time.Hour),
		LastUsedAt:   base.Add(-10 * time.Second),
		ExpiresAt:    base.Add(time.Hour),
		MaxExpiresAt: base.Add(24 * time.Hour),
	}
}

// createSession stores sess.
func createSession(t *testing.T, s auth.Store, sess auth.Session) {
	t.Helper()
	if err := s.CreateSession(t.Context(), sess); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
}

// sessionByID returns the stored session or fails the test.
func sessionByID(t *testing.T, s auth.Store, id string) auth.Session {
	t.Helper()
	sess, err := s.SessionByID(t.Context(), id)
	if err != nil {
		t.Fatalf("SessionByID: %v", err)
	}
	return sess
}

// race runs fn(0) … fn(n-1) in n goroutines released at once and returns
// their errors, in order.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// checkWinners fails the test unless exactly wins of errs are nil and
// every other one is auth.ErrNotFound.
func checkWinners(t *testing.T, errs []error, wins int) {
	t.Helper()
	var won int
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, auth.ErrNotFound):
		default:
			t.Errorf("a concurrent caller failed with something other than ErrNotFound: %v", err)
		}
	}
	if won != wins {
		t.Errorf("%d of %d concurrent callers succeeded, want %d", won, len(errs), wins)
	}
}

// checkErr fails the test unless err matches want (nil for success).
func checkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}
