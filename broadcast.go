package auth

import (
	"context"
	"sync"
)

// Broadcaster carries small invalidation signals between the instances of
// a deployment (permission mappings changed, …). Publish sends payload to
// every subscriber of channel, on every instance, the publisher's own
// included. Subscribe calls fn for each message on channel until ctx ends;
// it returns once the subscription is live, or an error. Delivery is at
// most once and may be late by a moment: subscribers reload state, they do
// not count messages. fn may also be called with an empty payload meaning
// "messages may have been missed" (after a reconnection): reload then too. Implementations are safe for concurrent use: [LocalBroadcaster]
// in one process, storage/redisstore's over Redis pub/sub across instances.
type Broadcaster interface {
	Publish(ctx context.Context, channel, payload string) error
	Subscribe(ctx context.Context, channel string, fn func(payload string)) error
}

// Channel names used by the library.
const (
	// ChannelPermissions signals that role → permission mappings changed.
	ChannelPermissions = "authd.permissions"
)

// LocalBroadcaster is the in-process [Broadcaster]: Publish calls every
// live subscriber's fn before it returns. The zero value is ready to use.
type LocalBroadcaster struct {
	mu   sync.Mutex
	next int
	subs map[string]map[int]func(string)
}

var _ Broadcaster = (*LocalBroadcaster)(nil)

// NewLocalBroadcaster returns an empty LocalBroadcaster.
func NewLocalBroadcaster() *LocalBroadcaster { return &LocalBroadcaster{} }

// Publish calls fn of every subscriber of channel, in no particular order.
func (b *LocalBroadcaster) Publish(_ context.Context, channel, payload string) error {
	b.mu.Lock()
	fns := make([]func(string), 0, len(b.subs[channel]))
	for _, fn := range b.subs[channel] {
		fns = append(fns, fn)
	}
	b.mu.Unlock()
	for _, fn := range fns {
		fn(payload)
	}
	return nil
}

// Subscribe registers fn for channel until ctx ends.
func (b *LocalBroadcaster) Subscribe(ctx context.Context, channel string, fn func(string)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		b.subs = map[string]map[int]func(string){}
	}
	if b.subs[channel] == nil {
		b.subs[channel] = map[int]func(string){}
	}
	id := b.next
	b.next++
	// AfterFunc removes the subscriber asynchronously; the check makes
	// delivery stop the moment ctx ends.
	b.subs[channel][id] = func(payload string) {
		if ctx.Err() == nil {
			fn(payload)
		}
	}
	context.AfterFunc(ctx, func() {
		b.mu.Lock()
		delete(b.subs[channel], id)
		b.mu.Unlock()
	})
	return nil
}
