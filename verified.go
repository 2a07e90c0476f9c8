package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedTokens remembers access tokens that passed verification, so that
// a client presenting the same token again (every request of a session,
// for up to AccessTokenTTL) costs a SHA-256 and a map lookup instead of a
// JSON decode and a signature check. Entries are keyed by the token's
// SHA-256, so lookups never compare secrets byte by byte; an entry is used
// only until the token's expiry (with the parser's leeway). Only tokens
// that verified are kept, at most max of them: past that the set starts
// over. It is safe for concurrent use.
type verifiedTokens struct {
	max    int
	leeway time.Duration
	now    func() time.Time
	mu     sync.RWMutex
	m      map[[sha256.Size]byte]claims
}

// tokenKey is the SHA-256 of token. Tokens of up to 1 KiB are copied to the
// stack to be hashed, not to the heap.
func tokenKey(token string) [sha256.Size]byte {
	var buf [1024]byte
	if len(token) <= len(buf) {
		return sha256.Sum256(append(buf[:0], token...))
	}
	return sha256.Sum256([]byte(token))
}

// get returns the claims of token when it verified before and has not
// expired since.
func (v *verifiedTokens) get(token string) (claims, bool) {
	key := tokenKey(token)
	v.mu.RLock()
	c, ok := v.m[key]
	v.mu.RUnlock()
	if !ok || !v.now().Before(c.ExpiresAt.Add(v.leeway)) {
		return claims{}, false
	}
	return c, true
}

// put remembers that token verified with claims c.
func (v *verifiedTokens) put(token string, c claims) {
	key := tokenKey(token)
	v.mu.Lock()
	if len(v.m) >= v.max {
		clear(v.m)
	}
	v.m[key] = c
	v.mu.Unlock()
}
