package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	auth "github.com/authd/auth"
)

func TestRegister(t *testing.T) {
	s := newStack(t)
	const path = "/api/v1/auth/register/"

	var first response
	t.Run("a new email gets 202, an unverified account and a verification mail", func(t *testing.T) {
		first = s.do(t, "POST", path, map[string]string{"email": "alice@example.com", "password": testPassword, "name": " Alice "})
		body := decode[map[string]string](t, first, http.StatusAccepted)
		if body["detail"] == "" || len(body) != 1 {
			t.Errorf("body = %s, want only a detail", first.body)
		}
		linkToken(t, s.takeMail(t, "alice@example.com"), "/verify-email")

		u := s.user(t, "alice@example.com")
		if u.EmailVerified || !u.IsActive || u.Name != "Alice" || u.Role != auth.RoleEndUser || !u.HasPassword() {
			t.Errorf("stored user = %+v, want an active, unverified END_USER named Alice with a password", u)
		}
		events := s.auditEvents(t, auth.EventUserRegistered)
		if len(events) != 1 || events[0].TargetID != u.ID || events[0].IP != "127.0.0.1" {
			t.Errorf("user.registered events = %+v, want one for %s from 127.0.0.1", events, u.ID)
		}
	})

	t.Run("an existing email gets the identical 202, its owner a notice, and no second account", func(t *testing.T) {
		before := s.user(t, "alice@example.com")
		again := s.do(t, "POST", path, map[string]string{"email": " ALICE@Example.com ", "password": "another fine passphrase 77"})
		if again.status != first.status || string(again.body) != string(first.body) {
			t.Errorf("existing email: %d %s, new email: %d %s", again.status, again.body, first.status, first.body)
		}
		notice := s.takeMail(t, "alice@example.com")
		if strings.Contains(notice.Text, "/verify-email") {
			t.Errorf("the notice carries a verification link:\n%s", notice.Text)
		}
		if after := s.user(t, "alice@example.com"); after.ID != before.ID || after.PasswordHash != before.PasswordHash {
			t.Errorf("the account changed: %+v, was %+v", after, before)
		}
		// The original password still proves the account (and it is still
		// unverified); the new one does not.
		wantProblem(t, s.do(t, "POST", "/api/v1/auth/login/",
			map[string]string{"email": "alice@example.com", "password": testPassword}), http.StatusForbidden, "email_not_verified")
		wantProblem(t, s.do(t, "POST", "/api/v1/auth/login/",
			map[string]string{"email": "alice@example.com", "password": "another fine passphrase 77"}), http.StatusUnauthorized, "invalid_credentials")
	})

	t.Run("a name is optional", func(t *testing.T) {
		wantStatus(t, s.do(t, "POST", path, map[string]string{"email": "noname@example.com", "password": testPassword}), http.StatusAccepted)
		s.takeMail(t, "noname@example.com")
	})

	tests := []struct {
		name   string
		body   string
		fields []string
	}{
		{"an empty body names both required fields", ``, []string{"email", "password"}},
		{"a missing password is named", `{"email": "bob@example.com"}`, []string{"password"}},
		{"an empty email is named", `{"email": "", "password": "` + testPassword + `"}`, []string{"email"}},
		{"a malformed email is named", `{"email": "bob at example.com", "password": "` + testPassword + `"}`, []string{"email"}},
		{"a display-name address is refused", `{"email": "Bob <bob@example.com>", "password": "` + testPassword + `"}`, []string{"email"}},
		{"a password under 15 characters is refused", `{"email": "bob@example.com", "password": "fourteen chars"}`, []string{"password"}},
		{"a common password is refused", `{"email": "bob@example.com", "password": "1qaz2wsx3edc4rfv"}`, []string{"password"}},
		{"a password containing the email's local part is refused", `{"email": "harbour@example.com", "password": "` + testPassword + `"}`, []string{"password"}},
		{"a name over 200 characters is refused", `{"email": "bob@example.com", "password": "` + testPassword + `", "name": "` + strings.Repeat("n", 201) + `"}`, []string{"name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantValidation(t, s.do(t, "POST", path, tt.body), tt.fields...)
			s.wantNoMail(t, "bob@example.com")
			s.wantNoMail(t, "harbour@example.com")
		})
	}
}

