package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/authd/auth/adminui"
	"github.com/authd/auth/httpapi"
)

// httpTimeouts are the timeouts of the main listener's http.Server.
type httpTimeouts struct {
	readHeader, read, write, idle time.Duration
}

// mainTimeouts bound what a slow or idle client can hold on the main
// listener, so that slow-loris clients cannot exhaust connections (each
// costs a file descriptor and a goroutine, and net/http sets no limit on
// their number): a connection that has not sent its request headers within
// readHeader is closed, whether it sent nothing or dribbles them; a request
// whose body is not read within read fails; an answer is cut off after
// write; a keep-alive connection idle for idle is closed. It is a variable
// only so that tests can shorten it; nothing else changes it.
var mainTimeouts = httpTimeouts{readHeader: 5 * time.Second, read: 15 * time.Second,
	write: 30 * time.Second, idle: 2 * time.Minute}

// startProcs is GOMAXPROCS as the runtime chose it at start-up.
var startProcs = runtime.GOMAXPROCS(0)

// spareProcs sets GOMAXPROCS to its start-up value plus one, unless the
// environment sets GOMAXPROCS. A running password hash holds its P for
// tens of milliseconds and Go preempts it only every 10 ms, and by default
// as many hashes run at once as there are CPUs: without a spare P, a
// request arriving while every P hashes waits for that (a login flood
// pushed the p99 of /healthz to 43 ms and p50 to 9 ms; with the spare P
// 19 ms and 0.9 ms). One is enough: a P per running hash made the idle Ps'
// spinning cost logins a fifth of their throughput.
func spareProcs(getenv func(string) string) {
	if getenv("GOMAXPROCS") != "" {
		return
	}
	runtime.GOMAXPROCS(startProcs + 1)
}

// serve migrates the database and serves the REST API and the admin panel
// (at /admin/) until ctx is cancelled, then shuts down gracefully.
func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("serve takes no arguments, got %q", args)
	}
	a, err := openApp(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := a.prepare(ctx); err != nil {
		return err
	}
	// Seal the audit log into its hash chain until serve returns.
	sealCtx, stopSealer := context.WithCancel(ctx)
	sealerDone := make(chan struct{})
	go func() { runSealer(sealCtx, a); close(sealerDone) }()
	defer func() { stopSealer(); <-sealerDone }()

	// The mailer first: metrics reports on its retries.
	if _, err := a.mailer(); err != nil {
		return err
	}
	metrics, metricsHandler := a.metrics()
	trimmer := newMemoryTrimmer(2*time.Second, nil)
	defer trimmer.stop()
	a.settings.Auth.OnHash = func(wait, run time.Duration) {
		metrics.ObserveHash(wait, run)
		trimmer.hashed(wait, run)
	}
	spareProcs(getenv)
	svc, err := a.services(ctx)
	if err != nil {
		return err
	}
	// Building the services hashed a dummy password (19 MiB by default):
	// give that back before serving.
	debug.FreeOSMemory()
	api, err := httpapi.New(httpapi.Config{Auth: svc.auth, Orgs: svc.orgs, Admin: svc.admin, SSO: svc.sso,
		Logger: a.log, TrustedProxies: a.settings.TrustedProxies, Metrics: metrics})
	if err != nil {
		return err
	}
	// The admin panel, for staff with internal.dashboard.view.
	panel, err := adminui.New(adminui.Config{Auth: svc.auth, Admin: svc.admin, Logger: a.log,
		TrustedProxies: a.settings.TrustedProxies, Prefix: adminui.DefaultPrefix})
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("/", api)
	mux.Handle(adminui.DefaultPrefix+"/", panel)
	// The public keys of EdDSA/RS256 tokens; 404 with HS256.
	mux.Handle("GET /.well-known/jwks.json", httpapi.JWKS(svc.auth))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := a.ready(ctx); err != nil {
			a.log.WarnContext(ctx, "not ready", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "not ready\n")
			return
		}
		io.WriteString(w, "ok\n")
	})

	// /metrics is on the main listener unless METRICS_ADDR names its own.
	if a.settings.MetricsAddr == "" {
		mux.Handle("GET /metrics", metricsHandler)
	}
	metricsSrv, err := a.serveMetrics(metricsHandler)
	if err != nil {
		return err
	}
	defer metricsSrv.Shutdown() // after the main server's graceful shutdown

	srv := &http.Server{
		Addr:              a.settings.Addr,
		Handler:           mux,
		ReadHeaderTimeout: mainTimeouts.readHeader,
		ReadTimeout:       mainTimeouts.read,
		WriteTimeout:      mainTimeouts.write,
		IdleTimeout:       mainTimeouts.idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return err
	}
	a.log.Info("authd serving", "addr", ln.Addr().String(), "database", a.store.Dialect(),
		"redis", a.redis != nil, "version", version())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
