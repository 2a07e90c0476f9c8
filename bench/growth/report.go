package main

import (
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/authd/auth/internal/machine"
)

// threshold is the largest large/small ratio that passes.
const threshold = 1.10

// report is everything the run prints.
type report struct {
	cfg                             config
	started                         time.Time
	loadStart, loadMeasure, loadEnd string
	dialect, version                string
	small, large                    *env
	smallEnd                        counts
	seedTime, analyzeTime           time.Duration
	results                         []result
	plans, smallPlans               []plan
}

func (r *report) write(w io.Writer, md bool) {
	name := "SQLite"
	if r.dialect == "postgres" {
		name = "PostgreSQL"
	}
	if md {
		fmt.Fprintf(w, "### growth: %s, %s\n\n", name, r.started.Format("2006-01-02 15:04 MST"))
	} else {
		title := "growth: " + name + ", " + r.started.Format("2006-01-02 15:04 MST")
		fmt.Fprintf(w, "%s\n%s\n\n", title, strings.Repeat("=", len(title)))
	}
	bullet := func(format string, args ...any) { fmt.Fprintf(w, "- "+format+"\n", args...) }
	args := make([]string, len(r.cfg.args))
	for i, a := range r.cfg.args {
		args[i] = a
		if strings.Contains(a, "://") {
			args[i] = redact(a) // never print a password
		}
	}
	bullet("Command: `go run ./bench/growth %s`.", strings.Join(args, " "))
	bullet("Machine: %s, %d cores, %s, %s/%s; load average (1, 5, 15 min) %s at the start, %s when measuring began, %s at the end.",
		machine.CPUModel(), runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, r.loadStart, r.loadMeasure, r.loadEnd)
	lc := r.large.counts
	auditNote := ""
	if lc["audit_events"] > 0 {
		auditNote = fmt.Sprintf(", %s audit events", thousands(lc["audit_events"]))
	}
	bullet("Database: %s. Large: %s users, %s sessions, %s organisations with %s memberships%s, seeded in %s (%s) and analysed in %s (%s). Small: %d users, %d sessions, %d organisations; %s sessions at the end (each login adds one).",
		r.version, thousands(lc["users"]), thousands(lc["sessions"]), thousands(lc["orgs"]), thousands(lc["org_members"]), auditNote,
		fmtDur(r.seedTime), map[bool]string{true: "COPY", false: "multi-row INSERTs, 100,000 rows per transaction"}[r.dialect == "postgres"],
		fmtDur(r.analyzeTime), map[bool]string{true: "VACUUM (ANALYZE), CHECKPOINT", false: "ANALYZE, wal_checkpoint(TRUNCATE)"}[r.dialect == "postgres"], r.small.counts["users"], r.small.counts["sessions"], r.small.counts["orgs"],
		thousands(r.smallEnd["sessions"]))
	bullet("Settings: Argon2id at 8 KiB, 1 iteration, parallelism 1 (cheap on purpose, so that the database's part of a login dominates); rate limits off; verified-token cache off (every /auth/me/ verifies its token fully); the Guard's user cache off (UserCacheTTL -1: every global check reads the user).")
	conns := "on the same connections throughout (each SQLite connection has a page cache of its own, which a server keeps warm by keeping its connections)"
	if r.dialect == "postgres" {
		conns = "each turn on a new connection (a new server process) warmed by one untimed call, so that where the scheduler puts the client and the server process favours neither database"
	}
	_, turn := r.cfg.turns()
	rounds := "rounds"
	if r.cfg.rounds == 1 {
		rounds = "round"
	}
	bullet("Method: in process, one goroutine, on stores opened after the seeding. Per operation, a %s warm-up on each database, then %d %s of %s on each, the two databases taking turns every %s (small, large, large, small, …) so that the machine's load falls on both alike, %s. A figure is the median of its rounds; \"rounds\" is the range of the rounds' own large/small ratios. The measured users, organisation and membership are drawn at random among the seeded rows (in the large database, among the bulk); refresh and /auth/me/ use a session opened by a login, which sits among the seeded ones.",
		r.cfg.warmup, r.cfg.rounds, rounds, r.cfg.round, turn, conns)
	fmt.Fprintln(w)

	rows := [][]string{}
	pass := 0
	for _, res := range r.results {
		rs := res.roundRatios()
		lo, hi := rs[0], rs[0]
		for _, x := range rs {
			lo, hi = min(lo, x), max(hi, x)
		}
		verdict := "MISS"
		if res.ratio() <= threshold {
			verdict = "PASS"
			pass++
		}
		rows = append(rows, []string{res.op.name, thousands(int(res.smallNs() + 0.5)), thousands(int(res.largeNs() + 0.5)),
			fmt.Sprintf("%.3f", res.ratio()), fmt.Sprintf("%.2f–%.2f", lo, hi), verdict})
	}
	table(w, md, "lrrrrl", []string{"operation", "small ns/op", "large ns/op", "ratio", "rounds", fmt.Sprintf("≤ %.2f", threshold)}, rows)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%d of %d operations within %.0f %% of their small-table figures.\n\n", pass, len(r.results), (threshold-1)*100)
	for _, res := range r.results {
		bullet("%s: %s.", res.op.name, res.op.what)
	}
	fmt.Fprintln(w)

	what := "EXPLAIN QUERY PLAN"
	if r.dialect == "postgres" {
		what = "EXPLAIN (ANALYZE, BUFFERS), in a transaction rolled back"
	}
	if md {
		fmt.Fprintf(w, "#### Query plans, large database (%s)\n\n", what)
	} else {
		t := "Query plans, large database (" + what + ")"
		fmt.Fprintf(w, "%s\n%s\n\n", t, strings.Repeat("-", len(t)))
	}
	var scanned, differ []string
	for i, p := range r.plans {
		verdict := "index lookups only"
		if len(p.scans) > 0 {
			verdict = "FULL SCAN: " + strings.Join(p.scans, "; ")
			scanned = append(scanned, p.name)
		}
		if md {
			fmt.Fprintf(w, "**%s**: %s\n\n```\n%s\n\n%s\n```\n\n", p.name, verdict, p.query, p.plan)
		} else {
			fmt.Fprintf(w, "%s: %s\n\n%s\n\n%s\n\n", p.name, verdict, indent(p.query, "    "), indent(p.plan, "    "))
		}
		if i < len(r.smallPlans) && planShape(r.smallPlans[i].plan) != planShape(p.plan) {
			differ = append(differ, p.name)
			if md {
				fmt.Fprintf(w, "On the small database the plan differs:\n\n```\n%s\n```\n\n", r.smallPlans[i].plan)
			} else {
				fmt.Fprintf(w, "On the small database the plan differs:\n\n%s\n\n", indent(r.smallPlans[i].plan, "    "))
			}
		}
	}
	if len(differ) == 0 {
		fmt.Fprintf(w, "The small database's plans have the same shape.\n")
	}
	if len(scanned) == 0 {
		fmt.Fprintf(w, "No plan reads a whole table or index: every query above is an index lookup.\n")
	} else {
		fmt.Fprintf(w, "Full scans in: %s.\n", strings.Join(scanned, "; "))
	}
}

// table prints a Markdown table (align holds 'l' or 'r' per column), or
// plain text in columns.
func table(w io.Writer, md bool, align string, head []string, rows [][]string) {
	if md {
		fmt.Fprintf(w, "| %s |\n", strings.Join(head, " | "))
		seps := make([]string, len(head))
		for i := range head {
			seps[i] = "---"
			if align[i] == 'r' {
				seps[i] = "--:"
			}
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(seps, " | "))
		for _, row := range rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(cells []string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	line(head)
	for _, row := range rows {
		line(row)
	}
	tw.Flush()
}

// thousands formats n with commas: 1,000,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// fmtDur rounds d for reading: to 0.1 s from a second up, else to 1 ms.
func fmtDur(d time.Duration) string {
	if d >= time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
