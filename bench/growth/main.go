// Command growth measures whether the hot paths stay as fast with a large
// database as with a nearly empty one: login, refresh, GET /auth/me/ and
// the two guard checks, in process, against a database of a handful of
// rows ("small") and one of 1,000,000 sessions, 100,000 users and 10,000
// organisations ("large"), and prints the ratio of each pair with PASS
// when the large figure is within 10 % of the small one. It then prints
// the query plans of the queries behind them on the large database (and
// the small database's where they differ), and flags any that reads a
// whole table.
//
//	go run ./bench/growth -db sqlite -markdown
//	go run ./bench/growth -db postgres -markdown
//	go run ./bench/growth -db sqlite -sessions 2000 -users 200 -orgs 20 -rounds 1
//	go run ./bench/growth -db postgres -ops guard-org,guard-global -rounds 9
//
// Both databases are fresh: SQLite files in a temporary directory, or two
// PostgreSQL databases growth_<random>_small and growth_<random>_large made
// on -pg and dropped at the end (-small-url and -large-url name existing
// empty databases instead, which are left as they are). Each is migrated,
// given the default permissions and seeded, the large one in bulk (COPY on
// PostgreSQL, multi-row INSERTs in large transactions on SQLite), then
// analysed and checkpointed (VACUUM ANALYZE and CHECKPOINT on PostgreSQL,
// ANALYZE and wal_checkpoint(TRUNCATE) on SQLite), and opened again for
// the measurements.
//
// Each operation runs a -warmup on each database, then -rounds rounds of
// -round on each, the two taking turns every -slice (small, large, large,
// small, …) so that a change in the machine's load falls on both alike; a
// figure is the median of its rounds. Login hashes with Argon2id at 8 KiB,
// 1 iteration (the database's part dominates); rate limits, the
// verified-token cache and the guard's user cache are off, so every call
// does its full work.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/authd/auth"
	"github.com/authd/auth/internal/machine"
	"github.com/authd/auth/storage"
)

// defaultPostgres is the server the PostgreSQL databases are made on.
const defaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// smallSizes is the nearly empty database: a handful of each.
var smallSizes = sizes{users: 10, sessions: 20, orgs: 2, audit: true}

// config is the command line.
type config struct {
	args               []string // as given, for the report
	db                 string
	large              sizes
	rounds             int
	round, slice       time.Duration
	warmup             time.Duration
	ops                []string // keys of the operations to measure
	markdown           bool
	pg                 string
	smallURL, largeURL string
}

// turns returns how many turns each database takes in a round, and how
// long each lasts: -round cut into pieces of about -slice.
func (c config) turns() (int, time.Duration) {
	n := max(1, int(c.round/c.slice))
	return n, c.round / time.Duration(n)
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	c := config{args: args}
	fs := flag.NewFlagSet("growth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.db, "db", "sqlite", "database: sqlite or postgres")
	fs.IntVar(&c.large.users, "users", 100_000, "users of the large database")
	fs.IntVar(&c.large.sessions, "sessions", 1_000_000, "sessions of the large database")
	fs.IntVar(&c.large.orgs, "orgs", 10_000, "organisations of the large database (each with an OWNER and one to five other members)")
	fs.BoolVar(&c.large.audit, "audit", true, "seed one auth.login audit event per session")
	fs.IntVar(&c.rounds, "rounds", 5, "rounds per operation and database; a figure is their median")
	fs.DurationVar(&c.round, "round", time.Second, "duration of a round")
	fs.DurationVar(&c.slice, "slice", 100*time.Millisecond, "within a round, how long each database runs before the other takes over")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "warm-up per operation and database, not counted")
	ops := fs.String("ops", "login,refresh,me,guard-global,guard-org", "operations to measure, comma-separated")
	fs.BoolVar(&c.markdown, "markdown", false, "print Markdown tables (for docs/benchmarks.md)")
	fs.StringVar(&c.pg, "pg", defaultPostgres, "PostgreSQL server URL on which to create (and drop) the two databases")
	fs.StringVar(&c.smallURL, "small-url", "", "an existing empty database for the small figures (postgres://… or sqlite:PATH), used instead of creating one")
	fs.StringVar(&c.largeURL, "large-url", "", "an existing empty database for the large figures, used instead of creating one")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	for key := range strings.SplitSeq(*ops, ",") {
		if key = strings.TrimSpace(key); key == "" {
			continue
		}
		if !slices.ContainsFunc(operations, func(o operation) bool { return o.key == key }) {
			return c, fmt.Errorf("-ops: unknown operation %q (want login, refresh, me, guard-global, guard-org)", key)
		}
		c.ops = append(c.ops, key)
	}
	if len(c.ops) == 0 {
		return c, errors.New("-ops names no operation")
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case c.db != "sqlite" && c.db != "postgres":
		return c, fmt.Errorf("-db %q: want sqlite or postgres", c.db)
	case (c.smallURL == "") != (c.largeURL == ""):
		return c, errors.New("-small-url and -large-url go together")
	case c.large.users < smallSizes.users || c.large.sessions < smallSizes.sessions || c.large.orgs < smallSizes.orgs:
		return c, fmt.Errorf("the large database needs at least %d users, %d sessions and %d orgs", smallSizes.users, smallSizes.sessions, smallSizes.orgs)
	case c.rounds < 1 || c.round <= 0 || c.slice <= 0 || c.warmup < 0:
		return c, errors.New("-rounds must be at least 1, and -round and -slice positive")
	}
	return c, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err == nil {
		err = run(ctx, cfg, os.Stdout, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "growth:", err)
		os.Exit(1)
	}
}

