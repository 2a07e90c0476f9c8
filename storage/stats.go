package storage

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/authd/auth"
)

// statsQuery counts in one statement, so on PostgreSQL the four numbers
// come from one snapshot. ?0 is now, ?1 the login events, ?2 a day before
// now.
const statsQuery = `SELECT
	(SELECT count(*) FROM users) AS users,
	(SELECT count(*) FROM sessions
		WHERE revoked_at IS NULL AND expires_at > ?0 AND max_expires_at > ?0) AS active_sessions,
	(SELECT count(*) FROM orgs) AS orgs,
	(SELECT count(*) FROM audit_events WHERE event IN (?1) AND occurred_at >= ?2) AS logins_24h`

// Stats returns the number of users, of sessions active at now (see
// [auth.Session.Active]), of organisations, and of auth.login and
// sso.login events at or after now minus 24 hours.
func (s *Store) Stats(ctx context.Context, now time.Time) (auth.Stats, error) {
	const op = "count stats"
	var row struct {
		Users          int `bun:"users"`
		ActiveSessions int `bun:"active_sessions"`
		Orgs           int `bun:"orgs"`
		Logins24h      int `bun:"logins_24h"`
	}
	logins := []string{auth.EventLogin, "sso.login"} // the root has no name for sso.login yet
	err := s.idb.NewRaw(statsQuery, dbTime(now), bun.In(logins), dbTime(now.Add(-24*time.Hour))).Scan(ctx, &row)
	if err != nil {
		return auth.Stats{}, dbError(op, err)
	}
	return auth.Stats(row), nil
}
