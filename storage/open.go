package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	neturl "net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// sqliteMemory is the PATH of sqlite:PATH that names an in-memory database.
const sqliteMemory = ":memory:"

// sqliteOptions are the DSN parameters of every SQLite connection Open
// makes: wait up to 5 s for a lock, enforce foreign keys, and begin
// transactions with BEGIN IMMEDIATE, so that a transaction that reads
// before it writes waits for other writers instead of failing.
const sqliteOptions = "_busy_timeout=5000&_foreign_keys=1&_txlock=immediate"

// sqliteFileOptions are added for a database in a file: WAL journaling,
// which lets readers run beside the writer, and synchronous NORMAL, which is
// durable enough with WAL and much faster than FULL.
const sqliteFileOptions = "&_journal_mode=WAL&_synchronous=NORMAL"

// Open connects to the database at url and returns a Store on it, after
// checking that the database answers. url is postgres://… or
// postgresql://… (a libpq URL, reached through pgx), or sqlite:PATH, where
// PATH is a file (its directory is created when missing) or :memory:.
// A PostgreSQL URL without connect_timeout gets connect_timeout=5, so that
// a request fails within seconds (with auth.ErrUnavailable) while the
// server cannot be reached. Open does not migrate: call [Store.Migrate].
// The connection pool keeps up to [PoolSize] connections open and idle (database/sql's default of two
// idle connections would make busy servers reconnect on most requests);
// [Store.DB] can change that. Errors never repeat the password the URL may
// hold.
func Open(ctx context.Context, url string) (*Store, error) {
	db, err := openDB(url)
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("storage: connect to the database: %w", err)
	}
	return New(db)
}

// openDB opens the bun handle that url names, without connecting.
func openDB(url string) (*bun.DB, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		sqldb, err := sql.Open("pgx", withConnectTimeout(url))
		if err != nil {
			return nil, fmt.Errorf("storage: open PostgreSQL: %w", err)
		}
		sizePool(sqldb)
		return bun.NewDB(sqldb, pgdialect.New()), nil
	case strings.HasPrefix(url, "sqlite:"):
		return openSQLite(strings.TrimPrefix(url, "sqlite:"))
	case url == "":
		return nil, errors.New("storage: empty database URL")
	default:
		return nil, errors.New("storage: unsupported database URL: want postgres://…, postgresql://… or sqlite:PATH")
	}
}

// openSQLite opens the SQLite database at path, or an in-memory one.
func openSQLite(path string) (*bun.DB, error) {
	if path == "" {
		return nil, errors.New("storage: sqlite URL without a path: want sqlite:PATH or sqlite::memory:")
	}
	if strings.Contains(path, "?") {
		return nil, errors.New("storage: sqlite PATH may not contain '?': Open sets the connection options")
	}
	if path == sqliteMemory {
		sqldb, err := sql.Open("sqlite", sqliteMemory+"?"+sqliteOptions)
		if err != nil {
			return nil, fmt.Errorf("storage: open SQLite: %w", err)
		}
		// Each connection to :memory: is a database of its own, so keep
		// exactly one, and keep it open for the life of the pool.
		sqldb.SetMaxOpenConns(1)
		sqldb.SetMaxIdleConns(1)
		sqldb.SetConnMaxLifetime(0)
		sqldb.SetConnMaxIdleTime(0)
		return bun.NewDB(sqldb, sqlitedialect.New()), nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("storage: create the directory of the SQLite database: %w", err)
	}
	sqldb, err := sql.Open("sqlite", path+"?"+sqliteOptions+sqliteFileOptions)
	if err != nil {
		return nil, fmt.Errorf("storage: open SQLite: %w", err)
	}
	sizePool(sqldb)
	return bun.NewDB(sqldb, sqlitedialect.New()), nil
}

// PoolSize is how many connections Open keeps, open and idle, per
// database: four per CPU, at least 8. More would only queue inside the
// database (SQLite has one writer; PostgreSQL runs on the same few cores in
// most deployments) and, on PostgreSQL, spend its max_connections.
func PoolSize() int { return max(8, 4*runtime.GOMAXPROCS(0)) }

// sizePool keeps PoolSize connections open and reusable, and retires idle
// ones after five minutes so a quiet server gives them back.
func sizePool(db *sql.DB) {
	n := PoolSize()
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
}

// pgConnectTimeout is the connect_timeout, in seconds, of PostgreSQL URLs
// that set none: how long one connection attempt may take before the
// request that needed it fails with auth.ErrUnavailable. Without it, a
// server that does not answer (a partition, a dropped SYN) would hold each
// request as long as its context allows, which is often forever.
const pgConnectTimeout = "5"

// withConnectTimeout returns the PostgreSQL URL rawURL with
// connect_timeout=pgConnectTimeout added when it sets none. A URL that does
// not parse is returned as it is, for sql.Open to refuse.
func withConnectTimeout(rawURL string) string {
	u, err := neturl.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	q := u.Query()
	if q.Has("connect_timeout") {
		return rawURL
	}
	q.Set("connect_timeout", pgConnectTimeout)
	u.RawQuery = q.Encode()
	return u.String()
}
