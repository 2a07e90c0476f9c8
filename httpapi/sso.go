package httpapi

import (
	"context"
	"net/http"
	"net/url"

	auth "github.com/authd/auth"
)

// SSO is the single sign-on flow that the /auth/sso/ endpoints serve;
// package sso's *Service implements it. Start returns the provider's
// authorization URL and the state; Callback turns the provider's redirect
// query into the frontend URL to redirect to (with a one-time code, or an
// error code); Exchange trades that code and its state for tokens.
type SSO interface {
	Start(ctx context.Context, c auth.Client, provider string) (authorizationURL, state string, err error)
	Callback(ctx context.Context, c auth.Client, query url.Values) string
	Exchange(ctx context.Context, c auth.Client, code, state string) (auth.Tokens, auth.User, bool, error)
}

// startSSO is POST /auth/sso/{provider}/: 200 {"authorization_url",
// "state"}; an unknown or unconfigured provider is 404 unknown_provider.
func (s *server) startSSO(w http.ResponseWriter, r *http.Request) error {
	var in struct{}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	u, state, err := s.sso.Start(r.Context(), s.client(r), r.PathValue("provider"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		AuthorizationURL string `json:"authorization_url"`
		State            string `json:"state"`
	}{u, state})
}

// ssoCallback is GET /auth/sso/callback/: the provider's redirect lands
// here, and it always answers 302 to the frontend, with a one-time code
// and the state, or with error=CODE. No token is ever put in the URL.
func (s *server) ssoCallback(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, s.sso.Callback(r.Context(), s.client(r), r.URL.Query()), http.StatusFound)
	return nil
}

// ssoExchange is POST /auth/sso/exchange/: 200 tokens, the user and
// whether it was created; an unknown, used, expired or mismatched code is
// 400 invalid_token.
func (s *server) ssoExchange(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Code  string `json:"code"`
		State string `json:"state"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	t, u, created, err := s.sso.Exchange(r.Context(), s.client(r), in.Code, in.State)
	if err != nil {
		return err
	}
	user := newUserJSON(u)
	out := s.deliver(w, t, "")
	out.User = &user
	return writeJSON(w, http.StatusOK, struct {
		tokensJSON
		Created bool `json:"created"`
	}{out, created})
}

// identityJSON is one linked identity as /auth/identities/ lists it.
type identityJSON struct {
	Provider  string `json:"provider"`
	Email     string `json:"email"`
	CreatedAt string `json:"created_at"`
}

func newIdentityJSON(i auth.Identity) identityJSON {
	return identityJSON{Provider: i.Provider, Email: i.Email, CreatedAt: timestamp(i.CreatedAt)}
}

// identities is GET /auth/identities/: 200 {"identities"}.
func (s *server) identities(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ids, err := s.auth.Identities(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		Identities []identityJSON `json:"identities"`
	}{mapJSON(ids, newIdentityJSON)})
}

// unlinkIdentity is DELETE /auth/identities/{provider}/: 204; 404 when
// not linked, 409 last_login_method when it is the only way to sign in.
func (s *server) unlinkIdentity(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := s.auth.UnlinkIdentity(r.Context(), s.client(r), p, r.PathValue("provider")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
