package storage

import (
	"context"
	"database/sql"
	"strings"
	"sync"

	"github.com/authd/auth"
)

// Queries on the hot path of every authenticated request are prepared once
// per connection with a parameter, instead of being formatted by bun with
// the value inlined: SQLite and PostgreSQL then skip parsing and planning
// them on each call, which is most of their cost.

// sessionUserColumns is the session and its user, in the order
// scanSessionUser reads them.
const sessionUserColumns = `s.id, s.user_id, s.refresh_hash, s.previous_hash, s.rotated_at, s.ip, s.user_agent,
 s.created_at, s.last_used_at, s.expires_at, s.max_expires_at, s.revoked_at,
 u.id, u.email, u.name, u.role, u.email_verified, u.is_active, u.password_hash, u.created_at, u.updated_at`

// sessionUserSQL reads one session and its user; "?" is the session id.
const sessionUserSQL = `SELECT ` + sessionUserColumns + `
 FROM sessions AS s JOIN users AS u ON u.id = s.user_id WHERE s.id = ?`

// hotStatements holds the prepared statements of one database handle,
// prepared on first use. It is shared by a Store and every transaction
// Store made from it.
type hotStatements struct {
	mu          sync.Mutex
	sessionUser *sql.Stmt
}

// statement returns the prepared sessionUser statement of db, preparing
// it on first use (again after a failed attempt).
func (h *hotStatements) statement(ctx context.Context, db *sql.DB, dialect string) (*sql.Stmt, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sessionUser != nil {
		return h.sessionUser, nil
	}
	query := sessionUserSQL
	if dialect == DialectPostgres {
		query = strings.Replace(query, "?", "$1", 1)
	}
	stmt, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	h.sessionUser = stmt
	return stmt, nil
}

// close releases the prepared statements.
func (h *hotStatements) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sessionUser != nil {
		h.sessionUser.Close()
		h.sessionUser = nil
	}
}

// SessionUser returns the session with this id, revoked and expired ones
// too, and its user, in one read; auth.ErrNotFound when there is no such
// session. Outside a transaction it runs a statement prepared once per
// connection.
func (s *Store) SessionUser(ctx context.Context, id string) (auth.Session, auth.User, error) {
	const op = "session and user by id"
	if !isUUID(id) {
		return auth.Session{}, auth.User{}, notFound(op)
	}
	var row *sql.Row
	if s.inTx {
		row = s.idb.QueryRowContext(ctx, sessionUserSQL, id) // bun inlines id
	} else {
		stmt, err := s.hot.statement(ctx, s.db.DB, s.dialect)
		if err != nil {
			return auth.Session{}, auth.User{}, dbError(op, err)
		}
		row = stmt.QueryRowContext(ctx, id)
	}
	var sr sessionRow
	var ur userRow
	err := row.Scan(&sr.ID, &sr.UserID, &sr.RefreshHash, &sr.PreviousHash, &sr.RotatedAt, &sr.IP, &sr.UserAgent,
		&sr.CreatedAt, &sr.LastUsedAt, &sr.ExpiresAt, &sr.MaxExpiresAt, &sr.RevokedAt,
		&ur.ID, &ur.Email, &ur.Name, &ur.Role, &ur.EmailVerified, &ur.IsActive, &ur.PasswordHash, &ur.CreatedAt, &ur.UpdatedAt)
	if err != nil {
		return auth.Session{}, auth.User{}, dbError(op, err)
	}
	return sr.session(), ur.user(), nil
}
