package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

// The paths of authd's API the bench calls (API.md: base path /api/v1).
const (
	mePath      = "/api/v1/auth/me/"
	loginPath   = "/api/v1/auth/login/"
	refreshPath = "/api/v1/auth/token/refresh/"
	healthPath  = "/healthz"
	reportsPath = "/api/reports"
	barePath    = "/api/bare-reports"
)

// newClient returns a client whose connections to each host are kept
// alive and reused: at most conns at once, all of them kept idle between
// requests.
func newClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        2 * conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

// outcome is what one request came to.
type outcome struct {
	status     int    // 0 for a transport error
	code       string // the problem's code, when asked for and not 2xx
	retryAfter bool   // the answer had a Retry-After header
	err        error
}

func (o outcome) ok() bool { return o.err == nil && o.status >= 200 && o.status < 300 }

// key names a failed outcome in the error breakdown: "503 overloaded",
// "401", "timeout", "transport".
func (o outcome) key() string {
	if o.err != nil {
		var ne net.Error
		if errors.As(o.err, &ne) && ne.Timeout() || errors.Is(o.err, os.ErrDeadlineExceeded) {
			return "timeout"
		}
		return "transport"
	}
	k := strconv.Itoa(o.status)
	if o.code != "" {
		k += " " + o.code
	}
	return k
}

// do sends req and reads the answer to the end. With problem, the code of
// an error answer is read from its body.
func do(client *http.Client, req *http.Request, problem bool) outcome {
	res, err := client.Do(req)
	if err != nil {
		return outcome{err: err}
	}
	o := outcome{status: res.StatusCode}
	if o.status >= 300 {
		o.retryAfter = res.Header.Get("Retry-After") != ""
		if problem {
			var p struct {
				Code string `json:"code"`
			}
			b, _ := io.ReadAll(io.LimitReader(res.Body, 16<<10))
			json.Unmarshal(b, &p)
			o.code = p.Code
		}
	}
	drain(res)
	return o
}

// post sends body as JSON to url.
func post(ctx context.Context, client *http.Client, url string, body []byte, problem bool) outcome {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return outcome{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	return do(client, req, problem)
}

// getRequest returns a GET request for url with an optional Bearer token.
// A worker sends it again and again: a request may be reused once the
// previous answer's body is closed.
func getRequest(ctx context.Context, url, token string) *http.Request {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		panic(err) // the bench's own URLs
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// tally is one worker's count, merged at the end.
type tally struct {
	lat        []time.Duration // the successful requests that ended inside the window
	failures   map[string]int  // the failed ones, by outcome.key
	noRetry    int             // 429 and 503 answers without Retry-After, in the window
	okAll      int             // every success, warm-up included
	firstError error           // the first transport error
}

func (t *tally) add(o outcome, d time.Duration, counted bool) {
	if o.ok() {
		t.okAll++
		if counted {
			t.lat = append(t.lat, d)
		}
		return
	}
	if o.err != nil && t.firstError == nil {
		t.firstError = o.err
	}
	if !counted {
		return
	}
	if t.failures == nil {
		t.failures = map[string]int{}
	}
	t.failures[o.key()]++
	if (o.status == http.StatusTooManyRequests || o.status == http.StatusServiceUnavailable) && !o.retryAfter {
		t.noRetry++
	}
}

// result is a scenario's figures.
type result struct {
	Name, What string
	Server     string        // "authd" or "mount": whose memory Peak is
	Window     time.Duration // the measured time
	OK         int           // successful requests in the window
	Latency    []time.Duration
	Failures   map[string]int
	NoRetry    int
	OKAll      int
	FirstError error
	Peak       int64 // the server's peak RSS during the scenario, 0 when unknown
	// Sessions is how many sessions the database gained during a login
	// scenario (warm-up included, to compare with OKAll); -1 when not
	// counted.
	Sessions int
}

// Rate is the successful requests per second.
func (r *result) Rate() float64 { return float64(r.OK) / r.Window.Seconds() }

// Errors is the number of failed requests in the window.
func (r *result) Errors() int {
	n := 0
	for _, v := range r.Failures {
		n += v
	}
	return n
}

// Quantile returns the q-quantile of the successful requests' latency.
func (r *result) Quantile(q float64) time.Duration { return quantile(r.Latency, q) }

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// measure runs n workers for warm + d. newOp gives worker w its request
// function, called again and again until the end; only requests that end
// in the window after the warm-up are counted. It returns the merged
// tallies.
func measure(ctx context.Context, n int, warm, d time.Duration, newOp func(w int) func(context.Context) outcome) *result {
	from := time.Now().Add(warm)
	to := from.Add(d)
	tallies := make([]tally, n)
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			op := newOp(w)
			t := &tallies[w]
			t.lat = make([]time.Duration, 0, 1024)
			for ctx.Err() == nil {
				start := time.Now()
				if !start.Before(to) {
					return
				}
				o := op(ctx)
				end := time.Now()
				t.add(o, end.Sub(start), !end.Before(from) && !end.After(to))
			}
		})
	}
	wg.Wait()
	r := &result{Window: d, Failures: map[string]int{}, Sessions: -1}
	total := 0
	for _, t := range tallies {
		total += len(t.lat)
	}
	r.Latency = make([]time.Duration, 0, total)
	for _, t := range tallies {
		r.Latency = append(r.Latency, t.lat...)
		for k, v := range t.failures {
			r.Failures[k] += v
		}
		r.NoRetry += t.noRetry
		r.OKAll += t.okAll
		if r.FirstError == nil {
			r.FirstError = t.firstError
		}
	}
	slices.Sort(r.Latency)
	r.OK = len(r.Latency)
	return r
}

