// Command auditplans fills an audit log with synthetic events and prints
// the query plan of each filtered page of it, with how long the page took,
// as Markdown: the plans in docs/audit.md come from it.
//
//	go run ./bench/auditplans -url 'postgres://postgres@127.0.0.1:5432/auditplans?sslmode=disable' -rows 2000000
//	go run ./bench/auditplans -url sqlite:/tmp/auditplans.db -rows 2000000
//
// The database should be empty or hold only what an earlier run put there:
// rows are added until the log has -rows events. With -seal it also seals
// the log and verifies it, and prints how long each took.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/authd/auth"
	"github.com/authd/auth/storage"

	"github.com/authd/auth/internal/explain"
)

// start is when the synthetic log begins: an event every 15 seconds from
// here, with up to 2 seconds of jitter, so 2 million events span a year.
var start = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func main() {
	url := flag.String("url", "", "database URL (postgres://… or sqlite:PATH)")
	rows := flag.Int("rows", 2_000_000, "events the log should hold")
	seal := flag.Bool("seal", false, "seal and verify the log, and time both")
	flag.Parse()
	if err := run(context.Background(), *url, *rows, *seal); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, url string, rows int, seal bool) error {
	s, err := storage.Open(ctx, url)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		return err
	}
	if err := fill(ctx, s, rows); err != nil {
		return err
	}
	if seal {
		t0 := time.Now()
		n, err := s.SealAudit(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("sealed %d events in %s\n\n", n, time.Since(t0).Round(time.Millisecond))
		t0 = time.Now()
		r, err := s.VerifyAudit(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("verified %d links (ok: %t) in %s\n\n", r.Sealed, r.OK(), time.Since(t0).Round(time.Millisecond))
	}
	return explainPages(ctx, s)
}

// fill adds synthetic events until the log holds rows of them: 55 %
// logins, 10 % failed logins, 15 % logouts, 5 % registrations, 10 %
// member joins, and org updates and deletions; 50,000 actors; 500
// organisations, named on 15 % of the events.
func fill(ctx context.Context, s *storage.Store, rows int) error {
	var have int
	if err := s.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_events").Scan(&have); err != nil {
		return err
	}
	const chunk = 100_000
	for from := have + 1; from <= rows; from += chunk {
		to := min(from+chunk-1, rows)
		query := fillPostgres
		if s.Dialect() == storage.DialectSQLite {
			query = fillSQLite
		}
		if _, err := s.DB().ExecContext(ctx, query, from, to); err != nil {
			return fmt.Errorf("fill: %w", err)
		}
		fmt.Fprintf(os.Stderr, "%d events\n", to)
	}
	analyze := "ANALYZE audit_events"
	if s.Dialect() == storage.DialectSQLite {
		analyze = "ANALYZE"
	}
	_, err := s.DB().ExecContext(ctx, analyze)
	return err
}

const fillPostgres = `INSERT INTO audit_events (id, occurred_at, event, actor_id, org_id, target_type, target_id, ip, user_agent, metadata)
SELECT gen_random_uuid(),
	timestamptz '2025-01-01 00:00:00+00' + g * interval '15 seconds' + random() * interval '2 seconds',
	CASE WHEN r < 0.55 THEN 'auth.login' WHEN r < 0.65 THEN 'auth.login_failed' WHEN r < 0.80 THEN 'auth.logout'
		WHEN r < 0.85 THEN 'user.registered' WHEN r < 0.95 THEN 'member.joined' WHEN r < 0.999 THEN 'org.updated'
		ELSE 'org.deleted' END,
	('00000000-0000-4000-8000-' || lpad(to_hex((random() * 50000)::int), 12, '0'))::uuid,
	CASE WHEN r >= 0.85 THEN ('00000000-0000-4000-9000-' || lpad(to_hex((random() * 500)::int), 12, '0'))::uuid END,
	'session', gen_random_uuid()::text, '203.0.113.7', 'Mozilla/5.0 (X11; Linux x86_64)', '{}'
FROM (SELECT g, random() AS r FROM generate_series(?::int, ?::int) AS g) AS s`

