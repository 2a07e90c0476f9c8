package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	auth "github.com/authd/auth"
	"github.com/authd/auth/internal/limitertest"
	"github.com/authd/auth/internal/testenv"
	"github.com/authd/auth/storage/redisstore"
)

// realRedis returns a client of the test Redis server and this test's key
// prefix, and deletes the test's keys when it ends.
func realRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	url, prefix := testenv.RedisURL(t)
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parse AUTHD_TEST_REDIS_URL: %v", err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, "rate:"+prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("delete the test's keys: %v", err)
		}
		client.Close()
	})
	return client, prefix
}

func TestLimiter(t *testing.T) {
	limitertest.Run(t, func(t *testing.T) auth.Limiter {
		client, prefix := realRedis(t)
		return redisstore.NewLimiter(client, prefix)
	})
}

func TestLimiterRefill(t *testing.T) {
	limitertest.RunRefill(t, func(t *testing.T) (auth.Limiter, func(time.Duration)) {
		server := miniredis.RunT(t)
		now := time.Date(2026, 11, 29, 23, 59, 59, 0, time.UTC)
		server.SetTime(now)
		client := redis.NewClient(&redis.Options{Addr: server.Addr()})
		t.Cleanup(func() { client.Close() })
		advance := func(d time.Duration) {
			now = now.Add(d)
			server.SetTime(now) // the clock the script reads with TIME
			server.FastForward(d)
		}
		return redisstore.NewLimiter(client, "test:"), advance
	})
}

// TestLimiterPeekLeavesTheKeyAlone shows that Peek, which asks redis_rate
// for zero requests, neither consumes nor creates state on the server.
func TestLimiterPeekLeavesTheKeyAlone(t *testing.T) {
	client, prefix := realRedis(t)
	lim := redisstore.NewLimiter(client, prefix)
	ctx := context.Background()
	l := auth.Limit{Burst: 3, Period: time.Hour}

	if _, err := lim.Peek(ctx, "new", l); err != nil {
		t.Fatal(err)
	}
	if n, err := client.Exists(ctx, "rate:"+prefix+"new").Result(); err != nil || n != 0 {
		t.Fatalf("Peek on a new key: EXISTS = %d, %v; want the key not created", n, err)
	}

	if _, err := lim.Allow(ctx, "k", l); err != nil {
		t.Fatal(err)
	}
	key := "rate:" + prefix + "k"
	before, err := client.Get(ctx, key).Result()
	if err != nil {
		t.Fatalf("Allow stored no key %s: %v", key, err)
	}
	for range 5 {
		if _, err := lim.Peek(ctx, "k", l); err != nil {
			t.Fatal(err)
		}
	}
	after, err := client.Get(ctx, key).Result()
	if err != nil || after != before {
		t.Fatalf("theoretical arrival time after Peek = %q, %v; want unchanged %q", after, err, before)
	}
	if ttl := client.TTL(ctx, key).Val(); ttl <= 0 || ttl > 20*time.Minute {
		t.Fatalf("TTL = %s, want the key to expire once its bucket is full (within 20m)", ttl)
	}
}

// TestLimiterFallsBackWhenRedisIsUnreachable: with no server at all, the
// limits still hold, in memory (fallback_test.go stops a real server).
func TestLimiterFallsBackWhenRedisIsUnreachable(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { client.Close() })
	lim := redisstore.NewLimiter(client, "test:")
	l := auth.Limit{Burst: 1, Period: time.Minute}
	if res, err := lim.Peek(context.Background(), "k", l); err != nil || !res.Allowed {
		t.Fatalf("Peek with Redis down: got %+v, %v; want allowed from memory", res, err)
	}
	if res, err := lim.Allow(context.Background(), "k", l); err != nil || !res.Allowed {
		t.Fatalf("Allow with Redis down: got %+v, %v; want allowed from memory", res, err)
	}
	if res, err := lim.Allow(context.Background(), "k", l); err != nil || res.Allowed {
		t.Fatalf("a second Allow with Redis down: got %+v, %v; want refused by the limit in memory", res, err)
	}
	if !lim.Fallback() || lim.Fallbacks() != 1 {
		t.Fatalf("Fallback() = %v, Fallbacks() = %d; want true, 1", lim.Fallback(), lim.Fallbacks())
	}
	if res, err := lim.Allow(context.Background(), "k", auth.Limit{}); err != nil || !res.Allowed {
		t.Fatalf("a zero Limit with Redis down: got %+v, %v; want allowed without asking Redis", res, err)
	}
}