// run makes, seeds and measures the two databases and writes the report
// to w; progress goes to progress.
func run(ctx context.Context, cfg config, w, progress io.Writer) (err error) {
	smallURL, largeURL := cfg.smallURL, cfg.largeURL
	if smallURL == "" {
		var cleanup func() error
		smallURL, largeURL, cleanup, err = makeDatabases(ctx, cfg)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, cleanup()) }()
	}
	rep := &report{cfg: cfg, started: time.Now().UTC(), loadStart: loadAverages()}
	base := time.Now().UTC().Truncate(time.Second)
	hash, err := passwordHash()
	if err != nil {
		return err
	}

	dbs := []struct {
		label, url string
		pop        *population
	}{
		{"small", smallURL, &population{sizes: smallSizes, base: base, hash: hash}},
		{"large", largeURL, &population{sizes: cfg.large, base: base, hash: hash}},
	}
	for _, d := range dbs {
		fmt.Fprintf(progress, "seeding the %s database (%d users, %d sessions, %d orgs)\n", d.label, d.pop.users, d.pop.sessions, d.pop.orgs)
		seeded, analyzed, err := prepareDatabase(ctx, d.url, d.pop, progress)
		if err != nil {
			return fmt.Errorf("%s database: %w", d.label, err)
		}
		fmt.Fprintf(progress, "  seeded in %s, analysed in %s\n", seeded.Round(time.Millisecond), analyzed.Round(time.Millisecond))
		if d.label == "large" {
			rep.seedTime, rep.analyzeTime = seeded, analyzed
		}
	}
	// The figures are taken on stores opened afresh, after all the
	// seeding, as a server started on these databases would have them.
	// (On SQLite, connections opened before a large bulk load and kept
	// through it measured up to a third slower on the same point lookups
	// than fresh ones: an artefact of this process, not of the database.)
	var envs [2]*env
	for i, d := range dbs {
		st, err := storage.Open(ctx, d.url)
		if err != nil {
			return fmt.Errorf("%s database: %w", d.label, err)
		}
		defer st.Close()
		e, err := newEnv(ctx, d.label, st, d.pop)
		if err != nil {
			return fmt.Errorf("%s database: %w", d.label, err)
		}
		defer e.close()
		if e.counts, err = countRows(ctx, st); err != nil {
			return err
		}
		envs[i] = e
	}
	rep.dialect, rep.version = envs[1].st.Dialect(), dbVersion(ctx, envs[1].st)
	rep.small, rep.large = envs[0], envs[1]

	rep.loadMeasure = loadAverages()
	if rep.results, err = measureAll(ctx, cfg, envs, progress); err != nil {
		return err
	}
	rep.loadEnd = loadAverages()
	if rep.smallEnd, err = countRows(ctx, envs[0].st); err != nil {
		return err
	}
	fmt.Fprintln(progress, "explaining the hot queries")
	if rep.plans, err = explainAll(ctx, envs[1]); err != nil {
		return err
	}
	if rep.smallPlans, err = explainAll(ctx, envs[0]); err != nil {
		return err
	}
	rep.write(w, cfg.markdown)
	return nil
}

