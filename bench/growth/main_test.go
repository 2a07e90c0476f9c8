package main

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/auth"
	"github.com/authd/auth/internal/testenv"
	"github.com/authd/auth/storage"
)

// tiny runs the bench in well under a second of measuring: a small
// "large" database, two rounds (so both orders of the pair run).
var tiny = []string{"-sessions", "2000", "-users", "200", "-orgs", "20", "-rounds", "2", "-round", "20ms", "-slice", "10ms", "-warmup", "5ms", "-markdown"}

// runTiny runs the bench with tiny and args and returns its report.
func runTiny(t *testing.T, args ...string) string {
	t.Helper()
	cfg, err := parseFlags(append(slices.Clone(tiny), args...), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, progress bytes.Buffer
	if err := run(ctx, cfg, &out, &progress); err != nil {
		t.Fatalf("run: %v\nprogress:\n%s", err, progress.String())
	}
	return out.String()
}

// checkReport checks what every report holds: the seeded counts, a row
// per operation with a ratio and a verdict, and a plan per hot query.
func checkReport(t *testing.T, out string) {
	t.Helper()
	for _, want := range []string{
		"Large: 200 users, 2,000 sessions, 20 organisations with ",
		", 2,000 audit events, seeded in ",
		"Small: 10 users, 20 sessions, 2 organisations",
		"Argon2id at 8 KiB, 1 iteration",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	for _, op := range operations {
		re := regexp.MustCompile(`(?m)^\| ` + regexp.QuoteMeta(op.name) + ` \| [0-9,]+ \| [0-9,]+ \| [0-9]+\.[0-9]{3} \| [0-9.]+–[0-9.]+ \| (PASS|MISS) \|$`)
		if !re.MatchString(out) {
			t.Errorf("report has no row for %s:\n%s", op.name, out)
		}
	}
	for _, q := range []string{"user by email", "session + user by session id", "session rotation", "user by id",
		"org by slug", "member by (org, user)"} {
		if !strings.Contains(out, "**"+q) {
			t.Errorf("report has no plan for %s", q)
		}
	}
	// A block per plan, and one more per plan that differs on the small
	// database.
	differ := strings.Count(out, "On the small database the plan differs")
	if n := strings.Count(out, "```"); n != 2*(6+differ) {
		t.Errorf("report has %d code fences, want %d (6 plans, %d of them differing on the small database)", n, 2*(6+differ), differ)
	}
}

func TestGrowthSQLite(t *testing.T) {
	out := runTiny(t, "-db", "sqlite")
	checkReport(t, out)
	// Every hot query is an index lookup on SQLite, whatever the size.
	if !strings.Contains(out, "No plan reads a whole table or index") {
		t.Errorf("a SQLite plan reads a whole table:\n%s", out)
	}
	for _, index := range []string{"sqlite_autoindex_users_2 (email=?)", "sqlite_autoindex_sessions_1 (id=?)",
		"sqlite_autoindex_orgs_2 (slug=?)", "sqlite_autoindex_org_members_1 (org_id=? AND user_id=?)"} {
		if !strings.Contains(out, index) {
			t.Errorf("no plan uses %s:\n%s", index, out)
		}
	}
}

func TestGrowthPostgres(t *testing.T) {
	small, large := testenv.PostgresURL(t), testenv.PostgresURL(t)
	out := runTiny(t, "-db", "postgres", "-small-url", small, "-large-url", large)
	// Tables this small fit a page, so PostgreSQL may rightly scan them:
	// only the report's shape is checked, and that ANALYZE ran the plans.
	checkReport(t, out)
	differ := strings.Count(out, "On the small database the plan differs")
	if n := strings.Count(out, "Execution Time:"); n != 6+differ {
		t.Errorf("%d plans with an execution time, want %d:\n%s", n, 6+differ, out)
	}
	if !strings.Contains(out, "Index Scan using sessions_pkey") {
		t.Errorf("the session lookup does not use sessions_pkey:\n%s", out)
	}
}

func TestFullScans(t *testing.T) {
	for _, c := range []struct {
		dialect, plan string
		want          int
	}{
		{storage.DialectSQLite, "SEARCH u USING INDEX sqlite_autoindex_users_2 (email=?)", 0},
		{storage.DialectSQLite, "SCAN s", 1},
		{storage.DialectSQLite, "SCAN m USING COVERING INDEX org_members_user_id_joined_at_idx\nSEARCH u USING INDEX sqlite_autoindex_users_1 (id=?)", 1},
		{storage.DialectPostgres, "Nested Loop\n  ->  Index Scan using sessions_pkey on sessions s\n  ->  Index Scan using users_pkey on users u", 0},
		{storage.DialectPostgres, "Nested Loop\n  ->  Seq Scan on org_members m\n  ->  Index Scan using users_pkey on users u", 1},
		{storage.DialectPostgres, "Bitmap Heap Scan on sessions\n  ->  Bitmap Index Scan on sessions_user_id_created_at_idx", 0},
	} {
		if got := fullScans(c.dialect, c.plan); len(got) != c.want {
			t.Errorf("fullScans(%s, %q) = %q, want %d line(s)", c.dialect, c.plan, got, c.want)
		}
	}
}

func TestSeededIDs(t *testing.T) {
	// The store refuses ids that are not lower-case canonical UUIDs.
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for kind := kindUser; kind <= kindAudit; kind++ {
		for i := range 1000 {
			id := newUUID(kind, i).String()
			if !re.MatchString(id) {
				t.Fatalf("newUUID(%d, %d) = %q, not a version 4 UUID", kind, i, id)
			}
			if seen[id] {
				t.Fatalf("newUUID(%d, %d) = %q repeats", kind, i, id)
			}
			seen[id] = true
		}
	}
	p := &population{sizes: sizes{users: 1000}}
	emails := map[string]bool{}
	for i := range p.users {
		emails[p.email(i)] = true
	}
	if len(emails) != p.users {
		t.Errorf("%d distinct emails among %d users", len(emails), p.users)
	}
}

func TestPicksAmongTheBulk(t *testing.T) {
	ctx := context.Background()
	st, err := openStore(ctx, "sqlite::memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p := &population{sizes: sizes{users: 100_000, sessions: 1_000_000, orgs: 10_000}}
	for range 50 {
		e, err := newEnv(ctx, "large", st, p)
		if err != nil {
			t.Fatal(err)
		}
		e.close()
		switch {
		case e.subject < smallSizes.users || p.role(e.subject) != auth.RoleEndUser || !p.verified(e.subject) || !p.active(e.subject):
			t.Fatalf("subject %d: role %s, verified %t, active %t", e.subject, p.role(e.subject), p.verified(e.subject), p.active(e.subject))
		case e.staff < smallSizes.users || p.role(e.staff) != auth.RoleStaff:
			t.Fatalf("staff user %d: role %s", e.staff, p.role(e.staff))
		case e.org < smallSizes.orgs || e.member.role == auth.OrgOwner || !slices.Contains(p.orgMembers(e.org), e.member):
			t.Fatalf("org %d, member %+v of %+v", e.org, e.member, p.orgMembers(e.org))
		}
	}
}
