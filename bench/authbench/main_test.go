package main

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/auth/internal/testenv"
)

// binaries builds authd and mount once for every test of the package.
var binaries struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binaries.dir != "" {
		os.RemoveAll(binaries.dir)
	}
	os.Exit(code)
}

// binDir returns the directory of the built servers.
func binDir(t *testing.T) string {
	t.Helper()
	binaries.once.Do(func() {
		if binaries.dir, binaries.err = os.MkdirTemp("", "authbench-test-"); binaries.err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			binaries.err = buildServers(ctx, binaries.dir)
		}
	})
	if binaries.err != nil {
		t.Fatal(binaries.err)
	}
	return binaries.dir
}

// shortConfig is the command line's defaults, cut down to run in seconds
// (a second per scenario: a login can take a few hundred milliseconds on a
// busy machine).
func shortConfig(t *testing.T, args ...string) config {
	t.Helper()
	cfg, err := parseFlags(append([]string{"-d", "1s", "-warmup", "100ms", "-c", "2", "-users", "10",
		"-flood-c", "20", "-flood-d", "1s", "-markdown", "-bin", binDir(t)}, args...), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// runBench runs the bench and fails the test with its progress and
// output when it fails.
func runBench(t *testing.T, cfg config) (*report, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the servers")
	}
	var out, progress bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := run(ctx, cfg, &out, &progress)
	if err != nil {
		t.Fatalf("run: %v\nprogress:\n%s", err, progress.String())
	}
	t.Logf("report:\n%s", out.String())
	return rep, out.String()
}

// checkScenario asserts that a scenario ran and every request succeeded.
func checkScenario(t *testing.T, rep *report, name string, memory bool) *result {
	t.Helper()
	r := rep.result(name)
	switch {
	case r == nil:
		t.Fatalf("%s: no result", name)
	case r.OK == 0 || len(r.Latency) != r.OK:
		t.Errorf("%s: %d successful requests, %d latencies", name, r.OK, len(r.Latency))
	case r.Errors() != 0:
		t.Errorf("%s: errors %v (first transport error %v)", name, r.Failures, r.FirstError)
	case !slices.IsSorted(r.Latency) || r.Quantile(0.5) <= 0 || r.Quantile(0.99) < r.Quantile(0.5):
		t.Errorf("%s: latencies not sorted or empty: p50 %v, p99 %v", name, r.Quantile(0.5), r.Quantile(0.99))
	case memory && r.Peak <= 0:
		t.Errorf("%s: no peak RSS", name)
	}
	return r
}

// TestEveryScenarioSQLite runs every scenario, the flood included, for a
// moment against servers the bench starts on SQLite.
func TestEveryScenarioSQLite(t *testing.T) {
	cfg := shortConfig(t, "-scenarios", strings.Join(allScenarios, ","))
	rep, out := runBench(t, cfg)

	for _, name := range []string{"me", "login", "refresh", "host", "bare"} {
		checkScenario(t, rep, name, true)
	}
	if l := rep.result("login"); l != nil && (l.Sessions != l.OKAll || l.OKAll < l.OK) {
		t.Errorf("login: %d answered 200 (%d in the window) but %d sessions created", l.OKAll, l.OK, l.Sessions)
	}
	if rep.StartAuthd <= 0 || rep.IdleAuthd <= 0 || rep.IdleMount <= 0 || rep.PeakAuthd < rep.IdleAuthd {
		t.Errorf("memory: authd started %d, idle %d, peak %d; mount idle %d",
			rep.StartAuthd, rep.IdleAuthd, rep.PeakAuthd, rep.IdleMount)
	}

	f := rep.Flood
	if f == nil {
		t.Fatal("no flood result")
	}
	total := f.Logins.OK
	for k, n := range f.Logins.Failures {
		total += n
		if k != "401" && k != "503" { // a wrong password, or the hash queue is full
			t.Errorf("flood: %d× %s (first transport error %v)", n, k, f.Logins.FirstError)
		}
	}
	if total == 0 || f.Logins.NoRetry != 0 {
		t.Errorf("flood: %d answers, %d 429/503 without Retry-After", total, f.Logins.NoRetry)
	}
	for _, p := range f.Probes {
		if len(p.Latency) == 0 || len(p.Failures) != 0 {
			t.Errorf("flood probe %s: %d answered, failures %v", p.What, len(p.Latency), p.Failures)
		}
	}
	if f.HealthAfter != "200" || f.MeAfter != "200" || f.LoginAfter != "200" {
		t.Errorf("after the flood: healthz %s, me %s, login %s", f.HealthAfter, f.MeAfter, f.LoginAfter)
	}
	if f.Sessions != f.Logins.OKAll {
		t.Errorf("flood: %d logins answered 200 but %d sessions created", f.Logins.OKAll, f.Sessions)
	}
	if f.Peak <= 0 || f.Before <= 0 {
		t.Errorf("flood: RSS before %d, peak %d", f.Before, f.Peak)
	}

	for _, want := range []string{"| me | GET /api/v1/auth/me/ |", "| host |", "| bare |", "host/bare: ",
		"#### Login flood", "| 503 overloaded |", "| GET /healthz |", "nothing lost", rep.CPU, rep.GoVersion} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

// TestPostgres runs the scenarios that touch the database against servers
// on PostgreSQL (a database of the test's own).
func TestPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the servers")
	}
	dsn := testenv.PostgresURL(t)
	rep, _ := runBench(t, shortConfig(t, "-db", "postgres", "-dsn", dsn, "-scenarios", "me,login,refresh,host"))
	for _, name := range []string{"me", "login", "refresh", "host"} {
		checkScenario(t, rep, name, true)
	}
	if !strings.HasPrefix(rep.DB, "pg") && !strings.HasPrefix(rep.DB, "postgres") {
		t.Errorf("database %q, want PostgreSQL", rep.DB)
	}
}

// TestFlags checks the defaults and the refusals of the command line.
func TestFlags(t *testing.T) {
	cfg, err := parseFlags(nil, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DB != "sqlite" || cfg.Conns != 16 || cfg.Duration != 10*time.Second || cfg.Warmup != time.Second ||
		cfg.FloodConns != 500 || cfg.FloodDuration != 30*time.Second || cfg.wants("flood") ||
		!slices.Equal(cfg.Scenarios, []string{"me", "login", "refresh", "host", "bare"}) {
		t.Errorf("defaults: %+v", cfg)
	}
	var discard bytes.Buffer
	for _, args := range [][]string{
		{"-db", "mysql"},
		{"-scenarios", "me,logn"},
		{"-target", "http://127.0.0.1:8080"}, // no -target-db
		{"-target-db", "sqlite:x.db"},        // no -target
		{"-c", "0"},
		{"-flood-wrong", "1.5"},
		{"extra"},
	} {
		if _, err := parseFlags(args, &discard); err == nil {
			t.Errorf("%q: accepted", args)
		}
	}
}
