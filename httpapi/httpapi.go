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
	// Auth runs the account and session flows, and authenticates the
	// callers of every other endpoint. Required.
	Auth *auth.Authenticator
	// Orgs serves the Organisations endpoints (/orgs/…). Nil leaves them
	// out: their paths answer 404, for a host that wants only
	// authentication.
	Orgs *auth.OrgService
	// Admin serves the Internal (global-role) endpoints (/internal/…).
	// Nil leaves them out: their paths answer 404.
	Admin *auth.Admin
	// SSO serves the single sign-on endpoints (/auth/sso/…); package sso's
	// Service is one. Nil leaves them out: their paths answer 404.
	SSO SSO
	// Logger receives one line per request and every unexpected error
	// (never a body, a token or a header); nil discards.
	Logger *slog.Logger
	// TrustedProxies are the reverse proxies whose X-Forwarded-For header
	// is believed (TRUSTED_PROXIES, see [ParseTrustedProxies] and
	// [ClientIP]); empty trusts none.
	TrustedProxies []netip.Prefix
	// Cookies, when set, delivers the tokens as cookies instead of in the
	// body, for browser clients (see [CookieConfig]); nil, the default,
	// keeps them in the body.
	Cookies *CookieConfig
	// Metrics, when set, counts and times every request and reads the
	// password-hash queue of Auth (see [NewMetrics]); nil records none.
	Metrics *Metrics
}

// apiPrefix is the base path of every route.
const apiPrefix = "/api/v1"

// server holds what the handlers share. It is immutable after New.
type server struct {
	auth    *auth.Authenticator
	orgs    *auth.OrgService // nil: no organisation routes
	admin   *auth.Admin      // nil: no internal routes
	sso     SSO              // nil: no single sign-on routes
	cookies *cookieSettings  // nil: tokens in the body only
	log     *slog.Logger
	trusted []netip.Prefix
}

// New returns the handler of the REST contract's endpoints: those of
// Authentication always, those of Organisations when cfg.Orgs is set and
// the Internal ones when cfg.Admin is set. It serves them with their
// /api/v1 prefix, so mount it at "/" or, under a prefix of your own, behind
// [http.StripPrefix]. Every response carries an X-Request-Id; errors are
// RFC 9457 problem+json; a path is served the same with and without its
// trailing slash; a known path with another method is 405
// method_not_allowed with an Allow header, and an unknown path 404
// not_found. New returns an error when cfg.Auth is nil, a trusted proxy
// range is invalid or cfg.Cookies is unusable. The handler is safe for
// concurrent use.
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
	s := &server{auth: cfg.Auth, orgs: cfg.Orgs, admin: cfg.Admin, sso: cfg.SSO, log: log, trusted: slices.Clone(cfg.TrustedProxies)}
	if cfg.Cookies != nil {
		c, err := newCookieSettings(*cfg.Cookies)
		if err != nil {
			return nil, err
		}
		s.cookies = c
	}

	var h http.Handler = s.mux()
	h = recoverPanics(log)(h)
	h = logRequests(log)(h)
	h = cfg.Metrics.wrap(cfg.Auth, h)
	h = addTrailingSlash(h)
	h = securityHeaders(h)
	h = requestID(h)
	return h, nil
}

// handlerFunc is a handler that returns its error instead of writing it;
// [server.handle] turns it into an http.Handler.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route is one row of the route table: a method and a path under /api/v1
// ending in "/", with ServeMux wildcards (or openAPIPath, the one path
// without a trailing slash).
type route struct {
	method  string
	path    string
	handler handlerFunc
}

