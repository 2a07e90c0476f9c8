package adminui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	auth "github.com/authd/auth"
	"github.com/authd/auth/httpapi"
)

// Config configures the handler returned by [New].
type Config struct {
	// Auth signs staff in and out and checks their sessions. Required.
	Auth *auth.Authenticator
	// Admin runs every page and action; its Guard decides. Required.
	Admin *auth.Admin
	// Logger receives unexpected errors (never a form value, a cookie or a
	// token); nil discards.
	Logger *slog.Logger
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Forwarded-Proto headers are believed (see [httpapi.ClientIP]);
	// empty trusts none.
	TrustedProxies []netip.Prefix
	// Prefix is the path the panel is served under, without a trailing
	// slash. Default "/admin". Mount the handler at Prefix+"/" without
	// stripping the prefix.
	Prefix string
	// IdleTimeout ends a panel session unused for this long. Default 15
	// minutes.
	IdleTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Defaults of Config.
const (
	DefaultPrefix      = "/admin"
	DefaultIdleTimeout = 15 * time.Minute
)

// maxFormBytes bounds the body of every POST.
const maxFormBytes = 64 << 10

// contentSecurityPolicy allows the panel's own stylesheet and inline
// images (the chart is inline SVG, which needs no source) and nothing
// else: no script at all.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

//go:embed templates/*.html static/admin.css
var assets embed.FS

// panel is the handler. It is immutable after New, except for the
// session store, which locks.
type panel struct {
	auth     *auth.Authenticator
	admin    *auth.Admin
	log      *slog.Logger
	trusted  []netip.Prefix
	prefix   string
	idle     time.Duration
	now      func() time.Time
	sessions *sessionStore
	pages    map[string]*template.Template
	css      []byte
	cssURL   string
	mux      *http.ServeMux
}

// New returns the admin panel's handler, serving every page under
// cfg.Prefix. It returns an error when Auth or Admin is missing, the prefix
// is not a clean absolute path, a trusted proxy range is invalid or the
// embedded templates do not parse. The handler is safe for concurrent use.
func New(cfg Config) (http.Handler, error) {
	if cfg.Auth == nil || cfg.Admin == nil {
		return nil, errors.New("adminui: Config.Auth and Config.Admin are required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if !strings.HasPrefix(cfg.Prefix, "/") || strings.HasSuffix(cfg.Prefix, "/") || strings.ContainsAny(cfg.Prefix, "{}? \t") {
		return nil, fmt.Errorf("adminui: Prefix %q must start with / and not end with one", cfg.Prefix)
	}
	for _, p := range cfg.TrustedProxies {
		if !p.IsValid() {
			return nil, fmt.Errorf("adminui: invalid trusted proxy range %v", p)
		}
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	css, err := fs.ReadFile(assets, "static/admin.css")
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(css)
	p := &panel{
		auth: cfg.Auth, admin: cfg.Admin, log: cfg.Logger, trusted: slices.Clone(cfg.TrustedProxies),
		prefix: cfg.Prefix, idle: cfg.IdleTimeout, now: cfg.Now, sessions: newSessionStore(),
		css: css, cssURL: cfg.Prefix + "/static/admin.css?v=" + hex.EncodeToString(sum[:6]),
	}
	if p.pages, err = parseTemplates(); err != nil {
		return nil, err
	}
	p.mux = p.routes()

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.errorPage(w, r, nil, http.StatusForbidden, "Forbidden", "This form was sent from another site and was refused.")
	}))
	return securityHeaders(cop.Handler(p.mux)), nil
}

// routes is the route table. Every page is a GET; every action a POST
// that needs the session's CSRF token. The audit log has no POST route.
func (p *panel) routes() *http.ServeMux {
	mux := http.NewServeMux()
	at := func(method, path string, h http.HandlerFunc) { mux.HandleFunc(method+" "+p.prefix+path, h) }

	at("GET", "/static/admin.css", p.stylesheet)
	at("GET", "/login/{$}", p.loginPage)
	at("POST", "/login/{$}", p.login)
	at("POST", "/logout/{$}", p.signedIn(p.logout))

	at("GET", "/{$}", p.signedIn(p.dashboard))
	at("GET", "/users/{$}", p.signedIn(p.users))
	at("GET", "/users/{id}/{$}", p.signedIn(p.user))
	at("POST", "/users/{id}/role/{$}", p.signedIn(p.changeRole))
	at("POST", "/users/{id}/active/{$}", p.signedIn(p.setActive))
	at("POST", "/sessions/{id}/revoke/{$}", p.signedIn(p.revokeSession))
	at("GET", "/orgs/{$}", p.signedIn(p.orgs))
	at("GET", "/orgs/{slug}/{$}", p.signedIn(p.org))
	at("GET", "/audit/{$}", p.signedIn(p.audit))
	at("GET", "/identities/{$}", p.signedIn(p.identities))
	at("GET", "/permissions/{$}", p.signedIn(p.permissions))
	at("POST", "/permissions/{scope}/{role}/{$}", p.signedIn(p.setPermissions))

	mux.HandleFunc(p.prefix, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, p.prefix+"/", http.StatusMovedPermanently)
	})
	mux.HandleFunc(p.prefix+"/", p.fallback)
	return mux
}