func TestVerifyEmail(t *testing.T) {
	s := newStack(t)
	const path = "/api/v1/auth/verify-email/"

	t.Run("the mailed token verifies the email once", func(t *testing.T) {
		token := s.register(t, "vera@example.com")
		u := decode[userBody](t, s.do(t, "POST", path, map[string]string{"token": token}), http.StatusOK).User
		if !u.EmailVerified || u.Email != "vera@example.com" || u.Name != "Test User" || !u.HasPassword ||
			!u.IsActive || u.Role != "END_USER" || u.ID == "" {
			t.Errorf("user = %+v", u)
		}
		if _, err := time.Parse(time.RFC3339, u.CreatedAt); err != nil || !strings.HasSuffix(u.CreatedAt, "Z") {
			t.Errorf("created_at %q is not RFC 3339 in UTC", u.CreatedAt)
		}
		if events := s.auditEvents(t, auth.EventUserEmailVerified); len(events) != 1 || events[0].TargetID != u.ID {
			t.Errorf("user.email_verified events = %+v", events)
		}
		s.login(t, "vera@example.com")

		wantProblem(t, s.do(t, "POST", path, map[string]string{"token": token}), http.StatusBadRequest, "invalid_token")
	})

	t.Run("an unknown token is 400 invalid_token", func(t *testing.T) {
		wantProblem(t, s.do(t, "POST", path, map[string]string{"token": "not-a-token"}), http.StatusBadRequest, "invalid_token")
	})

	t.Run("a token older than 24 hours is 400 invalid_token", func(t *testing.T) {
		token := s.register(t, "late@example.com")
		s.clock.Advance(24*time.Hour + time.Second)
		wantProblem(t, s.do(t, "POST", path, map[string]string{"token": token}), http.StatusBadRequest, "invalid_token")
	})

	t.Run("a missing token is 400 validation_failed", func(t *testing.T) {
		wantValidation(t, s.do(t, "POST", path, `{}`), "token")
	})
}

