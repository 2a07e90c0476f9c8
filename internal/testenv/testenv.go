// Package testenv gives tests the real PostgreSQL and Redis services.
//
// A test that needs one calls [PostgresURL] or [RedisURL]. When the service
// cannot be reached the test is skipped with a message naming it, unless
// AUTHD_REQUIRE_SERVICES=1, in which case it fails: CI sets that, so every
// service-backed test runs there.
//
// AUTHD_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres)
// names a server and a database to connect to for administration;
// AUTHD_TEST_REDIS_URL (default redis://127.0.0.1:6379/0) names Redis.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Required reports whether service-backed tests must run (AUTHD_REQUIRE_SERVICES=1).
func Required() bool { return os.Getenv("AUTHD_REQUIRE_SERVICES") == "1" }

func unavailable(t testing.TB, service string, err error) {
	t.Helper()
	if Required() {
		t.Fatalf("%s is required (AUTHD_REQUIRE_SERVICES=1) but unreachable: %v", service, err)
	}
	t.Skipf("skipping: %s unreachable (%v); start it or set AUTHD_REQUIRE_SERVICES=1 to fail instead", service, err)
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// PostgresURL creates a fresh, empty database for this test, drops it when
// the test ends, and returns its postgres:// URL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	admin := env("AUTHD_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	db, err := sql.Open("pgx", admin)
	if err != nil {
		unavailable(t, "PostgreSQL", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		unavailable(t, "PostgreSQL", err)
	}
	name := "authd_test_" + randomHex(8)
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
		db.Close()
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse AUTHD_TEST_POSTGRES_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// RedisURL returns the URL of a reachable Redis server and a key prefix unique
// to this test, so parallel tests never share keys.
func RedisURL(t testing.TB) (redisURL, prefix string) {
	t.Helper()
	raw := env("AUTHD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse AUTHD_TEST_REDIS_URL: %v", err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 3*time.Second)
	if err != nil {
		unavailable(t, "Redis", err)
	}
	conn.Close()
	return raw, "authdtest:" + randomHex(8) + ":"
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
