package httpapi

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	auth "github.com/authd/auth"
)

// CookieConfig turns on cookie delivery of the tokens, for browser clients
// that should never hold a refresh token in JavaScript. Zero fields take
// the documented defaults.
//
// With it, login, refresh and the single sign-on exchange set the refresh
// token as an HttpOnly cookie and leave it out of the JSON body; with
// IncludeAccess they do the same with the access token. They also set a
// CSRF cookie that scripts can read. POST /auth/token/refresh/ and
// /auth/logout/ read the refresh cookie when the body has none, and logout
// and logout-all clear the cookies.
//
// CSRF protection is a double submit: a request authenticated by a cookie
// (the access cookie on POST, PUT, PATCH or DELETE, or the refresh cookie
// on refresh) must send the X-CSRF-Token header with the value of the CSRF
// cookie, else it is 403 permission_denied. A page of another origin can
// neither read the cookie nor send the header without a CORS preflight,
// which this handler never approves. Requests with an Authorization header
// never use the cookies and never need the header.
type CookieConfig struct {
	// RefreshName names the refresh-token cookie; default "authd_refresh".
	RefreshName string
	// AccessName names the access-token cookie; default "authd_access".
	AccessName string
	// CSRFName names the CSRF cookie, the one cookie scripts can read;
	// default "authd_csrf".
	CSRFName string
	// IncludeAccess delivers the access token as a cookie too, and lets the
	// authenticated endpoints accept it from a request without an
	// Authorization header. Without it the access token stays in the body
	// and is sent as a Bearer header.
	IncludeAccess bool
	// Domain is the cookies' Domain attribute; empty makes them host-only.
	// Set it (to the parent domain) when the frontend runs on another host
	// of the same site and must read the CSRF cookie.
	Domain string
	// Path scopes the refresh cookie; default "/api/v1/auth/", which
	// covers refresh and logout. Prefix it when the handler is mounted
	// under a prefix.
	Path string
	// AccessPath scopes the access cookie; default "/api/v1/", every
	// endpoint. The CSRF cookie's path is always "/", so that the
	// frontend's pages can read it.
	AccessPath string
	// Insecure leaves out the Secure attribute, so that the cookies travel
	// over plain http: for local development only. The default is Secure.
	Insecure bool
	// SameSite is the cookies' SameSite attribute; the default (zero) is
	// http.SameSiteStrictMode. http.SameSiteNoneMode requires Secure.
	SameSite http.SameSite
}

// csrfHeader carries the value of the CSRF cookie on requests that a
// cookie authenticates.
const csrfHeader = "X-CSRF-Token"

// cookieSettings is a CookieConfig with its defaults filled in.
type cookieSettings struct {
	CookieConfig
}

// newCookieSettings returns c with its defaults, or an error for a name, a
// domain, a path or a combination that browsers would refuse.
func newCookieSettings(c CookieConfig) (*cookieSettings, error) {
	for _, d := range []struct {
		field *string
		def   string
	}{
		{&c.RefreshName, "authd_refresh"}, {&c.AccessName, "authd_access"}, {&c.CSRFName, "authd_csrf"},
		{&c.Path, apiPrefix + "/auth/"}, {&c.AccessPath, apiPrefix + "/"},
	} {
		if *d.field == "" {
			*d.field = d.def
		}
	}
	if c.SameSite == 0 {
		c.SameSite = http.SameSiteStrictMode
	}
	for _, name := range []string{c.RefreshName, c.AccessName, c.CSRFName} {
		if err := (&http.Cookie{Name: name, Value: "x", Domain: c.Domain}).Valid(); err != nil {
			return nil, fmt.Errorf("httpapi: cookie %q: %w", name, err)
		}
	}
	if c.RefreshName == c.AccessName || c.RefreshName == c.CSRFName || c.AccessName == c.CSRFName {
		return nil, errors.New("httpapi: the cookie names must differ")
	}
	for _, p := range []string{c.Path, c.AccessPath} {
		if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, ";\r\n") {
			return nil, fmt.Errorf("httpapi: cookie path %q must start with / and hold no ; or line break", p)
		}
	}
	if c.SameSite == http.SameSiteNoneMode && c.Insecure {
		return nil, errors.New("httpapi: SameSite=None cookies must be Secure")
	}
	return &cookieSettings{c}, nil
}

// cookie returns a cookie of the configured kind: HttpOnly unless it is the
// CSRF cookie, expiring after maxAge seconds (removed when maxAge < 0).
func (c *cookieSettings) cookie(name, value, path string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: path, Domain: c.Domain, MaxAge: maxAge,
		HttpOnly: name != c.CSRFName, Secure: !c.Insecure, SameSite: c.SameSite}
}