const fillSQLite = `WITH RECURSIVE g(n) AS (SELECT ? UNION ALL SELECT n + 1 FROM g WHERE n < ?),
s AS MATERIALIZED (SELECT n, abs(random()) % 1000000 / 1000000.0 AS r, abs(random()) AS x FROM g)
INSERT INTO audit_events (id, occurred_at, event, actor_id, org_id, target_type, target_id, ip, user_agent, metadata)
SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-8' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
	strftime('%Y-%m-%dT%H:%M:%f', '2025-01-01', '+' || (n * 15 + x % 2000 / 1000.0) || ' seconds') || '000Z',
	CASE WHEN r < 0.55 THEN 'auth.login' WHEN r < 0.65 THEN 'auth.login_failed' WHEN r < 0.80 THEN 'auth.logout'
		WHEN r < 0.85 THEN 'user.registered' WHEN r < 0.95 THEN 'member.joined' WHEN r < 0.999 THEN 'org.updated'
		ELSE 'org.deleted' END,
	'00000000-0000-4000-8000-' || printf('%012x', x % 50001),
	CASE WHEN r >= 0.85 THEN '00000000-0000-4000-9000-' || printf('%012x', x % 501) END,
	'session', lower(hex(randomblob(16))), '203.0.113.7', 'Mozilla/5.0 (X11; Linux x86_64)', '{}'
FROM s`

// recorder keeps the last query that bun ran.
type recorder struct {
	mu    sync.Mutex
	query string
}

func (r *recorder) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (r *recorder) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.query = e.Query
}

// explainPages prints, for each filter, the first page's and a later
// page's query, plan and time.
func explainPages(ctx context.Context, s *storage.Store) error {
	var actor, org string
	if err := s.DB().QueryRowContext(ctx, "SELECT actor_id FROM audit_events WHERE actor_id IS NOT NULL ORDER BY seq DESC LIMIT 1").Scan(&actor); err != nil {
		return err
	}
	if err := s.DB().QueryRowContext(ctx, "SELECT org_id FROM audit_events WHERE org_id IS NOT NULL ORDER BY seq DESC LIMIT 1").Scan(&org); err != nil {
		return err
	}
	month := func(m time.Month) time.Time { return time.Date(2025, m, 1, 0, 0, 0, 0, time.UTC) }
	filters := []struct {
		name string
		f    auth.AuditFilter
	}{
		{"no filter", auth.AuditFilter{}},
		{"event (common)", auth.AuditFilter{Event: auth.EventLogin}},
		{"event (rare)", auth.AuditFilter{Event: "org.deleted"}},
		{"actor_id", auth.AuditFilter{ActorID: actor}},
		{"org_id", auth.AuditFilter{OrgID: org}},
		{"since (recent)", auth.AuditFilter{Since: month(12)}},
		{"until (early)", auth.AuditFilter{Until: month(2)}},
		{"since + until (one day, in March)", auth.AuditFilter{Since: month(3), Until: month(3).AddDate(0, 0, 1)}},
		{"event + until (early)", auth.AuditFilter{Event: auth.EventLogin, Until: month(2)}},
		{"rare event + since + until (March)", auth.AuditFilter{Event: "org.deleted", Since: month(3), Until: month(4)}},
		{"actor_id + since + until (March)", auth.AuditFilter{ActorID: actor, Since: month(3), Until: month(4)}},
		{"org_id + since + until (one week, in March)", auth.AuditFilter{OrgID: org, Since: month(3), Until: month(3).AddDate(0, 0, 7)}},
		{"actor_id + org_id", auth.AuditFilter{ActorID: actor, OrgID: org}},
	}
	rec := &recorder{}
	recorded, err := storage.New(s.DB().WithQueryHook(rec))
	if err != nil {
		return err
	}
	conn, err := s.DB().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	explain := "EXPLAIN QUERY PLAN "
	if s.Dialect() == storage.DialectPostgres {
		explain = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "
	}
	for _, f := range filters {
		fmt.Printf("#### %s\n\n", f.name)
		cursor := ""
		for page := 1; page <= 2; page++ {
			t0 := time.Now()
			events, next, err := recorded.AuditEvents(ctx, f.f, auth.Page{Limit: 50, Cursor: cursor})
			if err != nil {
				return err
			}
			took := time.Since(t0)
			query := rec.query
			plan, err := explainPlan(ctx, conn, explain+query)
			if err != nil {
				return err
			}
			where := query
			if i := strings.Index(query, " WHERE "); i >= 0 {
				where = query[i+1:]
			} else if i := strings.Index(query, " ORDER BY "); i >= 0 {
				where = query[i+1:]
			}
			fmt.Printf("page %d: %d events in %s\n\n```\n%s\n\n%s\n```\n\n", page, len(events), took.Round(10*time.Microsecond), where, plan)
			if next == "" {
				break
			}
			cursor = next
		}
	}
	return nil
}

// explainPlan returns the text of a plan, one line per row: PostgreSQL's
// one column, or SQLite's "detail" column.
func explainPlan(ctx context.Context, conn bun.Conn, query string) (string, error) {
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return "", fmt.Errorf("%s: %w", query, err)
	}
	return explain.Lines(rows)
}
