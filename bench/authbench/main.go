// Command authbench is a load generator for authd: it measures the
// throughput, latency and memory of the REST API and of a host application
// that mounts it, and how authd holds up under a login flood. It needs
// nothing but Go (and PostgreSQL or Redis when asked to use them).
//
//	go run ./bench/authbench                         # SQLite, every scenario but the flood
//	go run ./bench/authbench -d 5s -scenarios me,login,refresh,host,bare,flood -markdown
//	go run ./bench/authbench -db postgres -redis redis://127.0.0.1:6379/0
//	go run ./bench/authbench -target http://127.0.0.1:8080 -target-db sqlite:./data/authd.db -scenarios me,login
//
// By default it builds ./cmd/authd and ./examples/mount into a temporary
// directory and runs them as child processes on a fresh database (a SQLite
// file in the temporary directory, or a new PostgreSQL database
// authbench_<random> that is dropped at the end), with one JWT secret, so
// the access tokens authd issues are accepted by the host application. It
// reads their resident memory from /proc/<pid>/status.
//
// Setup writes the bench users straight into the database through the
// storage package, which is much faster than registering and verifying
// each over HTTP: one account is registered through the library's
// Authenticator with its default Argon2id parameters (authd's, since
// cmd/authd does not change them), and its password hash is copied to the
// others, all verified STAFF users. Logins therefore check a real hash with
// the server's parameters; a server with other parameters rehashes each
// user once, at its first login. Sessions are then opened by logging in
// over HTTP.
//
// The servers run with every RATE_LIMIT_* raised to 1000000/s (the
// limiter still runs, but never throttles the bench), ACCESS_TOKEN_TTL=1h
// and LOG_LEVEL=warn (no line per request); any 429 is reported as an
// error. With -target the bench drives a server that is already running
// (its own limits apply; -target-db names its database, for the setup) and
// cannot report memory.
//
// Scenarios (-scenarios, in this order):
//
//	me       GET /api/v1/auth/me/ with a Bearer token (signature check + session read)
//	login    POST /api/v1/auth/login/ with the right password, spread over the users
//	refresh  POST /api/v1/auth/token/refresh/, each connection chaining its own session
//	host     GET /api/reports on the host application: RequireAuth, the user read, Guard
//	bare     GET /api/bare-reports on the host application: no check (host's baseline)
//	flood    -flood-c clients send logins, some with a wrong password, for -flood-d,
//	         while probes time GET /healthz and GET /api/v1/auth/me/ every -probe-every
//
// Each scenario but the flood runs -c connections for -d after a -warmup
// that is not counted.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// defaultPGAdmin is the PostgreSQL server -db postgres creates its
// database on when -dsn is not given.
const defaultPGAdmin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// allScenarios lists every scenario in the order they run.
var allScenarios = []string{"me", "login", "refresh", "host", "bare", "flood"}

// config is the command line.
type config struct {
	DB          string // sqlite or postgres
	DSN         string // a PostgreSQL database to use as is
	PGAdmin     string // the server to create a fresh database on
	RedisURL    string
	Target      string // an authd to drive instead of starting one
	TargetDB    string // its database, for the setup
	MountTarget string // a host application to drive for host and bare
	BinDir      string // prebuilt authd and mount binaries

	Scenarios []string
	Conns     int
	Duration  time.Duration
	Warmup    time.Duration
	Users     int

	FloodConns    int
	FloodDuration time.Duration
	FloodWrong    float64
	ProbeEvery    time.Duration

	Markdown bool
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if err == flag.ErrHelp {
			return
		}
		fmt.Fprintln(os.Stderr, "authbench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "authbench:", err)
		stop()
		os.Exit(1)
	}
}

