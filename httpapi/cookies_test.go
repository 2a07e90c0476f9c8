package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	auth "github.com/authd/auth"
	"github.com/authd/auth/httpapi"
)

// withCookies turns cookie delivery on.
func withCookies(c httpapi.CookieConfig) stackOption {
	return func(_ *auth.Config, h *httpapi.Config) { h.Cookies = &c }
}

// withCookie sends a cookie.
func withCookie(name, value string) requestOption {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: name, Value: value}) }
}

// setCookies returns the cookies res sets, by name; it fails on a name set
// twice or a Set-Cookie that does not parse.
func setCookies(t *testing.T, res response) map[string]*http.Cookie {
	t.Helper()
	out := map[string]*http.Cookie{}
	for _, line := range res.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("Set-Cookie %q: %v", line, err)
		}
		if out[c.Name] != nil {
			t.Fatalf("cookie %s set twice", c.Name)
		}
		out[c.Name] = c
	}
	return out
}

// bodyKeys returns the top-level keys of a JSON object body.
func bodyKeys(t *testing.T, res response) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(res.body, &m); err != nil {
		t.Fatalf("body %s: %v", res.body, err)
	}
	return m
}

// wantCookie checks the attributes of a cookie set with a value.
func wantCookie(t *testing.T, c *http.Cookie, name, path string, httpOnly bool, maxAge int) {
	t.Helper()
	switch {
	case c == nil:
		t.Fatalf("cookie %s not set", name)
	case c.Value == "":
		t.Errorf("cookie %s is empty", name)
	case c.Path != path:
		t.Errorf("cookie %s: Path = %q, want %q", name, c.Path, path)
	case c.HttpOnly != httpOnly:
		t.Errorf("cookie %s: HttpOnly = %v, want %v", name, c.HttpOnly, httpOnly)
	case !c.Secure:
		t.Errorf("cookie %s is not Secure", name)
	case c.SameSite != http.SameSiteStrictMode:
		t.Errorf("cookie %s: SameSite = %v, want Strict", name, c.SameSite)
	case c.MaxAge != maxAge:
		t.Errorf("cookie %s: Max-Age = %d, want %d", name, c.MaxAge, maxAge)
	case c.Domain != "":
		t.Errorf("cookie %s: Domain = %q, want none", name, c.Domain)
	}
}

// wantCleared checks that res removes each named cookie.
func wantCleared(t *testing.T, res response, names ...string) {
	t.Helper()
	got := setCookies(t, res)
	for _, name := range names {
		if c := got[name]; c == nil || c.MaxAge >= 0 || c.Value != "" {
			t.Errorf("cookie %s not cleared: %v", name, c)
		}
	}
}

const (
	refreshPath = "/api/v1/auth/token/refresh/"
	refreshTTL  = 7 * 24 * 3600
	accessTTL   = 5 * 60
)

func TestCookiesAreOffByDefault(t *testing.T) {
	s := newStack(t)
	s.signUp(t, "plain@example.com")
	res := s.do(t, "POST", "/api/v1/auth/login/", map[string]string{"email": "plain@example.com", "password": testPassword})
	tok := decode[tokensObject](t, res, http.StatusOK)
	if tok.Access == "" || tok.Refresh == "" {
		t.Errorf("tokens %+v: want both in the body", tok)
	}
	if got := res.header.Values("Set-Cookie"); len(got) != 0 {
		t.Errorf("Set-Cookie %q, want none", got)
	}
	res = s.do(t, "POST", refreshPath, nil, withCookie("authd_refresh", tok.Refresh),
		withCookie("authd_csrf", "x"), header("X-CSRF-Token", "x"))
	wantValidation(t, res, "refresh")
}

