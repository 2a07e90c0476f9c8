package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	auth "github.com/authd/auth"
)

const newPassword = "quiet lantern orchard 5521"

func TestChangePassword(t *testing.T) {
	s := newStack(t)
	u := s.signUp(t, "carl@example.com")
	const path = "/api/v1/auth/password/change/"

	t.Run("weak or missing fields are 400 validation_failed, naming them", func(t *testing.T) {
		tok := s.login(t, "carl@example.com")
		tests := []struct {
			name   string
			body   map[string]string
			fields []string
		}{
			{"both missing", map[string]string{}, []string{"current_password", "new_password"}},
			{"a wrong current password", map[string]string{"current_password": "not my password at all", "new_password": newPassword},
				[]string{"current_password"}},
			{"a short new password", map[string]string{"current_password": testPassword, "new_password": "too short"},
				[]string{"new_password"}},
			{"a common new password", map[string]string{"current_password": testPassword, "new_password": "1qaz2wsx3edc4rfv"},
				[]string{"new_password"}},
			{"a new password containing the email's local part", map[string]string{"current_password": testPassword,
				"new_password": "my name is CARL and this is long"}, []string{"new_password"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantValidation(t, s.do(t, "POST", path, tt.body, bearer(tok.Access)), tt.fields...)
			})
		}
		// Nothing changed.
		s.login(t, "carl@example.com")
	})

	t.Run("a change answers 204, keeps the current session and revokes every other", func(t *testing.T) {
		current := s.login(t, "carl@example.com")
		other := s.login(t, "carl@example.com")
		res := s.do(t, "POST", path, map[string]string{"current_password": testPassword, "new_password": newPassword},
			bearer(current.Access))
		wantStatus(t, res, http.StatusNoContent)

		wantStatus(t, s.me(t, current.Access), http.StatusOK)
		decode[tokensObject](t, s.refresh(t, current.Refresh), http.StatusOK)
		wantProblem(t, s.me(t, other.Access), http.StatusUnauthorized, "unauthenticated")
		wantProblem(t, s.refresh(t, other.Refresh), http.StatusUnauthorized, "invalid_token")

		s.loginWith(t, "carl@example.com", newPassword)
		wantProblem(t, s.do(t, "POST", "/api/v1/auth/login/", map[string]string{"email": "carl@example.com", "password": testPassword}),
			http.StatusUnauthorized, "invalid_credentials")
		if events := s.auditEvents(t, auth.EventPasswordChanged); len(events) != 1 || events[0].ActorID != u.ID {
			t.Errorf("password.changed events = %+v", events)
		}
	})
}

func TestSetPassword(t *testing.T) {
	s := newStack(t)
	s.signUp(t, "sso@example.com")
	const path = "/api/v1/auth/password/set/"

	t.Run("an account with a password is 409 password_already_set", func(t *testing.T) {
		tok := s.login(t, "sso@example.com")
		wantProblem(t, s.do(t, "POST", path, map[string]string{"new_password": newPassword}, bearer(tok.Access)),
			http.StatusConflict, "password_already_set")
	})

	t.Run("an account without a password gets one", func(t *testing.T) {
		tok := s.login(t, "sso@example.com")
		other := s.login(t, "sso@example.com")
		// Accounts without a password come from single sign-on, which comes
		// later; take the password away in the store instead.
		s.updateUser(t, "sso@example.com", func(u *auth.User) { u.PasswordHash = "" })
		if me := decode[userBody](t, s.me(t, tok.Access), http.StatusOK).User; me.HasPassword {
			t.Fatalf("has_password = true for an account without a password")
		}

		wantValidation(t, s.do(t, "POST", path, map[string]string{"new_password": "short"}, bearer(tok.Access)), "new_password")
		wantValidation(t, s.do(t, "POST", path, `{}`, bearer(tok.Access)), "new_password")

		wantStatus(t, s.do(t, "POST", path, map[string]string{"new_password": newPassword}, bearer(tok.Access)), http.StatusNoContent)
		if me := decode[userBody](t, s.me(t, tok.Access), http.StatusOK).User; !me.HasPassword {
			t.Errorf("has_password = false after setting one")
		}
		wantProblem(t, s.refresh(t, other.Refresh), http.StatusUnauthorized, "invalid_token")
		s.loginWith(t, "sso@example.com", newPassword)

		wantProblem(t, s.do(t, "POST", path, map[string]string{"new_password": "yet another good passphrase"}, bearer(tok.Access)),
			http.StatusConflict, "password_already_set")
		if events := s.auditEvents(t, auth.EventPasswordSet); len(events) != 1 {
			t.Errorf("password.set events = %+v", events)
		}
	})
}

