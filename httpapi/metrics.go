package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	auth "github.com/authd/auth"
)

// Metrics are the Prometheus series of the handler returned by [New] and of
// the library behind it. Every name starts with authd_, and no label value
// comes from the request's data: routes are ServeMux patterns
// ("/api/v1/orgs/{slug}/"), methods one of the standard ones or "other",
// outcomes error codes of the contract and limits the names of the rate
// limits, so no email, id, slug or token ever becomes a label.
//
//   - authd_http_requests_total{route,method,status}: requests answered.
//     A path that matches no route is route="unmatched".
//
//   - authd_http_request_duration_seconds{route,method}: their latency, as a
//     histogram.
//
//   - authd_logins_total{outcome}: password logins (POST /auth/login/):
//     "success", or the error code (invalid_credentials,
//     email_not_verified, account_disabled, throttled, overloaded,
//     unavailable, validation_failed, invalid_request for a body that is not JSON or too
//     large), "canceled" when the client went away and "error" for anything
//     else.
//
//   - authd_refreshes_total{outcome}: refresh-token rotations
//     (POST /auth/token/refresh/), with the same outcomes (invalid_token,
//     token_reused, …).
//
//   - authd_token_reuse_detections_total: refresh tokens presented again
//     after their rotation (each one revoked its session).
//
//   - authd_throttled_requests_total{limit}: requests refused with 429, by
//     the rate limit that refused them (login, login_ip, register_ip, …).
//
//   - authd_password_hash_queue_depth: password hashes running or waiting
//     ([auth.Authenticator.HashQueueDepth]), read at each scrape.
//
//   - authd_active_sessions: sessions active now, once [Metrics.WatchStats]
//     names the store; absent before.
//
//   - authd_audit_sealing_lag_seconds: how far audit sealing is behind,
//     once [Metrics.SetAuditSealingLag] gives a way to measure it; absent
//     before.
//
//   - authd_password_hash_seconds{phase}: how long each password hash
//     waited for a slot (phase="wait") and ran (phase="run"), once
//     [Metrics.ObserveHash] is passed as auth.Config.OnHash.
//
// One Metrics may serve several handlers; it is safe for concurrent use.
type Metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	logins    *prometheus.CounterVec
	refreshes *prometheus.CounterVec
	reuses    prometheus.Counter
	throttled *prometheus.CounterVec

	hashTime  *prometheus.HistogramVec
	hashQueue *sampledGauge
	sessions  *sampledGauge
	auditLag  *sampledGauge
}

// NewMetrics returns the series described at [Metrics], registered on reg
// (a nil reg registers nothing, for a caller that gathers them otherwise).
// Pass the result as [Config].Metrics. Like MustRegister, NewMetrics panics
// when reg already has series of these names: register one Metrics per
// registry, and share it between handlers.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authd_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "authd_http_request_duration_seconds",
			Help: "Time to answer an HTTP request, by route pattern and method.",
			// Argon2id puts logins and registrations around 50–500 ms; the
			// default buckets (5 ms to 10 s) cover them and the fast paths.
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authd_logins_total",
			Help: "Password logins, by outcome: success or the error code.",
		}, []string{"outcome"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authd_refreshes_total",
			Help: "Refresh-token rotations, by outcome: success or the error code.",
		}, []string{"outcome"}),
		reuses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "authd_token_reuse_detections_total",
			Help: "Refresh tokens presented again after their rotation; each revoked its session.",
		}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authd_throttled_requests_total",
			Help: "Requests refused with 429, by the rate limit that refused them.",
		}, []string{"limit"}),
		hashTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "authd_password_hash_seconds",
			Help:    "Time a password hash waited for a slot (phase=wait) and ran (phase=run).",
			Buckets: []float64{.001, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5},
		}, []string{"phase"}),
		hashQueue: newSampledGauge("authd_password_hash_queue_depth",
			"Password hashes running or waiting for a slot."),
		sessions: newSampledGauge("authd_active_sessions",
			"Sessions active now (read from the database at most once per interval)."),
		auditLag: newSampledGauge("authd_audit_sealing_lag_seconds",
			"How far the sealing of the audit log into its hash chain is behind, in seconds."),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration, m.logins, m.refreshes, m.reuses, m.throttled,
			m.hashTime, m.hashQueue, m.sessions, m.auditLag)
	}
	return m
}

