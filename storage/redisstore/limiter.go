package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	auth "github.com/authd/auth"
)

// resolution is the precision of the limiter's answers. Redis's clock counts
// microseconds and redis_rate computes in floating-point seconds, so values
// are rounded to the microsecond, and a request that refills within a
// microsecond counts as available.
const resolution = time.Microsecond

// Limiter is an [auth.Limiter] whose counts live in Redis, so every instance
// that shares the server shares the limits. It runs the GCRA of
// github.com/go-redis/redis_rate (one Lua script per call, atomic on the
// server, on the server's clock), so its answers agree with
// [auth.MemoryLimiter]'s. It is safe for concurrent use.
type Limiter struct {
	limiter *redis_rate.Limiter
	prefix  string
}

var _ auth.Limiter = (*Limiter)(nil)

// NewLimiter returns a Limiter on client. Every key is stored as
// "rate:" + prefix + key (redis_rate adds "rate:"), and expires as soon as its
// bucket is full again.
func NewLimiter(client redis.UniversalClient, prefix string) *Limiter {
	return &Limiter{limiter: redis_rate.NewLimiter(client), prefix: prefix}
}

// Allow consumes one request from key under l and reports whether it was
// allowed, how many more would be allowed now, and, when it was refused, how
// long until the next one would be. A Limit with Burst 0 always allows
// without asking Redis. An invalid Limit, or a Redis failure, is an error.
func (r *Limiter) Allow(ctx context.Context, key string, l auth.Limit) (auth.Result, error) {
	interval, err := checkLimit(l)
	if err != nil || l.Burst == 0 {
		return auth.Result{Allowed: l.Burst == 0}, err
	}
	res, err := r.limiter.Allow(ctx, r.prefix+key, rateLimit(l))
	if err != nil {
		return auth.Result{}, fmt.Errorf("redisstore: rate limit: %w", err)
	}
	if res.Allowed == 0 {
		return auth.Result{RetryAfter: max(res.RetryAfter.Round(resolution), resolution)}, nil
	}
	return auth.Result{Allowed: true, Remaining: available(l, interval, res.ResetAfter)}, nil
}

// Peek reports whether [Limiter.Allow] would allow a request for key under
// l now, without consuming anything: Remaining counts the requests available
// now, and RetryAfter, set when there is none, says how long until there is
// one. It asks redis_rate for zero requests, which consumes nothing and
// returns the key's state as ResetAfter, the time until its bucket is full;
// the answer is worked out from that. Peek is safe for concurrent use.
func (r *Limiter) Peek(ctx context.Context, key string, l auth.Limit) (auth.Result, error) {
	interval, err := checkLimit(l)
	if err != nil || l.Burst == 0 {
		return auth.Result{Allowed: l.Burst == 0}, err
	}
	res, err := r.limiter.AllowN(ctx, r.prefix+key, rateLimit(l), 0)
	if err != nil {
		return auth.Result{}, fmt.Errorf("redisstore: rate limit: %w", err)
	}
	if n := available(l, interval, res.ResetAfter); n > 0 {
		return auth.Result{Allowed: true, Remaining: n}, nil
	}
	// The next request is allowed when the bucket has drained to Period
	// minus one interval.
	wait := res.ResetAfter.Round(resolution) - (l.Period - interval)
	return auth.Result{RetryAfter: max(wait, resolution)}, nil
}

// available returns how many requests a bucket under l admits now, given
// resetAfter, the time until it is full again.
func available(l auth.Limit, interval, resetAfter time.Duration) int {
	free := l.Period - resetAfter.Round(resolution) + resolution
	return min(int(free/interval), l.Burst)
}

// checkLimit returns l's emission interval (Period/Burst), or an error when
// l cannot be enforced, as [auth.MemoryLimiter] does.
func checkLimit(l auth.Limit) (time.Duration, error) {
	if l.Burst == 0 {
		return 0, nil
	}
	if l.Burst < 0 || l.Period/time.Duration(l.Burst) <= 0 {
		return 0, fmt.Errorf("redisstore: invalid rate limit %d per %s", l.Burst, l.Period)
	}
	return l.Period / time.Duration(l.Burst), nil
}

// rateLimit is l in redis_rate's terms: Burst requests per Period, all of
// them available at once.
func rateLimit(l auth.Limit) redis_rate.Limit {
	return redis_rate.Limit{Rate: l.Burst, Burst: l.Burst, Period: l.Period}
}
