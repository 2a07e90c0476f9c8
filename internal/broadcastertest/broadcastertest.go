// Package broadcastertest is the conformance suite of [auth.Broadcaster]:
// every implementation (the in-process one in the root package, the Redis
// one in storage/redisstore) runs it, so they deliver alike.
//
// The suite never sleeps to let a message arrive: it waits for each
// expected message, failing after [Wait]. It shows that a subscriber did
// not receive a message by waiting for a later one that the subscriber, or
// another on the same broadcaster and channel, does receive. So it assumes
// what both implementations do: messages from one publisher reach a
// subscriber in the order they were published.
package broadcastertest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	auth "github.com/authd/auth"
)

// Wait is how long the suite waits for a message before it fails. Messages
// normally arrive within milliseconds; Wait leaves room for a loaded machine.
const Wait = 5 * time.Second

// Run checks the broadcasters that newPair returns, a new pair per subtest.
// a and b stand for two instances of one deployment: for an in-process
// broadcaster they are the same value, for one across instances two
// broadcasters on separate connections that share a server and a
// namespace. Subscriptions end when their subtest does. newPair may skip
// the test.
func Run(t *testing.T, newPair func(t *testing.T) (a, b auth.Broadcaster)) {
	tests := []struct {
		name string
		run  func(t *testing.T, a, b auth.Broadcaster)
	}{
		{"a message published on one instance reaches subscribers on both, the publisher's own included", reachesEveryInstance},
		{"channels are independent, even when one name starts with another", channelsAreIndependent},
		{"a subscriber whose context ended receives nothing more", cancelledSubscriberHearsNothing},
		{"several subscribers of one channel each receive every message once", severalSubscribers},
		{"payloads arrive intact", payloadsArriveIntact},
		{"messages published concurrently on both instances all arrive", concurrentPublishers},
		{"publishing on a channel nobody listens to succeeds", publishWithoutSubscribers},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := newPair(t)
			tt.run(t, a, b)
		})
	}
}

func reachesEveryInstance(t *testing.T, a, b auth.Broadcaster) {
	onA := subscribe(t, a, "events")
	onB := subscribe(t, b, "events")

	publish(t, a, "events", "from a")
	onA.expect(t, "the subscriber on a", "from a")
	onB.expect(t, "the subscriber on b", "from a")

	publish(t, b, "events", "from b")
	onA.expect(t, "the subscriber on a", "from b")
	onB.expect(t, "the subscriber on b", "from b")
}

func channelsAreIndependent(t *testing.T, a, b auth.Broadcaster) {
	channels := []string{"one", "one.two", "two"}
	inboxes := map[string][]*inbox{}
	for _, ch := range channels {
		inboxes[ch] = []*inbox{subscribe(t, a, ch), subscribe(t, b, ch)}
	}
	// Each channel gets its own message; were one delivered on another
	// channel too, it would arrive there before that channel's own.
	for _, ch := range channels {
		publish(t, a, ch, "for "+ch)
	}
	for _, ch := range channels {
		for i, in := range inboxes[ch] {
			in.expect(t, fmt.Sprintf("subscriber %d of %q", i+1, ch), "for "+ch)
		}
	}
}

func cancelledSubscriberHearsNothing(t *testing.T, a, b auth.Broadcaster) {
	for _, where := range []struct {
		name string
		on   auth.Broadcaster
	}{
		{"on the publishing instance", a},
		{"on another instance", b},
	} {
		t.Run(where.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			cancelled := newInbox()
			if err := where.on.Subscribe(ctx, "events", cancelled.receive); err != nil {
				t.Fatalf("Subscribe: %v", err)
			}
			sentinel := subscribe(t, where.on, "events")

			publish(t, a, "events", "before")
			cancelled.expect(t, "the subscriber before its context ended", "before")
			sentinel.expect(t, "the sentinel subscriber", "before")

			cancel()
			publish(t, a, "events", "after")
			sentinel.expect(t, "the sentinel subscriber", "after")
			cancelled.expectNothing(t, "the subscriber whose context ended")
		})
	}
}

func severalSubscribers(t *testing.T, a, b auth.Broadcaster) {
	var inboxes []*inbox
	for _, br := range []auth.Broadcaster{a, a, a, b, b, b} {
		inboxes = append(inboxes, subscribe(t, br, "events"))
	}
	publish(t, a, "events", "once")
	publish(t, a, "events", "twice")
	for i, in := range inboxes {
		// A duplicate of "once" would arrive before "twice".
		in.expect(t, fmt.Sprintf("subscriber %d", i+1), "once", "twice")
	}
}

