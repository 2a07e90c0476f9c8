package storage

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/uptrace/bun"
)

// migrationFiles holds the schema, one directory per dialect. Files are
// applied in name order (0001_…, 0002_…); a file's name without ".sql" is
// its version. An applied file is never edited: a change is a new file.
//
//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrationFiles embed.FS

// migrateLockID is the PostgreSQL advisory lock that makes concurrent
// Migrate calls, from several processes, run one after another.
const migrateLockID int64 = 0x61757468645f6d67 // "authd_mg"

// createMigrationsTable records which versions were applied.
var createMigrationsTable = map[string]string{
	DialectPostgres: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    text PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`,
	DialectSQLite: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    TEXT PRIMARY KEY NOT NULL,
		applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
	)`,
}

// migration is one embedded SQL file.
type migration struct {
	version string
	sql     string
}

// Migrate applies the migrations that the database lacks, in order, in one
// transaction: when one fails, none is applied and the error says which.
// It is idempotent. On PostgreSQL it holds an advisory lock, so processes
// that migrate at once do not collide; on SQLite the transaction's write
// lock does the same. It always runs on the database, never in a caller's
// transaction.
func (s *Store) Migrate(ctx context.Context) error {
	return s.migrateTo(ctx, "")
}

// migrateTo is [Store.Migrate] up to and including the version last, or
// every version when last is empty. Tests use it to make a database of an
// older schema.
func (s *Store) migrateTo(ctx context.Context, last string) error {
	migrations, err := loadMigrations(s.dialect)
	if err != nil {
		return err
	}
	if last != "" {
		migrations = slices.DeleteFunc(migrations, func(m migration) bool { return m.version > last })
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if s.dialect == DialectPostgres {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", migrateLockID); err != nil {
				return fmt.Errorf("take the migration lock: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, createMigrationsTable[s.dialect]); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var applied []string
		if err := tx.NewSelect().Table("schema_migrations").Column("version").Scan(ctx, &applied); err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		for _, m := range migrations {
			if slices.Contains(applied, m.version) {
				continue
			}
			// The embedded *sql.Tx runs the file as it is: bun would read
			// '?' in it as a placeholder.
			if _, err := tx.Tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("apply %s: %w", m.version, err)
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version) VALUES (?)", m.version); err != nil {
				return fmt.Errorf("record %s: %w", m.version, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: migrate %s: %w", s.dialect, err)
	}
	return nil
}

// loadMigrations returns the migrations of a dialect in the order they apply.
func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("storage: read embedded migrations: %w", err)
	}
	var migrations []migration
	for _, e := range entries { // fs.ReadDir sorts by name
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("storage: read embedded migration: %w", err)
		}
		migrations = append(migrations, migration{
			version: strings.TrimSuffix(e.Name(), ".sql"),
			sql:     string(b),
		})
	}
	return migrations, nil
}
