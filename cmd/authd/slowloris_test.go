//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// withTimeouts gives the servers that the test starts the timeouts tt, and
// puts back the real ones when it ends. Call it before startServe, so that
// the server has stopped when they are put back.
func withTimeouts(t *testing.T, tt httpTimeouts) {
	t.Helper()
	saved := mainTimeouts
	mainTimeouts = tt
	t.Cleanup(func() { mainTimeouts = saved })
}

// raiseFileLimit makes sure the process may open n files: it raises the
// soft RLIMIT_NOFILE up to the hard limit when needed, and puts it back
// when the test ends. It skips the test when the hard limit is lower.
func raiseFileLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("getrlimit: %v", err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Skipf("skipping: the hard limit on open files is %d, the test needs %d", lim.Max, n)
	}
	saved := lim
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("setrlimit: %v", err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &saved) })
}

// dribbler writes one byte to each of its connections every period, as a
// slow-loris client sends its headers, until stop is closed. Write errors
// are ignored: the server may have closed the connection.
func dribbler(conns []net.Conn, period time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		for _, c := range conns {
			c.SetWriteDeadline(time.Now().Add(period))
			c.Write([]byte("a"))
		}
	}
}

// dialAll opens n connections to addr, with up to 50 dials at once.
func dialAll(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 50)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				errs <- err
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	close(errs)
	for err := range errs {
		t.Fatalf("dial connection: %v", err)
	}
	return conns
}

// timed runs a request and fails the test when it does not answer want
// within limit.
func timed(t *testing.T, what string, limit time.Duration, want int, do func() (*http.Response, error)) {
	t.Helper()
	began := time.Now()
	resp, err := do()
	took := time.Since(began)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want || took > limit {
		t.Errorf("%s: %d in %s, want %d within %s", what, resp.StatusCode, took, want, limit)
	}
}

// TestServeKeepsServingWithAThousandIdleConnections holds 1,000
// connections open against authd serve — 800 that send nothing and 200
// that dribble an unfinished request — and shows that the server still
// answers other clients promptly: health checks and a password login.
// (TestSlowClientsAreCutOff shows that the timeouts then close them.)
func TestServeKeepsServingWithAThousandIdleConnections(t *testing.T) {
	want := httpTimeouts{readHeader: 5 * time.Second, read: 15 * time.Second, write: 30 * time.Second, idle: 2 * time.Minute}
	if mainTimeouts != want {
		t.Fatalf("the server's timeouts are %+v, want %+v", mainTimeouts, want)
	}
	const idle, slow = 800, 200
	// Both ends of each connection are in this process.
	raiseFileLimit(t, 2*(idle+slow)+256)
	// Long enough that no connection is cut off while the test runs on a
	// slow machine; the real timeouts are tested below.
	withTimeouts(t, httpTimeouts{readHeader: time.Minute, read: time.Minute, write: time.Minute, idle: time.Minute})

	t.Chdir(t.TempDir())
	vars := map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "a.db")}
	err := run(context.Background(), []string{"createsuperuser", "--email", "root@example.com"}, envOf(vars),
		strings.NewReader("a very long admin passphrase\n"), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	base := startServe(t, vars)
	addr := strings.TrimPrefix(base, "http://")

	conns := dialAll(t, addr, idle+slow)
	partial := conns[idle:]
	for _, c := range partial {
		if _, err := io.WriteString(c, "POST /api/v1/auth/login/ HTTP/1.1\r\nHost: authd.test\r\nX-Slow: "); err != nil {
			t.Fatalf("write a partial request: %v", err)
		}
	}
	stop := make(chan struct{})
	defer close(stop)
	go dribbler(partial, 100*time.Millisecond, stop)

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range 20 {
		timed(t, fmt.Sprintf("GET /healthz #%d", i+1), time.Second, http.StatusOK, func() (*http.Response, error) {
			return client.Get(base + "/healthz")
		})
	}
	timed(t, "a login", 5*time.Second, http.StatusOK, func() (*http.Response, error) {
		return client.Post(base+"/api/v1/auth/login/", "application/json",
			strings.NewReader(`{"email":"root@example.com","password":"a very long admin passphrase"}`))
	})

	// The 1,000 are all still open: a read finds no data and no EOF.
	open := 0
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			open++
		}
	}
	if open != len(conns) {
		t.Errorf("%d of the %d connections are still open, want all (the test holds them)", open, len(conns))
	}
}