func payloadsArriveIntact(t *testing.T, a, b auth.Broadcaster) {
	payloads := []string{
		"",
		"x",
		"  leading and trailing spaces  ",
		"é, ü, 日本語, 🔑",
		"two\nlines\r\n",
		"a NUL \x00 and a byte that is not UTF-8: \xff",
		`{"org":"acme","roles":["owner","admin"]}`,
		strings.Repeat("0123456789abcdef", 4096), // 64 KiB
	}
	onA := subscribe(t, a, "events")
	onB := subscribe(t, b, "events")
	for _, p := range payloads {
		publish(t, a, "events", p)
	}
	onA.expect(t, "the subscriber on a", payloads...)
	onB.expect(t, "the subscriber on b", payloads...)
}

func concurrentPublishers(t *testing.T, a, b auth.Broadcaster) {
	const each = 10
	onA := subscribe(t, a, "events")
	onB := subscribe(t, b, "events")

	var (
		wg   sync.WaitGroup
		want []string
	)
	errs := make(chan error, 2*each)
	for name, br := range map[string]auth.Broadcaster{"a": a, "b": b} {
		for i := range each {
			payload := fmt.Sprintf("%s-%d", name, i)
			want = append(want, payload)
			wg.Go(func() {
				if err := br.Publish(t.Context(), "events", payload); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Publish: %v", err)
	}
	slices.Sort(want)
	for who, in := range map[string]*inbox{"the subscriber on a": onA, "the subscriber on b": onB} {
		got := in.take(t, who, len(want))
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("%s received %q, want %q in any order", who, got, want)
		}
	}
}

func publishWithoutSubscribers(t *testing.T, a, b auth.Broadcaster) {
	publish(t, a, "nobody", "hello")
	publish(t, b, "nobody", "hello")
}

// inbox collects what one subscriber receives, in order.
type inbox struct {
	payloads chan string
}

func newInbox() *inbox {
	// Far more than any test sends, so receive never blocks a broadcaster.
	return &inbox{payloads: make(chan string, 100)}
}

// receive is the subscriber's fn.
func (in *inbox) receive(payload string) {
	select {
	case in.payloads <- payload:
	default: // cannot happen with the suite's few messages
	}
}

// take waits for the next n payloads in and returns them.
func (in *inbox) take(t *testing.T, who string, n int) []string {
	t.Helper()
	timeout := time.NewTimer(Wait)
	defer timeout.Stop()
	got := make([]string, 0, n)
	for len(got) < n {
		select {
		case p := <-in.payloads:
			got = append(got, p)
		case <-timeout.C:
			t.Fatalf("%s: %d of %d messages received within %s: [%s]", who, len(got), n, Wait, brief(got...))
		}
	}
	return got
}

// expect fails unless the next payloads in receives are want, in order.
func (in *inbox) expect(t *testing.T, who string, want ...string) {
	t.Helper()
	for i, w := range want {
		got := in.take(t, who, 1)[0]
		if got != w {
			t.Fatalf("%s: message %d is %s, want %s", who, i+1, brief(got), brief(w))
		}
	}
}

// expectNothing fails if in has received anything not yet taken.
func (in *inbox) expectNothing(t *testing.T, who string) {
	t.Helper()
	select {
	case p := <-in.payloads:
		t.Fatalf("%s received %s, want nothing", who, brief(p))
	default:
	}
}

// subscribe subscribes a new inbox to channel on br until the test ends.
func subscribe(t *testing.T, br auth.Broadcaster, channel string) *inbox {
	t.Helper()
	in := newInbox()
	if err := br.Subscribe(t.Context(), channel, in.receive); err != nil {
		t.Fatalf("Subscribe(%q): %v", channel, err)
	}
	return in
}

func publish(t *testing.T, br auth.Broadcaster, channel, payload string) {
	t.Helper()
	if err := br.Publish(t.Context(), channel, payload); err != nil {
		t.Fatalf("Publish(%q, %s): %v", channel, brief(payload), err)
	}
}

// brief quotes payloads for a failure message, cutting long ones short.
func brief(payloads ...string) string {
	quoted := make([]string, len(payloads))
	for i, p := range payloads {
		if len(p) > 60 {
			quoted[i] = fmt.Sprintf("%q… (%d bytes)", p[:60], len(p))
		} else {
			quoted[i] = fmt.Sprintf("%q", p)
		}
	}
	return strings.Join(quoted, ", ")
}
