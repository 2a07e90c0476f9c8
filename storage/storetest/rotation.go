package storetest

import (
	"testing"
	"time"

	"github.com/authd/auth"
)

func testRotation(t *testing.T, newStore func(t *testing.T) auth.Store) {
	t.Run("a rotation succeeds or changes nothing, as its conditions say", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		// Each case starts from newSession (rotated ten seconds before base,
		// expiring after it), changed by prepare, and rotates it at base.
		// rotate returns the rotation to try; a case that wants success also
		// says what PreviousHash becomes.
		tests := []struct {
			name         string
			prepare      func(sess *auth.Session)
			rotate       func(sess auth.Session) auth.Rotation
			wantErr      error
			wantPrevious func(sess auth.Session) string
		}{
			{
				name:         "the current hash rotates and becomes the previous one",
				rotate:       func(sess auth.Session) auth.Rotation { return rotation(sess, sess.RefreshHash) },
				wantPrevious: func(sess auth.Session) string { return sess.RefreshHash },
			},
			{
				name: "the current hash rotates when a grace window is given too",
				rotate: func(sess auth.Session) auth.Rotation {
					r := rotation(sess, sess.RefreshHash)
					r.GraceSince = base.Add(-time.Minute)
					return r
				},
				wantPrevious: func(sess auth.Session) string { return sess.RefreshHash },
			},
			{
				name:    "a hash that was never issued is refused",
				rotate:  func(sess auth.Session) auth.Rotation { return rotation(sess, newHash()) },
				wantErr: auth.ErrNotFound,
			},
			{
				name:    "the previous hash is refused without a grace window",
				rotate:  func(sess auth.Session) auth.Rotation { return rotation(sess, sess.PreviousHash) },
				wantErr: auth.ErrNotFound,
			},
			{
				name: "the previous hash rotates when the session was rotated at the start of the grace window, and leaves no previous hash",
				rotate: func(sess auth.Session) auth.Rotation {
					r := rotation(sess, sess.PreviousHash)
					r.GraceSince = sess.RotatedAt
					return r
				},
				wantPrevious: func(auth.Session) string { return "" },
			},
			{
				name: "the previous hash is refused when the session was rotated a microsecond before the grace window",
				rotate: func(sess auth.Session) auth.Rotation {
					r := rotation(sess, sess.PreviousHash)
					r.GraceSince = sess.RotatedAt.Add(time.Microsecond)
					return r
				},
				wantErr: auth.ErrNotFound,
			},
			{
				name:    "a session that was never rotated has no grace",
				prepare: func(sess *auth.Session) { sess.RotatedAt = time.Time{} },
				rotate: func(sess auth.Session) auth.Rotation {
					r := rotation(sess, sess.PreviousHash)
					r.GraceSince = base.Add(-time.Hour)
					return r
				},
				wantErr: auth.ErrNotFound,
			},
			{
				name:    "an empty hash never matches, not even an empty previous hash in the grace window",
				prepare: func(sess *auth.Session) { sess.PreviousHash = "" },
				rotate: func(sess auth.Session) auth.Rotation {
					r := rotation(sess, "")
					r.GraceSince = base.Add(-time.Hour)
					return r
				},
				wantErr: auth.ErrNotFound,
			},
			{
				name:    "a revoked session is refused",
				prepare: func(sess *auth.Session) { sess.RevokedAt = base.Add(-time.Second) },
				rotate:  func(sess auth.Session) auth.Rotation { return rotation(sess, sess.RefreshHash) },
				wantErr: auth.ErrNotFound,
			},
			{
				name:    "a session revoked in the future is refused too",
				prepare: func(sess *auth.Session) { sess.RevokedAt = base.Add(time.Hour) },
				rotate:  func(sess auth.Session) auth.Rotation { return rotation(sess, sess.RefreshHash) },
				wantErr: auth.ErrNotFound,
			},
			{
				name:    "a session is refused at the instant of its idle expiry",
				prepare: func(sess *auth.Session) { sess.ExpiresAt = base },
				rotate:  func(sess auth.Session) auth.Rotation { return rotation(sess, sess.RefreshHash) },
				wantErr: auth.ErrNotFound,
			},
			{
				name:         "a session rotates a microsecond before its idle expiry",
				prepare:      func(sess *auth.Session) { sess.ExpiresAt = base.Add(time.Microsecond) },
				rotate:       func(sess auth.Session) auth.Rotation { return rotation(sess, sess.RefreshHash) },
				wantPrevious: func(sess auth.Session) string { return sess.RefreshHash },
			},
			{
				name:    "a session is refused at the instant of its absolute expiry",
				prepare: func(sess *auth.Session) { sess.MaxExpiresAt = base },
				rotate:  func(sess auth.Session) auth.Rotation { return rotation(sess, sess.RefreshHash) },
				wantErr: auth.ErrNotFound,
			},
			{
				name: "expiry compares instants, whatever the time zones",
				// Expires at 05:06:07.891235 UTC, written in UTC+5; now is
				// one microsecond earlier, written in UTC-8.
				prepare: func(sess *auth.Session) { sess.ExpiresAt = stored(base).Add(time.Microsecond).In(eastern) },
				rotate: func(sess auth.Session) auth.Rotation {
					r := rotation(sess, sess.RefreshHash)
					r.Now = stored(base).In(western)
					return r
				},
				wantPrevious: func(sess auth.Session) string { return sess.RefreshHash },
			},
			{
				name:    "a session that expired on a whole second is refused a millisecond later",
				prepare: func(sess *auth.Session) { sess.ExpiresAt = base.Truncate(time.Second) },
				rotate: func(sess auth.Session) auth.Rotation {
					r := rotation(sess, sess.RefreshHash)
					r.Now = base.Truncate(time.Second).Add(time.Millisecond)
					return r
				},
				wantErr: auth.ErrNotFound,
			},
			{
				name:    "a session that ends for good a millisecond after a whole second rotates on that second",
				prepare: func(sess *auth.Session) { sess.MaxExpiresAt = base.Truncate(time.Second).Add(time.Millisecond) },
				rotate: func(sess auth.Session) auth.Rotation {
					r := rotation(sess, sess.RefreshHash)
					r.Now = base.Truncate(time.Second)
					return r
				},
				wantPrevious: func(sess auth.Session) string { return sess.RefreshHash },
			},
			{
				name:    "expiry compares instants across a change of date",
				prepare: func(sess *auth.Session) { sess.ExpiresAt = time.Date(2031, 3, 4, 23, 59, 59, 999_999_000, time.UTC) },
				rotate: func(sess auth.Session) auth.Rotation {
					r := rotation(sess, sess.RefreshHash)
					r.Now = time.Date(2031, 3, 5, 0, 0, 0, 0, time.UTC)
					return r
				},
				wantErr: auth.ErrNotFound,
			},
			{
				name: "an unknown session is not found",
				rotate: func(sess auth.Session) auth.Rotation {
					r := rotation(sess, sess.RefreshHash)
					r.SessionID = newID()
					return r
				},
				wantErr: auth.ErrNotFound,
			},
			{
				name: "a session id that is not a UUID is not found",
				rotate: func(sess auth.Session) auth.Rotation {
					r := rotation(sess, sess.RefreshHash)
					r.SessionID = "nope"
					return r
				},
				wantErr: auth.ErrNotFound,
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u := createUser(t, s)
				sess := newSession(u.ID)
				if tt.prepare != nil {
					tt.prepare(&sess)
				}
				createSession(t, s, sess)
				r := tt.rotate(sess)
				err := s.RotateSession(t.Context(), r)
				checkErr(t, "RotateSession", err, tt.wantErr)

				want := sess
				if tt.wantErr == nil {
					want.RefreshHash = r.Next
					want.PreviousHash = tt.wantPrevious(sess)
					want.RotatedAt = r.Now
					want.LastUsedAt = r.Now
					want.ExpiresAt = r.ExpiresAt
				}
				checkEqual(t, "session after the rotation", sessionByID(t, s, sess.ID), storedSession(want))
			})
		}
	})

	t.Run("a rotated hash is stale for the next rotation", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		sess := newSession(u.ID)
		createSession(t, s, sess)
		first := rotation(sess, sess.RefreshHash)
		checkErr(t, "first RotateSession", s.RotateSession(t.Context(), first), nil)
		again := rotation(sess, sess.RefreshHash)
		checkErr(t, "RotateSession with the rotated hash", s.RotateSession(t.Context(), again), auth.ErrNotFound)
		second := rotation(sess, first.Next)
		second.Now = base.Add(time.Second)
		checkErr(t, "RotateSession with the new hash", s.RotateSession(t.Context(), second), nil)
		got := sessionByID(t, s, sess.ID)
		if got.RefreshHash != second.Next || got.PreviousHash != first.Next {
			t.Errorf("hashes after two rotations = (%s, %s), want (%s, %s)", got.RefreshHash, got.PreviousHash, second.Next, first.Next)
		}
	})

	t.Run("a grace refresh is used once", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		sess := newSession(u.ID)
		createSession(t, s, sess)
		// The current hash rotates; its predecessor then refreshes once
		// within the grace window, and never again.
		current := rotation(sess, sess.RefreshHash)
		checkErr(t, "RotateSession", s.RotateSession(t.Context(), current), nil)
		grace := rotation(sess, sess.RefreshHash)
		grace.Now = base.Add(time.Second)
		grace.GraceSince = base.Add(-5 * time.Second)
		checkErr(t, "RotateSession with the previous hash in the grace window", s.RotateSession(t.Context(), grace), nil)
		twice := rotation(sess, sess.RefreshHash)
		twice.Now = base.Add(2 * time.Second)
		twice.GraceSince = base.Add(-5 * time.Second)
		checkErr(t, "RotateSession with it a second time", s.RotateSession(t.Context(), twice), auth.ErrNotFound)
		got := sessionByID(t, s, sess.ID)
		if got.RefreshHash != grace.Next || got.PreviousHash != "" {
			t.Errorf("hashes = (%s, %q), want (%s, \"\")", got.RefreshHash, got.PreviousHash, grace.Next)
		}
	})

	t.Run("of fifty concurrent rotations with one hash exactly one wins", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		sess := newSession(u.ID)
		createSession(t, s, sess)
		rotations := make([]auth.Rotation, concurrency)
		for i := range rotations {
			rotations[i] = rotation(sess, sess.RefreshHash)
		}
		errs := race(concurrency, func(i int) error { return s.RotateSession(t.Context(), rotations[i]) })
		checkWinners(t, errs, 1)
		got := sessionByID(t, s, sess.ID)
		for i, err := range errs {
			if err == nil && (got.RefreshHash != rotations[i].Next || got.PreviousHash != sess.RefreshHash) {
				t.Errorf("the session holds (%s, %s), not the winner's hashes", got.RefreshHash, got.PreviousHash)
			}
		}
	})

	t.Run("of fifty concurrent rotations with one hash and a grace window, one wins and one more uses the grace", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		sess := newSession(u.ID)
		createSession(t, s, sess)
		rotations := make([]auth.Rotation, concurrency)
		for i := range rotations {
			rotations[i] = rotation(sess, sess.RefreshHash)
			rotations[i].GraceSince = base.Add(-time.Second)
		}
		errs := race(concurrency, func(i int) error { return s.RotateSession(t.Context(), rotations[i]) })
		checkWinners(t, errs, 2)
		if got := sessionByID(t, s, sess.ID); got.PreviousHash != "" {
			t.Errorf("PreviousHash = %s after the grace refresh, want it empty", got.PreviousHash)
		}
	})
}

// rotation returns a rotation of sess at base that presents presented and
// renews the idle expiry to two hours after base.
func rotation(sess auth.Session, presented string) auth.Rotation {
	return auth.Rotation{
		SessionID: sess.ID,
		Presented: presented,
		Next:      newHash(),
		Now:       base,
		ExpiresAt: base.Add(2 * time.Hour),
	}
}
