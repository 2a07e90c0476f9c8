// Package ssotest is a fake identity provider for tests: one
// httptest.Server that plays Google and GitHub over real HTTP. It checks
// what a real provider checks (the client's credentials, single-use codes,
// the redirect URI, PKCE S256) and serves an identity the test chooses.
//
//	fake := ssotest.NewServer(t)
//	fake.SetIdentity(ssotest.Identity{Subject: "7", Email: "a@example.com", EmailVerified: true})
//	google, _ := sso.Google(fake.GoogleConfig("http://authd.test/api/v1/auth/sso/callback/"))
//	// … Start, then:
//	back := fake.Authorize(t, authorizationURL) // the redirect to the callback
package ssotest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/auth/sso"
)

// The client credentials the fake accepts.
const (
	ClientID     = "ssotest-client"
	ClientSecret = "ssotest-secret"
)

// Identity is who the fake says signed in.
type Identity struct {
	// Subject is Google's sub; GitHub serves it as its numeric id, so it
	// must be decimal digits there.
	Subject       string
	Email         string
	EmailVerified bool
	// VerifiedAsString makes Google's userinfo send email_verified as the
	// string "true" or "false", as some proxies do.
	VerifiedAsString bool
	Name             string
	// Login is the GitHub login.
	Login string
	// Emails is GitHub's /user/emails; nil means one primary address,
	// Email, verified when EmailVerified is.
	Emails []Email
}

// Email is one entry of GitHub's /user/emails.
type Email struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

// DefaultIdentity returns what a new Server serves: subject 4242,
// ada@example.com (verified), Ada Lovelace, login ada.
func DefaultIdentity() Identity {
	return Identity{Subject: "4242", Email: "ada@example.com", EmailVerified: true, Name: "Ada Lovelace", Login: "ada"}
}

// Server is the fake provider. Its methods are safe for concurrent use.
// Google lives under /google/ (auth, token, userinfo), GitHub under
// /github/ (auth, token, api/user, api/user/emails).
type Server struct {
	*httptest.Server

	mu        sync.Mutex
	identity  Identity
	deny      bool
	failNext  int
	delay     time.Duration
	grants    map[string]grant  // authorization code → its request
	access    map[string]string // access token → provider
	secrets   []string
	lastAuth  url.Values
	overrides map[string]http.HandlerFunc
	// request counters
	authorizations, tokenRequests, apiRequests int
}

// grant is what an authorization request left for its code.
type grant struct {
	provider, redirectURI, challenge string
}

// NewServer starts a fake provider serving [DefaultIdentity]; it is closed
// when t ends.
func NewServer(t testing.TB) *Server {
	s := &Server{identity: DefaultIdentity(), grants: map[string]grant{}, access: map[string]string{},
		overrides: map[string]http.HandlerFunc{}}
	mux := http.NewServeMux()
	for _, p := range []string{"google", "github"} {
		mux.HandleFunc("GET /"+p+"/auth", s.authorize(p))
		mux.HandleFunc("POST /"+p+"/token", s.token(p))
	}
	mux.HandleFunc("GET /google/userinfo", s.api("google", userInfo))
	mux.HandleFunc("GET /github/api/user", s.api("github", gitHubUser))
	mux.HandleFunc("GET /github/api/user/emails", s.api("github", gitHubEmails))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		h := s.overrides[r.URL.Path]
		s.mu.Unlock()
		if h == nil {
			h = mux.ServeHTTP
		}
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// GoogleConfig returns a Google configuration pointing at the fake.
func (s *Server) GoogleConfig(redirectURL string) sso.ProviderConfig {
	return sso.ProviderConfig{ClientID: ClientID, ClientSecret: ClientSecret, RedirectURL: redirectURL,
		AuthURL: s.URL + "/google/auth", TokenURL: s.URL + "/google/token", UserInfoURL: s.URL + "/google/userinfo"}
}

// GitHubConfig returns a GitHub configuration pointing at the fake.
func (s *Server) GitHubConfig(redirectURL string) sso.ProviderConfig {
	return sso.ProviderConfig{ClientID: ClientID, ClientSecret: ClientSecret, RedirectURL: redirectURL,
		AuthURL: s.URL + "/github/auth", TokenURL: s.URL + "/github/token", APIURL: s.URL + "/github/api"}
}

// SetIdentity sets who signs in from now on.
func (s *Server) SetIdentity(id Identity) { s.mu.Lock(); s.identity = id; s.mu.Unlock() }

// DenyNext makes the next authorization redirect back with
// error=access_denied, as when the user declines.
func (s *Server) DenyNext() { s.mu.Lock(); s.deny = true; s.mu.Unlock() }

// FailNext makes the next back-channel request (token, userinfo, user or
// emails endpoint; in a sign-in, the token request) answer status.
func (s *Server) FailNext(status int) { s.mu.Lock(); s.failNext = status; s.mu.Unlock() }

// Delay makes every back-channel request wait d before answering (or
// until its client gives up).
func (s *Server) Delay(d time.Duration) { s.mu.Lock(); s.delay = d; s.mu.Unlock() }

// Handle replaces what path answers with h, to serve something a real
// provider might (a 500 from /user/emails, a body that is not JSON).
func (s *Server) Handle(path string, h http.HandlerFunc) {
	s.mu.Lock()
	s.overrides[path] = h
	s.mu.Unlock()
}

// Authorizations returns how many authorization requests were answered.
func (s *Server) Authorizations() int { s.mu.Lock(); defer s.mu.Unlock(); return s.authorizations }

// TokenRequests returns how many requests reached a token endpoint.
func (s *Server) TokenRequests() int { s.mu.Lock(); defer s.mu.Unlock(); return s.tokenRequests }

// APIRequests returns how many requests reached userinfo, /user or
// /user/emails.
func (s *Server) APIRequests() int { s.mu.Lock(); defer s.mu.Unlock(); return s.apiRequests }

// LastAuthorization returns the query of the latest authorization request.
func (s *Server) LastAuthorization() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastAuth
}