func TestRefreshCookie(t *testing.T) {
	s := newStack(t, withCookies(httpapi.CookieConfig{}))
	s.signUp(t, "crumb@example.com")
	res := s.do(t, "POST", "/api/v1/auth/login/", map[string]string{"email": "crumb@example.com", "password": testPassword})
	tok := decode[tokensObject](t, res, http.StatusOK)
	jar := setCookies(t, res)

	t.Run("login leaves the refresh token out of the body and sets it as an HttpOnly cookie", func(t *testing.T) {
		keys := bodyKeys(t, res)
		if _, has := keys["refresh"]; has {
			t.Errorf("the body has the refresh token: %s", res.body)
		}
		if tok.Access == "" || tok.User == nil || tok.SessionID == "" || tok.TokenType != "Bearer" {
			t.Errorf("login body %s: want the access token, the user and the session", res.body)
		}
		wantCookie(t, jar["authd_refresh"], "authd_refresh", "/api/v1/auth/", true, refreshTTL)
		wantCookie(t, jar["authd_csrf"], "authd_csrf", "/", false, refreshTTL)
		if jar["authd_access"] != nil {
			t.Error("the access cookie is set without IncludeAccess")
		}
		decode[userBody](t, s.me(t, tok.Access), http.StatusOK)
	})

	refresh, csrf := jar["authd_refresh"].Value, jar["authd_csrf"].Value

	t.Run("a refresh by cookie without the CSRF header is 403 and spends nothing", func(t *testing.T) {
		for _, opts := range [][]requestOption{
			{withCookie("authd_refresh", refresh), withCookie("authd_csrf", csrf)},
			{withCookie("authd_refresh", refresh), withCookie("authd_csrf", csrf), header("X-CSRF-Token", csrf+"x")},
			{withCookie("authd_refresh", refresh), header("X-CSRF-Token", csrf)},
		} {
			p := wantProblem(t, s.do(t, "POST", refreshPath, nil, opts...), http.StatusForbidden, "permission_denied")
			if !strings.Contains(p.Detail, "X-CSRF-Token") {
				t.Errorf("detail %q should name the header", p.Detail)
			}
		}
	})

	var next map[string]*http.Cookie
	t.Run("a refresh by cookie with the CSRF header rotates the cookie", func(t *testing.T) {
		res := s.do(t, "POST", refreshPath, nil, withCookie("authd_refresh", refresh), withCookie("authd_csrf", csrf),
			header("X-CSRF-Token", csrf))
		got := decode[tokensObject](t, res, http.StatusOK)
		if got.Refresh != "" || got.Access == "" || got.SessionID != tok.SessionID {
			t.Errorf("refresh body %s: want a new access token only", res.body)
		}
		next = setCookies(t, res)
		wantCookie(t, next["authd_refresh"], "authd_refresh", "/api/v1/auth/", true, refreshTTL)
		if next["authd_refresh"].Value == refresh {
			t.Error("the refresh cookie was not rotated")
		}
		if c := next["authd_csrf"]; c == nil || c.Value != csrf {
			t.Errorf("the CSRF cookie changed on refresh: %v", c)
		}
	})

	t.Run("the spent cookie is reuse, and a rejected cookie is cleared", func(t *testing.T) {
		res := s.do(t, "POST", refreshPath, "{}", withCookie("authd_refresh", refresh), withCookie("authd_csrf", csrf),
			header("X-CSRF-Token", csrf))
		wantProblem(t, res, http.StatusUnauthorized, "token_reused")
		wantCleared(t, res, "authd_refresh", "authd_csrf")
		res = s.do(t, "POST", refreshPath, nil, withCookie("authd_refresh", "forged"), withCookie("authd_csrf", csrf),
			header("X-CSRF-Token", csrf))
		wantProblem(t, res, http.StatusUnauthorized, "invalid_token")
		wantCleared(t, res, "authd_refresh", "authd_csrf")
	})

	t.Run("a refresh token in the body needs no CSRF header, and comes back as a cookie", func(t *testing.T) {
		fresh := setCookies(t, s.do(t, "POST", "/api/v1/auth/login/",
			map[string]string{"email": "crumb@example.com", "password": testPassword}))
		res := s.do(t, "POST", refreshPath, map[string]string{"refresh": fresh["authd_refresh"].Value})
		decode[tokensObject](t, res, http.StatusOK)
		if _, has := bodyKeys(t, res)["refresh"]; has || setCookies(t, res)["authd_refresh"] == nil {
			t.Errorf("refresh by body: %s, cookies %q", res.body, res.header.Values("Set-Cookie"))
		}
	})
}

