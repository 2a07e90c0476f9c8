package httpapi

import (
	"errors"
	"net/http"

	auth "github.com/authd/auth"
)

// The bodies of the 202 answers. Each is the same whatever the email, so
// the answer never reveals whether an account exists.
const (
	registerDetail = "If this email address can be registered, a verification email is on its way."
	resendDetail   = "If an unverified account uses this email address, a new verification email is on its way."
	forgotDetail   = "If an account uses this email address, a password reset email is on its way."
)

// register is POST /auth/register/: 202 for a new and an existing email
// alike.
func (s *server) register(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
		Name     string `json:"name"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	err := s.auth.Register(r.Context(), s.client(r),
		auth.RegisterInput{Email: in.Email, Password: in.Password, Name: in.Name})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, detailResponse{registerDetail})
}

// verifyEmail is POST /auth/verify-email/: 200 {"user"}.
func (s *server) verifyEmail(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token string `json:"token"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	u, err := s.auth.VerifyEmail(r.Context(), s.client(r), in.Token)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, userResponse{newUserJSON(u)})
}

// resendVerification is POST /auth/verify-email/resend/: 202 always.
func (s *server) resendVerification(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := s.auth.ResendVerification(r.Context(), s.client(r), in.Email); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, detailResponse{resendDetail})
}

// login is POST /auth/login/: 200 tokens and the user.
func (s *server) login(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	t, u, err := s.auth.Login(r.Context(), s.client(r), in.Email, in.Password)
	if err != nil {
		return err
	}
	out := s.deliver(w, t, "")
	user := newUserJSON(u)
	out.User = &user
	return writeJSON(w, http.StatusOK, out)
}

// refresh is POST /auth/token/refresh/: 200 tokens, the refresh token
// rotated. With cookie delivery, an empty body presents the refresh cookie
// (with the CSRF header), and a rejected cookie is cleared.
func (s *server) refresh(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Refresh string `json:"refresh"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	token, fromCookie, err := s.refreshToken(r, in.Refresh, true)
	if err != nil {
		return err
	}
	t, err := s.auth.Refresh(r.Context(), s.client(r), token)
	if err != nil {
		if fromCookie && (errors.Is(err, auth.ErrInvalidRefreshToken) || errors.Is(err, auth.ErrTokenReused)) {
			s.clearCookies(w)
		}
		return err
	}
	var csrf string // a new one, unless the cookie was checked with one
	if fromCookie {
		csrf = r.Header.Get(csrfHeader)
	}
	return writeJSON(w, http.StatusOK, s.deliver(w, t, csrf))
}

// logout is POST /auth/logout/: 204, the caller's session revoked (and the
// session of the optional refresh token, when it is the caller's). With
// cookie delivery, the refresh cookie stands in for an empty body, and the
// cookies are cleared. Reading it needs no CSRF header of its own: the
// request is authenticated already, by a Bearer header or by the access
// cookie with its CSRF header.
func (s *server) logout(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var in struct {
		Refresh string `json:"refresh"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	token, _, err := s.refreshToken(r, in.Refresh, false)
	if err != nil {
		return err
	}
	if err := s.auth.Logout(r.Context(), s.client(r), p, token); err != nil {
		return err
	}
	s.clearCookies(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// logoutAll is POST /auth/logout-all/: 204, every session of the caller
// revoked, and the token cookies cleared.
func (s *server) logoutAll(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	// No fields, but a body still has to be JSON, as everywhere.
	if err := decodeJSON(w, r, &struct{}{}); err != nil {
		return err
	}
	if err := s.auth.LogoutAll(r.Context(), s.client(r), p); err != nil {
		return err
	}
	s.clearCookies(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// me is GET /auth/me/: 200 {"user"}, the user read with the session.
func (s *server) me(w http.ResponseWriter, _ *http.Request, _ auth.Principal, u auth.User) error {
	return writeJSON(w, http.StatusOK, userResponse{newUserJSON(u)})
}

// updateMe is PATCH /auth/me/: 200 {"user"} with the new name.
func (s *server) updateMe(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	u, err := s.auth.UpdateMe(r.Context(), s.client(r), p, in.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, userResponse{newUserJSON(u)})
}

// changePassword is POST /auth/password/change/: 204, every other session
// revoked.
func (s *server) changePassword(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var in struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := s.auth.ChangePassword(r.Context(), s.client(r), p, in.CurrentPassword, in.NewPassword); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// setPassword is POST /auth/password/set/: 204 for an account without a
// password, 409 password_already_set otherwise.
func (s *server) setPassword(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var in struct {
		NewPassword string `json:"new_password"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := s.auth.SetPassword(r.Context(), s.client(r), p, in.NewPassword); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// forgotPassword is POST /auth/password/forgot/: 202 always.
func (s *server) forgotPassword(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := s.auth.ForgotPassword(r.Context(), s.client(r), in.Email); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, detailResponse{forgotDetail})
}

// resetPassword is POST /auth/password/reset/: 204, every session revoked
// and the email marked verified.
func (s *server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token       string `json:"token"`
		NewPassword string `json:"new_password"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := s.auth.ResetPassword(r.Context(), s.client(r), in.Token, in.NewPassword); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
