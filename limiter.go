package auth

import (
	"context"
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