// parseFlags reads the command line into a config and checks it.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("authbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.DB, "db", "sqlite", "database of the servers it starts: sqlite or postgres")
	fs.StringVar(&cfg.DSN, "dsn", "", "with -db postgres: the database to use as is (default: create authbench_<random> on -pg-admin and drop it after)")
	fs.StringVar(&cfg.PGAdmin, "pg-admin", defaultPGAdmin, "with -db postgres and no -dsn: the server to create the fresh database on")
	fs.StringVar(&cfg.RedisURL, "redis", "", "REDIS_URL for authd (shared rate limiter and broadcaster); default none")
	fs.StringVar(&cfg.Target, "target", "", "base URL of a running authd to drive instead of starting one (no memory figures)")
	fs.StringVar(&cfg.TargetDB, "target-db", "", "with -target: the DATABASE_URL of that authd, to create the bench users in")
	fs.StringVar(&cfg.MountTarget, "mount-target", "", "with -target: base URL of a running examples/mount on the same database and secret, for host and bare")
	fs.StringVar(&cfg.BinDir, "bin", "", "directory holding prebuilt authd and mount binaries (default: go build them)")
	scenarios := fs.String("scenarios", "me,login,refresh,host,bare", "comma-separated scenarios: "+strings.Join(allScenarios, ","))
	fs.IntVar(&cfg.Conns, "c", 16, "connections (concurrent workers) per scenario")
	fs.DurationVar(&cfg.Duration, "d", 10*time.Second, "measured duration of each scenario")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "unmeasured warm-up before each scenario")
	fs.IntVar(&cfg.Users, "users", 1000, "bench users to create")
	fs.IntVar(&cfg.FloodConns, "flood-c", 500, "concurrent clients of the login flood")
	fs.DurationVar(&cfg.FloodDuration, "flood-d", 30*time.Second, "duration of the login flood")
	fs.Float64Var(&cfg.FloodWrong, "flood-wrong", 0.5, "share of the flood's logins that use a wrong password")
	fs.DurationVar(&cfg.ProbeEvery, "probe-every", 10*time.Millisecond, "interval of each probe during the flood")
	fs.BoolVar(&cfg.Markdown, "markdown", false, "print Markdown tables (for docs/benchmarks.md)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, s := range strings.Split(*scenarios, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.Scenarios = append(cfg.Scenarios, s)
		}
	}
	return cfg, cfg.check()
}

// check reports the first invalid setting.
func (c config) check() error {
	switch {
	case c.DB != "sqlite" && c.DB != "postgres":
		return fmt.Errorf("-db %q: want sqlite or postgres", c.DB)
	case c.Target == "" && (c.TargetDB != "" || c.MountTarget != ""):
		return fmt.Errorf("-target-db and -mount-target go with -target")
	case c.Target != "" && c.TargetDB == "":
		return fmt.Errorf("-target needs -target-db, the database of that authd, to create the bench users in")
	case c.Conns < 1 || c.FloodConns < 1 || c.Users < 1:
		return fmt.Errorf("-c, -flood-c and -users must be at least 1")
	case c.Duration <= 0 || c.FloodDuration <= 0 || c.Warmup < 0 || c.ProbeEvery <= 0:
		return fmt.Errorf("-d, -flood-d and -probe-every must be positive, -warmup not negative")
	case c.FloodWrong < 0 || c.FloodWrong > 1:
		return fmt.Errorf("-flood-wrong %v: want a share between 0 and 1", c.FloodWrong)
	case len(c.Scenarios) == 0:
		return fmt.Errorf("-scenarios: name at least one of %s", strings.Join(allScenarios, ","))
	}
	for _, s := range c.Scenarios {
		if !slices.Contains(allScenarios, s) {
			return fmt.Errorf("-scenarios: unknown scenario %q (want %s)", s, strings.Join(allScenarios, ","))
		}
	}
	return nil
}

// wants reports whether scenario s was asked for.
func (c config) wants(s string) bool { return slices.Contains(c.Scenarios, s) }

// needsMount reports whether a scenario drives the host application.
func (c config) needsMount() bool { return c.wants("host") || c.wants("bare") }
