package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/authd/auth/internal/machine"
)

// highLimit is every RATE_LIMIT_* of the servers the bench starts: the
// limiter runs, but never throttles the bench.
const highLimit = "1000000/s"

// rateLimitVars are the rate-limit variables of cmd/authd (env.go).
var rateLimitVars = []string{"RATE_LIMIT_LOGIN", "RATE_LIMIT_LOGIN_IP", "RATE_LIMIT_LOGIN_FAILURES",
	"RATE_LIMIT_REGISTER_IP", "RATE_LIMIT_FORGOT_PASSWORD", "RATE_LIMIT_FORGOT_PASSWORD_IP",
	"RATE_LIMIT_VERIFY_RESEND", "RATE_LIMIT_SSO_START_IP", "RATE_LIMIT_INVITE", "RATE_LIMIT_REFRESH"}

// env is a bench run's state: the servers, the users and their sessions.
type env struct {
	cfg                config
	authd, mount       string // base URLs
	authdPID, mountPID int    // 0 when not started by the bench
	dbURL              string
	users              []benchUser
	sessions           []*session // one per worker, of users 0..c-1
	probe              *session   // the flood's probe
	client             *http.Client
	servers            []*server
}

// report is everything a run measured.
type report struct {
	Date                    time.Time
	CPU                     string
	Cores                   int
	GoVersion, OS, Load     string
	Managed                 bool // the bench started the servers
	DB, Redis               string
	Argon2                  string
	Users, Conns            int
	Duration, Warmup        time.Duration
	ProbeEvery              time.Duration
	StartAuthd, StartMount  int64 // RSS once answering, 0 when unknown
	IdleAuthd, IdleMount    int64 // RSS after setup, 0 when unknown
	Results                 []*result
	Flood                   *floodResult
	PeakAuthd, PeakMount    int64 // the highest peak of any scenario, or idle
	AuthdOpts, Skipped, Log []string
}

// run runs the bench and writes its report to stdout; progress goes to
// stderr.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) (*report, error) {
	progress := func(format string, args ...any) { fmt.Fprintf(stderr, "authbench: "+format+"\n", args...) }
	rep := &report{Date: time.Now().UTC(), CPU: machine.CPUModel(), Cores: runtime.NumCPU(), GoVersion: runtime.Version(),
		OS: runtime.GOOS + "/" + runtime.GOARCH, Load: machine.LoadAverages()[0], Managed: cfg.Target == "",
		Users: cfg.Users, Conns: cfg.Conns, Duration: cfg.Duration, Warmup: cfg.Warmup, ProbeEvery: cfg.ProbeEvery, Redis: "none"}
	if cfg.RedisURL != "" {
		rep.Redis = "Redis"
	}
	e := &env{cfg: cfg, client: newClient(cfg.Conns + 2)}
	defer e.client.CloseIdleConnections()

	tmp, err := os.MkdirTemp("", "authbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	if cfg.Target != "" {
		e.dbURL, e.authd, e.mount = cfg.TargetDB, strings.TrimRight(cfg.Target, "/"), strings.TrimRight(cfg.MountTarget, "/")
	}
	bin := cfg.BinDir
	if bin != "" {
		if bin, err = filepath.Abs(bin); err != nil {
			return nil, err
		}
	}
	if cfg.Target == "" {
		if bin == "" {
			bin = filepath.Join(tmp, "bin")
			progress("building ./cmd/authd and ./examples/mount")
			if err := buildServers(ctx, bin); err != nil {
				return nil, err
			}
		}
		switch {
		case cfg.DB == "sqlite":
			e.dbURL = "sqlite:" + filepath.Join(tmp, "authd.db")
		case cfg.DSN != "":
			e.dbURL = cfg.DSN
		default:
			url, drop, err := createDatabase(ctx, cfg.PGAdmin)
			if err != nil {
				return nil, err
			}
			defer func() {
				if err := drop(); err != nil {
					progress("%v", err)
				}
			}()
			e.dbURL = url
		}
		defer e.stopServers(stderr) // before the database is dropped
	}

	progress("creating %d users", cfg.Users)
	seed, err := seedUsers(ctx, e.dbURL, cfg.Users)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	e.users, rep.DB, rep.Argon2 = seed.users, seed.dbInfo, seed.argon2

	if cfg.Target == "" {
		if err := e.startServers(ctx, bin, tmp, rep); err != nil {
			return nil, err
		}
	}
	if err := e.signIn(ctx); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	if e.authdPID != 0 {
		m, _ := readMemory(e.authdPID)
		rep.IdleAuthd, rep.PeakAuthd = m.RSS, m.HWM
	}
	if e.mountPID != 0 {
		m, _ := readMemory(e.mountPID)
		rep.IdleMount, rep.PeakMount = m.RSS, m.HWM
	}

	for _, name := range allScenarios {
		if !cfg.wants(name) {
			continue
		}
		if (name == "host" || name == "bare") && e.mount == "" {
			rep.Skipped = append(rep.Skipped, name+" (no -mount-target)")
			continue
		}
		if err := e.freshen(ctx); err != nil {
			return nil, err
		}
		if name == "flood" {
			progress("flood: %d clients for %s", cfg.FloodConns, cfg.FloodDuration)
			f, err := e.flood(ctx)
			if err != nil {
				return nil, err
			}
			rep.Flood = f
			rep.PeakAuthd = max(rep.PeakAuthd, f.Peak)
			continue
		}
		progress("%s: %d connections for %s after a %s warm-up", name, cfg.Conns, cfg.Duration, cfg.Warmup)
		r, err := e.scenario(ctx, name)
		if err != nil {
			return nil, err
		}
		if r.Server == "mount" {
			rep.PeakMount = max(rep.PeakMount, r.Peak)
		} else {
			rep.PeakAuthd = max(rep.PeakAuthd, r.Peak)
		}
		rep.Results = append(rep.Results, r)
	}
	rep.write(stdout, cfg.Markdown)
	return rep, nil
}