// fallback answers a path no route matched: 405 with Allow when the path
// is known under another method, else 404.
func (p *panel) fallback(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := p.mux.Handler(probe); pattern != "" && pattern != p.prefix+"/" {
			allow = append(allow, m)
			if m == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		p.errorPage(w, r, nil, http.StatusMethodNotAllowed, "Method not allowed", "This address does not accept "+r.Method+" requests.")
		return
	}
	p.errorPage(w, r, nil, http.StatusNotFound, "Page not found", "There is no page at this address.")
}

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// stylesheet serves the embedded CSS. Its URL carries a hash of the
// content, so it may be cached for long.
func (p *panel) stylesheet(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(p.css)
}

// client describes the request for the audit log and the rate limits.
func (p *panel) client(r *http.Request) auth.Client {
	return auth.Client{IP: httpapi.ClientIP(r, p.trusted), UserAgent: r.UserAgent()}
}

// secure reports whether r came over HTTPS: directly, or through a
// trusted proxy that says so in X-Forwarded-Proto.
func (p *panel) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https") {
		return false
	}
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	addr := peer.Addr().Unmap()
	for _, t := range p.trusted {
		if t.Contains(addr) {
			return true
		}
	}
	return false
}

// render executes page into a buffer and writes it with status, so that a
// template error never sends half a page.
func (p *panel) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	t, ok := p.pages[page]
	if !ok {
		p.log.ErrorContext(r.Context(), "adminui: unknown template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	v.Prefix, v.CSS = p.prefix, p.cssURL
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		p.log.ErrorContext(r.Context(), "adminui: render", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorPage renders an error with status. v is the signed-in view, or nil
// for a page without navigation.
func (p *panel) errorPage(w http.ResponseWriter, r *http.Request, v *view, status int, title, message string) {
	if v == nil {
		v = &view{}
	}
	v.Title, v.Data = title, errorData{Status: status, Message: message}
	p.render(w, r, status, "error", v)
}

// fail turns an error of the library into its page: 429 for a rate
// limit, 403 for a permission the Guard refused, 404 for what does not
// exist, 400 for invalid input,
// a redirect to the sign-in page when the session has ended, and a logged
// 500 for anything else.
func (p *panel) fail(w http.ResponseWriter, r *http.Request, v *view, err error) {
	var verr *auth.ValidationError
	var throttled *auth.ThrottledError
	switch {
	case errors.As(err, &throttled):
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((throttled.RetryAfter+time.Second-1)/time.Second))))
		p.errorPage(w, r, v, http.StatusTooManyRequests, "Too many requests", "Wait a moment, then try again.")
	case errors.Is(err, auth.ErrPermissionDenied):
		p.errorPage(w, r, v, http.StatusForbidden, "Forbidden", "Your role does not have the permission this page or action needs.")
	case errors.Is(err, auth.ErrNotFound):
		p.errorPage(w, r, v, http.StatusNotFound, "Not found", "It does not exist, or no longer exists.")
	case errors.As(err, &verr):
		p.errorPage(w, r, v, http.StatusBadRequest, "Invalid request", describeFields(verr))
	case errors.Is(err, auth.ErrUnauthenticated) && v != nil:
		p.endSession(w, r, v.session)
		p.toLogin(w, r, "expired")
	default:
		p.log.ErrorContext(r.Context(), "adminui: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		p.errorPage(w, r, v, http.StatusInternalServerError, "Something went wrong", "The request failed. It was logged; try again in a moment.")
	}
}

// describeFields is a validation error as one sentence.
func describeFields(verr *auth.ValidationError) string {
	keys := make([]string, 0, len(verr.Fields))
	for k := range verr.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + verr.Fields[k]
	}
	return strings.Join(parts, "; ") + "."
}
