package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/authd/auth"
)

// This file is the one place that reads driver errors.

// PostgreSQL SQLSTATE codes (Appendix A of its manual).
const (
	pgUniqueViolation     = "23505"
	pgForeignKeyViolation = "23503"
	pgTooManyConnections  = "53300"
	pgAdminShutdown       = "57P01" // the server is shutting down (fast or immediate mode)
	pgCrashShutdown       = "57P02" // another backend crashed; the server is resetting
	pgCannotConnectNow    = "57P03" // the server is starting up or shutting down
	pgConnectionException = "08"    // the class of connection errors
)

// dbError returns err, from doing op, as the error the caller of the Store
// sees: a database that cannot be reached (see isUnavailable) becomes
// auth.ErrUnavailable, with err kept in the chain; sql.ErrNoRows becomes
// auth.ErrNotFound; a unique violation the error of its constraint (see
// uniqueError), and a foreign-key violation auth.ErrConflict (the row
// refers to one that does not exist, or no longer does). Their messages say
// what was being done, never the SQL or the constraint. Any other error is
// wrapped as it is.
func dbError(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, auth.ErrUnavailable):
		return err // translated already, by a nested call
	case isUnavailable(err):
		return fmt.Errorf("storage: %s: %w: %w", op, auth.ErrUnavailable, err)
	case errors.Is(err, sql.ErrNoRows):
		return notFound(op)
	case isUniqueViolation(err):
		return fmt.Errorf("storage: %s: already exists: %w", op, uniqueError(uniqueConstraint(err)))
	case isForeignKeyViolation(err):
		return fmt.Errorf("storage: %s: refers to a row that does not exist: %w", op, auth.ErrConflict)
	default:
		return fmt.Errorf("storage: %s: %w", op, err)
	}
}

// unavailableError returns err, from doing op, wrapped with
// auth.ErrUnavailable when it says the database cannot be reached, and
// as it is otherwise. It is for errors that did not come through dbError:
// beginning and committing a transaction, and pinging.
func unavailableError(op string, err error) error {
	if err == nil || errors.Is(err, auth.ErrUnavailable) || !isUnavailable(err) {
		return err
	}
	return fmt.Errorf("storage: %s: %w: %w", op, auth.ErrUnavailable, err)
}

// isUnavailable reports whether err says that the database cannot be
// reached, as opposed to refusing the statement: a connection that could
// not be made (refused, timed out, or rejected because the server is
// starting up, shutting down or full) or that broke (terminated by an
// administrator or a crash, reset, closed, cut short). The request that
// met it may succeed when retried. A failed connection attempt for another
// reason the server gave (a wrong password, a missing database) is a
// configuration error, not this. A cancelled request is never this: its
// context error is what the caller sees.
func isUnavailable(err error) bool {
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		// Refused, timed out, or rejected by the server: which one?
		if code, ok := pgCode(err); ok {
			return unavailableCode(code)
		}
		return !errors.Is(err, context.Canceled)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // the caller's own context ended
	}
	if code, ok := pgCode(err); ok {
		return unavailableCode(code)
	}
	var opErr *net.OpError
	return errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) ||
		errors.As(err, &opErr)
}

// unavailableCode reports whether a PostgreSQL SQLSTATE means the server
// cannot serve the connection now: a connection exception (class 08), an
// administrator or crash shutdown, a server starting up or shutting down,
// or too many connections.
func unavailableCode(code string) bool {
	switch code {
	case pgAdminShutdown, pgCrashShutdown, pgCannotConnectNow, pgTooManyConnections:
		return true
	}
	return strings.HasPrefix(code, pgConnectionException)
}

// notFound is the error of op when no row matched.
func notFound(op string) error {
	return fmt.Errorf("storage: %s: %w", op, auth.ErrNotFound)
}

func isUniqueViolation(err error) bool {
	if code, ok := pgCode(err); ok {
		return code == pgUniqueViolation
	}
	if code, ok := sqliteCode(err); ok {
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	// Another SQLite driver handed to New: its message is SQLite's own.
	return strings.Contains(err.Error(), sqliteUniqueFailed)
}

// uniqueError returns the error of a violation of the unique constraint
// named constraint, as uniqueConstraint names it: auth.ErrSlugTaken for an
// organisation's slug, auth.ErrAlreadyMember for a second membership of one
// user in one organisation, and auth.ErrConflict for any other.
func uniqueError(constraint string) error {
	switch constraint {
	case "orgs_slug_key", "orgs.slug":
		return auth.ErrSlugTaken
	case "org_members_pkey", "org_members.org_id, org_members.user_id":
		return auth.ErrAlreadyMember
	}
	return auth.ErrConflict
}

// sqliteUniqueFailed starts the part of a SQLite message that lists the
// columns of the unique constraint that failed.
const sqliteUniqueFailed = "UNIQUE constraint failed: "

// uniqueConstraint returns the name of the unique constraint that err
// violated on PostgreSQL; on SQLite, whose messages name no constraint, it
// returns the columns as the message lists them ("orgs.slug", or
// "org_members.org_id, org_members.user_id").
func uniqueConstraint(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.ConstraintName
	}
	// modernc.org/sqlite ends the message with the code: "… orgs.slug (2067)".
	_, columns, ok := strings.Cut(err.Error(), sqliteUniqueFailed)
	if !ok {
		return ""
	}
	if i := strings.LastIndex(columns, " ("); i >= 0 {
		columns = columns[:i]
	}
	return columns
}

func isForeignKeyViolation(err error) bool {
	if code, ok := pgCode(err); ok {
		return code == pgForeignKeyViolation
	}
	if code, ok := sqliteCode(err); ok {
		return code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
}

// pgCode returns the SQLSTATE of a PostgreSQL error.
func pgCode(err error) (string, bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code, true
	}
	return "", false
}

// sqliteCode returns the extended result code of a SQLite error.
func sqliteCode(err error) (int, bool) {
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		return sqliteErr.Code(), true
	}
	return 0, false
}

// affectedRows returns how many rows the statement of op changed, or the
// error it failed with.
func affectedRows(op string, res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, dbError(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, dbError(op, err)
	}
	return int(n), nil
}

// affectedOne returns auth.ErrNotFound when the statement of op changed no
// row, or the error it failed with.
func affectedOne(op string, res sql.Result, err error) error {
	n, err := affectedRows(op, res, err)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(op)
	}
	return nil
}