// memoryWatch samples a process's RSS every 100 ms until stopped, and
// reads its VmHWM at the end when it could reset it at the start.
type memoryWatch struct {
	pid     int
	reset   bool
	stopped chan struct{}
	done    chan struct{}
	maxRSS  int64
}

// watchMemory starts watching pid; 0 watches nothing.
func watchMemory(pid int) *memoryWatch {
	m := &memoryWatch{pid: pid, stopped: make(chan struct{}), done: make(chan struct{})}
	if pid == 0 {
		close(m.done)
		return m
	}
	m.reset = resetPeak(pid)
	go func() {
		defer close(m.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if mem, err := readMemory(pid); err == nil {
				m.maxRSS = max(m.maxRSS, mem.RSS)
			}
			select {
			case <-m.stopped:
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

// stop ends the watch and returns the peak RSS seen: VmHWM when it could
// be reset, else the highest sample (0 when not watching).
func (m *memoryWatch) stop() (peak, maxSampled int64) {
	if m.pid == 0 {
		return 0, 0
	}
	close(m.stopped)
	<-m.done
	peak = m.maxRSS
	if mem, err := readMemory(m.pid); err == nil {
		peak = max(peak, mem.RSS)
		if m.reset {
			peak = max(peak, mem.HWM)
		}
	}
	return peak, m.maxRSS
}

// probeResult is the latency of one kind of probe during the flood.
type probeResult struct {
	What     string
	Latency  []time.Duration // successful probes, sorted
	Failures map[string]int
}

// probe sends req every interval (or right after the previous answer,
// when that took longer) until stop is closed.
func probe(client *http.Client, req *http.Request, every time.Duration, stop <-chan struct{}) probeResult {
	var t tally
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		start := time.Now()
		o := do(client, req, false)
		t.add(o, time.Since(start), true)
		select {
		case <-stop:
			slices.Sort(t.lat)
			return probeResult{Latency: t.lat, Failures: t.failures}
		case <-tick.C:
		}
	}
}

// floodResult is what the login flood came to.
type floodResult struct {
	Clients    int
	Duration   time.Duration
	WrongShare float64
	Logins     *result // OK are the 200s; Failures by status
	Probes     []probeResult
	// Memory of authd, 0 when unknown.
	Before, PeakSampled, Peak int64
	// After the flood.
	HealthAfter, MeAfter, LoginAfter string // "200" or what came instead
	// Sessions the database gained during the flood; -1 when not counted.
	Sessions int
}

// flood runs the login flood against authd while probing it and watching
// its memory (when the bench started it), then checks that it still
// answers and, through the database, that every login answered 200 opened
// a session.
func (e *env) flood(ctx context.Context) (*floodResult, error) {
	cfg := e.cfg
	f := &floodResult{Clients: cfg.FloodConns, Duration: cfg.FloodDuration, WrongShare: cfg.FloodWrong, Sessions: -1}
	if e.authdPID != 0 {
		if m, err := readMemory(e.authdPID); err == nil {
			f.Before = m.RSS
		}
	}
	sessionsBefore, countErr := e.countSessions(ctx)

	stopProbes := make(chan struct{})
	probes := make([]probeResult, 2)
	var wg sync.WaitGroup
	for i, p := range []struct{ what, path, token string }{
		{"GET /healthz", healthPath, ""},
		{"GET " + mePath, mePath, e.probe.access},
	} {
		wg.Go(func() {
			probes[i] = probe(newClient(1), getRequest(ctx, e.authd+p.path, p.token), cfg.ProbeEvery, stopProbes)
			probes[i].What = p.what
		})
	}
	watch := watchMemory(e.authdPID)
	client := newClient(cfg.FloodConns)
	logins := measure(ctx, cfg.FloodConns, 0, cfg.FloodDuration, func(w int) func(context.Context) outcome {
		rng := rand.New(rand.NewPCG(uint64(w), 42))
		next := w
		return func(ctx context.Context) outcome {
			u := e.users[next%len(e.users)]
			next += cfg.FloodConns
			body := u.loginBody
			if rng.Float64() < cfg.FloodWrong {
				body = u.wrongBody
			}
			return post(ctx, client, e.authd+loginPath, body, false)
		}
	})
	f.Peak, f.PeakSampled = watch.stop()
	close(stopProbes)
	wg.Wait()
	client.CloseIdleConnections()
	logins.Name, logins.What, logins.Server = "flood", "POST "+loginPath, "authd"
	f.Logins, f.Probes = logins, probes
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	if countErr == nil {
		if after, err := e.countSessions(ctx); err == nil {
			f.Sessions = after - sessionsBefore
		}
	}
	// Does it still answer?
	f.HealthAfter = statusText(getStatus(ctx, e.client, e.authd+healthPath, ""))
	f.MeAfter = statusText(getStatus(ctx, e.client, e.authd+mePath, e.probe.access))
	if _, err := login(ctx, e.client, e.authd, e.users, 0); err != nil {
		f.LoginAfter = err.Error()
	} else {
		f.LoginAfter = "200"
	}
	return f, e.alive()
}

func statusText(status int, err error) string {
	if err != nil {
		return err.Error()
	}
	return strconv.Itoa(status)
}