// set sets the cookies of t: the refresh token, the access token with
// IncludeAccess, and the CSRF token csrf (a new one when empty).
func (c *cookieSettings) set(w http.ResponseWriter, t auth.Tokens, csrf string) {
	if csrf == "" {
		csrf = newCSRFToken()
	}
	refreshAge := int(seconds(t.RefreshExpiresIn))
	http.SetCookie(w, c.cookie(c.RefreshName, t.Refresh, c.Path, refreshAge))
	if c.IncludeAccess {
		http.SetCookie(w, c.cookie(c.AccessName, t.Access, c.AccessPath, int(seconds(t.ExpiresIn))))
	}
	http.SetCookie(w, c.cookie(c.CSRFName, csrf, "/", refreshAge))
}

// clear removes every cookie set has set.
func (c *cookieSettings) clear(w http.ResponseWriter) {
	http.SetCookie(w, c.cookie(c.RefreshName, "", c.Path, -1))
	if c.IncludeAccess {
		http.SetCookie(w, c.cookie(c.AccessName, "", c.AccessPath, -1))
	}
	http.SetCookie(w, c.cookie(c.CSRFName, "", "/", -1))
}

// cookieValue returns the value of r's cookie name, if it is set and not
// empty.
func cookieValue(r *http.Request, name string) (string, bool) {
	ck, err := r.Cookie(name)
	if err != nil || ck.Value == "" {
		return "", false
	}
	return ck.Value, true
}

// checkCSRF returns nil when r's X-CSRF-Token header equals its CSRF
// cookie (compared in constant time), and 403 permission_denied otherwise.
func (c *cookieSettings) checkCSRF(r *http.Request) error {
	header := r.Header.Get(csrfHeader)
	cookie, ok := cookieValue(r, c.CSRFName)
	if !ok || header == "" || subtle.ConstantTimeCompare([]byte(header), []byte(cookie)) != 1 {
		return withDetail(auth.ErrPermissionDenied, fmt.Sprintf(
			"A request authenticated by a cookie must send the %s header with the value of the %s cookie.",
			csrfHeader, c.CSRFName))
	}
	return nil
}

// newCSRFToken returns 256 random bits, base64url-encoded.
func newCSRFToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// unsafeMethod reports whether method may change state, and so needs CSRF
// protection when a cookie authenticates it.
func unsafeMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// accessToken returns the access token that authenticates r: the Bearer
// token of its Authorization header or, with the access cookie configured
// and no Authorization header at all, the access cookie, checked for CSRF
// on an unsafe method. It returns auth.ErrUnauthenticated when there is
// none (or the header is malformed), and the CSRF check's 403.
func (s *server) accessToken(r *http.Request) (string, error) {
	if token, ok := bearerToken(r); ok {
		return token, nil
	}
	if s.cookies == nil || !s.cookies.IncludeAccess || r.Header.Get("Authorization") != "" {
		return "", auth.ErrUnauthenticated
	}
	token, ok := cookieValue(r, s.cookies.AccessName)
	if !ok {
		return "", auth.ErrUnauthenticated
	}
	if unsafeMethod(r.Method) {
		if err := s.cookies.checkCSRF(r); err != nil {
			return "", err
		}
	}
	return token, nil
}

// refreshToken returns the refresh token a refresh or a logout presents:
// body, the one in the request body, unless it is empty and cookie
// delivery is on; then the refresh cookie's. checkCSRF asks for the
// X-CSRF-Token header when the token comes from the cookie. fromCookie
// reports where it came from.
func (s *server) refreshToken(r *http.Request, body string, checkCSRF bool) (token string, fromCookie bool, err error) {
	if body != "" || s.cookies == nil {
		return body, false, nil
	}
	token, ok := cookieValue(r, s.cookies.RefreshName)
	if !ok {
		return "", false, nil
	}
	if checkCSRF {
		if err := s.cookies.checkCSRF(r); err != nil {
			return "", false, err
		}
	}
	return token, true, nil
}

// deliver returns the body of a token answer for t and, with cookie
// delivery on, sets the cookies and leaves the tokens they carry out of
// the body. csrf keeps the CSRF token a refresh was checked with ("" for a
// new one).
func (s *server) deliver(w http.ResponseWriter, t auth.Tokens, csrf string) tokensJSON {
	out := newTokensJSON(t)
	if s.cookies == nil {
		return out
	}
	s.cookies.set(w, t, csrf)
	out.Refresh = ""
	if s.cookies.IncludeAccess {
		out.Access = ""
	}
	return out
}

// clearCookies removes the token cookies, when cookie delivery is on.
func (s *server) clearCookies(w http.ResponseWriter) {
	if s.cookies != nil {
		s.cookies.clear(w)
	}
}
