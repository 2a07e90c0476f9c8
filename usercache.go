package auth

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ChannelUsers signals that a user's global role or active flag changed;
// the payload is the user's id, or empty for "any user".
const ChannelUsers = "authd.users"

// maxCachedUsers bounds the user cache; past it the cache starts over.
const maxCachedUsers = 100_000

// userCache keeps the global role and active flag of recently checked
// users for [Guard.RequirePrincipalPermission]. An entry lives at most ttl;
// [Admin] drops it on every instance when it changes the user. A read that
// began before any drop does not fill the cache, so a change committed
// while it ran cannot be overwritten with what it read.
type userCache struct {
	users   func(ctx context.Context, id string) (User, error)
	ttl     time.Duration
	now     func() time.Time
	mu      sync.RWMutex
	entries map[string]cachedUser
	gen     atomic.Uint64 // counts drops
}

// cachedUser is what a permission check needs of a user.
type cachedUser struct {
	role    GlobalRole
	active  bool
	expires time.Time
}

// user returns the user's role and active flag, from the cache when fresh.
func (c *userCache) user(ctx context.Context, id string) (cachedUser, error) {
	now := c.now()
	if c.ttl > 0 {
		c.mu.RLock()
		e, ok := c.entries[id]
		c.mu.RUnlock()
		if ok && now.Before(e.expires) {
			return e, nil
		}
	}
	gen := c.gen.Load()
	u, err := c.users(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return cachedUser{}, ErrUnauthenticated
	}
	if err != nil {
		return cachedUser{}, err
	}
	e := cachedUser{role: u.Role, active: u.IsActive, expires: now.Add(c.ttl)}
	if c.ttl > 0 {
		c.mu.Lock()
		if c.gen.Load() == gen {
			if len(c.entries) >= maxCachedUsers {
				clear(c.entries)
			}
			c.entries[id] = e
		}
		c.mu.Unlock()
	}
	return e, nil
}

// drop forgets the user with id, or every user when id is empty.
func (c *userCache) drop(id string) {
	c.mu.Lock()
	c.gen.Add(1)
	if id == "" {
		clear(c.entries)
	} else {
		delete(c.entries, id)
	}
	c.mu.Unlock()
}
