package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	auth "github.com/authd/auth"
)

// Config configures the handler returned by [New].
type Config struct {
	// Auth runs the account and session flows. Required.
	Auth *auth.Authenticator
	// Logger receives one line per request and every unexpected error
	// (never a body, a token or a header); nil discards.
	Logger *slog.Logger
	// TrustedProxies are the reverse proxies whose X-Forwarded-For header
	// is believed (TRUSTED_PROXIES, see [ParseTrustedProxies] and
	// [ClientIP]); empty trusts none.
	TrustedProxies []netip.Prefix
}

// apiPrefix is the base path of every route.
const apiPrefix = "/api/v1"

// server holds what the handlers share. It is immutable after New.
type server struct {
	auth    *auth.Authenticator
	log     *slog.Logger
	trusted []netip.Prefix
}

// New returns the handler of the REST contract's authentication endpoints.
// It serves them with their /api/v1 prefix, so mount it at "/" or, under a
// prefix of your own, behind [http.StripPrefix]. Every response carries an
// X-Request-Id; errors are RFC 9457 problem+json; a path is served the same
// with and without its trailing slash; a known path with another method is
// 405 method_not_allowed with an Allow header, and an unknown path 404
// not_found. New returns an error when cfg.Auth is nil or a trusted proxy
// range is invalid. The handler is safe for concurrent use.
func New(cfg Config) (http.Handler, error) {
	if cfg.Auth == nil {
		return nil, errors.New("httpapi: Config.Auth is required")
	}
	for _, p := range cfg.TrustedProxies {
		if !p.IsValid() {
			return nil, fmt.Errorf("httpapi: invalid trusted proxy range %v", p)
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{auth: cfg.Auth, log: log, trusted: slices.Clone(cfg.TrustedProxies)}

	var h http.Handler = s.mux()
	h = recoverPanics(log)(h)
	h = logRequests(log)(h)
	h = addTrailingSlash(h)
	h = securityHeaders(h)
	h = requestID(h)
	return h, nil
}

// handlerFunc is a handler that returns its error instead of writing it;
// [server.handle] turns it into an http.Handler.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route is one row of the route table: a method and a path under /api/v1
// ending in "/", with ServeMux wildcards.
type route struct {
	method  string
	path    string
	handler handlerFunc
}

// routes is the route table of API.md's Authentication section.
func (s *server) routes() []route {
	return []route{
		{http.MethodPost, "/auth/register/", s.register},
		{http.MethodPost, "/auth/verify-email/", s.verifyEmail},
		{http.MethodPost, "/auth/verify-email/resend/", s.resendVerification},
		{http.MethodPost, "/auth/login/", s.login},
		{http.MethodPost, "/auth/token/refresh/", s.refresh},
		{http.MethodPost, "/auth/logout/", s.authenticated(s.logout)},
		{http.MethodPost, "/auth/logout-all/", s.authenticated(s.logoutAll)},
		{http.MethodGet, "/auth/me/", s.authenticated(s.me)},
		{http.MethodPatch, "/auth/me/", s.authenticated(s.updateMe)},
		{http.MethodGet, "/auth/sessions/", s.authenticated(s.sessions)},
		{http.MethodDelete, "/auth/sessions/{id}/", s.authenticated(s.revokeSession)},
		{http.MethodPost, "/auth/password/change/", s.authenticated(s.changePassword)},
		{http.MethodPost, "/auth/password/set/", s.authenticated(s.setPassword)},
		{http.MethodPost, "/auth/password/forgot/", s.forgotPassword},
		{http.MethodPost, "/auth/password/reset/", s.resetPassword},
		// Identities, single sign-on, organisations and the internal
		// APIs come later.
	}
}

// mux registers the route table on a new ServeMux: "METHOD /api/v1/path/{$}"
// for each route, a method-less pattern per path that answers 405 with the
// path's methods in Allow, and a catch-all 404.
func (s *server) mux() *http.ServeMux {
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	var paths []string
	for _, rt := range s.routes() {
		pattern := apiPrefix + rt.path + "{$}"
		mux.Handle(rt.method+" "+pattern, s.handle(rt.handler))
		if _, seen := allowed[pattern]; !seen {
			paths = append(paths, pattern)
		}
		allowed[pattern] = append(allowed[pattern], rt.method)
		if rt.method == http.MethodGet {
			allowed[pattern] = append(allowed[pattern], http.MethodHead)
		}
	}
	for _, pattern := range paths {
		mux.Handle(pattern, s.handle(methodNotAllowed(allowed[pattern])))
	}
	mux.Handle("/", s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return withDetail(auth.ErrNotFound, "No endpoint at this path.")
	}))
	return mux
}

// methodNotAllowed answers 405 with methods in the Allow header.
func methodNotAllowed(methods []string) handlerFunc {
	allow := strings.Join(methods, ", ")
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Allow", allow)
		return withDetail(errMethodNotAllowed, "Allowed: "+allow+".")
	}
}

// handle is the one adapter from handlerFunc to http.Handler: it writes the
// returned error as problem+json.
func (s *server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, r, s.log, err)
		}
	})
}

// authenticatedFunc is a handler for a signed-in caller.
type authenticatedFunc func(w http.ResponseWriter, r *http.Request, p auth.Principal) error

// authenticated admits requests whose Bearer token is valid and whose
// session is still active ([auth.Authenticator.Authenticate]: stricter
// than [RequireAuth], a logout takes effect at once), stores the principal
// in the context and passes it to h. Anything else is 401 unauthenticated.
func (s *server) authenticated(h authenticatedFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		token, ok := bearerToken(r)
		if !ok {
			return auth.ErrUnauthenticated
		}
		p, err := s.auth.Authenticate(r.Context(), token)
		if err != nil {
			return err
		}
		return h(w, r.WithContext(auth.WithPrincipal(r.Context(), p)), p)
	}
}

// client describes r's origin for the library: the client IP (honouring
// the trusted proxies) and the User-Agent.
func (s *server) client(r *http.Request) auth.Client {
	return auth.Client{IP: ClientIP(r, s.trusted), UserAgent: r.UserAgent()}
}