// ObserveHash records one password hash; pass it as auth.Config.OnHash
// when building the Authenticator.
func (m *Metrics) ObserveHash(wait, run time.Duration) {
	m.hashTime.WithLabelValues("wait").Observe(wait.Seconds())
	m.hashTime.WithLabelValues("run").Observe(run.Seconds())
}

// SampleConfig says how a gauge read from outside the process (the
// database) is refreshed.
type SampleConfig struct {
	// MaxAge is how long a reading is reused: every scrape within MaxAge
	// of the last reading gets that reading, so scrapes never hammer the
	// database. Zero means 30 seconds; a negative MaxAge reads at every
	// scrape.
	MaxAge time.Duration
	// Now is the clock of the cache and of the counts; nil means time.Now.
	Now func() time.Time
}

// defaultSampleMaxAge is SampleConfig.MaxAge's default.
const defaultSampleMaxAge = 30 * time.Second

// sampleTimeout bounds one reading during a scrape.
const sampleTimeout = 5 * time.Second

// WatchStats makes authd_active_sessions report the active sessions that
// st.Stats counts, read at most once per cfg.MaxAge. A reading that fails
// leaves the series out of the scrapes until the next reading, rather than
// report a stale count. A later call replaces st. Safe for concurrent use.
func (m *Metrics) WatchStats(st auth.StatsStore, cfg SampleConfig) {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	m.sessions.set(func(ctx context.Context) (float64, error) {
		s, err := st.Stats(ctx, now())
		return float64(s.ActiveSessions), err
	}, cfg)
}

// SetAuditSealingLag makes authd_audit_sealing_lag_seconds report what lag
// returns (for instance the age of the oldest audit event not sealed yet,
// zero when every event is sealed), read at most once per cfg.MaxAge. A
// reading that fails leaves the series out until the next one. A later call
// replaces lag. Safe for concurrent use.
func (m *Metrics) SetAuditSealingLag(lag func(ctx context.Context) (time.Duration, error), cfg SampleConfig) {
	m.auditLag.set(func(ctx context.Context) (float64, error) {
		d, err := lag(ctx)
		return d.Seconds(), err
	}, cfg)
}

// wrap makes authd_password_hash_queue_depth read a's queue (the last
// handler built wins) and returns next instrumented: every request is
// counted and timed by route, and the error its handler returned (see
// noteError) counts the logins, refreshes, reuses and throttles. A nil m
// returns next as it is. Put it inside addTrailingSlash, so that the
// request it sees is the one ServeMux records the pattern on.
func (m *Metrics) wrap(a *auth.Authenticator, next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	m.hashQueue.set(func(context.Context) (float64, error) {
		return float64(a.HashQueueDepth()), nil
	}, SampleConfig{MaxAge: -1})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		o := &observation{}
		r = r.WithContext(context.WithValue(r.Context(), observationKey{}, o))
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		m.observe(r, sw.statusCode(), o.err, time.Since(start))
	})
}

// observe records one answered request.
func (m *Metrics) observe(r *http.Request, status int, err error, took time.Duration) {
	route, method := routeLabel(r.Pattern), methodLabel(r.Method)
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(took.Seconds())
	if r.Method == http.MethodPost {
		switch route {
		case apiPrefix + "/auth/login/":
			m.logins.WithLabelValues(outcomeLabel(status, err)).Inc()
		case apiPrefix + "/auth/token/refresh/":
			m.refreshes.WithLabelValues(outcomeLabel(status, err)).Inc()
		}
	}
	if errors.Is(err, auth.ErrTokenReused) {
		m.reuses.Inc()
	}
	if te := (*auth.ThrottledError)(nil); errors.As(err, &te) {
		limit := te.Limit
		if limit == "" {
			limit = "unknown"
		}
		m.throttled.WithLabelValues(limit).Inc()
	}
}