// startServers starts authd and, when a scenario needs it, the host
// application, on the bench's database with one JWT secret, and waits
// until they answer.
func (e *env) startServers(ctx context.Context, bin, tmp string, rep *report) error {
	cfg := e.cfg
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	e.authd = "http://" + addr
	secret := randomString(32) // 43 characters
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp, "TMPDIR=" + os.TempDir(),
		"JWT_SECRET_KEY=" + secret, "PUBLIC_URL=" + e.authd, "JWT_AUDIENCE=authd"}
	authdEnv := append(append([]string{}, base...), "ADDR="+addr, "DATABASE_URL="+e.dbURL,
		"SECRET_KEY="+randomString(32), "MAIL_DIR="+filepath.Join(tmp, "mail"),
		"LOG_LEVEL=warn", "ACCESS_TOKEN_TTL=1h")
	for _, v := range rateLimitVars {
		authdEnv = append(authdEnv, v+"="+highLimit)
	}
	if cfg.RedisURL != "" {
		authdEnv = append(authdEnv, "REDIS_URL="+cfg.RedisURL)
	}
	rep.AuthdOpts = []string{"LOG_LEVEL=warn", "ACCESS_TOKEN_TTL=1h", "RATE_LIMIT_*=" + highLimit}
	authd, err := startServer("authd", filepath.Join(bin, "authd"), []string{"serve"}, authdEnv, tmp,
		filepath.Join(tmp, "authd.log"), e.authd)
	if err != nil {
		return err
	}
	e.servers = append(e.servers, authd)
	if err := authd.waitReady(ctx, e.client, healthPath); err != nil {
		return err
	}
	e.authdPID = authd.pid()
	if m, err := readMemory(e.authdPID); err == nil {
		rep.StartAuthd = m.RSS
	}

	if !cfg.needsMount() {
		return nil
	}
	if addr, err = freeAddr(); err != nil {
		return err
	}
	e.mount = "http://" + addr
	mount, err := startServer("mount", filepath.Join(bin, "mount"),
		[]string{"-addr", addr, "-data", filepath.Join(tmp, "mount"), "-db", e.dbURL}, base, tmp,
		filepath.Join(tmp, "mount.log"), e.mount)
	if err != nil {
		return err
	}
	e.servers = append(e.servers, mount)
	if err := mount.waitReady(ctx, e.client, barePath); err != nil {
		return err
	}
	e.mountPID = mount.pid()
	if m, err := readMemory(e.mountPID); err == nil {
		rep.StartMount = m.RSS
	}
	return nil
}

// stopServers stops the servers the bench started, once.
func (e *env) stopServers(stderr io.Writer) {
	for i := len(e.servers) - 1; i >= 0; i-- {
		if err := e.servers[i].stop(); err != nil {
			fmt.Fprintln(stderr, "authbench:", err)
		}
	}
	e.servers = nil
}

// alive returns an error when a server the bench started has exited.
func (e *env) alive() error {
	for _, s := range e.servers {
		if err := s.alive(); err != nil {
			return err
		}
	}
	return nil
}

