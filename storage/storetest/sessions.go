package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/authd/auth"
)

func testSessions(t *testing.T, newStore func(t *testing.T) auth.Store) {
	t.Run("a created session reads back with every field", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		sess := newSession(u.ID)
		sess.RevokedAt = base.Add(-time.Minute)
		createSession(t, s, sess)
		checkEqual(t, "session", sessionByID(t, s, sess.ID), storedSession(sess))
	})

	t.Run("a session's zero times and empty strings read back zero and empty", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		sess := newSession(u.ID)
		sess.PreviousHash = ""
		sess.RotatedAt = time.Time{}
		sess.IP = ""
		sess.UserAgent = ""
		createSession(t, s, sess)
		got := sessionByID(t, s, sess.ID)
		checkEqual(t, "session", got, storedSession(sess))
		if !got.RotatedAt.IsZero() || !got.RevokedAt.IsZero() {
			t.Errorf("RotatedAt = %v, RevokedAt = %v, want both zero", got.RotatedAt, got.RevokedAt)
		}
	})

	t.Run("a session reads back with its user in one call, in and out of a transaction", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		createUser(t, s) // another user, who must not be joined
		sess := newSession(u.ID)
		sess.RevokedAt = base.Add(-time.Minute)
		createSession(t, s, sess)
		check := func(name string, st auth.Store) {
			gotSession, gotUser, err := st.SessionUser(t.Context(), sess.ID)
			if err != nil {
				t.Fatalf("%s: SessionUser: %v", name, err)
			}
			checkEqual(t, name+" session", gotSession, storedSession(sess))
			checkEqual(t, name+" user", gotUser, storedUser(u))
		}
		check("store", s)
		check("store again", s) // the prepared statement is reused
		if err := s.WithinTx(t.Context(), func(_ context.Context, tx auth.Store) error {
			check("transaction", tx)
			return nil
		}); err != nil {
			t.Fatalf("WithinTx: %v", err)
		}
		for _, id := range []string{newID(), "not-a-uuid", ""} {
			_, _, err := s.SessionUser(t.Context(), id)
			checkErr(t, "SessionUser("+id+")", err, auth.ErrNotFound)
		}
	})

	t.Run("creating a session with a taken id is a conflict", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		sess := newSession(u.ID)
		createSession(t, s, sess)
		again := newSession(u.ID)
		again.ID = sess.ID
		checkErr(t, "CreateSession", s.CreateSession(t.Context(), again), auth.ErrConflict)
	})

	t.Run("looking up a session that is not there is not found", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, id := range []string{newID(), "not-a-uuid", ""} {
			_, err := s.SessionByID(t.Context(), id)
			checkErr(t, "SessionByID("+id+")", err, auth.ErrNotFound)
		}
	})

	t.Run("active sessions exclude revoked and expired ones and come newest first", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		other := createUser(t, s)
		now := base

		older := newSession(u.ID)
		older.CreatedAt = now.Add(-2 * time.Hour)
		newer := newSession(u.ID)
		newer.CreatedAt = now.Add(-time.Minute)
		lastMicrosecond := newSession(u.ID)
		lastMicrosecond.CreatedAt = now.Add(-time.Hour)
		lastMicrosecond.ExpiresAt = now.Add(time.Microsecond)
		revoked := newSession(u.ID)
		revoked.RevokedAt = now.Add(-time.Second)
		idleExpired := newSession(u.ID)
		idleExpired.ExpiresAt = now
		absoluteExpired := newSession(u.ID)
		absoluteExpired.MaxExpiresAt = now
		otherUsers := newSession(other.ID)
		for _, sess := range []auth.Session{older, revoked, newer, idleExpired, lastMicrosecond, absoluteExpired, otherUsers} {
			createSession(t, s, sess)
		}

		got, err := s.ActiveSessions(t.Context(), u.ID, now)
		checkErr(t, "ActiveSessions", err, nil)
		want := []auth.Session{storedSession(newer), storedSession(lastMicrosecond), storedSession(older)}
		checkEqual(t, "active sessions", got, want)
		for _, sess := range got {
			if !sess.Active(now) {
				t.Errorf("ActiveSessions returned session %s that is not Active", sess.ID)
			}
		}

		// The same instant in another time zone selects the same sessions.
		got, err = s.ActiveSessions(t.Context(), u.ID, now.In(western))
		checkErr(t, "ActiveSessions", err, nil)
		checkEqual(t, "active sessions with now in UTC-8", got, want)
	})

	t.Run("a user without active sessions has none", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		for _, userID := range []string{u.ID, newID(), "not-a-uuid"} {
			got, err := s.ActiveSessions(t.Context(), userID, base)
			checkErr(t, "ActiveSessions", err, nil)
			if len(got) != 0 {
				t.Errorf("ActiveSessions(%q) = %d sessions, want none", userID, len(got))
			}
		}
	})

	t.Run("revoking a session marks it revoked at now, and only once", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		sess := newSession(u.ID)
		createSession(t, s, sess)
		sibling := newSession(u.ID)
		createSession(t, s, sibling)

		checkErr(t, "RevokeSession", s.RevokeSession(t.Context(), sess.ID, base), nil)
		want := sess
		want.RevokedAt = base
		checkEqual(t, "revoked session", sessionByID(t, s, sess.ID), storedSession(want))

		err := s.RevokeSession(t.Context(), sess.ID, base.Add(time.Minute))
		checkErr(t, "RevokeSession a second time", err, auth.ErrNotFound)
		checkEqual(t, "session revoked twice", sessionByID(t, s, sess.ID), storedSession(want))
		checkEqual(t, "the session beside it", sessionByID(t, s, sibling.ID), storedSession(sibling))
	})

	t.Run("revoking a session that is not there is not found", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, id := range []string{newID(), "not-a-uuid"} {
			checkErr(t, "RevokeSession("+id+")", s.RevokeSession(t.Context(), id, base), auth.ErrNotFound)
		}
	})

	t.Run("an expired session can still be revoked", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		sess := newSession(u.ID)
		sess.ExpiresAt = base.Add(-time.Hour)
		createSession(t, s, sess)
		checkErr(t, "RevokeSession", s.RevokeSession(t.Context(), sess.ID, base), nil)
	})

	t.Run("revoking a user's sessions revokes every unrevoked one but the exception", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tests := []struct {
			name       string
			keepOne    bool   // pass the first session as the exception
			except     string // used when keepOne is false
			wantCount  int
			wantActive int
		}{
			{name: "except the current session", keepOne: true, wantCount: 2, wantActive: 1},
			{name: "with no exception", except: "", wantCount: 3, wantActive: 0},
			{name: "with an exception that is not one of them", except: newID(), wantCount: 3, wantActive: 0},
			{name: "with an exception that is not a UUID", except: "current", wantCount: 3, wantActive: 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u := createUser(t, s)
				other := createUser(t, s)
				var sessions []auth.Session
				for range 3 {
					sess := newSession(u.ID)
					createSession(t, s, sess)
					sessions = append(sessions, sess)
				}
				alreadyRevoked := newSession(u.ID)
				alreadyRevoked.RevokedAt = base.Add(-time.Hour)
				createSession(t, s, alreadyRevoked)
				othersSession := newSession(other.ID)
				createSession(t, s, othersSession)

				except := tt.except
				if tt.keepOne {
					except = sessions[0].ID
				}
				n, err := s.RevokeUserSessions(t.Context(), u.ID, except, base)
				checkErr(t, "RevokeUserSessions", err, nil)
				if n != tt.wantCount {
					t.Errorf("RevokeUserSessions revoked %d sessions, want %d", n, tt.wantCount)
				}
				active, err := s.ActiveSessions(t.Context(), u.ID, base)
				checkErr(t, "ActiveSessions", err, nil)
				if len(active) != tt.wantActive {
					t.Errorf("%d sessions stayed active, want %d", len(active), tt.wantActive)
				}
				if tt.keepOne {
					checkEqual(t, "the exception", sessionByID(t, s, sessions[0].ID), storedSession(sessions[0]))
				}
				for _, sess := range sessions[1:] {
					if got := sessionByID(t, s, sess.ID).RevokedAt; !got.Equal(stored(base)) {
						t.Errorf("session %s RevokedAt = %v, want %v", sess.ID, got, stored(base))
					}
				}
				checkEqual(t, "the session revoked before", sessionByID(t, s, alreadyRevoked.ID), storedSession(alreadyRevoked))
				checkEqual(t, "another user's session", sessionByID(t, s, othersSession.ID), storedSession(othersSession))
			})
		}
	})

	t.Run("revoking the sessions of a user without any revokes none", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		for _, userID := range []string{u.ID, newID(), "not-a-uuid"} {
			n, err := s.RevokeUserSessions(t.Context(), userID, "", base)
			checkErr(t, "RevokeUserSessions", err, nil)
			if n != 0 {
				t.Errorf("RevokeUserSessions(%q) = %d, want 0", userID, n)
			}
		}
	})
}
