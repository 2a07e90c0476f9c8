package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authd/auth"
)

func testAudit(t *testing.T, newStore func(t *testing.T) auth.Store) {
	t.Run("an appended event reads back with every field", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		full := newEvent(auth.EventLogin)
		full.ActorID = newID()
		full.OrgID = newID()
		full.TargetType = auth.TargetSession
		full.TargetID = newID()
		full.IP = "2001:db8::1"
		full.UserAgent = "storetest/1.0 (\"quoted\"; 'single')"
		full.Metadata = map[string]string{"email": "ada@example.com", "reason": "it's \"fine\"", "empty": ""}
		anonymous := newEvent(auth.EventLoginFailed)
		anonymous.OccurredAt = base.In(eastern)
		anonymous.Metadata = map[string]string{}
		appendEvents(t, s, full, anonymous)

		got := allEvents(t, s, auth.AuditFilter{})
		checkEqual(t, "events", got, []auth.AuditEvent{storedEvent(anonymous), storedEvent(full)})
		if got[0].ActorID != "" || got[0].OrgID != "" || got[0].Metadata != nil {
			t.Errorf("an event without actor, org or metadata reads back %+v", got[0])
		}
	})

	t.Run("appending an event with a taken id is a conflict", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		e := newEvent(auth.EventLogout)
		appendEvents(t, s, e)
		again := newEvent(auth.EventLogoutAll)
		again.ID = e.ID
		checkErr(t, "AppendAudit", s.AppendAudit(t.Context(), again), auth.ErrConflict)
	})

	t.Run("events come newest first, in the order they were appended", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		// One instant for all: the order is the order of appending.
		var events []auth.AuditEvent
		for range 5 {
			events = append(events, newEvent(auth.EventLogin))
		}
		appendEvents(t, s, events...)
		got := allEvents(t, s, auth.AuditFilter{})
		checkEqual(t, "ids", ids(got), ids(reversed(events)))
	})

	t.Run("filters select the events that match all of them", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ada, bob, org := newID(), newID(), newID()
		at := func(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }
		e := []auth.AuditEvent{
			{ID: newID(), OccurredAt: at(0), Event: auth.EventLogin, ActorID: ada},
			{ID: newID(), OccurredAt: at(1), Event: auth.EventLogin, ActorID: bob},
			{ID: newID(), OccurredAt: at(2), Event: "org.created", ActorID: ada, OrgID: org},
			{ID: newID(), OccurredAt: at(3), Event: "member.invited", ActorID: bob, OrgID: org},
			{ID: newID(), OccurredAt: at(4), Event: auth.EventLogout, ActorID: ada},
			{ID: newID(), OccurredAt: at(5), Event: auth.EventLoginFailed},
		}
		appendEvents(t, s, e...)
		tests := []struct {
			name   string
			filter auth.AuditFilter
			want   []auth.AuditEvent
		}{
			{"no filter selects every event", auth.AuditFilter{}, []auth.AuditEvent{e[5], e[4], e[3], e[2], e[1], e[0]}},
			{"an event name selects that event", auth.AuditFilter{Event: auth.EventLogin}, []auth.AuditEvent{e[1], e[0]}},
			{"an actor selects what it did", auth.AuditFilter{ActorID: ada}, []auth.AuditEvent{e[4], e[2], e[0]}},
			{"an org selects its events", auth.AuditFilter{OrgID: org}, []auth.AuditEvent{e[3], e[2]}},
			{"since is inclusive", auth.AuditFilter{Since: at(4)}, []auth.AuditEvent{e[5], e[4]}},
			{"until is exclusive", auth.AuditFilter{Until: at(1)}, []auth.AuditEvent{e[0]}},
			{"since and until select a window", auth.AuditFilter{Since: at(1), Until: at(3)}, []auth.AuditEvent{e[2], e[1]}},
			{"since on a whole second compares as an instant", auth.AuditFilter{Since: at(4).Truncate(time.Second)}, []auth.AuditEvent{e[5], e[4]}},
			{"until on a whole second compares as an instant", auth.AuditFilter{Until: at(1).Truncate(time.Second).Add(time.Second)}, []auth.AuditEvent{e[1], e[0]}},
			{"since compares instants in any time zone", auth.AuditFilter{Since: at(4).In(western)}, []auth.AuditEvent{e[5], e[4]}},
			{"until compares instants in any time zone", auth.AuditFilter{Until: at(1).In(eastern)}, []auth.AuditEvent{e[0]}},
			{"an actor and an org select both", auth.AuditFilter{ActorID: ada, OrgID: org}, []auth.AuditEvent{e[2]}},
			{"an event and a window select both", auth.AuditFilter{Event: auth.EventLogin, Since: at(1)}, []auth.AuditEvent{e[1]}},
			{"an unknown event selects nothing", auth.AuditFilter{Event: "no.such_event"}, nil},
			{"an unknown actor selects nothing", auth.AuditFilter{ActorID: newID()}, nil},
			{"an actor id that is not a UUID selects nothing", auth.AuditFilter{ActorID: "ada"}, nil},
			{"an org id that is not a UUID selects nothing", auth.AuditFilter{OrgID: "acme"}, nil},
			{"a window after the last event selects nothing", auth.AuditFilter{Since: at(6)}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				checkEqual(t, "ids", ids(allEvents(t, s, tt.filter)), ids(tt.want))
			})
		}
	})

	t.Run("pages follow the cursor to the last page", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		var events []auth.AuditEvent
		for i := range 7 {
			events = append(events, newEvent(auth.EventLogin))
			events = append(events, newEvent(auth.EventLogout))
			events[len(events)-1].OccurredAt = base.Add(time.Duration(i) * time.Second)
		}
		appendEvents(t, s, events...)

		tests := []struct {
			name      string
			filter    auth.AuditFilter
			limit     int
			wantSizes []int
		}{
			{"every event, three at a time", auth.AuditFilter{}, 3, []int{3, 3, 3, 3, 2}},
			{"filtered events, three at a time", auth.AuditFilter{Event: auth.EventLogout}, 3, []int{3, 3, 1}},
			{"a page as large as the list", auth.AuditFilter{Event: auth.EventLogout}, 7, []int{7}},
			{"one at a time", auth.AuditFilter{Event: auth.EventLogin}, 1, []int{1, 1, 1, 1, 1, 1, 1}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var got []auth.AuditEvent
				var sizes []int
				cursor := ""
				for {
					page, next, err := s.AuditEvents(t.Context(), tt.filter, auth.Page{Limit: tt.limit, Cursor: cursor})
					checkErr(t, "AuditEvents", err, nil)
					got = append(got, page...)
					sizes = append(sizes, len(page))
					if next == "" {
						break
					}
					if len(sizes) > len(events) {
						t.Fatal("the cursor never reaches the last page")
					}
					cursor = next
				}
				checkEqual(t, "page sizes", sizes, tt.wantSizes)
				checkEqual(t, "ids of every page", ids(got), ids(allEvents(t, s, tt.filter)))
			})
		}
	})

	t.Run("the limit defaults to 50 and is at most 200", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		err := s.WithinTx(t.Context(), func(ctx context.Context, tx auth.Store) error {
			for range 201 {
				if err := tx.AppendAudit(ctx, newEvent(auth.EventLogin)); err != nil {
					return err
				}
			}
			return nil
		})
		checkErr(t, "AppendAudit", err, nil)
		tests := []struct {
			limit, want int
		}{
			{0, 50}, {-1, 50}, {1, 1}, {200, 200}, {201, 200}, {1000, 200},
		}
		for _, tt := range tests {
			page, next, err := s.AuditEvents(t.Context(), auth.AuditFilter{}, auth.Page{Limit: tt.limit})
			checkErr(t, "AuditEvents", err, nil)
			if len(page) != tt.want || next == "" {
				t.Errorf("limit %d: %d events and cursor %q, want %d and a cursor", tt.limit, len(page), next, tt.want)
			}
		}
	})

	t.Run("a cursor the store did not return is a validation error", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		appendEvents(t, s, newEvent(auth.EventLogin))
		for _, cursor := range []string{"not a cursor", "-1", "0", "1.5", "99999999999999999999999"} {
			_, _, err := s.AuditEvents(t.Context(), auth.AuditFilter{}, auth.Page{Cursor: cursor})
			var verr *auth.ValidationError
			if !errors.As(err, &verr) || verr.Fields["cursor"] == "" {
				t.Errorf("AuditEvents with cursor %q: error %v, want a *auth.ValidationError on cursor", cursor, err)
			}
		}
	})

	t.Run("an empty log has one empty page", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		page, next, err := s.AuditEvents(t.Context(), auth.AuditFilter{}, auth.Page{})
		checkErr(t, "AuditEvents", err, nil)
		if len(page) != 0 || next != "" {
			t.Errorf("AuditEvents = %d events and cursor %q, want none and no cursor", len(page), next)
		}
	})
}

// newEvent returns an event at base with a new ID and nothing else.
func newEvent(name string) auth.AuditEvent {
	return auth.AuditEvent{ID: newID(), OccurredAt: base, Event: name}
}

// appendEvents appends the events in order.
func appendEvents(t *testing.T, s auth.Store, events ...auth.AuditEvent) {
	t.Helper()
	for _, e := range events {
		if err := s.AppendAudit(t.Context(), e); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
	}
}

// allEvents returns every event that matches f, in one page.
func allEvents(t *testing.T, s auth.Store, f auth.AuditFilter) []auth.AuditEvent {
	t.Helper()
	events, next, err := s.AuditEvents(t.Context(), f, auth.Page{Limit: 200})
	if err != nil {
		t.Fatalf("AuditEvents: %v", err)
	}
	if next != "" {
		t.Fatalf("AuditEvents returned a next page for a short list")
	}
	return events
}

func ids(events []auth.AuditEvent) []string {
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	return ids
}

func reversed(events []auth.AuditEvent) []auth.AuditEvent {
	r := make([]auth.AuditEvent, len(events))
	for i, e := range events {
		r[len(events)-1-i] = e
	}
	return r
}
