package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/authd/auth"
	"github.com/authd/auth/storage"

	"github.com/authd/auth/internal/explain"
)

// recorder keeps the last query bun ran, as sent (values inlined), other
// than a transaction's BEGIN, COMMIT or ROLLBACK.
type recorder struct {
	mu    sync.Mutex
	query string
}

func (r *recorder) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (r *recorder) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	switch strings.ToUpper(strings.Fields(e.Query + " x")[0]) {
	case "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE":
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.query = e.Query
}

func (r *recorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.query
}

// plan is one hot query and how the database runs it.
type plan struct {
	name, query, plan string
	scans             []string // the plan's lines that read a whole table or index
}

// explainAll records the SQL the store sends for each hot query (through a
// bun query hook on a Store sharing e's connections) and explains it:
// EXPLAIN QUERY PLAN on SQLite, EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL,
// in a transaction rolled back, since ANALYZE runs the UPDATE.
func explainAll(ctx context.Context, e *env) ([]plan, error) {
	rec := &recorder{}
	st, err := storage.New(e.st.DB().WithQueryHook(rec)) // shares e.st's pool: never closed
	if err != nil {
		return nil, err
	}
	p := e.pop
	orgID := newUUID(kindOrg, e.org).String()
	now := time.Now()
	queries := []struct {
		name string
		call func() error
	}{
		{"user by email (login)", func() error {
			_, err := st.UserByEmail(ctx, p.email(e.subject))
			return err
		}},
		{"session + user by session id (refresh, /auth/me/; storage/hot.go sessionUserSQL)", func() error {
			// Outside a transaction the store runs it as a prepared
			// statement, which bypasses bun; inside one bun sends it with
			// the id inlined, and the hook sees it.
			return st.WithinTx(ctx, func(ctx context.Context, tx auth.Store) error {
				_, _, err := tx.SessionUser(ctx, e.sessionID)
				return err
			})
		}},
		{"session rotation (refresh; RotateSession)", func() error {
			// A hash that is not the session's: nothing changes.
			err := st.RotateSession(ctx, auth.Rotation{SessionID: e.sessionID, Presented: strings.Repeat("0", 64),
				Next: strings.Repeat("1", 64), Now: now, ExpiresAt: now.Add(7 * 24 * time.Hour)})
			if errors.Is(err, auth.ErrNotFound) {
				return nil
			}
			return err
		}},
		{"user by id (guard: global)", func() error {
			_, err := st.UserByID(ctx, p.userID(e.staff).String())
			return err
		}},
		{"org by slug (guard: org)", func() error {
			_, err := st.OrgBySlug(ctx, p.orgSlug(e.org))
			return err
		}},
		{"member by (org, user) (guard: org)", func() error {
			_, err := st.Member(ctx, orgID, p.userID(e.member.user).String())
			return err
		}},
	}
	var out []plan
	for _, q := range queries {
		rec.mu.Lock()
		rec.query = ""
		rec.mu.Unlock()
		if err := q.call(); err != nil {
			return nil, fmt.Errorf("%s: %w", q.name, err)
		}
		query := rec.last()
		if query == "" {
			return nil, fmt.Errorf("%s: no query recorded", q.name)
		}
		text, err := queryPlan(ctx, e.st, query)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.name, err)
		}
		out = append(out, plan{name: q.name, query: query, plan: text, scans: fullScans(e.st.Dialect(), text)})
	}
	return out, nil
}

// queryPlan returns the plan of query, one line per row: SQLite's "detail"
// column, or PostgreSQL's one column.
func queryPlan(ctx context.Context, st *storage.Store, query string) (string, error) {
	db := st.DB().DB
	prefix := "EXPLAIN QUERY PLAN "
	if st.Dialect() == storage.DialectPostgres {
		prefix = "EXPLAIN (ANALYZE, BUFFERS) "
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, prefix+query)
	if err != nil {
		return "", err
	}
	return explain.Lines(rows)
}

// fullScans returns the lines of a plan that read a whole table: SQLite's
// "SCAN t" (also "SCAN t USING [COVERING] INDEX i", which reads the whole
// index) and PostgreSQL's "Seq Scan".
func fullScans(dialect, text string) []string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		l := strings.TrimSpace(line)
		l = strings.TrimLeft(l, "-> ")
		if dialect == storage.DialectPostgres {
			if strings.Contains(l, "Seq Scan") {
				out = append(out, l)
			}
		} else if strings.HasPrefix(l, "SCAN ") {
			out = append(out, l)
		}
	}
	return out
}

var (
	planLiteral = regexp.MustCompile(`'[^']*'`)
	planFigures = regexp.MustCompile(`\s*\((cost|actual)[^)]*\)`)
	planTimings = regexp.MustCompile(`^\s*(Buffers|Planning|Execution|Rows Removed|I/O Timings|Heap Fetches)`)
)

// planShape is a plan without what changes from one run or database to
// the next: literals, costs, row counts, timings and buffer counts. Two
// plans of the same shape use the same nodes and indexes.
func planShape(plan string) string {
	var out []string
	for line := range strings.SplitSeq(plan, "\n") {
		if planTimings.MatchString(line) {
			continue
		}
		out = append(out, planFigures.ReplaceAllString(planLiteral.ReplaceAllString(line, "?"), ""))
	}
	return strings.Join(out, "\n")
}