// signIn opens a session per worker (users 0..c-1, cycling) and one for
// the flood's probe, a few logins at a time.
func (e *env) signIn(ctx context.Context) error {
	e.sessions = make([]*session, e.cfg.Conns+1)
	errs := make([]error, len(e.sessions))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2*runtime.NumCPU())
	for i := range e.sessions {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			e.sessions[i], errs[i] = login(ctx, e.client, e.authd, e.users, i%len(e.users))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	e.probe, e.sessions = e.sessions[len(e.sessions)-1], e.sessions[:len(e.sessions)-1]
	return nil
}

// freshen refreshes the sessions whose access token is over two minutes
// old, so that none expires during a scenario (ACCESS_TOKEN_TTL is 1h on
// the servers the bench starts, 5 minutes by default elsewhere).
func (e *env) freshen(ctx context.Context) error {
	for _, s := range append([]*session{e.probe}, e.sessions...) {
		if time.Since(s.issued) < 2*time.Minute {
			continue
		}
		if err := s.renew(ctx, e.client, e.authd); err != nil {
			return fmt.Errorf("renew a session: %w", err)
		}
	}
	return nil
}

// countSessions counts the sessions in the bench's database.
func (e *env) countSessions(ctx context.Context) (int, error) { return countSessions(ctx, e.dbURL) }

// scenario runs one of the scenarios but the flood.
func (e *env) scenario(ctx context.Context, name string) (*result, error) {
	cfg := e.cfg
	var newOp func(w int) func(context.Context) outcome
	var what, srv = "", "authd"
	client := e.client
	switch name {
	case "me":
		what = "GET " + mePath
		newOp = func(w int) func(context.Context) outcome {
			req := getRequest(ctx, e.authd+mePath, e.sessions[w].access)
			return func(context.Context) outcome { return do(client, req, true) }
		}
	case "login":
		what = "POST " + loginPath
		newOp = func(w int) func(context.Context) outcome {
			next := w
			return func(ctx context.Context) outcome {
				u := e.users[next%len(e.users)]
				next += cfg.Conns
				return post(ctx, client, e.authd+loginPath, u.loginBody, true)
			}
		}
	case "refresh":
		what = "POST " + refreshPath
		newOp = func(w int) func(context.Context) outcome {
			s := e.sessions[w]
			return func(ctx context.Context) outcome { return refreshOnce(ctx, client, e, s) }
		}
	case "host":
		what, srv = "GET "+reportsPath+" (host app)", "mount"
		newOp = func(w int) func(context.Context) outcome {
			req := getRequest(ctx, e.mount+reportsPath, e.sessions[w].access)
			return func(context.Context) outcome { return do(client, req, true) }
		}
	case "bare":
		what, srv = "GET "+barePath+" (host app)", "mount"
		newOp = func(w int) func(context.Context) outcome {
			req := getRequest(ctx, e.mount+barePath, "")
			return func(context.Context) outcome { return do(client, req, true) }
		}
	default:
		return nil, fmt.Errorf("unknown scenario %q", name)
	}
	pid := e.authdPID
	if srv == "mount" {
		pid = e.mountPID
	}
	var before int
	var countErr error = errors.New("not counted")
	if name == "login" {
		before, countErr = e.countSessions(ctx)
	}
	watch := watchMemory(pid)
	r := measure(ctx, cfg.Conns, cfg.Warmup, cfg.Duration, newOp)
	r.Peak, _ = watch.stop()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.Name, r.What, r.Server = name, what, srv
	if countErr == nil {
		if after, err := e.countSessions(ctx); err == nil {
			r.Sessions = after - before
		}
	}
	return r, e.alive()
}

// refreshOnce rotates s's refresh token. When the chain breaks (which
// should never happen) the failure is counted and the session replaced by
// a new login, so the worker goes on.
func refreshOnce(ctx context.Context, client *http.Client, e *env, s *session) outcome {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.authd+refreshPath, strings.NewReader(string(refreshBody(s.refresh))))
	if err != nil {
		return outcome{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return outcome{err: err}
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	o := outcome{status: res.StatusCode, err: err}
	var t struct {
		tokens
		Code string `json:"code"`
	}
	json.Unmarshal(body, &t)
	if o.ok() && t.Refresh != "" {
		s.access, s.refresh, s.issued = t.Access, t.Refresh, time.Now()
		return o
	}
	o.code, o.retryAfter = t.Code, res.Header.Get("Retry-After") != ""
	if o.ok() {
		o.status, o.code = 0, "no refresh token in the answer"
		o.err = errors.New(o.code)
	}
	if fresh, err := login(ctx, client, e.authd, e.users, s.user); err == nil {
		*s = *fresh
	}
	return o
}