// observation is what the handler of one request tells the metrics: the
// error it answered with. wrap puts it in the request's context and
// writeError fills it in through noteError.
type observation struct {
	err error
}

type observationKey struct{}

// noteError records err as the answer of the request whose context is ctx,
// when Metrics observe it. writeError calls it for every error it writes.
func noteError(ctx context.Context, err error) {
	if o, _ := ctx.Value(observationKey{}).(*observation); o != nil {
		o.err = err
	}
}

// routeLabel turns the pattern ServeMux recorded ("POST /api/v1/orgs/{slug}/{$}")
// into a route label ("/api/v1/orgs/{slug}/"): the wildcards stay names,
// never values. The catch-all 404 and a request that reached no pattern are
// "unmatched".
func routeLabel(pattern string) string {
	if _, path, ok := strings.Cut(pattern, " "); ok {
		pattern = path
	}
	pattern = strings.TrimSuffix(pattern, "{$}")
	if pattern == "" || pattern == "/" {
		return "unmatched"
	}
	return pattern
}

// methodLabel is method when it is a standard one, else "other": the method
// is the client's to choose, and a label must have few values.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}

// outcomeLabel is "success" for a request answered without an error, else
// the error's code, the malformed-body codes folded into invalid_request,
// "canceled" when the client went away and "error" for the rest.
func outcomeLabel(status int, err error) string {
	switch {
	case err == nil && status < 400:
		return "success"
	case err == nil:
		return "error" // a panic recovered into a 500
	case status == statusClientClosedRequest:
		return "canceled"
	}
	p, ok := problemFor(err)
	if !ok {
		return "error"
	}
	switch p.code {
	case "unsupported_media_type", "payload_too_large", "method_not_allowed":
		return "invalid_request"
	}
	return p.code
}

// sampledGauge is a gauge read from a function at scrape time, the reading
// kept for a while so that a costly one (a database count) runs at most
// once per interval whatever the scrape rate. It reports nothing while it
// has no function or its last reading failed.
type sampledGauge struct {
	desc *prometheus.Desc

	mu     sync.Mutex
	read   func(context.Context) (float64, error) // nil: nothing to report
	maxAge time.Duration                          // negative: read at every scrape
	now    func() time.Time
	at     time.Time // of the last reading; zero before the first
	value  float64
	ok     bool // whether the last reading succeeded
}

func newSampledGauge(name, help string) *sampledGauge {
	return &sampledGauge{desc: prometheus.NewDesc(name, help, nil, nil), now: time.Now}
}

// set replaces the function read and forgets the last reading.
func (g *sampledGauge) set(read func(context.Context) (float64, error), cfg SampleConfig) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.read, g.maxAge, g.now, g.at, g.ok = read, cfg.MaxAge, cfg.Now, time.Time{}, false
	if g.maxAge == 0 {
		g.maxAge = defaultSampleMaxAge
	}
	if g.now == nil {
		g.now = time.Now
	}
}

// Describe sends the gauge's one description.
func (g *sampledGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

// Collect sends the current reading, when there is one.
func (g *sampledGauge) Collect(ch chan<- prometheus.Metric) {
	if v, ok := g.sample(); ok {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, v)
	}
}

// sample returns the last reading, reading again when it is older than
// maxAge. Concurrent scrapes wait for one reading instead of each doing
// their own.
func (g *sampledGauge) sample() (float64, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.read == nil {
		return 0, false
	}
	now := g.now()
	if g.maxAge >= 0 && !g.at.IsZero() && now.Sub(g.at) < g.maxAge {
		return g.value, g.ok
	}
	ctx, cancel := context.WithTimeout(context.Background(), sampleTimeout)
	defer cancel()
	v, err := g.read(ctx)
	g.at, g.value, g.ok = now, v, err == nil
	return g.value, g.ok
}
