package auth

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Limit is a rate-limit policy: a burst of Burst requests, refilled evenly
// over Period (GCRA). A zero Limit never limits.
type Limit struct {
	Burst  int
	Period time.Duration
}

// Result is the outcome of one limiter call. RetryAfter is set when the
// request is not allowed.
type Result struct {
	Allowed    bool
	Remaining  int
	RetryAfter time.Duration
}

// Limiter is a keyed rate limiter. Allow consumes one request from key under
// l; Peek reports whether one request would be allowed without consuming.
// Implementations are safe for concurrent use; the in-memory one is
// [NewMemoryLimiter], the shared one lives in storage/redisstore.
type Limiter interface {
	Allow(ctx context.Context, key string, l Limit) (Result, error)
	Peek(ctx context.Context, key string, l Limit) (Result, error)
}

// interval returns the emission interval of l (Period/Burst, the time one
// request takes to refill), or an error when l cannot be enforced. A Limit
// with Burst 0 has no interval and is never enforced.
func (l Limit) interval() (time.Duration, error) {
	if l.Burst < 0 || (l.Burst > 0 && l.Period/time.Duration(l.Burst) <= 0) {
		return 0, fmt.Errorf("auth: invalid rate limit %d per %s", l.Burst, l.Period)
	}
	if l.Burst == 0 {
		return 0, nil
	}
	return l.Period / time.Duration(l.Burst), nil
}

// gcra decides one request under l given tat, the theoretical arrival time
// stored for the key (zero for a new key), and now. It returns the result and
// the TAT to store if the request is consumed. The bucket holds Burst
// requests; each request moves TAT one interval later, and a request is
// allowed while TAT stays within Period of now.
func gcra(l Limit, interval time.Duration, tat, now time.Time) (Result, time.Time) {
	if tat.Before(now) {
		tat = now
	}
	// used is the part of the bucket still draining: Period when it is empty.
	used := tat.Sub(now)
	if free := l.Period - used; free < interval {
		return Result{RetryAfter: interval - free}, tat
	}
	next := tat.Add(interval)
	return Result{Allowed: true, Remaining: int((l.Period - next.Sub(now)) / interval)}, next
}

// MemoryLimiter is the in-process [Limiter]: a generic cell rate algorithm
// (GCRA) that keeps one theoretical arrival time per key. Keys whose bucket
// has refilled completely are dropped from time to time, so memory stays
// proportional to the keys in use. It is safe for concurrent use; its counts
// are not shared with other processes (see storage/redisstore for that).
type MemoryLimiter struct {
	// Now returns the current time; nil means [time.Now]. Set it before the
	// first call, and never change it afterwards.
	Now func() time.Time

	mu    sync.Mutex
	tats  map[string]time.Time // key → theoretical arrival time
	calls int                  // calls since the last sweep
}

var _ Limiter = (*MemoryLimiter)(nil)

// minSweepCalls is the fewest calls between two sweeps of expired keys.
// Sweeping after max(minSweepCalls, len(keys)) calls keeps the cost of a
// sweep amortised to O(1) per call and memory within twice the live keys.
const minSweepCalls = 1024

// NewMemoryLimiter returns an empty in-memory limiter that reads the clock
// with [time.Now]. The zero MemoryLimiter is ready to use too.
func NewMemoryLimiter() *MemoryLimiter {
	return &MemoryLimiter{tats: make(map[string]time.Time)}
}

// Allow consumes one request from key under l and reports whether it was
// allowed, how many more would be allowed now, and, when it was refused, how
// long until the next one would be. A Limit with Burst 0 always allows. An
// invalid Limit (negative Burst, or a Period too short to share among Burst
// requests) is an error. Allow is safe for concurrent use.
func (m *MemoryLimiter) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	return m.take(key, l, true)
}

// Peek reports whether [MemoryLimiter.Allow] would allow a request for key
// under l now, without consuming anything: Remaining counts the requests
// available now, and RetryAfter, set when there is none, says how long until
// there is one. Peek is safe for concurrent use.
func (m *MemoryLimiter) Peek(ctx context.Context, key string, l Limit) (Result, error) {
	return m.take(key, l, false)
}

// Len returns the number of keys the limiter holds, including keys that
// have refilled but were not swept yet. It is safe for concurrent use.
func (m *MemoryLimiter) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.tats)
}

func (m *MemoryLimiter) take(key string, l Limit, consume bool) (Result, error) {
	interval, err := l.interval()
	if err != nil {
		return Result{}, err
	}
	if l.Burst == 0 {
		return Result{Allowed: true}, nil
	}
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tats == nil {
		m.tats = make(map[string]time.Time)
	}
	m.calls++
	if m.calls >= max(minSweepCalls, len(m.tats)) {
		m.sweep(now)
	}
	res, next := gcra(l, interval, m.tats[key], now)
	switch {
	case !res.Allowed:
	case consume:
		m.tats[key] = next
	default:
		// Peek counts the requests available now, before any is consumed.
		res.Remaining++
	}
	return res, nil
}

// sweep drops the keys whose bucket is full again at now: forgetting them
// changes no answer. The caller holds m.mu.
func (m *MemoryLimiter) sweep(now time.Time) {
	for key, tat := range m.tats {
		if !tat.After(now) {
			delete(m.tats, key)
		}
	}
	m.calls = 0
}
