// Package limitertest is the conformance suite of [auth.Limiter]: every
// implementation (the in-memory one in the root package, the Redis one in
// storage/redisstore) runs it, so they answer alike.
//
// [Run] needs no control of time: its limits are slow enough (a refill per
// minutes) that nothing refills while a test runs. [RunRefill] moves the
// limiter's clock to check what happens as requests refill; it runs on the
// in-memory limiter with an injected clock and on miniredis.
package limitertest

import (
	"context"
	"sync"
	"testing"
	"time"

	auth "github.com/authd/auth"
)

// slack is how far a RetryAfter may stray from the exact value: the Redis
// limiter computes in floating-point seconds on a clock with microsecond
// resolution.
const slack = time.Microsecond

// Run checks the behaviour of the limiters that newLimiter returns, one new
// limiter (with its own keys) per subtest. newLimiter may skip the test.
func Run(t *testing.T, newLimiter func(t *testing.T) auth.Limiter) {
	t.Run("a burst of N is allowed, then a request is refused until one interval at most", func(t *testing.T) {
		for _, l := range []auth.Limit{
			{Burst: 1, Period: time.Hour},
			{Burst: 3, Period: time.Hour},
			{Burst: 5, Period: time.Minute},
			{Burst: 20, Period: time.Hour},
		} {
			t.Run(l.String(), func(t *testing.T) {
				lim := newLimiter(t)
				for i := range l.Burst {
					res := allow(t, lim, "k", l)
					want := auth.Result{Allowed: true, Remaining: l.Burst - i - 1}
					if res != want {
						t.Fatalf("request %d: got %+v, want %+v", i+1, res, want)
					}
				}
				res := allow(t, lim, "k", l)
				if res.Allowed || res.Remaining != 0 {
					t.Fatalf("request %d: got %+v, want refused with nothing remaining", l.Burst+1, res)
				}
				interval := l.Period / time.Duration(l.Burst)
				if res.RetryAfter <= 0 || res.RetryAfter > interval+slack {
					t.Fatalf("RetryAfter = %s, want in (0, %s]", res.RetryAfter, interval)
				}
			})
		}
	})

	t.Run("a refused request consumes nothing", func(t *testing.T) {
		lim := newLimiter(t)
		l := auth.Limit{Burst: 2, Period: time.Hour}
		exhaust(t, lim, "k", l)
		first := allow(t, lim, "k", l)
		for range 5 {
			allow(t, lim, "k", l)
		}
		last := allow(t, lim, "k", l)
		if last.Allowed || last.RetryAfter > first.RetryAfter {
			t.Fatalf("after more refusals got %+v, want refused no later than the first (%s)", last, first.RetryAfter)
		}
	})

	t.Run("keys are independent", func(t *testing.T) {
		lim := newLimiter(t)
		l := auth.Limit{Burst: 2, Period: time.Hour}
		exhaust(t, lim, "a", l)
		if res := allow(t, lim, "b", l); !res.Allowed || res.Remaining != 1 {
			t.Fatalf("key b after key a was spent: got %+v, want allowed with 1 remaining", res)
		}
		if res := allow(t, lim, "a", l); res.Allowed {
			t.Fatalf("key a: got %+v, want still refused", res)
		}
	})

	t.Run("Peek on a new key reports the whole burst", func(t *testing.T) {
		lim := newLimiter(t)
		l := auth.Limit{Burst: 4, Period: time.Hour}
		if res := peek(t, lim, "k", l); res != (auth.Result{Allowed: true, Remaining: 4}) {
			t.Fatalf("got %+v, want allowed with 4 remaining", res)
		}
	})

	t.Run("Peek does not consume", func(t *testing.T) {
		lim := newLimiter(t)
		l := auth.Limit{Burst: 3, Period: time.Hour}
		allow(t, lim, "k", l)
		for range 10 {
			if res := peek(t, lim, "k", l); res != (auth.Result{Allowed: true, Remaining: 2}) {
				t.Fatalf("Peek after one request: got %+v, want allowed with 2 remaining", res)
			}
		}
		for i := range 2 {
			if res := allow(t, lim, "k", l); !res.Allowed {
				t.Fatalf("request %d after the peeks: got %+v, want allowed", i+2, res)
			}
		}
		if res := allow(t, lim, "k", l); res.Allowed {
			t.Fatalf("request 4: got %+v, want refused", res)
		}
	})

	t.Run("Peek after the burst is spent is refused with a RetryAfter", func(t *testing.T) {
		lim := newLimiter(t)
		l := auth.Limit{Burst: 3, Period: time.Hour}
		exhaust(t, lim, "k", l)
		res := peek(t, lim, "k", l)
		if res.Allowed || res.Remaining != 0 || res.RetryAfter <= 0 || res.RetryAfter > l.Period/3+slack {
			t.Fatalf("got %+v, want refused with RetryAfter in (0, 20m]", res)
		}
		refused := allow(t, lim, "k", l)
		if refused.Allowed || refused.RetryAfter > res.RetryAfter {
			t.Fatalf("Allow after Peek: got %+v, want refused no later than Peek said (%s)", refused, res.RetryAfter)
		}
	})

	t.Run("a zero Limit always allows", func(t *testing.T) {
		lim := newLimiter(t)
		for i := range 100 {
			if res := allow(t, lim, "k", auth.Limit{}); !res.Allowed {
				t.Fatalf("request %d: got %+v, want allowed", i+1, res)
			}
		}
		if res := peek(t, lim, "k", auth.Limit{}); !res.Allowed {
			t.Fatalf("Peek: got %+v, want allowed", res)
		}
	})

	t.Run("an invalid limit is an error", func(t *testing.T) {
		lim := newLimiter(t)
		for _, l := range []auth.Limit{
			{Burst: -1, Period: time.Minute},
			{Burst: 1},
			{Burst: 1, Period: -time.Second},
			{Burst: 10, Period: 5 * time.Nanosecond},
		} {
			if res, err := lim.Allow(context.Background(), "k", l); err == nil {
				t.Errorf("Allow with %+v: got %+v and no error", l, res)
			}
			if res, err := lim.Peek(context.Background(), "k", l); err == nil {
				t.Errorf("Peek with %+v: got %+v and no error", l, res)
			}
		}
	})

	t.Run("concurrent requests admit exactly the burst", func(t *testing.T) {
		lim := newLimiter(t)
		l := auth.Limit{Burst: 25, Period: time.Hour}
		const goroutines, each = 50, 3
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			allowed int
			errs    []error
		)
		for range goroutines {
			wg.Go(func() {
				for range each {
					res, err := lim.Allow(context.Background(), "k", l)
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
					}
					if res.Allowed {
						allowed++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("Allow failed: %v", errs[0])
		}
		if allowed != l.Burst {
			t.Fatalf("%d of %d concurrent requests allowed, want %d", allowed, goroutines*each, l.Burst)
		}
	})
}

// RunRefill checks how the limiters that newLimiter returns refill as time
// passes. newLimiter returns a new limiter and a function that moves the
// limiter's clock forward; it may skip the test.
func RunRefill(t *testing.T, newLimiter func(t *testing.T) (auth.Limiter, func(time.Duration))) {
	t.Run("a refused request is allowed after RetryAfter and not before", func(t *testing.T) {
		lim, advance := newLimiter(t)
		l := auth.Limit{Burst: 3, Period: time.Hour}
		exhaust(t, lim, "k", l)
		res := allow(t, lim, "k", l)
		near(t, "RetryAfter", res.RetryAfter, 20*time.Minute)
		advance(res.RetryAfter - time.Second)
		if early := allow(t, lim, "k", l); early.Allowed {
			t.Fatalf("a second early: got %+v, want refused", early)
		} else {
			near(t, "RetryAfter a second early", early.RetryAfter, time.Second)
		}
		advance(time.Second)
		if res := allow(t, lim, "k", l); res != (auth.Result{Allowed: true}) {
			t.Fatalf("after RetryAfter: got %+v, want allowed with 0 remaining", res)
		}
		if res := allow(t, lim, "k", l); res.Allowed {
			t.Fatalf("right after: got %+v, want refused", res)
		}
	})

	t.Run("requests refill one per interval", func(t *testing.T) {
		lim, advance := newLimiter(t)
		l := auth.Limit{Burst: 4, Period: time.Hour}
		exhaust(t, lim, "k", l)
		advance(35 * time.Minute) // two intervals of 15m, and 5m of the third
		res := peek(t, lim, "k", l)
		if !res.Allowed || res.Remaining != 2 {
			t.Fatalf("Peek: got %+v, want allowed with 2 remaining", res)
		}
		for i, want := range []int{1, 0} {
			if res := allow(t, lim, "k", l); res != (auth.Result{Allowed: true, Remaining: want}) {
				t.Fatalf("request %d: got %+v, want allowed with %d remaining", i+1, res, want)
			}
		}
		res = peek(t, lim, "k", l)
		if res.Allowed {
			t.Fatalf("Peek after the refill was spent: got %+v, want refused", res)
		}
		near(t, "RetryAfter", res.RetryAfter, 10*time.Minute)
	})

	t.Run("a long pause refills the burst and no more", func(t *testing.T) {
		lim, advance := newLimiter(t)
		l := auth.Limit{Burst: 5, Period: time.Minute}
		exhaust(t, lim, "k", l)
		advance(24 * time.Hour)
		if res := peek(t, lim, "k", l); res != (auth.Result{Allowed: true, Remaining: 5}) {
			t.Fatalf("Peek: got %+v, want allowed with 5 remaining", res)
		}
		exhaust(t, lim, "k", l)
	})

	t.Run("spacing requests one interval apart never throttles", func(t *testing.T) {
		lim, advance := newLimiter(t)
		l := auth.Limit{Burst: 2, Period: time.Minute}
		for i := range 20 {
			res := allow(t, lim, "k", l)
			if !res.Allowed || res.Remaining != 1 {
				t.Fatalf("request %d: got %+v, want allowed with 1 remaining", i+1, res)
			}
			advance(30 * time.Second)
		}
	})
}

// exhaust spends the whole burst of key under l, failing if any request is
// refused.
func exhaust(t *testing.T, lim auth.Limiter, key string, l auth.Limit) {
	t.Helper()
	for i := range l.Burst {
		if res := allow(t, lim, key, l); !res.Allowed {
			t.Fatalf("request %d of a burst of %d: got %+v, want allowed", i+1, l.Burst, res)
		}
	}
}

func allow(t *testing.T, lim auth.Limiter, key string, l auth.Limit) auth.Result {
	t.Helper()
	res, err := lim.Allow(context.Background(), key, l)
	if err != nil {
		t.Fatalf("Allow(%q, %s): %v", key, l, err)
	}
	return res
}

func peek(t *testing.T, lim auth.Limiter, key string, l auth.Limit) auth.Result {
	t.Helper()
	res, err := lim.Peek(context.Background(), key, l)
	if err != nil {
		t.Fatalf("Peek(%q, %s): %v", key, l, err)
	}
	return res
}

// near fails unless got is want, give or take slack.
func near(t *testing.T, what string, got, want time.Duration) {
	t.Helper()
	if d := got - want; d < -slack || d > slack {
		t.Fatalf("%s = %s, want %s", what, got, want)
	}
}
