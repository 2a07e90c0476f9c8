package redisstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	auth "github.com/authd/auth"
)

// Broadcaster is an [auth.Broadcaster] over Redis pub/sub, so that every
// instance sharing the server hears the signals of the others. Each
// subscription holds its own connection to Redis (a go-redis PubSub),
// which go-redis reconnects and subscribes again by itself when it drops.
//
// Delivery is at most once: a message published while a subscription is
// disconnected is lost. So after each such reconnection the subscription's
// fn is called once with an empty payload, which says "something may have
// been missed": a subscriber that reloads its state on every message, as
// the permission cache does, needs nothing more.
//
// A Broadcaster is safe for concurrent use.
type Broadcaster struct {
	client redis.UniversalClient
	prefix string
}

var _ auth.Broadcaster = (*Broadcaster)(nil)

// NewBroadcaster returns a Broadcaster on client. Every channel is named
// prefix + channel on the server, so deployments that share a server, and
// give themselves different prefixes, do not hear each other.
func NewBroadcaster(client redis.UniversalClient, prefix string) *Broadcaster {
	return &Broadcaster{client: client, prefix: prefix}
}

// Publish sends payload to every subscriber of channel, on every instance
// connected to the server, with PUBLISH. It returns once the server has
// passed the message on; subscribers receive it shortly after. A Redis
// failure is an error.
func (b *Broadcaster) Publish(ctx context.Context, channel, payload string) error {
	if err := b.client.Publish(ctx, b.prefix+channel, payload).Err(); err != nil {
		return fmt.Errorf("redisstore: publish to %q: %w", channel, err)
	}
	return nil
}

// Subscribe subscribes to channel and returns once the server has
// confirmed the subscription, so that every message published afterwards
// reaches fn. It then calls fn for each message, one at a time and in the
// order the server sent them, from a goroutine of its own, until ctx ends;
// fn is also called with an empty payload after each reconnection (see
// [Broadcaster]). When ctx ends the subscription's connection is closed,
// its goroutines end, and fn is not called again, although a call already
// under way finishes. A Redis failure, or ctx ending before the
// confirmation, is an error.
func (b *Broadcaster) Subscribe(ctx context.Context, channel string, fn func(payload string)) error {
	ps := b.client.Subscribe(ctx, b.prefix+channel)
	// Closing the PubSub ends the wait below, and later the delivery
	// goroutine, which ranges over a Go channel that the close closes.
	stop := context.AfterFunc(ctx, func() { ps.Close() })

	reply, err := ps.Receive(ctx)
	if err == nil {
		if _, ok := reply.(*redis.Subscription); !ok {
			err = fmt.Errorf("unexpected reply %v", reply)
		}
	}
	if err != nil {
		stop()
		ps.Close()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("redisstore: subscribe to %q: %w", channel, err)
	}

	// Unlike Channel, ChannelWithSubscriptions also passes on the
	// confirmations that follow a reconnection.
	received := ps.ChannelWithSubscriptions()
	go func() {
		for msg := range received {
			// The connection closes a moment after ctx ends; whatever
			// arrives meanwhile is dropped.
			if ctx.Err() != nil {
				continue
			}
			switch msg := msg.(type) {
			case *redis.Message:
				fn(msg.Payload)
			case *redis.Subscription:
				if msg.Kind == "subscribe" {
					fn("")
				}
			}
		}
	}()
	return nil
}
