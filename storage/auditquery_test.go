package storage_test

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/authd/auth"
	"github.com/authd/auth/storage"
)

func TestAuditPagesAreNewestFirstAndStableUnderInserts(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := openMigrated(t, d.url(t))
			ctx := t.Context()
			at := func(minute int) time.Time { return chainStart.Add(time.Duration(minute) * time.Minute) }
			// Appended out of time order (clocks of several instances),
			// with two at one instant.
			var events []auth.AuditEvent
			for _, minute := range []int{5, 1, 3, 3, 9, 0, 7} {
				e := auditEvent(minute)
				e.OccurredAt = at(minute)
				events = append(events, e)
			}
			appendAudit(t, s, events...)
			// Newest first by time; the two at minute 3 in reverse order of
			// appending.
			want := []string{events[4].ID, events[6].ID, events[0].ID, events[3].ID, events[2].ID, events[1].ID, events[5].ID}

			var got []string
			cursor := ""
			for page := 0; ; page++ {
				list, next, err := s.AuditEvents(ctx, auth.AuditFilter{}, auth.Page{Limit: 2, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range list {
					got = append(got, e.ID)
				}
				if next == "" {
					break
				}
				cursor = next
				// Between pages, events arrive: one newer than all, one
				// older than all, one at the cursor's instant.
				newer, older, same := auditEvent(100), auditEvent(-100), auditEvent(0)
				newer.OccurredAt, older.OccurredAt = at(100), at(-100+page)
				same.OccurredAt = list[len(list)-1].OccurredAt
				appendAudit(t, s, newer, older, same)
			}
			// Every event that was there at the start, once, in order; the
			// older arrivals follow them, the newer and same-instant ones
			// (behind the cursor) do not show.
			if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
				t.Fatalf("pages = %v, want %v first", got, want)
			}
			seen := map[string]bool{}
			for _, id := range got {
				if seen[id] {
					t.Errorf("event %s is on two pages", id)
				}
				seen[id] = true
			}
		})
	}
}

// auditPageQueries names, for each filter of an audit page, the index the
// page should be read from.
var auditPageQueries = []struct {
	name   string
	filter func(actor, org string) auth.AuditFilter
	index  string
}{
	{"no filter", func(_, _ string) auth.AuditFilter { return auth.AuditFilter{} }, "audit_events_occurred_at_seq_idx"},
	{"a window", func(_, _ string) auth.AuditFilter {
		return auth.AuditFilter{Since: chainStart, Until: chainStart.Add(time.Hour)}
	}, "audit_events_occurred_at_seq_idx"},
	{"until alone", func(_, _ string) auth.AuditFilter { return auth.AuditFilter{Until: chainStart} }, "audit_events_occurred_at_seq_idx"},
	{"an event", func(_, _ string) auth.AuditFilter { return auth.AuditFilter{Event: auth.EventLogout} }, "audit_events_event_occurred_at_seq_idx"},
	{"an event in a window", func(_, _ string) auth.AuditFilter {
		return auth.AuditFilter{Event: auth.EventLogout, Since: chainStart, Until: chainStart.Add(time.Hour)}
	}, "audit_events_event_occurred_at_seq_idx"},
	{"an actor", func(actor, _ string) auth.AuditFilter { return auth.AuditFilter{ActorID: actor} }, "audit_events_actor_id_occurred_at_seq_idx"},
	{"an actor in a window", func(actor, _ string) auth.AuditFilter {
		return auth.AuditFilter{ActorID: actor, Since: chainStart, Until: chainStart.Add(time.Hour)}
	}, "audit_events_actor_id_occurred_at_seq_idx"},
	{"an org", func(_, org string) auth.AuditFilter { return auth.AuditFilter{OrgID: org} }, "audit_events_org_id_occurred_at_seq_idx"},
	{"an org in a window", func(_, org string) auth.AuditFilter {
		return auth.AuditFilter{OrgID: org, Since: chainStart, Until: chainStart.Add(time.Hour)}
	}, "audit_events_org_id_occurred_at_seq_idx"},
}

// queryRecorder keeps the last query bun ran.
type queryRecorder struct {
	mu    sync.Mutex
	query string
}

func (r *queryRecorder) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

func (r *queryRecorder) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.query = e.Query
}

func (r *queryRecorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.query
}

func TestAuditPagesAreReadFromAnIndexInTheirOrder(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := openMigrated(t, d.url(t))
			ctx := t.Context()
			actor, org := newID(), newID()
			for range 2 {
				appendAudit(t, s, auth.AuditEvent{ID: newID(), OccurredAt: chainStart, Event: auth.EventLogin, ActorID: actor, OrgID: org})
			}
			// The second page: its cursor is part of the condition.
			_, cursor, err := s.AuditEvents(ctx, auth.AuditFilter{}, auth.Page{Limit: 1})
			if err != nil || cursor == "" {
				t.Fatalf("the first page: cursor %q, %v", cursor, err)
			}
			rec := &queryRecorder{}
			recorded, err := storage.New(s.DB().WithQueryHook(rec))
			if err != nil {
				t.Fatal(err)
			}
			conn, err := s.DB().Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			explain := "EXPLAIN QUERY PLAN "
			if s.Dialect() == storage.DialectPostgres {
				// A table this small would be read whole: ask for the plan
				// of a large one.
				if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
					t.Fatal(err)
				}
				explain = "EXPLAIN (COSTS OFF) "
			}
			for _, q := range auditPageQueries {
				t.Run(q.name, func(t *testing.T) {
					if _, _, err := recorded.AuditEvents(ctx, q.filter(actor, org), auth.Page{Limit: 1, Cursor: cursor}); err != nil {
						t.Fatal(err)
					}
					plan := explainPlan(t, conn, explain+rec.last())
					if !strings.Contains(plan, q.index) {
						t.Errorf("the page is not read from %s:\n%s\n%s", q.index, rec.last(), plan)
					}
					for _, bad := range []string{"Seq Scan", "Sort", "TEMP B-TREE", "SCAN a\n", "SCAN audit_events\n"} {
						if strings.Contains(plan+"\n", bad) {
							t.Errorf("the plan has %q:\n%s\n%s", bad, rec.last(), plan)
						}
					}
				})
			}
		})
	}
}

// explainPlan returns the plan's text, one line per row.
func explainPlan(t *testing.T, conn bun.Conn, query string) string {
	t.Helper()
	rows, err := conn.QueryContext(t.Context(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for rows.Next() {
		values := make([]sql.RawBytes, len(cols))
		dest := make([]any, len(cols))
		for i := range values {
			dest[i] = &values[i]
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		// The last column is the text: PostgreSQL's only one, SQLite's
		// "detail".
		lines = append(lines, string(values[len(values)-1]))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}
