// Package testservices starts private PostgreSQL and Redis servers for tests
// that must stop, restart or break them.
//
// The shared services that internal/testenv hands out are used by other tests
// running at the same time and must never be restarted. A fault test calls
// [StartPostgres] or [StartRedis] instead: each starts a fresh server on a
// free loopback port, owned by the test alone, and removes it when the test
// ends. Both are tuned for speed, not durability (no fsync, no persistence).
//
// When the server binaries are not installed the test is skipped with a
// message naming them, unless AUTHD_REQUIRE_SERVICES=1, in which case it
// fails. AUTHD_TEST_PG_BIN names the directory holding initdb and pg_ctl when
// they are neither under /usr/lib/postgresql/<version>/bin nor on PATH;
// AUTHD_TEST_REDIS_SERVER names the redis-server binary.
//
// The methods that start and stop a server report failure with t.Fatalf, so
// call them from the test's own goroutine.
package testservices

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/auth/internal/testenv"
	"github.com/authd/auth/internal/testkit"
)

// startTimeout bounds how long a server may take to start or stop.
const startTimeout = 30 * time.Second

func missing(t testing.TB, what string, err error) {
	t.Helper()
	if testenv.Required() {
		t.Fatalf("%s is required (AUTHD_REQUIRE_SERVICES=1) but unavailable: %v", what, err)
	}
	t.Skipf("skipping: %s unavailable (%v); install it or set AUTHD_REQUIRE_SERVICES=1 to fail instead", what, err)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Postgres is a private PostgreSQL server started by [StartPostgres].
type Postgres struct {
	t      testing.TB
	bin    string // directory holding initdb and pg_ctl
	dir    string // owned by the server's user; holds data/, the socket and the log
	port   int
	asUser string // run the binaries as this user (via runuser) when non-empty
}

// pgBinDir finds the directory that holds initdb and pg_ctl.
func pgBinDir() (string, error) {
	if d := os.Getenv("AUTHD_TEST_PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { // newest version first
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
				return d, nil
			}
		}
	}
	p, err := exec.LookPath("pg_ctl")
	if err != nil {
		return "", fmt.Errorf("pg_ctl not found under /usr/lib/postgresql/*/bin or on PATH (set AUTHD_TEST_PG_BIN)")
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	return filepath.Dir(p), nil
}

// StartPostgres initialises a new cluster in a temporary directory, starts it
// on a free loopback port with trust authentication for user postgres, and
// stops and removes it when the test ends. When the test runs as root the
// server runs as the postgres user (PostgreSQL refuses to run as root).
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin, err := pgBinDir()
	if err != nil {
		missing(t, "PostgreSQL server binaries", err)
	}
	p := &Postgres{t: t, bin: bin, port: freePort(t)}
	dir, err := os.MkdirTemp("", "authd-pg-")
	if err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	p.dir = dir
	t.Cleanup(func() {
		p.pgctl("stop", "-m", "immediate") // best effort: it may be stopped already
		os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			missing(t, "PostgreSQL (running as root needs a postgres user)", err)
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			missing(t, "PostgreSQL (running as root needs runuser)", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatalf("chown %s: %v", dir, err)
		}
		p.asUser = "postgres"
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("chmod %s: %v", dir, err)
	}
	out, err := p.run(filepath.Join(bin, "initdb"), "-D", p.dataDir(), "-A", "trust", "-U", "postgres",
		"-E", "UTF8", "--locale=C", "-N")
	if err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.Start()
	return p
}

func (p *Postgres) dataDir() string { return filepath.Join(p.dir, "data") }
func (p *Postgres) logFile() string { return filepath.Join(p.dir, "server.log") }

// run runs a server binary, as p.asUser when set, and returns its output.
func (p *Postgres) run(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout+10*time.Second)
	defer cancel()
	var cmd *exec.Cmd
	if p.asUser != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", p.asUser, "--", name}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, name, args...)
	}
	cmd.Dir = p.dir
	return cmd.CombinedOutput()
}