func TestLogoutClearsCookies(t *testing.T) {
	s := newStack(t, withCookies(httpapi.CookieConfig{}))
	s.signUp(t, "bye@example.com")
	login := func() (string, map[string]*http.Cookie) {
		res := s.do(t, "POST", "/api/v1/auth/login/", map[string]string{"email": "bye@example.com", "password": testPassword})
		return decode[tokensObject](t, res, http.StatusOK).Access, setCookies(t, res)
	}

	t.Run("logout revokes the session of the refresh cookie and clears the cookies", func(t *testing.T) {
		access, jar := login()
		res := s.do(t, "POST", "/api/v1/auth/logout/", nil, bearer(access),
			withCookie("authd_refresh", jar["authd_refresh"].Value))
		wantStatus(t, res, http.StatusNoContent)
		wantCleared(t, res, "authd_refresh", "authd_csrf")
		if c := setCookies(t, res)["authd_refresh"]; c.Path != "/api/v1/auth/" {
			t.Errorf("the refresh cookie is cleared at Path %q, not where it was set", c.Path)
		}
		wantProblem(t, s.do(t, "POST", refreshPath, map[string]string{"refresh": jar["authd_refresh"].Value}),
			http.StatusUnauthorized, "invalid_token")
	})

	t.Run("logout-all clears the cookies", func(t *testing.T) {
		access, _ := login()
		res := s.do(t, "POST", "/api/v1/auth/logout-all/", nil, bearer(access))
		wantStatus(t, res, http.StatusNoContent)
		wantCleared(t, res, "authd_refresh", "authd_csrf")
	})
}

func TestAccessCookie(t *testing.T) {
	s := newStack(t, withCookies(httpapi.CookieConfig{IncludeAccess: true}))
	s.signUp(t, "jar@example.com")
	res := s.do(t, "POST", "/api/v1/auth/login/", map[string]string{"email": "jar@example.com", "password": testPassword})
	wantStatus(t, res, http.StatusOK)
	jar := setCookies(t, res)
	access, csrf := jar["authd_access"], jar["authd_csrf"]

	t.Run("both tokens are cookies and neither is in the body", func(t *testing.T) {
		keys := bodyKeys(t, res)
		_, hasAccess := keys["access"]
		_, hasRefresh := keys["refresh"]
		if hasAccess || hasRefresh {
			t.Errorf("the body has a token: %s", res.body)
		}
		wantCookie(t, access, "authd_access", "/api/v1/", true, accessTTL)
		wantCookie(t, jar["authd_refresh"], "authd_refresh", "/api/v1/auth/", true, refreshTTL)
		wantCookie(t, csrf, "authd_csrf", "/", false, refreshTTL)
	})

	cookie := withCookie("authd_access", access.Value)
	t.Run("a safe method is authenticated by the cookie alone", func(t *testing.T) {
		decode[userBody](t, s.do(t, "GET", "/api/v1/auth/me/", nil, cookie), http.StatusOK)
		decodeList[orgObject](t, s.do(t, "GET", "/api/v1/orgs/", nil, cookie), "orgs")
	})

	t.Run("an unsafe method authenticated by the cookie needs the CSRF header", func(t *testing.T) {
		rename := map[string]string{"name": "Renamed"}
		wantProblem(t, s.do(t, "PATCH", "/api/v1/auth/me/", rename, cookie, withCookie("authd_csrf", csrf.Value)),
			http.StatusForbidden, "permission_denied")
		wantProblem(t, s.do(t, "POST", "/api/v1/orgs/create/", map[string]string{"name": "Jar"}, cookie),
			http.StatusForbidden, "permission_denied")
		got := decode[userBody](t, s.do(t, "PATCH", "/api/v1/auth/me/", rename, cookie,
			withCookie("authd_csrf", csrf.Value), header("X-CSRF-Token", csrf.Value)), http.StatusOK)
		if got.User.Name != "Renamed" {
			t.Errorf("name = %q", got.User.Name)
		}
	})

	t.Run("an Authorization header is never replaced by the cookie", func(t *testing.T) {
		wantProblem(t, s.do(t, "GET", "/api/v1/auth/me/", nil, cookie, bearer("forged")),
			http.StatusUnauthorized, "unauthenticated")
		wantProblem(t, s.do(t, "GET", "/api/v1/auth/me/", nil, cookie, header("Authorization", "Basic eDp5")),
			http.StatusUnauthorized, "unauthenticated")
	})

	t.Run("logout by cookie needs the CSRF header and clears every cookie", func(t *testing.T) {
		wantProblem(t, s.do(t, "POST", "/api/v1/auth/logout/", nil, cookie), http.StatusForbidden, "permission_denied")
		res := s.do(t, "POST", "/api/v1/auth/logout/", nil, cookie, withCookie("authd_csrf", csrf.Value),
			header("X-CSRF-Token", csrf.Value))
		wantStatus(t, res, http.StatusNoContent)
		wantCleared(t, res, "authd_access", "authd_refresh", "authd_csrf")
		wantProblem(t, s.do(t, "GET", "/api/v1/auth/me/", nil, cookie), http.StatusUnauthorized, "unauthenticated")
	})
}

