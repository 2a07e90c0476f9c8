package storage

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/authd/auth"
)

// CreateSession inserts s. It returns auth.ErrConflict when the ID is taken
// or the user does not exist, and an error when s.ID or s.UserID is not a
// lower-case UUID.
func (s *Store) CreateSession(ctx context.Context, sess auth.Session) error {
	const op = "create session"
	if err := checkID("session id", sess.ID); err != nil {
		return dbError(op, err)
	}
	if err := checkID("user id", sess.UserID); err != nil {
		return dbError(op, err)
	}
	row := newSessionRow(sess)
	_, err := s.idb.NewInsert().Model(&row).Exec(ctx)
	return dbError(op, err)
}

// SessionByID returns the session, revoked and expired ones too, or
// auth.ErrNotFound.
func (s *Store) SessionByID(ctx context.Context, id string) (auth.Session, error) {
	const op = "session by id"
	if !isUUID(id) {
		return auth.Session{}, notFound(op)
	}
	var row sessionRow
	if err := s.idb.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return auth.Session{}, dbError(op, err)
	}
	return row.session(), nil
}

// RotateSession replaces the refresh hash in one conditional UPDATE, as
// [auth.SessionStore] describes: it returns auth.ErrNotFound, changing
// nothing, unless the session is unrevoked, unexpired at r.Now, and
// r.Presented is its current hash (or, with r.GraceSince set, its previous
// hash, rotated at or after r.GraceSince). Of concurrent callers with one
// hash exactly one succeeds (two when one of them may use the grace window).
func (s *Store) RotateSession(ctx context.Context, r auth.Rotation) error {
	const op = "rotate session"
	if !isUUID(r.SessionID) || r.Presented == "" {
		return notFound(op)
	}
	now := dbTime(r.Now)
	q := s.idb.NewUpdate().Table("sessions").
		Set("refresh_hash = ?", r.Next).
		// SET reads the row as it was, so refresh_hash here is the old one.
		Set("previous_hash = CASE WHEN refresh_hash = ? THEN ? ELSE '' END", r.Presented, r.Presented).
		Set("rotated_at = ?", now).
		Set("last_used_at = ?", now).
		Set("expires_at = ?", dbTime(r.ExpiresAt)).
		Where("id = ?", r.SessionID).
		Where("revoked_at IS NULL").
		Where("expires_at > ?", now).
		Where("max_expires_at > ?", now)
	if r.GraceSince.IsZero() {
		q = q.Where("refresh_hash = ?", r.Presented)
	} else {
		q = q.WhereGroup(" AND ", func(q *bun.UpdateQuery) *bun.UpdateQuery {
			return q.Where("refresh_hash = ?", r.Presented).
				WhereOr("previous_hash = ? AND rotated_at >= ?", r.Presented, dbTime(r.GraceSince))
		})
	}
	res, err := q.Exec(ctx)
	return affectedOne(op, res, err)
}

// RevokeSession marks the session revoked at now. It returns
// auth.ErrNotFound when there is no such session that is not yet revoked.
func (s *Store) RevokeSession(ctx context.Context, id string, now time.Time) error {
	const op = "revoke session"
	if !isUUID(id) {
		return notFound(op)
	}
	res, err := s.idb.NewUpdate().Table("sessions").
		Set("revoked_at = ?", dbTime(now)).
		Where("id = ?", id).
		Where("revoked_at IS NULL").
		Exec(ctx)
	return affectedOne(op, res, err)
}

// RevokeUserSessions revokes, at now, every unrevoked session of the user
// except the one with id except (which may be empty), and returns how many
// it revoked.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, except string, now time.Time) (int, error) {
	const op = "revoke user sessions"
	if !isUUID(userID) {
		return 0, nil
	}
	q := s.idb.NewUpdate().Table("sessions").
		Set("revoked_at = ?", dbTime(now)).
		Where("user_id = ?", userID).
		Where("revoked_at IS NULL")
	if isUUID(except) { // any other string names no session to keep
		q = q.Where("id <> ?", except)
	}
	res, err := q.Exec(ctx)
	return affectedRows(op, res, err)
}

// ActiveSessions returns the user's sessions that are active at now (see
// [auth.Session.Active]), newest first.
func (s *Store) ActiveSessions(ctx context.Context, userID string, now time.Time) ([]auth.Session, error) {
	const op = "active sessions"
	if !isUUID(userID) {
		return nil, nil
	}
	var rows []sessionRow
	err := s.idb.NewSelect().Model(&rows).
		Where("user_id = ?", userID).
		Where("revoked_at IS NULL").
		Where("expires_at > ?", dbTime(now)).
		Where("max_expires_at > ?", dbTime(now)).
		OrderExpr("created_at DESC, id DESC").
		Scan(ctx)
	if err != nil {
		return nil, dbError(op, err)
	}
	sessions := make([]auth.Session, len(rows))
	for i, row := range rows {
		sessions[i] = row.session()
	}
	return sessions, nil
}