// routes is the route table: API.md's Authentication rows and the OpenAPI
// document always, its Organisations rows when Config.Orgs is set and its
// Internal rows when Config.Admin is set.
func (s *server) routes() []route {
	table := []route{
		{http.MethodPost, "/auth/register/", s.register},
		{http.MethodPost, "/auth/verify-email/", s.verifyEmail},
		{http.MethodPost, "/auth/verify-email/resend/", s.resendVerification},
		{http.MethodPost, "/auth/login/", s.login},
		{http.MethodPost, "/auth/token/refresh/", s.refresh},
		{http.MethodPost, "/auth/logout/", s.authenticated(s.logout)},
		{http.MethodPost, "/auth/logout-all/", s.authenticated(s.logoutAll)},
		{http.MethodGet, "/auth/me/", s.authenticatedUser(s.me)},
		{http.MethodPatch, "/auth/me/", s.authenticated(s.updateMe)},
		{http.MethodGet, "/auth/sessions/", s.authenticated(s.sessions)},
		{http.MethodDelete, "/auth/sessions/{id}/", s.authenticated(s.revokeSession)},
		{http.MethodPost, "/auth/password/change/", s.authenticated(s.changePassword)},
		{http.MethodPost, "/auth/password/set/", s.authenticated(s.setPassword)},
		{http.MethodPost, "/auth/password/forgot/", s.forgotPassword},
		{http.MethodPost, "/auth/password/reset/", s.resetPassword},
		{http.MethodGet, "/auth/identities/", s.authenticated(s.identities)},
		{http.MethodDelete, "/auth/identities/{provider}/", s.authenticated(s.unlinkIdentity)},
		{http.MethodGet, openAPIPath, s.openAPI},
	}
	if s.sso != nil {
		// "callback" and "exchange" are literal segments, preferred by
		// ServeMux to {provider}; no provider has those names.
		table = append(table, []route{
			{http.MethodPost, "/auth/sso/{provider}/", s.startSSO},
			{http.MethodGet, "/auth/sso/callback/", s.ssoCallback},
			{http.MethodPost, "/auth/sso/exchange/", s.ssoExchange},
		}...)
	}
	if s.orgs != nil {
		// "create" and "invites" are reserved slugs, so /orgs/create/ and
		// /orgs/invites/accept/ never shadow an organisation; ServeMux
		// prefers their literal segments to {slug}.
		table = append(table, []route{
			{http.MethodPost, "/orgs/create/", s.authenticated(s.createOrg)},
			{http.MethodGet, "/orgs/", s.authenticated(s.myOrgs)},
			{http.MethodPost, "/orgs/invites/accept/", s.authenticated(s.acceptInvite)},
			{http.MethodGet, "/orgs/{slug}/", s.authenticated(s.org)},
			{http.MethodPatch, "/orgs/{slug}/", s.authenticated(s.renameOrg)},
			{http.MethodDelete, "/orgs/{slug}/", s.authenticated(s.deleteOrg)},
			{http.MethodGet, "/orgs/{slug}/members/", s.authenticated(s.members)},
			{http.MethodPatch, "/orgs/{slug}/members/{user_id}/", s.authenticated(s.changeMemberRole)},
			{http.MethodDelete, "/orgs/{slug}/members/{user_id}/", s.authenticated(s.removeMember)},
			{http.MethodPost, "/orgs/{slug}/leave/", s.authenticated(s.leaveOrg)},
			{http.MethodPost, "/orgs/{slug}/transfer-ownership/", s.authenticated(s.transferOwnership)},
			{http.MethodPost, "/orgs/{slug}/invites/", s.authenticated(s.invite)},
			{http.MethodGet, "/orgs/{slug}/invites/", s.authenticated(s.invites)},
			{http.MethodDelete, "/orgs/{slug}/invites/{id}/", s.authenticated(s.revokeInvite)},
			{http.MethodGet, "/orgs/{slug}/audit/", s.authenticated(s.orgAudit)},
		}...)
	}
	if s.admin != nil {
		table = append(table, []route{
			{http.MethodGet, "/internal/dashboard/", s.authenticated(s.adminDashboard)},
			{http.MethodGet, "/internal/users/", s.authenticated(s.adminUsers)},
			{http.MethodGet, "/internal/users/{id}/", s.authenticated(s.adminUser)},
			{http.MethodPatch, "/internal/users/{id}/", s.authenticated(s.adminUpdateUser)},
			{http.MethodGet, "/internal/users/{id}/sessions/", s.authenticated(s.adminUserSessions)},
			{http.MethodDelete, "/internal/sessions/{id}/", s.authenticated(s.adminRevokeSession)},
			{http.MethodGet, "/internal/orgs/", s.authenticated(s.adminOrgs)},
			{http.MethodGet, "/internal/orgs/{slug}/", s.authenticated(s.adminOrg)},
			{http.MethodGet, "/internal/audit/", s.authenticated(s.adminAudit)},
			{http.MethodGet, "/internal/permissions/", s.authenticated(s.adminPermissions)},
			{http.MethodPut, "/internal/permissions/{scope}/{role}/", s.authenticated(s.adminSetPermissions)},
		}...)
	}
	return table
}

