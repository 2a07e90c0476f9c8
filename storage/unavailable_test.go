package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/authd/auth"
)

// TestDatabaseUnavailableErrors checks which driver errors dbError turns
// into auth.ErrUnavailable. The fault test (internal/faulttest) meets the
// real ones by stopping a PostgreSQL server under load.
func TestDatabaseUnavailableErrors(t *testing.T) {
	pg := func(code string) error { return &pgconn.PgError{Severity: "FATAL", Code: code} }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"terminated by an administrator (57P01, a fast shutdown)", pg("57P01"), true},
		{"a crash of another backend (57P02)", pg("57P02"), true},
		{"the server starting up or shutting down (57P03)", pg("57P03"), true},
		{"too many connections (53300)", pg("53300"), true},
		{"a connection exception (08006)", pg("08006"), true},
		{"a connection the driver found bad", driver.ErrBadConn, true},
		{"a connection closed by the driver", fmt.Errorf("query: %w", pgconn.ErrConnClosed), true},
		{"a connection database/sql closed", sql.ErrConnDone, true},
		{"a connection cut short", io.ErrUnexpectedEOF, true},
		{"a connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"a connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"a unique violation", pg("23505"), false},
		{"a syntax error", pg("42601"), false},
		{"a wrong password (28P01)", pg("28P01"), false},
		{"no row", sql.ErrNoRows, false},
		{"the caller's context cancelled", fmt.Errorf("query: %w", context.Canceled), false},
		{"the caller's deadline", context.DeadlineExceeded, false},
		{"anything else", errors.New("something"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := dbError("get user", tt.err)
			if got := errors.Is(err, auth.ErrUnavailable); got != tt.want {
				t.Errorf("dbError(%v) is ErrUnavailable: %v, want %v", tt.err, got, tt.want)
			}
			if tt.want && !errors.Is(err, tt.err) {
				t.Errorf("dbError(%v) = %v, which lost the driver's error", tt.err, err)
			}
			if again := dbError("outer", err); tt.want && again != err {
				t.Errorf("dbError of a translated error = %v, want it unchanged", again)
			}
			if got := errors.Is(unavailableError("commit", tt.err), auth.ErrUnavailable); got != tt.want {
				t.Errorf("unavailableError(%v) is ErrUnavailable: %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestPostgresURLsGetAConnectTimeout(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u:p@db:5432/authd", "postgres://u:p@db:5432/authd?connect_timeout=5"},
		{"postgres://db/authd?sslmode=require", "postgres://db/authd?connect_timeout=5&sslmode=require"},
		{"postgresql://db/authd?connect_timeout=30", "postgresql://db/authd?connect_timeout=30"},
	}
	for _, tt := range tests {
		if got := withConnectTimeout(tt.in); got != tt.want {
			t.Errorf("withConnectTimeout(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
