package storetest

import (
	"testing"
	"time"

	"github.com/authd/auth"
)

func testStats(t *testing.T, newStore func(t *testing.T) auth.Store) {
	t.Run("an empty store counts nothing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		got, err := s.Stats(t.Context(), base)
		checkErr(t, "Stats", err, nil)
		checkEqual(t, "stats", got, auth.Stats{})
	})

	t.Run("stats count users, active sessions, organisations and the logins of the last day", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		now := base
		ada, bob, carol := createUser(t, s), createUser(t, s), createUser(t, s)
		createOrg(t, s, ada.ID)
		createOrg(t, s, bob.ID)

		active := newSession(ada.ID)
		lastMicrosecond := newSession(bob.ID)
		lastMicrosecond.ExpiresAt = now.Add(time.Microsecond)
		revoked := newSession(ada.ID)
		revoked.RevokedAt = now.Add(-time.Minute)
		idleExpired := newSession(bob.ID)
		idleExpired.ExpiresAt = now
		absoluteExpired := newSession(carol.ID)
		absoluteExpired.MaxExpiresAt = now.Add(-time.Second)
		for _, sess := range []auth.Session{active, lastMicrosecond, revoked, idleExpired, absoluteExpired} {
			createSession(t, s, sess)
		}

		event := func(name string, at time.Time) auth.AuditEvent {
			e := newEvent(name)
			e.OccurredAt = at
			return e
		}
		appendEvents(t, s,
			event(auth.EventLogin, now),
			event(auth.EventLogin, now.Add(-time.Hour).In(eastern)),
			event("sso.login", now.Add(-23*time.Hour)),
			event(auth.EventLogin, now.Add(-24*time.Hour)), // the first instant of the window
			event(auth.EventLogin, now.Add(-24*time.Hour-time.Microsecond)),
			event("sso.login", now.Add(-48*time.Hour)),
			event(auth.EventLoginFailed, now.Add(-time.Minute)),
			event(auth.EventLogout, now.Add(-time.Minute)),
			event(auth.EventUserRegistered, now.Add(-time.Minute)),
		)

		got, err := s.Stats(t.Context(), now.In(western))
		checkErr(t, "Stats", err, nil)
		checkEqual(t, "stats", got, auth.Stats{Users: 3, ActiveSessions: 2, Orgs: 2, Logins24h: 4})
	})
}