// TestSlowClientsAreCutOff runs authd serve with its timeouts shortened
// and checks that each closes the connections it is for: silent ones and
// ones dribbling their headers after ReadHeaderTimeout, one dribbling its
// body after ReadTimeout, and an idle keep-alive one after IdleTimeout,
// while other clients are served.
func TestSlowClientsAreCutOff(t *testing.T) {
	tt := httpTimeouts{readHeader: 500 * time.Millisecond, read: time.Second, write: 5 * time.Second, idle: 500 * time.Millisecond}
	const slack = 3 * time.Second // a loaded machine may close late, never early
	raiseFileLimit(t, 1024)
	withTimeouts(t, tt)
	t.Chdir(t.TempDir())
	base := startServe(t, map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "a.db")})
	addr := strings.TrimPrefix(base, "http://")

	type slowConn struct {
		kind    string
		conn    net.Conn
		timeout time.Duration // the one that applies
		// Its timeout started between from and to: the server closes it
		// between from+timeout and to+timeout (and the slack).
		from, to time.Time
	}
	var all []slowConn
	add := func(kind string, n int, timeout time.Duration, prepare func(net.Conn)) []net.Conn {
		from := time.Now()
		conns := dialAll(t, addr, n)
		for _, c := range conns {
			start := from
			if kind == "idle keep-alive" {
				start = time.Now() // idle from the end of the answer to what it sends now
			}
			if prepare != nil {
				prepare(c)
			}
			all = append(all, slowConn{kind, c, timeout, start, time.Now()})
		}
		return conns
	}
	add("silent", 50, tt.readHeader, nil)
	headers := add("dribbling headers", 50, tt.readHeader, func(c net.Conn) {
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: authd.test\r\nX-Slow: ")
	})
	bodies := add("dribbling a body", 20, tt.read, func(c net.Conn) {
		io.WriteString(c, "POST /api/v1/auth/login/ HTTP/1.1\r\nHost: authd.test\r\n"+
			"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"email\": \"")
	})
	add("idle keep-alive", 20, tt.idle, func(c net.Conn) {
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: authd.test\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var buf bytes.Buffer
		for !bytes.HasSuffix(buf.Bytes(), []byte("ok\n")) { // the whole answer, kept alive
			b := make([]byte, 512)
			n, err := c.Read(b)
			buf.Write(b[:n])
			if err != nil {
				t.Fatalf("keep-alive request: %v after %q", err, buf.String())
			}
		}
	})
	stop := make(chan struct{})
	defer close(stop)
	go dribbler(append(headers, bodies...), 50*time.Millisecond, stop)

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	timed(t, "GET /healthz beside the slow clients", time.Second, http.StatusOK, func() (*http.Response, error) {
		return client.Get(base + "/healthz")
	})

	// Each connection must be closed by the server: its read ends with
	// EOF or a reset (after any answer) within its timeout and the slack,
	// and not before the timeout.
	var wg sync.WaitGroup
	var mu sync.Mutex
	failures := map[string][]string{}
	for _, s := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.conn.SetReadDeadline(s.to.Add(s.timeout + slack))
			_, err := io.Copy(io.Discard, s.conn) // until EOF, or an error
			closedAt := time.Now()
			var problem string
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				problem = fmt.Sprintf("still open %s after its timeout of %s", s.timeout+slack, s.timeout)
			case err != nil && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, os.ErrDeadlineExceeded):
				problem = fmt.Sprintf("read: %v", err)
			case closedAt.Before(s.from.Add(s.timeout)):
				problem = fmt.Sprintf("closed after %s, before its timeout of %s", closedAt.Sub(s.from), s.timeout)
			}
			if problem != "" {
				mu.Lock()
				failures[s.kind] = append(failures[s.kind], problem)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for kind, problems := range failures {
		t.Errorf("%d %s connection(s): %s", len(problems), kind, problems[0])
	}
	timed(t, "GET /healthz after the slow clients", time.Second, http.StatusOK, func() (*http.Response, error) {
		return client.Get(base + "/healthz")
	})
}
