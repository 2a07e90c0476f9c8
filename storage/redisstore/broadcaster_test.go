package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	auth "github.com/authd/auth"
	"github.com/authd/auth/internal/broadcastertest"
	"github.com/authd/auth/internal/testenv"
	"github.com/authd/auth/storage/redisstore"
)

// redisClient returns a new client of the test Redis server at url, named
// name on the server when name is not empty, and closes it when the test
// ends.
func redisClient(t *testing.T, url, name string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parse AUTHD_TEST_REDIS_URL: %v", err)
	}
	opts.ClientName = name
	client := redis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	return client
}

// TestBroadcaster runs the suite on two broadcasters with separate clients,
// as two instances of a deployment would have.
func TestBroadcaster(t *testing.T) {
	broadcastertest.Run(t, func(t *testing.T) (a, b auth.Broadcaster) {
		url, prefix := testenv.RedisURL(t)
		a = redisstore.NewBroadcaster(redisClient(t, url, ""), prefix)
		b = redisstore.NewBroadcaster(redisClient(t, url, ""), prefix)
		return a, b
	})
}

func TestBroadcasterPrefixesKeepDeploymentsApart(t *testing.T) {
	url, prefix := testenv.RedisURL(t)
	client := redisClient(t, url, "")
	one := redisstore.NewBroadcaster(client, prefix+"one:")
	two := redisstore.NewBroadcaster(client, prefix+"two:")
	onOne, onTwo := make(chan string, 10), make(chan string, 10)
	subscribe(t, one, onOne)
	subscribe(t, two, onTwo)

	publish(t, one, "for one")
	publish(t, two, "for two")
	expect(t, onOne, "for one")
	// Had "for one" crossed over, it would arrive first.
	expect(t, onTwo, "for two")
}

// TestBroadcasterSubscriptionEndsWithItsContext shows that Subscribe
// returns with the subscription live on the server, and that once ctx
// ends the server forgets it and none of its goroutines is left.
func TestBroadcasterSubscriptionEndsWithItsContext(t *testing.T) {
	url, prefix := testenv.RedisURL(t)
	client := redisClient(t, url, "")
	br := redisstore.NewBroadcaster(client, prefix)
	// Let the client open its pool before counting goroutines.
	publish(t, br, "warm-up")
	before := runtime.NumGoroutine()

	const subscriptions = 5
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for range subscriptions {
		if err := br.Subscribe(ctx, "events", func(string) {}); err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
	}
	if n := subscribers(t, client, prefix+"events"); n != subscriptions {
		t.Fatalf("after Subscribe returned, the server counts %d subscribers, want %d", n, subscriptions)
	}
	if runtime.NumGoroutine() <= before {
		t.Fatalf("%d goroutines with %d live subscriptions, %d before: want more", runtime.NumGoroutine(), subscriptions, before)
	}

	cancel()
	deadline := time.Now().Add(broadcastertest.Wait)
	for {
		n, goroutines := subscribers(t, client, prefix+"events"), runtime.NumGoroutine()
		if n == 0 && goroutines <= before {
			break
		}
		if time.Now().After(deadline) {
			var stacks bytes.Buffer
			pprof.Lookup("goroutine").WriteTo(&stacks, 1)
			t.Fatalf("%s after the context ended: %d subscribers on the server, want 0; %d goroutines, want at most %d as before:\n%s",
				broadcastertest.Wait, n, goroutines, before, stacks.String())
		}
		time.Sleep(10 * time.Millisecond) // polling, not waiting for an event
	}
}

// TestBroadcasterReloadsAfterReconnecting cuts a subscription's connection
// on the server: go-redis reconnects and subscribes again, and fn is
// called with an empty payload, because whatever was published meanwhile
// is lost.
func TestBroadcasterReloadsAfterReconnecting(t *testing.T) {
	url, prefix := testenv.RedisURL(t)
	name := strings.ReplaceAll(prefix, ":", "-") + "subscriber"
	br := redisstore.NewBroadcaster(redisClient(t, url, name), prefix)
	admin := redisClient(t, url, "")
	got := make(chan string, 10)
	subscribe(t, br, got)
	publish(t, br, "before")
	expect(t, got, "before")

	list, err := admin.Do(t.Context(), "CLIENT", "LIST", "TYPE", "pubsub").Text()
	if err != nil {
		t.Fatalf("CLIENT LIST: %v", err)
	}
	var id string
	for line := range strings.Lines(list) {
		if strings.Contains(line, " name="+name+" ") {
			id, _, _ = strings.Cut(strings.TrimPrefix(line, "id="), " ")
		}
	}
	if id == "" {
		t.Fatalf("no pub/sub connection named %s in CLIENT LIST:\n%s", name, list)
	}
	if err := admin.ClientKillByFilter(t.Context(), "ID", id).Err(); err != nil {
		t.Fatalf("CLIENT KILL ID %s: %v", id, err)
	}

	expect(t, got, "")
	publish(t, br, "after")
	expect(t, got, "after")
}

func TestBroadcasterReportsRedisFailures(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { client.Close() })
	br := redisstore.NewBroadcaster(client, "test:")
	if err := br.Publish(t.Context(), "events", "x"); err == nil {
		t.Fatal("Publish with Redis down: no error")
	}
	if err := br.Subscribe(t.Context(), "events", func(string) {}); err == nil {
		t.Fatal("Subscribe with Redis down: no error")
	}
	// No goroutine of the Broadcaster is left. (Counting every goroutine
	// of the process would also count other tests' background work.)
	buf := make([]byte, 1<<20)
	if stacks := string(buf[:runtime.Stack(buf, true)]); strings.Contains(stacks, "redisstore.(*Broadcaster)") {
		t.Fatalf("a goroutine of the Broadcaster outlived the failed Subscribe:\n%s", stacks)
	}
}

func TestBroadcasterSubscribeWithEndedContextFails(t *testing.T) {
	url, prefix := testenv.RedisURL(t)
	br := redisstore.NewBroadcaster(redisClient(t, url, ""), prefix)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := br.Subscribe(ctx, "events", func(string) { t.Error("fn called on an ended subscription") })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Subscribe with an ended context: got %v, want context.Canceled", err)
	}
}

// subscribers returns how many subscribers the server counts on channel.
func subscribers(t *testing.T, client *redis.Client, channel string) int64 {
	t.Helper()
	counts, err := client.PubSubNumSub(t.Context(), channel).Result()
	if err != nil {
		t.Fatalf("PUBSUB NUMSUB: %v", err)
	}
	return counts[channel]
}

// subscribe sends what br receives on "events" to got until the test ends.
func subscribe(t *testing.T, br *redisstore.Broadcaster, got chan<- string) {
	t.Helper()
	if err := br.Subscribe(t.Context(), "events", func(p string) { got <- p }); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
}

func publish(t *testing.T, br *redisstore.Broadcaster, payload string) {
	t.Helper()
	if err := br.Publish(t.Context(), "events", payload); err != nil {
		t.Fatalf("Publish(%q): %v", payload, err)
	}
}

// expect fails unless the next payload on got is want.
func expect(t *testing.T, got <-chan string, want string) {
	t.Helper()
	select {
	case p := <-got:
		if p != want {
			t.Fatalf("received %q, want %q", p, want)
		}
	case <-time.After(broadcastertest.Wait):
		t.Fatalf("nothing received within %s, want %q", broadcastertest.Wait, want)
	}
}