// prepareDatabase migrates the database at url, gives it the default
// permissions, seeds it with p and analyses it, and returns how long the
// seeding and the analysis took.
func prepareDatabase(ctx context.Context, url string, p *population, progress io.Writer) (seeded, analyzed time.Duration, err error) {
	st, err := openStore(ctx, url)
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	t0 := time.Now()
	if err := seed(ctx, st, p, progress); err != nil {
		return 0, 0, err
	}
	seeded = time.Since(t0)
	t0 = time.Now()
	if err := analyze(ctx, st); err != nil {
		return 0, 0, err
	}
	return seeded, time.Since(t0), nil
}

// openStore opens, migrates and seeds the default permissions of url.
func openStore(ctx context.Context, url string) (*storage.Store, error) {
	st, err := storage.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	if _, err := auth.SeedPermissions(ctx, st); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// makeDatabases creates the two databases of cfg.db and returns their URLs
// and a function that removes them.
func makeDatabases(ctx context.Context, cfg config) (small, large string, cleanup func() error, err error) {
	if cfg.db == "sqlite" {
		dir, err := os.MkdirTemp("", "growth-")
		if err != nil {
			return "", "", nil, err
		}
		return "sqlite:" + filepath.Join(dir, "small.db"), "sqlite:" + filepath.Join(dir, "large.db"),
			func() error { return os.RemoveAll(dir) }, nil
	}
	admin, err := sql.Open("pgx", cfg.pg)
	if err != nil {
		return "", "", nil, err
	}
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		return "", "", nil, fmt.Errorf("connect to %s: %w", redact(cfg.pg), err)
	}
	b := make([]byte, 4)
	rand.Read(b)
	prefix := "growth_" + hex.EncodeToString(b)
	var made []string
	cleanup = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var errs []error
		for _, name := range made {
			if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
				errs = append(errs, fmt.Errorf("drop database %s: %w", name, err))
			}
		}
		return errors.Join(append(errs, admin.Close())...)
	}
	var urls []string
	for _, suffix := range []string{"_small", "_large"} {
		name := prefix + suffix
		if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			return "", "", nil, errors.Join(fmt.Errorf("create database %s: %w", name, err), cleanup())
		}
		made = append(made, name)
		u, err := url.Parse(cfg.pg)
		if err != nil {
			return "", "", nil, errors.Join(err, cleanup())
		}
		u.Path = "/" + name
		urls = append(urls, u.String())
	}
	return urls[0], urls[1], cleanup, nil
}

// redact drops the password of a URL, for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the PostgreSQL URL"
	}
	return u.Redacted()
}

// analyze refreshes the planner's statistics and writes the seeded pages
// out, so that neither happens while the figures are taken: VACUUM
// ANALYZE (autovacuum then has nothing left to do, and index-only scans
// see an up-to-date visibility map) and CHECKPOINT on PostgreSQL; ANALYZE
// and a WAL checkpoint on SQLite.
func analyze(ctx context.Context, st *storage.Store) error {
	stmts := []string{"ANALYZE", "PRAGMA wal_checkpoint(TRUNCATE)"}
	if st.Dialect() == storage.DialectPostgres {
		stmts = []string{"VACUUM (ANALYZE)", "CHECKPOINT"}
	}
	for _, s := range stmts {
		if _, err := st.DB().DB.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// counts is how many rows the seeded tables hold.
type counts map[string]int

var countedTables = []string{"users", "sessions", "orgs", "org_members", "audit_events"}

func countRows(ctx context.Context, st *storage.Store) (counts, error) {
	c := counts{}
	for _, t := range countedTables {
		var n int
		if err := st.DB().DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		c[t] = n
	}
	return c, nil
}

// dbVersion names the database and its version.
func dbVersion(ctx context.Context, st *storage.Store) string {
	var v string
	if st.Dialect() == storage.DialectPostgres {
		if err := st.DB().DB.QueryRowContext(ctx, "SHOW server_version").Scan(&v); err != nil {
			return "PostgreSQL"
		}
		var buffers string
		if err := st.DB().DB.QueryRowContext(ctx, "SHOW shared_buffers").Scan(&buffers); err != nil {
			return "PostgreSQL " + strings.Fields(v)[0]
		}
		return "PostgreSQL " + strings.Fields(v)[0] + " (shared_buffers " + buffers + ")"
	}
	if err := st.DB().DB.QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&v); err != nil {
		return "SQLite"
	}
	return "SQLite " + v + " (modernc.org/sqlite, a file in WAL mode)"
}

// loadAverages returns the 1, 5 and 15-minute load averages, as the
// report prints them.
func loadAverages() string {
	l := machine.LoadAverages()
	return strings.Join(l[:], " ")
}
