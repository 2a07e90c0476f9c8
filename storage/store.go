package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/authd/auth"
)

// Dialect names, as [Store.Dialect] returns them.
const (
	// DialectPostgres is PostgreSQL, through pgx and bun's pgdialect.
	DialectPostgres = "postgres"
	// DialectSQLite is SQLite, through modernc.org/sqlite and bun's
	// sqlitedialect.
	DialectSQLite = "sqlite"
)

// Store is the [auth.Store] on a bun database, PostgreSQL or SQLite. It is
// safe for concurrent use. A Store returned by [New] or [Open] runs each
// call on the database; the Store that [Store.WithinTx] passes to its
// function runs them in that transaction.
type Store struct {
	db      *bun.DB
	idb     bun.IDB // db, or the transaction this Store is bound to
	inTx    bool
	dialect string
	hot     *hotStatements // shared with the Stores of transactions
}

// Interface guard.
var _ auth.Store = (*Store)(nil)

// New returns a Store over db, an open bun handle with bun's pgdialect or
// sqlitedialect. It does no I/O and does not migrate: call [Store.Migrate].
// It returns an error for a nil handle or another dialect.
func New(db *bun.DB) (*Store, error) {
	if db == nil {
		return nil, errors.New("storage: nil *bun.DB")
	}
	var name string
	switch db.Dialect().Name() {
	case dialect.PG:
		name = DialectPostgres
	case dialect.SQLite:
		name = DialectSQLite
	default:
		return nil, fmt.Errorf("storage: unsupported dialect %s (want PostgreSQL or SQLite)", db.Dialect().Name())
	}
	return &Store{db: db, idb: db, dialect: name, hot: &hotStatements{}}, nil
}

// Close closes the database handle, which ends every Store that shares it.
func (s *Store) Close() error {
	s.hot.close()
	return s.db.Close()
}

// Ping reports whether the database answers, or returns the error it gave,
// which matches auth.ErrUnavailable when the database cannot be reached.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		if isUnavailable(err) {
			return fmt.Errorf("storage: ping: %w: %w", auth.ErrUnavailable, err)
		}
		return fmt.Errorf("storage: ping: %w", err)
	}
	return nil
}

// DB returns the bun handle the Store runs on (never a transaction), for
// callers that need raw SQL, such as tests and administration commands.
func (s *Store) DB() *bun.DB {
	return s.db
}

// Dialect returns "postgres" or "sqlite" ([DialectPostgres], [DialectSQLite]).
func (s *Store) Dialect() string {
	return s.dialect
}

// WithinTx runs fn in one transaction with a Store bound to it, committing
// when fn returns nil and rolling back when it returns an error or panics
// (the panic goes on). It returns fn's error, or the error of beginning or
// committing (auth.ErrUnavailable when the database cannot be reached).
// Called on a transaction's Store it runs fn in that same
// transaction. The Store passed to fn belongs to fn's goroutine and ends
// with fn.
func (s *Store) WithinTx(ctx context.Context, fn func(ctx context.Context, tx auth.Store) error) error {
	return s.inTransaction(ctx, func(ctx context.Context, tx *Store) error { return fn(ctx, tx) })
}

// inTransaction runs fn with a Store bound to a transaction: s itself when
// it is bound to one, otherwise a new transaction, as [Store.WithinTx]
// does. Methods that write several rows run through it, so that their
// writes join the caller's transaction or make one of their own.
func (s *Store) inTransaction(ctx context.Context, fn func(ctx context.Context, tx *Store) error) error {
	if s.inTx {
		return fn(ctx, s)
	}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return fn(ctx, &Store{db: s.db, idb: tx, inTx: true, dialect: s.dialect, hot: s.hot})
	})
	// Beginning and committing fail with the driver's errors: a database
	// that cannot be reached is auth.ErrUnavailable.
	return unavailableError("transaction", err)
}
