package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/authd/auth/httpapi"
)

// metrics returns the series of the HTTP API (pass them as
// httpapi.Config.Metrics) and the handler of GET /metrics, which serves
// them with the Go runtime's and the process's on a registry of its own.
// authd_active_sessions reads the store at most every 30 seconds.
//
// authd_audit_sealing_lag_seconds reads the store's sealing lag at most
// every 5 seconds.
//
// With REDIS_URL, authd_ratelimit_fallback is 1 while the rate limiter
// answers from memory because Redis is unreachable, and
// authd_ratelimit_fallback_total counts the times it fell back. With
// EMAIL_HOST, authd_mail_failures_total counts the messages given up
// (after every retry, refused for good, or dropped because too many were
// pending) and authd_mail_pending the messages waiting for delivery or a
// retry. Call a.mailer() before metrics, so that the mailer exists.
func (a *app) metrics() (*httpapi.Metrics, http.Handler) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if lim := a.limiter; lim != nil {
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "authd_ratelimit_fallback",
				Help: "1 while the rate limiter answers from this instance's memory because Redis is unreachable, else 0."},
				func() float64 {
					if lim.Fallback() {
						return 1
					}
					return 0
				}),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "authd_ratelimit_fallback_total",
				Help: "Times the rate limiter fell back to in-memory limits because Redis was unreachable."},
				func() float64 { return float64(lim.Fallbacks()) }))
	}
	if mail := a.mailRetry; mail != nil {
		reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "authd_mail_failures_total",
				Help: "Mail messages given up: not delivered after every retry, refused for good by the server, or refused because too many were pending."},
				func() float64 { return float64(mail.Failures()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "authd_mail_pending",
				Help: "Mail messages waiting for delivery or for a retry."},
				func() float64 { return float64(mail.Pending()) }))
	}
	m := httpapi.NewMetrics(reg)
	m.WatchStats(a.store, httpapi.SampleConfig{})
	m.SetAuditSealingLag(func(ctx context.Context) (time.Duration, error) {
		return a.store.AuditSealingLag(ctx, time.Now())
	}, httpapi.SampleConfig{MaxAge: 5 * time.Second})
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		// A collector that fails leaves its series out; the rest is
		// still served.
		ErrorHandling:       promhttp.ContinueOnError,
		Registry:            reg,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
	return m, promhttp.InstrumentMetricHandler(reg, h)
}

// metricsServer serves GET /metrics alone on METRICS_ADDR, beside the main
// listener.
type metricsServer struct {
	srv  *http.Server
	log  *slog.Logger
	errc chan error
}

// serveMetrics starts serving h at GET /metrics on METRICS_ADDR and returns
// the server, or nil (whose Shutdown does nothing) when METRICS_ADDR is not
// set: then the caller serves h on the main listener.
func (a *app) serveMetrics(h http.Handler) (*metricsServer, error) {
	if a.settings.MetricsAddr == "" {
		return nil, nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{
		Addr:              a.settings.MetricsAddr,
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return nil, fmt.Errorf("METRICS_ADDR: %w", err)
	}
	a.log.Info("metrics serving", "addr", ln.Addr().String())
	ms := &metricsServer{srv: srv, log: a.log, errc: make(chan error, 1)}
	go func() { ms.errc <- srv.Serve(ln) }()
	return ms, nil
}

// Shutdown stops the metrics server gracefully, within 10 seconds, and
// logs what went wrong. A nil server does nothing.
func (ms *metricsServer) Shutdown() {
	if ms == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ms.srv.Shutdown(ctx); err != nil {
		ms.log.Warn("metrics server shutdown", "err", err)
	}
	if err := <-ms.errc; !errors.Is(err, http.ErrServerClosed) {
		ms.log.Warn("metrics server", "err", err)
	}
}