func TestForgotPassword(t *testing.T) {
	s := newStack(t)
	s.signUp(t, "fay@example.com")
	s.signUp(t, "off@example.com")
	s.updateUser(t, "off@example.com", func(u *auth.User) { u.IsActive = false })
	const path = "/api/v1/auth/password/forgot/"

	var bodies []string
	t.Run("an existing account gets 202 and a reset mail", func(t *testing.T) {
		res := s.do(t, "POST", path, map[string]string{"email": "FAY@example.com"})
		wantStatus(t, res, http.StatusAccepted)
		bodies = append(bodies, string(res.body))
		linkToken(t, s.takeMail(t, "fay@example.com"), "/reset-password")
		if events := s.auditEvents(t, auth.EventPasswordResetRequest); len(events) != 1 {
			t.Errorf("password.reset_requested events = %+v", events)
		}
	})

	t.Run("unknown and disabled accounts get the same 202 and no mail", func(t *testing.T) {
		for _, addr := range []string{"nobody@example.com", "off@example.com"} {
			res := s.do(t, "POST", path, map[string]string{"email": addr})
			wantStatus(t, res, http.StatusAccepted)
			bodies = append(bodies, string(res.body))
			s.wantNoMail(t, addr)
		}
		for _, b := range bodies[1:] {
			if b != bodies[0] {
				t.Errorf("bodies differ: %q and %q", b, bodies[0])
			}
		}
	})

	t.Run("a missing or malformed email is 400 validation_failed", func(t *testing.T) {
		wantValidation(t, s.do(t, "POST", path, `{}`), "email")
		wantValidation(t, s.do(t, "POST", path, `{"email": "fay"}`), "email")
	})
}

func TestResetPassword(t *testing.T) {
	s := newStack(t)
	const path = "/api/v1/auth/password/reset/"

	// forgot asks for a reset of addr and returns the mailed token.
	forgot := func(t *testing.T, addr string) string {
		t.Helper()
		wantStatus(t, s.do(t, "POST", "/api/v1/auth/password/forgot/", map[string]string{"email": addr}), http.StatusAccepted)
		return linkToken(t, s.takeMail(t, addr), "/reset-password")
	}

	t.Run("a reset answers 204, revokes every session and verifies the email; the token is single-use", func(t *testing.T) {
		s.signUp(t, "rex@example.com")
		a, b := s.login(t, "rex@example.com"), s.login(t, "rex@example.com")
		token := forgot(t, "rex@example.com")
		wantStatus(t, s.do(t, "POST", path, map[string]string{"token": token, "new_password": newPassword}), http.StatusNoContent)
		for _, tok := range []tokensObject{a, b} {
			wantProblem(t, s.me(t, tok.Access), http.StatusUnauthorized, "unauthenticated")
			wantProblem(t, s.refresh(t, tok.Refresh), http.StatusUnauthorized, "invalid_token")
		}
		s.loginWith(t, "rex@example.com", newPassword)
		wantProblem(t, s.do(t, "POST", path, map[string]string{"token": token, "new_password": "a different good passphrase"}),
			http.StatusBadRequest, "invalid_token")
		if events := s.auditEvents(t, auth.EventPasswordReset); len(events) != 1 {
			t.Errorf("password.reset events = %+v", events)
		}
	})

	t.Run("a reset marks an unverified email verified", func(t *testing.T) {
		s.register(t, "una@example.com")
		token := forgot(t, "una@example.com")
		wantStatus(t, s.do(t, "POST", path, map[string]string{"token": token, "new_password": newPassword}), http.StatusNoContent)
		if tok := s.loginWith(t, "una@example.com", newPassword); !tok.User.EmailVerified {
			t.Errorf("email_verified = false after a reset")
		}
	})

	t.Run("a weak password is 400 validation_failed and the token stays usable", func(t *testing.T) {
		s.signUp(t, "wesley@example.com")
		token := forgot(t, "wesley@example.com")
		for _, weak := range []string{"short", "1qaz2wsx3edc4rfv", "call me Wesley, it is long enough"} {
			wantValidation(t, s.do(t, "POST", path, map[string]string{"token": token, "new_password": weak}), "new_password")
		}
		wantStatus(t, s.do(t, "POST", path, map[string]string{"token": token, "new_password": newPassword}), http.StatusNoContent)
	})

	t.Run("an unknown token is 400 invalid_token", func(t *testing.T) {
		wantProblem(t, s.do(t, "POST", path, map[string]string{"token": "nope", "new_password": newPassword}),
			http.StatusBadRequest, "invalid_token")
	})

	t.Run("a token older than an hour is 400 invalid_token", func(t *testing.T) {
		s.signUp(t, "old@example.com")
		token := forgot(t, "old@example.com")
		s.clock.Advance(time.Hour + time.Second)
		wantProblem(t, s.do(t, "POST", path, map[string]string{"token": token, "new_password": newPassword}),
			http.StatusBadRequest, "invalid_token")
	})

	t.Run("missing fields are 400 validation_failed", func(t *testing.T) {
		wantValidation(t, s.do(t, "POST", path, `{}`), "token", "new_password")
	})
}