// Secrets returns every access token the fake issued and every PKCE
// verifier it received, for tests proving that none leaks.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.secrets...)
}

// Authorize plays the browser at the provider: it GETs authorizationURL
// and returns where the provider redirects, without following it.
func (s *Server) Authorize(t testing.TB, authorizationURL string) *url.URL {
	t.Helper()
	client := *s.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Get(authorizationURL)
	if err != nil {
		t.Fatalf("ssotest: authorize: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("ssotest: authorize: status %d, location error %v", resp.StatusCode, err)
	}
	return loc
}

func (s *Server) authorize(provider string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		back, err := url.Parse(q.Get("redirect_uri"))
		switch {
		case q.Get("client_id") != ClientID || q.Get("response_type") != "code":
			http.Error(w, "unknown client or response type", http.StatusBadRequest)
			return
		case err != nil || !back.IsAbs():
			http.Error(w, "redirect_uri must be absolute", http.StatusBadRequest)
			return
		case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
			http.Error(w, "PKCE S256 is required", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.authorizations++
		s.lastAuth = q
		params := back.Query()
		if s.deny {
			s.deny = false
			params.Set("error", "access_denied")
		} else {
			code := random()
			s.grants[code] = grant{provider: provider, redirectURI: back.String(), challenge: q.Get("code_challenge")}
			params.Set("code", code)
		}
		s.mu.Unlock()
		params.Set("state", q.Get("state"))
		back.RawQuery = params.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	}
}

func (s *Server) token(provider string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// Reading the body first lets the server notice a client that
		// gives up during a Delay.
		if err := r.ParseForm(); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
			return
		}
		if !s.backChannel(w, r, &s.tokenRequests) {
			return
		}
		id, secret, basic := r.BasicAuth()
		if basic {
			id, _ = url.QueryUnescape(id)
			secret, _ = url.QueryUnescape(secret)
		} else {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		if id != ClientID || secret != ClientSecret {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
			return
		}
		code, verifier := r.PostForm.Get("code"), r.PostForm.Get("code_verifier")
		s.mu.Lock()
		g, found := s.grants[code]
		delete(s.grants, code) // a code is used once, even by a failed attempt
		if verifier != "" {
			s.secrets = append(s.secrets, verifier)
		}
		s.mu.Unlock()
		switch {
		case r.PostForm.Get("grant_type") != "authorization_code":
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
			return
		case !found || g.provider != provider || g.redirectURI != r.PostForm.Get("redirect_uri"),
			challenge(verifier) != g.challenge:
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
			return
		}
		token := random()
		s.mu.Lock()
		s.access[token] = provider
		s.secrets = append(s.secrets, token)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"access_token": token, "token_type": "Bearer", "expires_in": 3600})
	}
}

// api serves one identity endpoint of provider to a bearer of one of its
// access tokens.
func (s *Server) api(provider string, serve func(Identity) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.backChannel(w, r, &s.apiRequests) {
			return
		}
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		issuedBy, known := s.access[token]
		id := s.identity
		s.mu.Unlock()
		if !ok || !known || issuedBy != provider {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
			return
		}
		writeJSON(w, http.StatusOK, serve(id))
	}
}

// backChannel counts a server-to-server request, waits the Delay and
// answers a pending FailNext. It reports whether the handler goes on.
func (s *Server) backChannel(w http.ResponseWriter, r *http.Request, counter *int) bool {
	s.mu.Lock()
	*counter++
	fail, delay := s.failNext, s.delay
	s.failNext = 0
	s.mu.Unlock()
	if delay > 0 {
		timer := time.NewTimer(delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return false
		}
	}
	if fail != 0 {
		writeJSON(w, fail, map[string]string{"error": "server_error"})
		return false
	}
	return true
}

func userInfo(id Identity) any {
	var verified any = id.EmailVerified
	if id.VerifiedAsString {
		verified = map[bool]string{true: "true", false: "false"}[id.EmailVerified]
	}
	return map[string]any{"sub": id.Subject, "email": id.Email, "email_verified": verified, "name": id.Name}
}

func gitHubUser(id Identity) any {
	// json.Number writes the subject as a number, as GitHub's id is.
	return map[string]any{"id": json.Number(id.Subject), "login": id.Login, "name": id.Name}
}

func gitHubEmails(id Identity) any {
	if id.Emails != nil {
		return id.Emails
	}
	return []Email{{Email: id.Email, Primary: true, Verified: id.EmailVerified}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// challenge is the S256 PKCE challenge of verifier.
func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func random() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
