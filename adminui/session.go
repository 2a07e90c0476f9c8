package adminui

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	auth "github.com/authd/auth"
)

// Cookie names. The session cookie carries the opaque session id; the
// sign-in cookie carries the token of the sign-in form (a double-submit
// token, since there is no session yet).
const (
	sessionCookie = "authd_admin"
	loginCookie   = "authd_admin_login"
)

// refreshMargin is how long before its expiry the access token is
// refreshed.
const refreshMargin = time.Minute

// session is one signed-in browser. The authd tokens never leave the
// server. mu serialises the token refresh (two concurrent refreshes with
// one refresh token would look like token theft and revoke the session)
// and guards the fields below it.
type session struct {
	key      string       // the store's key: SHA-256 of the cookie's id
	csrf     string       // the CSRF token of every form
	lastSeen atomic.Int64 // unix nanoseconds of the last request

	mu            sync.Mutex
	principal     auth.Principal
	access        string
	refresh       string
	accessExpires time.Time
	flashes       []flash
}

// flash is a one-time message shown on the next page.
type flash struct {
	Kind    string // "success" or "error"
	Message string
}

// addFlash queues a message for the next page.
func (s *session) addFlash(kind, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flashes = append(s.flashes, flash{Kind: kind, Message: message})
}

// takeFlashes returns and clears the queued messages.
func (s *session) takeFlashes() []flash {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.flashes
	s.flashes = nil
	return f
}

// sessionStore maps session keys to sessions, in memory.
type sessionStore struct {
	mu sync.Mutex
	m  map[string]*session
}

func newSessionStore() *sessionStore { return &sessionStore{m: map[string]*session{}} }

// sessionKey is the map key of a cookie's session id.
func sessionKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

func (st *sessionStore) get(id string) *session {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.m[sessionKey(id)]
}

func (st *sessionStore) put(s *session) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.m[s.key] = s
}

func (st *sessionStore) delete(key string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.m, key)
}

// expired removes and returns the sessions idle since before cutoff.
func (st *sessionStore) expired(cutoff time.Time) []*session {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []*session
	for k, s := range st.m {
		if time.Unix(0, s.lastSeen.Load()).Before(cutoff) {
			out = append(out, s)
			delete(st.m, k)
		}
	}
	return out
}

// randomToken returns 32 random bytes, base64url-encoded.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// equalTokens compares two secrets in constant time; an empty one never
// matches.
func equalTokens(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// startSession stores a new session for the tokens of a login and sets
// its cookie. Sessions idle past the timeout are dropped (and their authd
// sessions revoked) on the way.
func (p *panel) startSession(w http.ResponseWriter, r *http.Request, t auth.Tokens, u auth.User) {
	now := p.now()
	for _, old := range p.sessions.expired(now.Add(-p.idle)) {
		p.revokeTokens(r.Context(), r, old)
	}
	id := randomToken()
	s := &session{key: sessionKey(id), csrf: randomToken(),
		principal: auth.Principal{UserID: u.ID, SessionID: t.SessionID, Role: u.Role},
		access:    t.Access, refresh: t.Refresh, accessExpires: now.Add(t.ExpiresIn)}
	s.lastSeen.Store(now.UnixNano())
	p.sessions.put(s)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: p.prefix + "/",
		HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteStrictMode})
}

// currentSession returns the request's live session, refreshing its
// tokens when they are about to expire, or nil when there is none: no
// cookie, an unknown id, an idle timeout, or an authd session that was
// revoked or expired meanwhile (the latter two are ended here). The
// reason is "expired" when a session existed but ended.
func (p *panel) currentSession(r *http.Request) (s *session, reason string, err error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, "", nil
	}
	s = p.sessions.get(c.Value)
	if s == nil {
		return nil, "expired", nil
	}
	now := p.now()
	if now.Sub(time.Unix(0, s.lastSeen.Load())) > p.idle {
		p.sessions.delete(s.key)
		p.revokeTokens(r.Context(), r, s)
		return nil, "expired", nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !now.Before(s.accessExpires.Add(-refreshMargin)) {
		t, err := p.auth.Refresh(r.Context(), p.client(r), s.refresh)
		if err != nil {
			var throttled *auth.ThrottledError
			if errors.As(err, &throttled) || errors.Is(err, auth.ErrOverloaded) {
				return nil, "", err
			}
			if !isSessionEnded(err) {
				return nil, "", err
			}
			p.sessions.delete(s.key)
			return nil, "expired", nil
		}
		s.access, s.refresh, s.accessExpires = t.Access, t.Refresh, now.Add(t.ExpiresIn)
	}
	if _, err := p.auth.Authenticate(r.Context(), s.access); err != nil {
		if !errors.Is(err, auth.ErrUnauthenticated) {
			return nil, "", err
		}
		p.sessions.delete(s.key)
		return nil, "expired", nil
	}
	s.lastSeen.Store(now.UnixNano())
	return s, "", nil
}