func TestResendVerification(t *testing.T) {
	s := newStack(t)
	const path = "/api/v1/auth/verify-email/resend/"
	oldToken := s.register(t, "resend@example.com")
	s.signUp(t, "done@example.com")

	var bodies []string
	t.Run("an unverified account gets a new link that replaces the old one", func(t *testing.T) {
		res := s.do(t, "POST", path, map[string]string{"email": "Resend@example.com"})
		wantStatus(t, res, http.StatusAccepted)
		bodies = append(bodies, string(res.body))
		newToken := linkToken(t, s.takeMail(t, "resend@example.com"), "/verify-email")
		wantProblem(t, s.do(t, "POST", "/api/v1/auth/verify-email/", map[string]string{"token": oldToken}),
			http.StatusBadRequest, "invalid_token")
		decode[userBody](t, s.do(t, "POST", "/api/v1/auth/verify-email/", map[string]string{"token": newToken}), http.StatusOK)
	})

	t.Run("unknown and verified emails get the same 202 and no mail", func(t *testing.T) {
		for _, addr := range []string{"nobody@example.com", "done@example.com", "resend@example.com"} {
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
		wantValidation(t, s.do(t, "POST", path, ``), "email")
		wantValidation(t, s.do(t, "POST", path, `{"email": "nope"}`), "email")
	})
}

func TestLogin(t *testing.T) {
	s := newStack(t)
	const path = "/api/v1/auth/login/"
	alice := s.signUp(t, "alice@example.com")

	t.Run("a verified account gets tokens, its user and a session", func(t *testing.T) {
		res := s.do(t, "POST", path, map[string]string{"email": " Alice@EXAMPLE.com", "password": testPassword},
			header("User-Agent", "login-test/1.0"))
		tok := decode[tokensObject](t, res, http.StatusOK)
		if tok.Access == "" || tok.Refresh == "" || tok.Access == tok.Refresh || tok.TokenType != "Bearer" ||
			tok.ExpiresIn != 300 || tok.RefreshExpiresIn != 7*24*3600 || tok.SessionID == "" {
			t.Errorf("tokens = %+v", tok)
		}
		if tok.User == nil || *tok.User != alice {
			t.Errorf("user = %+v, want %+v", tok.User, alice)
		}
		var raw map[string]json.RawMessage
		json.Unmarshal(res.body, &raw)
		for _, k := range []string{"access", "refresh", "token_type", "expires_in", "refresh_expires_in", "session_id", "user"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("no %q in %s", k, res.body)
			}
		}
		if me := decode[userBody](t, s.me(t, tok.Access), http.StatusOK).User; me.ID != alice.ID {
			t.Errorf("me = %+v", me)
		}

		events := s.auditEvents(t, auth.EventLogin)
		if len(events) != 1 || events[0].ActorID != alice.ID || events[0].TargetType != auth.TargetSession ||
			events[0].TargetID != tok.SessionID || events[0].UserAgent != "login-test/1.0" || events[0].IP != "127.0.0.1" {
			t.Errorf("auth.login events = %+v, want one by %s on session %s", events, alice.ID, tok.SessionID)
		}
		sess, err := s.store.SessionByID(t.Context(), tok.SessionID)
		if err != nil || sess.IP != "127.0.0.1" || sess.UserAgent != "login-test/1.0" || sess.UserID != alice.ID {
			t.Errorf("session = %+v, %v", sess, err)
		}
	})

	t.Run("an unknown email and a wrong password get the identical 401 invalid_credentials", func(t *testing.T) {
		unknown := s.do(t, "POST", path, map[string]string{"email": "nobody@example.com", "password": testPassword})
		wrong := s.do(t, "POST", path, map[string]string{"email": "alice@example.com", "password": "not the right one at all"})
		wantProblem(t, unknown, http.StatusUnauthorized, "invalid_credentials")
		wantProblem(t, wrong, http.StatusUnauthorized, "invalid_credentials")
		if string(unknown.body) != string(wrong.body) {
			t.Errorf("unknown email: %s, wrong password: %s", unknown.body, wrong.body)
		}
		if got := len(s.auditEvents(t, auth.EventLoginFailed)); got != 2 {
			t.Errorf("%d auth.login_failed events, want 2", got)
		}
	})

	t.Run("an unverified account with the right password is 403 email_not_verified", func(t *testing.T) {
		s.register(t, "unverified@example.com")
		wantProblem(t, s.do(t, "POST", path, map[string]string{"email": "unverified@example.com", "password": testPassword}),
			http.StatusForbidden, "email_not_verified")
		wantProblem(t, s.do(t, "POST", path, map[string]string{"email": "unverified@example.com", "password": "wrong wrong wrong"}),
			http.StatusUnauthorized, "invalid_credentials")
	})

	t.Run("a disabled account with the right password is 403 account_disabled", func(t *testing.T) {
		s.signUp(t, "disabled@example.com")
		s.updateUser(t, "disabled@example.com", func(u *auth.User) { u.IsActive = false })
		wantProblem(t, s.do(t, "POST", path, map[string]string{"email": "disabled@example.com", "password": testPassword}),
			http.StatusForbidden, "account_disabled")
		wantProblem(t, s.do(t, "POST", path, map[string]string{"email": "disabled@example.com", "password": "wrong wrong wrong"}),
			http.StatusUnauthorized, "invalid_credentials")
	})

	t.Run("an account without a password is 401 invalid_credentials", func(t *testing.T) {
		s.signUp(t, "sso-only@example.com")
		s.updateUser(t, "sso-only@example.com", func(u *auth.User) { u.PasswordHash = "" })
		wantProblem(t, s.do(t, "POST", path, map[string]string{"email": "sso-only@example.com", "password": testPassword}),
			http.StatusUnauthorized, "invalid_credentials")
	})

	t.Run("missing fields are 400 validation_failed", func(t *testing.T) {
		wantValidation(t, s.do(t, "POST", path, `{}`), "email", "password")
		wantValidation(t, s.do(t, "POST", path, `{"password": "x"}`), "email")
	})
}

func TestLoginThrottle(t *testing.T) {
	s := newStack(t, withLimits(auth.Limits{Login: auth.Limit{Burst: 2, Period: time.Minute}}))
	s.signUp(t, "busy@example.com")
	body := map[string]string{"email": "busy@example.com", "password": "not the password at all"}

	t.Run("past the limit a login is 429 throttled with Retry-After in whole seconds", func(t *testing.T) {
		for range 2 {
			wantProblem(t, s.do(t, "POST", "/api/v1/auth/login/", body), http.StatusUnauthorized, "invalid_credentials")
		}
		res := s.do(t, "POST", "/api/v1/auth/login/", body)
		wantProblem(t, res, http.StatusTooManyRequests, "throttled")
		secs, err := strconv.Atoi(res.header.Get("Retry-After"))
		if err != nil || secs < 1 || secs > 60 {
			t.Errorf("Retry-After = %q, want whole seconds in 1..60", res.header.Get("Retry-After"))
		}
		// The right password is throttled too: the throttle comes first.
		wantProblem(t, s.do(t, "POST", "/api/v1/auth/login/",
			map[string]string{"email": "busy@example.com", "password": testPassword}), http.StatusTooManyRequests, "throttled")
	})

	t.Run("after Retry-After the login is allowed again", func(t *testing.T) {
		s.clock.Advance(time.Minute)
		s.login(t, "busy@example.com")
	})
}
