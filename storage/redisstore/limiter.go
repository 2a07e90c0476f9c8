package redisstore

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
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
//
// When Redis cannot be reached the Limiter falls back to an
// [auth.MemoryLimiter] of its own, with the same limits: each instance then
// counts only the requests it sees, so the limits still hold per instance
// (a deployment of N instances admits up to N times as many). It logs one
// warning when it falls back; meanwhile every call answers from memory at
// once, and at most once per LimiterConfig.ProbeInterval a call starts a
// PING of Redis in the background. When one answers the Limiter logs once
// more and uses Redis again from the next call on (the counts kept in
// memory meanwhile are not copied to Redis). Only the call that met the
// failure waits for it, as long as the client's timeouts and retries take.
// [Limiter.Fallback] and [Limiter.Fallbacks] expose the state for metrics.
type Limiter struct {
	client   redis.UniversalClient
	limiter  *redis_rate.Limiter
	prefix   string
	log      *slog.Logger
	now      func() time.Time
	interval time.Duration // between tries of Redis while falling back
	memory   *auth.MemoryLimiter

	fallback  atomic.Bool   // answering from memory
	fallbacks atomic.Uint64 // times it fell back
	mu        sync.Mutex
	nextProbe time.Time // while falling back, when Redis may be tried again
	probing   bool      // a probe runs
}

var _ auth.Limiter = (*Limiter)(nil)

// LimiterConfig holds the optional settings of [NewLimiterWith]; zero
// fields take the documented defaults.
type LimiterConfig struct {
	// Logger receives the warning when the Limiter falls back to memory
	// and the notice when Redis is back (never a key); nil discards.
	Logger *slog.Logger
	// ProbeInterval is how often, at most, Redis is tried again while the
	// Limiter falls back. Default 1 second.
	ProbeInterval time.Duration
	// Now is the clock of the probes and of the in-memory fallback; nil
	// means time.Now. Redis's counts run on the server's clock.
	Now func() time.Time
}

// defaultProbeInterval is LimiterConfig.ProbeInterval's default.
const defaultProbeInterval = time.Second

// NewLimiter returns a Limiter on client with the default LimiterConfig
// (fallback logs discarded). Every key is stored as "rate:" + prefix + key
// (redis_rate adds "rate:"), and expires as soon as its bucket is full
// again.
func NewLimiter(client redis.UniversalClient, prefix string) *Limiter {
	return NewLimiterWith(client, prefix, LimiterConfig{})
}

// NewLimiterWith returns a Limiter on client, as [NewLimiter] does, with
// the settings of cfg.
func NewLimiterWith(client redis.UniversalClient, prefix string, cfg LimiterConfig) *Limiter {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = defaultProbeInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	memory := auth.NewMemoryLimiter()
	memory.Now = cfg.Now
	return &Limiter{client: client, limiter: redis_rate.NewLimiter(client), prefix: prefix, log: cfg.Logger,
		now: cfg.Now, interval: cfg.ProbeInterval, memory: memory}
}

// Fallback reports whether the Limiter answers from memory now, Redis
// having failed. It is safe for concurrent use.
func (r *Limiter) Fallback() bool { return r.fallback.Load() }

// Fallbacks returns how many times the Limiter has fallen back to memory
// since it was made. It is safe for concurrent use.
func (r *Limiter) Fallbacks() uint64 { return r.fallbacks.Load() }

// probeTimeout bounds one probe of Redis.
const probeTimeout = 5 * time.Second

// tryRedis reports whether this call should ask Redis: unless the Limiter
// falls back. Then it starts a probe when one is due.
func (r *Limiter) tryRedis(ctx context.Context) bool {
	if !r.fallback.Load() {
		return true
	}
	r.mu.Lock()
	due := !r.probing && !r.now().Before(r.nextProbe)
	r.probing = r.probing || due
	r.mu.Unlock()
	if due {
		go r.probe(context.WithoutCancel(ctx))
	}
	return false
}

// probe PINGs Redis and, when it answers, ends the fallback.
func (r *Limiter) probe(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	err := r.client.Ping(ctx).Err()
	r.mu.Lock()
	r.probing = false
	r.nextProbe = r.now().Add(r.interval)
	r.mu.Unlock()
	if err == nil {
		r.redisAnswered(ctx)
	}
}

// redisFailed switches to memory after err, logging the first failure.
func (r *Limiter) redisFailed(ctx context.Context, err error) {
	r.mu.Lock()
	r.nextProbe = r.now().Add(r.interval)
	r.mu.Unlock()
	if r.fallback.CompareAndSwap(false, true) {
		r.fallbacks.Add(1)
		r.log.WarnContext(ctx, "rate limiter: Redis unreachable; falling back to in-memory limits on this instance",
			"err", err, "retry_every", r.interval)
	}
}

// redisAnswered switches back to Redis, logging the recovery once.
func (r *Limiter) redisAnswered(ctx context.Context) {
	if r.fallback.Load() && r.fallback.CompareAndSwap(true, false) {
		r.log.InfoContext(ctx, "rate limiter: Redis reachable again; limits are shared across instances again")
	}
}

// ask runs call on Redis unless the Limiter falls back; on a Redis failure
// it falls back. It returns ok=false when the caller must answer from
// memory, and an error only when ctx ended.
func (r *Limiter) ask(ctx context.Context, call func() (*redis_rate.Result, error)) (*redis_rate.Result, bool, error) {
	if !r.tryRedis(ctx) {
		return nil, false, nil
	}
	res, err := call()
	if err == nil {
		r.redisAnswered(ctx)
		return res, true, nil
	}
	if ctx.Err() != nil { // the caller gave up: no verdict on Redis
		return nil, false, fmt.Errorf("redisstore: rate limit: %w", err)
	}
	r.redisFailed(ctx, err)
	return nil, false, nil
}

// Allow consumes one request from key under l and reports whether it was
// allowed, how many more would be allowed now, and, when it was refused, how
// long until the next one would be. A Limit with Burst 0 always allows
// without asking Redis. While Redis cannot be reached the answer comes from
// the in-memory fallback (see [Limiter]). An invalid Limit is an error, and
// so is ctx ending during the call.
func (r *Limiter) Allow(ctx context.Context, key string, l auth.Limit) (auth.Result, error) {
	interval, err := checkLimit(l)
	if err != nil || l.Burst == 0 {
		return auth.Result{Allowed: l.Burst == 0}, err
	}
	res, ok, err := r.ask(ctx, func() (*redis_rate.Result, error) {
		return r.limiter.Allow(ctx, r.prefix+key, rateLimit(l))
	})
	if err != nil {
		return auth.Result{}, err
	}
	if !ok {
		return r.memory.Allow(ctx, key, l)
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
// the answer is worked out from that. While Redis cannot be reached it
// peeks at the in-memory fallback. Peek is safe for concurrent use.
func (r *Limiter) Peek(ctx context.Context, key string, l auth.Limit) (auth.Result, error) {
	interval, err := checkLimit(l)
	if err != nil || l.Burst == 0 {
		return auth.Result{Allowed: l.Burst == 0}, err
	}
	res, ok, err := r.ask(ctx, func() (*redis_rate.Result, error) {
		return r.limiter.AllowN(ctx, r.prefix+key, rateLimit(l), 0)
	})
	if err != nil {
		return auth.Result{}, err
	}
	if !ok {
		return r.memory.Peek(ctx, key, l)
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
