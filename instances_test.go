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
