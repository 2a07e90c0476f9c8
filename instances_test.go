package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authd/auth"
	"github.com/authd/auth/internal/testenv"
	"github.com/authd/auth/storage"
	"github.com/authd/auth/storage/redisstore"
)

// Two Authenticators on one PostgreSQL and one Redis behave as one service:
// a session opened on one refreshes on the other, a token replayed on the
// other is reuse, and rate limits count across both.
func TestInstancesSharePostgresAndRedis(t *testing.T) {
	ctx := context.Background()
	dbURL := testenv.PostgresURL(t)
	redisURL, prefix := testenv.RedisURL(t)
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })

	mail := &mailbox{}
	newInstance := func() *auth.Authenticator {
		st, err := storage.Open(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		a, err := auth.NewAuthenticator(st, mail, auth.Config{
			JWTSecret: []byte("test-secret-test-secret-test-secret!"),
			Argon2:    cheapArgon2,
			Limiter:   redisstore.NewLimiter(rdb, prefix),
			Limits:    auth.Limits{Login: auth.Limit{Burst: 3, Period: time.Hour}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	one, two := newInstance(), newInstance()

	if err := one.Register(ctx, client, auth.RegisterInput{Email: "multi@example.com", Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	_, token := mail.last(t, "multi@example.com")
	if _, err := two.VerifyEmail(ctx, client, token); err != nil {
		t.Fatalf("verify on the other instance = %v", err)
	}
	tok, _, err := one.Login(ctx, client, "multi@example.com", goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := two.Refresh(ctx, client, tok.Refresh); err != nil {
		t.Fatalf("refresh on the other instance = %v", err)
	}
	if _, err := one.Refresh(ctx, client, tok.Refresh); !errors.Is(err, auth.ErrTokenReused) {
		t.Fatalf("replay on the first instance = %v, want ErrTokenReused", err)
	}

	// One login spent above; two more on instance two exhaust the burst of 3.
	for range 2 {
		if _, _, err := two.Login(ctx, client, "multi@example.com", goodPassword); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := one.Login(ctx, client, "multi@example.com", goodPassword); !errors.Is(err, auth.ErrThrottled) {
		t.Fatalf("fourth login across instances = %v, want ErrThrottled", err)
	}
}

// A permission edit on one instance reaches the Guard of another through
// Redis pub/sub.
func TestPermissionEditsReachOtherInstances(t *testing.T) {
	ctx := context.Background()
	dbURL := testenv.PostgresURL(t)
	redisURL, prefix := testenv.RedisURL(t)
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	st, err := storage.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.SeedPermissions(ctx, st); err != nil {
		t.Fatal(err)
	}
	newGuard := func() *auth.Guard {
		rdb := redis.NewClient(opts)
		t.Cleanup(func() { rdb.Close() })
		g, err := auth.NewGuard(ctx, st, auth.GuardConfig{Broadcaster: redisstore.NewBroadcaster(rdb, prefix)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(g.Close)
		return g
	}
	one, two := newGuard(), newGuard()

	now := time.Now()
	sys := auth.User{ID: "7d4c3a53-3c5e-4c61-9f55-2b1e7d0c9a10", Email: "sys@example.com", Role: auth.RoleSystemAdmin,
		IsActive: true, EmailVerified: true, CreatedAt: now, UpdatedAt: now}
	staff := auth.User{ID: "0b9f3d4e-8a1c-4e2b-b7f6-5c3d2e1f0a99", Email: "staff@example.com", Role: auth.RoleStaff,
		IsActive: true, EmailVerified: true, CreatedAt: now, UpdatedAt: now}
	for _, u := range []auth.User{sys, staff} {
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	admin, err := auth.NewAdmin(st, one, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := two.RequireUserPermission(ctx, staff, auth.PermAuditRead); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Fatalf("STAFF has internal.audit.read before the edit: %v", err)
	}
	if _, err := admin.SetPermissions(ctx, client, auth.Principal{UserID: sys.ID}, auth.ScopeUser, "STAFF",
		[]string{"internal.audit.read"}); err != nil {
		t.Fatal(err)
	}
	// Delivery over Redis is asynchronous: poll the other guard, bounded.
	deadline := time.Now().Add(5 * time.Second)
	for two.RequireUserPermission(ctx, staff, auth.PermAuditRead) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the other instance's guard did not reload within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