// isSessionEnded reports whether a refresh failed because the authd
// session is over (revoked, expired, reused or its user disabled).
func isSessionEnded(err error) bool {
	return errors.Is(err, auth.ErrInvalidRefreshToken) || errors.Is(err, auth.ErrTokenReused) ||
		errors.Is(err, auth.ErrValidation)
}

// endSession forgets s and revokes its authd session.
func (p *panel) endSession(w http.ResponseWriter, r *http.Request, s *session) {
	if s != nil {
		p.sessions.delete(s.key)
		p.revokeTokens(r.Context(), r, s)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: p.prefix + "/", MaxAge: -1,
		HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteStrictMode})
}

// revokeTokens revokes the authd session behind s; a failure is logged.
func (p *panel) revokeTokens(ctx context.Context, r *http.Request, s *session) {
	s.mu.Lock()
	principal := s.principal
	s.mu.Unlock()
	if err := p.auth.Logout(context.WithoutCancel(ctx), p.client(r), principal, ""); err != nil {
		p.log.WarnContext(ctx, "adminui: revoke the session of a panel session", "user_id", principal.UserID, "err", err)
	}
}

// toLogin redirects to the sign-in page, telling it why (a key of
// loginNotices) and where to return to after signing in.
func (p *panel) toLogin(w http.ResponseWriter, r *http.Request, reason string) {
	q := url.Values{}
	if reason != "" {
		q.Set("notice", reason)
	}
	if r.Method == http.MethodGet && r.URL.Path != p.prefix+"/" {
		q.Set("next", r.URL.RequestURI())
	}
	target := p.prefix + "/login/"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// safeNext returns next when it is a path inside the panel, and the
// dashboard otherwise, so the sign-in form cannot redirect elsewhere.
func (p *panel) safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || u.IsAbs() || u.Host != "" || strings.HasPrefix(next, "//") || strings.Contains(next, `\`) {
		return p.prefix + "/"
	}
	clean := path.Clean(u.Path)
	if strings.HasSuffix(u.Path, "/") && clean != "/" {
		clean += "/"
	}
	if !strings.HasPrefix(clean, p.prefix+"/") || strings.HasPrefix(clean, p.prefix+"/login/") {
		return p.prefix + "/"
	}
	u.Path, u.RawPath = clean, ""
	return u.RequestURI()
}

// pageHandler is a page or an action of a signed-in user.
type pageHandler func(w http.ResponseWriter, r *http.Request, v *view) error

// signedIn wraps h: it requires a live session (else it redirects to the
// sign-in page), checks the CSRF token of a POST (else 403), loads the
// user's current global permissions (a user who lost
// internal.dashboard.view is signed out) and turns h's error into its
// page.
func (p *panel) signedIn(h pageHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, reason, err := p.currentSession(r)
		if err != nil {
			p.fail(w, r, nil, err)
			return
		}
		if s == nil {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				p.errorPage(w, r, nil, http.StatusForbidden, "Forbidden", "Your session has ended. Sign in again and repeat the action.")
				return
			}
			p.toLogin(w, r, reason)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				p.errorPage(w, r, nil, http.StatusBadRequest, "Invalid request", "The form could not be read.")
				return
			}
			if !equalTokens(r.PostForm.Get("csrf"), s.csrf) {
				p.errorPage(w, r, nil, http.StatusForbidden, "Forbidden",
					"The form's security token is missing or wrong. Reload the page and try again.")
				return
			}
		}
		s.mu.Lock()
		principal := s.principal
		s.mu.Unlock()
		me, perms, err := p.admin.Grants(r.Context(), principal)
		switch {
		case errors.Is(err, auth.ErrPermissionDenied):
			p.endSession(w, r, s)
			p.toLogin(w, r, "denied")
			return
		case errors.Is(err, auth.ErrUnauthenticated):
			p.endSession(w, r, s)
			p.toLogin(w, r, "expired")
			return
		case err != nil:
			p.fail(w, r, nil, err)
			return
		}
		v := &view{session: s, principal: principal, Me: me, Can: newGrants(perms), CSRF: s.csrf}
		if err := h(w, r, v); err != nil {
			p.fail(w, r, v, err)
		}
	}
}