func (p *Postgres) pgctl(args ...string) ([]byte, error) {
	base := []string{"-D", p.dataDir(), "-w", "-t", strconv.Itoa(int(startTimeout / time.Second))}
	return p.run(filepath.Join(p.bin, "pg_ctl"), append(base, args...)...)
}

// serverOptions are the postgres options: this port, a socket in p.dir,
// loopback only, and durability traded for speed.
func (p *Postgres) serverOptions() string {
	return fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100", p.port, p.dir)
}

func (p *Postgres) fail(action string, err error, out []byte) {
	p.t.Helper()
	log, _ := os.ReadFile(p.logFile())
	if len(log) > 4000 {
		log = log[len(log)-4000:]
	}
	p.t.Fatalf("pg_ctl %s: %v\n%s\nserver log (tail):\n%s", action, err, out, log)
}

// URL returns the postgres:// URL of the server's postgres database as user
// postgres (trust authentication, no TLS).
func (p *Postgres) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// Port returns the TCP port the server listens on; it does not change across
// Stop and Start.
func (p *Postgres) Port() int { return p.port }

// Start starts the server (again) on its port and waits until it accepts
// connections.
func (p *Postgres) Start() {
	p.t.Helper()
	if out, err := p.pgctl("start", "-l", p.logFile(), "-o", p.serverOptions()); err != nil {
		p.fail("start", err, out)
	}
}

// Stop shuts the server down in fast mode: open sessions are terminated
// (SQLSTATE 57P01) and open transactions rolled back. It waits until the
// server has exited.
func (p *Postgres) Stop() {
	p.t.Helper()
	if out, err := p.pgctl("stop", "-m", "fast"); err != nil {
		p.fail("stop", err, out)
	}
}

// Restart stops the server in fast mode and starts it again on the same port,
// waiting for both.
func (p *Postgres) Restart() {
	p.t.Helper()
	if out, err := p.pgctl("restart", "-m", "fast", "-l", p.logFile(), "-o", p.serverOptions()); err != nil {
		p.fail("restart", err, out)
	}
}

// Redis is a private Redis server started by [StartRedis].
type Redis struct {
	t    testing.TB
	bin  string
	port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	out  *testkit.Buffer
}

// StartRedis starts redis-server on a free loopback port with persistence
// off (--save "" --appendonly no), waits until it answers PING, and stops it
// when the test ends.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin := os.Getenv("AUTHD_TEST_REDIS_SERVER")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("redis-server"); err != nil {
			missing(t, "redis-server", err)
		}
	}
	r := &Redis{t: t, bin: bin, port: freePort(t)}
	t.Cleanup(func() { r.stop() })
	r.Start()
	return r
}

// URL returns the redis:// URL of the server, database 0.
func (r *Redis) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

// Addr returns the server's host:port.
func (r *Redis) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// Start starts the server (again) on its port and waits until it answers
// PING. Starting a running server is an error.
func (r *Redis) Start() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		r.t.Fatalf("redis-server on port %d is already running", r.port)
	}
	out := new(testkit.Buffer)
	cmd := exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", os.TempDir())
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	r.cmd, r.done, r.out = cmd, done, out

	deadline := time.Now().Add(startTimeout)
	for {
		if ping(r.Addr()) == nil {
			return
		}
		select {
		case <-done:
			r.cmd = nil
			r.t.Fatalf("redis-server exited during start-up:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server did not answer PING within %v:\n%s", startTimeout, out.String())
		}
		time.Sleep(20 * time.Millisecond) // polling an external process
	}
}

// Stop terminates the server and waits until it has exited; clients see
// their connections closed and new connections refused.
func (r *Redis) Stop() {
	r.t.Helper()
	if err := r.stop(); err != nil {
		r.t.Fatalf("stop redis-server: %v", err)
	}
}

func (r *Redis) stop() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return nil
	}
	cmd, done := r.cmd, r.done
	r.cmd = nil
	cmd.Process.Kill()
	select {
	case <-done:
		return nil
	case <-time.After(startTimeout):
		return fmt.Errorf("redis-server (pid %d) did not exit", cmd.Process.Pid)
	}
}

// ping sends an inline PING and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}