// mux registers the route table on a new ServeMux: one pattern
// "/api/v1/path/{$}" per path ("/api/v1/openapi.json" for the document),
// whose handler picks the route by method (see byMethod), and a catch-all
// 404.
//
// The methods are not put in the patterns: a known path must answer
// another method with 405, which would take a method-less pattern per
// path next to the method patterns, and ServeMux refuses such a pair as
// conflicting when one path is a literal case of the other's wildcard
// ("/orgs/create/" and "GET /orgs/{slug}/").
func (s *server) mux() *http.ServeMux {
	mux := http.NewServeMux()
	byPath := map[string]map[string]handlerFunc{}
	var paths []string // in table order
	for _, rt := range s.routes() {
		if byPath[rt.path] == nil {
			byPath[rt.path] = map[string]handlerFunc{}
			paths = append(paths, rt.path)
		}
		byPath[rt.path][rt.method] = rt.handler
	}
	for _, path := range paths {
		pattern := apiPrefix + path
		if strings.HasSuffix(path, "/") {
			pattern += "{$}"
		}
		mux.Handle(pattern, s.handle(byMethod(pattern, byPath[path])))
	}
	mux.Handle("/", s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return withDetail(auth.ErrNotFound, "No endpoint at this path.")
	}))
	return mux
}

// byMethod serves one path: each method with its handler, HEAD with
// GET's, and any other method 405 method_not_allowed with the path's
// methods in Allow. Like ServeMux for a pattern with a method, it records
// "METHOD pattern" as the request's Pattern, which the request log reads.
func byMethod(pattern string, handlers map[string]handlerFunc) handlerFunc {
	var methods []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete} {
		if handlers[m] != nil || (m == http.MethodHead && handlers[http.MethodGet] != nil) {
			methods = append(methods, m)
		}
	}
	allow := strings.Join(methods, ", ")
	return func(w http.ResponseWriter, r *http.Request) error {
		method := r.Method
		if method == http.MethodHead && handlers[method] == nil {
			method = http.MethodGet
		}
		h := handlers[method]
		if h == nil {
			w.Header().Set("Allow", allow)
			return withDetail(errMethodNotAllowed, "Allowed: "+allow+".")
		}
		r.Pattern = method + " " + pattern
		return h(w, r)
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

// authenticated admits requests whose Bearer token (or access cookie, see
// [server.accessToken]) is valid and whose session is still active
// ([auth.Authenticator.Authenticate]: stricter than [RequireAuth], a logout
// takes effect at once), stores the principal in the context and passes it
// to h. Anything else is 401 unauthenticated, or 403 permission_denied for
// a cookie without its CSRF header.
func (s *server) authenticated(h authenticatedFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		token, err := s.accessToken(r)
		if err != nil {
			return err
		}
		p, err := s.auth.Authenticate(r.Context(), token)
		if err != nil {
			return err
		}
		return h(w, r.WithContext(auth.WithPrincipal(r.Context(), p)), p)
	}
}

// withUserFunc is a handler for a signed-in caller that needs its user.
type withUserFunc func(w http.ResponseWriter, r *http.Request, p auth.Principal, u auth.User) error

// authenticatedUser is [server.authenticated] for handlers that need the
// caller's user: it is read with the session, in one store call.
func (s *server) authenticatedUser(h withUserFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		token, err := s.accessToken(r)
		if err != nil {
			return err
		}
		p, u, err := s.auth.AuthenticateUser(r.Context(), token)
		if err != nil {
			return err
		}
		return h(w, r.WithContext(auth.WithPrincipal(r.Context(), p)), p, u)
	}
}

// client describes r's origin for the library: the client IP (honouring
// the trusted proxies) and the User-Agent.
func (s *server) client(r *http.Request) auth.Client {
	return auth.Client{IP: ClientIP(r, s.trusted), UserAgent: r.UserAgent()}
}
