package storage

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

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
)

// dbError returns err, from doing op, as the error the caller of the Store
// sees: sql.ErrNoRows becomes auth.ErrNotFound; a unique violation the
// error of its constraint (see uniqueError), and a foreign-key violation
// auth.ErrConflict (the row refers to one that does not exist, or no
// longer does). Their messages say what was being done, never the SQL or
// the constraint. Any other error is wrapped as it is.
func dbError(op string, err error) error {
	switch {
	case err == nil:
		return nil
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
