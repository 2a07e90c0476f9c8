package auth_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	auth "github.com/authd/auth"
	"github.com/authd/auth/internal/limitertest"
	"github.com/authd/auth/internal/testkit"
)

// newFakeClock returns a clock that moves only when told to.
func newFakeClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2026, 11, 29, 23, 59, 59, 0, time.UTC))
}

func TestMemoryLimiter(t *testing.T) {
	limitertest.Run(t, func(t *testing.T) auth.Limiter { return auth.NewMemoryLimiter() })
}

func TestMemoryLimiterRefill(t *testing.T) {
	limitertest.RunRefill(t, func(t *testing.T) (auth.Limiter, func(time.Duration)) {
		clock := newFakeClock()
		lim := auth.NewMemoryLimiter()
		lim.Now = clock.Now
		return lim, clock.Advance
	})
}

func TestMemoryLimiterRetryAfterIsExact(t *testing.T) {
	clock := newFakeClock()
	lim := auth.NewMemoryLimiter()
	lim.Now = clock.Now
	ctx := context.Background()
	l := auth.Limit{Burst: 5, Period: time.Minute}
	for range 5 {
		lim.Allow(ctx, "k", l)
	}
	clock.Advance(3 * time.Second)
	for _, call := range []func(context.Context, string, auth.Limit) (auth.Result, error){lim.Allow, lim.Peek} {
		res, err := call(ctx, "k", l)
		if err != nil {
			t.Fatal(err)
		}
		if want := (auth.Result{RetryAfter: 9 * time.Second}); res != want {
			t.Fatalf("got %+v, want %+v", res, want)
		}
	}
}

func TestMemoryLimiterZeroValueIsReady(t *testing.T) {
	var lim auth.MemoryLimiter
	res, err := lim.Allow(context.Background(), "k", auth.Limit{Burst: 1, Period: time.Second})
	if err != nil || !res.Allowed {
		t.Fatalf("got %+v, %v; want allowed", res, err)
	}
}

func TestMemoryLimiterForgetsRefilledKeys(t *testing.T) {
	clock := newFakeClock()
	lim := auth.NewMemoryLimiter()
	lim.Now = clock.Now
	ctx := context.Background()
	l := auth.Limit{Burst: 3, Period: time.Minute}

	for i := range 5000 {
		lim.Allow(ctx, fmt.Sprint("old", i), l)
	}
	for range 3 {
		lim.Allow(ctx, "busy", l)
	}
	if n := lim.Len(); n != 5001 {
		t.Fatalf("Len = %d, want 5001: no key has refilled yet", n)
	}
	clock.Advance(30 * time.Second) // the old keys have refilled, "busy" has not
	for i := range 10000 {
		lim.Peek(ctx, fmt.Sprint("new", i), l)
	}
	if n := lim.Len(); n != 1 {
		t.Fatalf("Len = %d after the refilled keys were swept, want 1 (the busy key)", n)
	}
	if res, _ := lim.Peek(ctx, "busy", l); res.Remaining != 1 {
		t.Fatalf("busy key after the sweep: got %+v, want 1 remaining", res)
	}
}
