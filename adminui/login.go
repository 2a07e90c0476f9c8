package adminui

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	auth "github.com/authd/auth"
)

// loginNotices are the messages the sign-in page shows for ?notice=.
var loginNotices = map[string]flash{
	"expired":    {"error", "Your session has ended. Sign in again."},
	"denied":     {"error", "Your account no longer has access to the admin panel."},
	"signed_out": {"success", "You have signed out."},
}

// loginData is what the sign-in page shows.
type loginData struct {
	Email string
	Next  string
	Token string
}

// loginPage is GET /login/: the sign-in form, or the dashboard for a
// browser that is signed in already.
func (p *panel) loginPage(w http.ResponseWriter, r *http.Request) {
	if s, _, err := p.currentSession(r); err == nil && s != nil {
		http.Redirect(w, r, p.safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	v := &view{Title: "Sign in"}
	if n, ok := loginNotices[r.URL.Query().Get("notice")]; ok {
		v.Flashes = []flash{n}
	}
	p.renderLogin(w, r, http.StatusOK, v, "", r.URL.Query().Get("next"))
}

// renderLogin renders the sign-in form with its form token, also set as a
// cookie: the POST must present both. A browser's existing token is kept,
// so that sign-in forms open in several tabs all work.
func (p *panel) renderLogin(w http.ResponseWriter, r *http.Request, status int, v *view, email, next string) {
	token := randomToken()
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) == len(token) {
		token = c.Value
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: token, Path: p.prefix + "/login/", MaxAge: 3600,
		HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteStrictMode})
	v.Data = loginData{Email: email, Next: next, Token: token}
	p.render(w, r, status, "login", v)
}

// login is POST /login/: it signs in through the Authenticator (its rate
// limits and checks apply), then requires internal.dashboard.view. A user
// without it is refused and the session the login opened is revoked at
// once.
func (p *panel) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, nil, http.StatusBadRequest, "Invalid request", "The form could not be read.")
		return
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || !equalTokens(c.Value, r.PostForm.Get("csrf")) {
		p.errorPage(w, r, nil, http.StatusForbidden, "Forbidden",
			"The sign-in form's security token is missing or wrong. Reload the sign-in page and try again.")
		return
	}
	email, password, next := r.PostForm.Get("email"), r.PostForm.Get("password"), r.PostForm.Get("next")
	refuse := func(status int, message string) {
		p.renderLogin(w, r, status, &view{Title: "Sign in", Flashes: []flash{{"error", message}}}, email, next)
	}
	client := p.client(r)
	tokens, u, err := p.auth.Login(r.Context(), client, email, password)
	var throttled *auth.ThrottledError
	switch {
	case err == nil:
	case errors.Is(err, auth.ErrValidation):
		refuse(http.StatusBadRequest, "Enter your email address and your password.")
		return
	case errors.Is(err, auth.ErrInvalidCredentials):
		refuse(http.StatusUnauthorized, "The email address or the password is not correct.")
		return
	case errors.As(err, &throttled):
		secs := max(1, int((throttled.RetryAfter+time.Second-1)/time.Second))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		refuse(http.StatusTooManyRequests, "Too many sign-in attempts. Try again in "+plural(secs, "second")+".")
		return
	case errors.Is(err, auth.ErrAccountDisabled):
		refuse(http.StatusForbidden, "This account is disabled.")
		return
	case errors.Is(err, auth.ErrEmailNotVerified):
		refuse(http.StatusForbidden, "This account's email address is not verified yet.")
		return
	case errors.Is(err, auth.ErrOverloaded):
		w.Header().Set("Retry-After", "1")
		refuse(http.StatusServiceUnavailable, "The server is busy. Try again in a moment.")
		return
	default:
		p.log.ErrorContext(r.Context(), "adminui: sign in", "err", err)
		refuse(http.StatusInternalServerError, "Signing in failed. Try again in a moment.")
		return
	}
	principal := auth.Principal{UserID: u.ID, SessionID: tokens.SessionID, Role: u.Role}
	if _, _, err := p.admin.Grants(r.Context(), principal); err != nil {
		if lerr := p.auth.Logout(r.Context(), client, principal, ""); lerr != nil {
			p.log.ErrorContext(r.Context(), "adminui: revoke a refused session", "err", lerr)
		}
		if errors.Is(err, auth.ErrPermissionDenied) {
			refuse(http.StatusForbidden, "This account has no access to the admin panel.")
			return
		}
		p.log.ErrorContext(r.Context(), "adminui: sign in", "err", err)
		refuse(http.StatusInternalServerError, "Signing in failed. Try again in a moment.")
		return
	}
	p.startSession(w, r, tokens, u)
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: p.prefix + "/login/", MaxAge: -1,
		HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, p.safeNext(next), http.StatusSeeOther)
}

// logout is POST /logout/: the panel session ends and its authd session
// is revoked.
func (p *panel) logout(w http.ResponseWriter, r *http.Request, v *view) error {
	p.endSession(w, r, v.session)
	http.Redirect(w, r, p.prefix+"/login/?notice=signed_out", http.StatusSeeOther)
	return nil
}

// plural is "1 second" or "n seconds".
func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