func TestBearerClientsIgnoreCookies(t *testing.T) {
	s := newStack(t, withCookies(httpapi.CookieConfig{IncludeAccess: true}))
	s.signUp(t, "mobile@example.com")
	res := s.do(t, "POST", "/api/v1/auth/login/", map[string]string{"email": "mobile@example.com", "password": testPassword})
	access := setCookies(t, res)["authd_access"].Value

	t.Run("a Bearer request needs no CSRF header on an unsafe method", func(t *testing.T) {
		decode[userBody](t, s.do(t, "PATCH", "/api/v1/auth/me/", map[string]string{"name": "Mobile"}, bearer(access)),
			http.StatusOK)
		decode[orgBody](t, s.do(t, "POST", "/api/v1/orgs/create/", map[string]string{"name": "Mobile"}, bearer(access)),
			http.StatusCreated)
		wantStatus(t, s.do(t, "POST", "/api/v1/auth/logout-all/", nil, bearer(access)), http.StatusNoContent)
	})
}

func TestSSOExchangeSetsCookies(t *testing.T) {
	s := newStack(t, withCookies(httpapi.CookieConfig{}))
	loc := s.ssoSignIn(t, "google")
	res := s.do(t, "POST", "/api/v1/auth/sso/exchange/", map[string]string{"code": loc.Query().Get("code"),
		"state": loc.Query().Get("state")})
	wantStatus(t, res, http.StatusOK)
	keys := bodyKeys(t, res)
	if _, has := keys["refresh"]; has {
		t.Errorf("the body has the refresh token: %s", res.body)
	}
	if _, has := keys["created"]; !has {
		t.Errorf("the body lacks created: %s", res.body)
	}
	wantCookie(t, setCookies(t, res)["authd_refresh"], "authd_refresh", "/api/v1/auth/", true, refreshTTL)
}

func TestCookieConfig(t *testing.T) {
	s := newStack(t)

	t.Run("settings override the defaults", func(t *testing.T) {
		c := newStack(t, withCookies(httpapi.CookieConfig{RefreshName: "r", CSRFName: "c", Domain: "authd.test",
			Path: "/identity/api/v1/auth/", Insecure: true, SameSite: http.SameSiteLaxMode}))
		c.signUp(t, "custom@example.com")
		jar := setCookies(t, c.do(t, "POST", "/api/v1/auth/login/",
			map[string]string{"email": "custom@example.com", "password": testPassword}))
		r, csrf := jar["r"], jar["c"]
		if r == nil || csrf == nil || r.Path != "/identity/api/v1/auth/" || r.Domain != "authd.test" || r.Secure ||
			r.SameSite != http.SameSiteLaxMode || !r.HttpOnly || csrf.HttpOnly || csrf.Domain != "authd.test" {
			t.Errorf("cookies %v, %v", r, csrf)
		}
	})

	t.Run("New refuses cookies that browsers would refuse", func(t *testing.T) {
		for _, c := range []httpapi.CookieConfig{
			{RefreshName: "bad name"},
			{AccessName: "authd_refresh"},
			{Path: "api"},
			{Domain: "bad domain"},
			{SameSite: http.SameSiteNoneMode, Insecure: true},
		} {
			if _, err := httpapi.New(httpapi.Config{Auth: s.auth, Cookies: &c}); err == nil {
				t.Errorf("New accepted %+v", c)
			}
		}
	})
}
