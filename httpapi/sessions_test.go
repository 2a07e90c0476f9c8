package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	auth "github.com/authd/auth"
	"github.com/authd/auth/mailer"
)

func TestRefresh(t *testing.T) {
	s := newStack(t)
	s.signUp(t, "rita@example.com")

	t.Run("a refresh token is rotated into new tokens for the same session", func(t *testing.T) {
		first := s.login(t, "rita@example.com")
		res := s.refresh(t, first.Refresh)
		next := decode[tokensObject](t, res, http.StatusOK)
		if next.SessionID != first.SessionID || next.Refresh == first.Refresh || next.Access == first.Access ||
			next.TokenType != "Bearer" || next.ExpiresIn != 300 || next.RefreshExpiresIn != 7*24*3600 {
			t.Errorf("refreshed tokens = %+v, login tokens = %+v", next, first)
		}
		var raw map[string]json.RawMessage
		json.Unmarshal(res.body, &raw)
		if _, ok := raw["user"]; ok {
			t.Errorf("a refresh answers with a user: %s", res.body)
		}
		wantStatus(t, s.me(t, next.Access), http.StatusOK)
		decode[tokensObject](t, s.refresh(t, next.Refresh), http.StatusOK)
	})

	t.Run("a rotated token presented again is token_reused and ends the session", func(t *testing.T) {
		first := s.login(t, "rita@example.com")
		next := decode[tokensObject](t, s.refresh(t, first.Refresh), http.StatusOK)

		wantProblem(t, s.refresh(t, first.Refresh), http.StatusUnauthorized, "token_reused")
		wantProblem(t, s.refresh(t, next.Refresh), http.StatusUnauthorized, "invalid_token")
		wantProblem(t, s.me(t, next.Access), http.StatusUnauthorized, "unauthenticated")

		events := s.auditEvents(t, auth.EventTokenReused)
		if len(events) != 1 || events[0].TargetID != first.SessionID || events[0].TargetType != auth.TargetSession {
			t.Errorf("auth.token_reused events = %+v, want one on session %s", events, first.SessionID)
		}
	})

	t.Run("an access token is not a refresh token, nor the reverse", func(t *testing.T) {
		tok := s.login(t, "rita@example.com")
		wantProblem(t, s.refresh(t, tok.Access), http.StatusUnauthorized, "invalid_token")
		wantProblem(t, s.me(t, tok.Refresh), http.StatusUnauthorized, "unauthenticated")
		// Neither mistake harmed the session.
		decode[tokensObject](t, s.refresh(t, tok.Refresh), http.StatusOK)
	})

	t.Run("a garbage refresh token is 401 invalid_token", func(t *testing.T) {
		wantProblem(t, s.refresh(t, "not.a.jwt"), http.StatusUnauthorized, "invalid_token")
	})

	t.Run("a missing refresh token is 400 validation_failed", func(t *testing.T) {
		wantValidation(t, s.do(t, "POST", "/api/v1/auth/token/refresh/", `{}`), "refresh")
	})

	t.Run("each refresh renews the idle expiry", func(t *testing.T) {
		tok := s.login(t, "rita@example.com")
		for range 2 {
			s.clock.Advance(6 * 24 * time.Hour)
			tok = decode[tokensObject](t, s.refresh(t, tok.Refresh), http.StatusOK)
		}
	})

	t.Run("an expired refresh token is 401 invalid_token", func(t *testing.T) {
		tok := s.login(t, "rita@example.com")
		s.clock.Advance(7*24*time.Hour + time.Minute)
		wantProblem(t, s.refresh(t, tok.Refresh), http.StatusUnauthorized, "invalid_token")
	})

	t.Run("of 20 concurrent refreshes with one token exactly one succeeds", func(t *testing.T) {
		tok := s.login(t, "rita@example.com")
		statuses := make([]int, 20)
		var wg sync.WaitGroup
		for i := range statuses {
			wg.Go(func() { statuses[i] = s.refresh(t, tok.Refresh).status })
		}
		wg.Wait()
		var ok int
		for _, st := range statuses {
			switch st {
			case http.StatusOK:
				ok++
			case http.StatusUnauthorized:
			default:
				t.Errorf("a concurrent refresh got %d", st)
			}
		}
		if ok != 1 {
			t.Errorf("%d refreshes succeeded, want exactly 1 (statuses %v)", ok, statuses)
		}
	})
}

func TestAuthentication(t *testing.T) {
	s := newStack(t)
	s.signUp(t, "ada@example.com")

	// forged is a well-formed access token signed with another key.
	forged := func(t *testing.T) string {
		m, err := mailer.NewDir(filepath.Join(t.TempDir(), "mail"), "x@authd.test", nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg := testAuthConfig(s.clock)
		cfg.JWTSecret = []byte("another key of at least thirty-two bytes, unknown to the server")
		other, err := auth.NewAuthenticator(s.store, m, cfg)
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := other.Login(context.Background(), auth.Client{IP: "192.0.2.1"}, "ada@example.com", testPassword)
		if err != nil {
			t.Fatal(err)
		}
		return tok.Access
	}

	tests := []struct {
		name          string
		authorization func(t *testing.T) string
	}{
		{"no Authorization header is 401", func(*testing.T) string { return "" }},
		{"another scheme is 401", func(t *testing.T) string { return "Basic " + s.login(t, "ada@example.com").Access }},
		{"a scheme without a token is 401", func(*testing.T) string { return "Bearer" }},
		{"a blank token is 401", func(*testing.T) string { return "Bearer   " }},
		{"two tokens are 401", func(t *testing.T) string { return "Bearer " + s.login(t, "ada@example.com").Access + " x" }},
		{"a malformed token is 401", func(*testing.T) string { return "Bearer not.a.jwt" }},
		{"a token signed with another key is 401", func(t *testing.T) string { return "Bearer " + forged(t) }},
		{"an expired token is 401", func(t *testing.T) string {
			tok := s.login(t, "ada@example.com")
			s.clock.Advance(5*time.Minute + 10*time.Second)
			return "Bearer " + tok.Access
		}},
		{"a token of a logged-out session is 401", func(t *testing.T) string {
			tok := s.login(t, "ada@example.com")
			wantStatus(t, s.do(t, "POST", "/api/v1/auth/logout/", nil, bearer(tok.Access)), http.StatusNoContent)
			return "Bearer " + tok.Access
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			authz := tt.authorization(t)
			for _, call := range []struct{ method, path string }{
				{"GET", "/api/v1/auth/me/"}, {"PATCH", "/api/v1/auth/me/"}, {"GET", "/api/v1/auth/sessions/"},
				{"POST", "/api/v1/auth/logout/"}, {"POST", "/api/v1/auth/logout-all/"},
				{"DELETE", "/api/v1/auth/sessions/0b5c2c52-47d4-4b4e-9d37-6b2f3f0b2a11/"},
				{"POST", "/api/v1/auth/password/change/"}, {"POST", "/api/v1/auth/password/set/"},
			} {
				var opts []requestOption
				if authz != "" {
					opts = append(opts, header("Authorization", authz))
				}
				wantProblem(t, s.do(t, call.method, call.path, nil, opts...), http.StatusUnauthorized, "unauthenticated")
			}
		})
	}

	t.Run("the scheme is case-insensitive", func(t *testing.T) {
		tok := s.login(t, "ada@example.com")
		for _, scheme := range []string{"bearer", "BEARER", "bEaReR"} {
			wantStatus(t, s.do(t, "GET", "/api/v1/auth/me/", nil, header("Authorization", scheme+" "+tok.Access)), http.StatusOK)
		}
	})
}

func TestMe(t *testing.T) {
	s := newStack(t)
	u := s.signUp(t, "mel@example.com")
	tok := s.login(t, "mel@example.com")

	t.Run("GET returns the caller", func(t *testing.T) {
		if got := decode[userBody](t, s.me(t, tok.Access), http.StatusOK).User; got != u {
			t.Errorf("me = %+v, want %+v", got, u)
		}
	})

	t.Run("PATCH changes the name", func(t *testing.T) {
		got := decode[userBody](t, s.do(t, "PATCH", "/api/v1/auth/me/", map[string]string{"name": "  Mel B. "},
			bearer(tok.Access)), http.StatusOK).User
		if got.Name != "Mel B." || got.ID != u.ID || got.Email != u.Email {
			t.Errorf("patched user = %+v", got)
		}
		if again := decode[userBody](t, s.me(t, tok.Access), http.StatusOK).User; again.Name != "Mel B." {
			t.Errorf("name after PATCH = %q", again.Name)
		}
		if events := s.auditEvents(t, auth.EventUserUpdated); len(events) != 1 || events[0].TargetID != u.ID {
			t.Errorf("user.updated events = %+v", events)
		}
	})

	t.Run("PATCH ignores fields other than the name", func(t *testing.T) {
		got := decode[userBody](t, s.do(t, "PATCH", "/api/v1/auth/me/",
			map[string]any{"name": "Mel", "role": "SYSTEM_ADMIN", "email": "evil@example.com", "is_active": false},
			bearer(tok.Access)), http.StatusOK).User
		if got.Role != "END_USER" || got.Email != "mel@example.com" || !got.IsActive {
			t.Errorf("patched user = %+v", got)
		}
	})

	t.Run("PATCH without a name, or with an empty or long one, is 400 validation_failed", func(t *testing.T) {
		for _, body := range []string{``, `{}`, `{"name": "   "}`, `{"name": null}`, `{"name": ""}`,
			`{"name": "` + strings.Repeat("n", 201) + `"}`} {
			wantValidation(t, s.do(t, "PATCH", "/api/v1/auth/me/", body, bearer(tok.Access)), "name")
		}
	})

	t.Run("PATCH with a name of the wrong type is 400 invalid_request", func(t *testing.T) {
		wantProblem(t, s.do(t, "PATCH", "/api/v1/auth/me/", `{"name": 7}`, bearer(tok.Access)),
			http.StatusBadRequest, "invalid_request")
	})
}

func TestLogout(t *testing.T) {
	s := newStack(t)
	u := s.signUp(t, "leo@example.com")

	t.Run("logout revokes the caller's session and answers 204", func(t *testing.T) {
		tok := s.login(t, "leo@example.com")
		other := s.login(t, "leo@example.com")
		res := s.do(t, "POST", "/api/v1/auth/logout/", nil, bearer(tok.Access))
		wantStatus(t, res, http.StatusNoContent)
		if len(res.body) != 0 {
			t.Errorf("204 with a body: %s", res.body)
		}
		wantProblem(t, s.me(t, tok.Access), http.StatusUnauthorized, "unauthenticated")
		wantProblem(t, s.refresh(t, tok.Refresh), http.StatusUnauthorized, "invalid_token")
		// Another session of the same user is untouched.
		wantStatus(t, s.me(t, other.Access), http.StatusOK)

		events := s.auditEvents(t, auth.EventLogout)
		if len(events) != 1 || events[0].ActorID != u.ID || events[0].TargetID != tok.SessionID {
			t.Errorf("auth.logout events = %+v, want one on %s", events, tok.SessionID)
		}
	})

	t.Run("logout with a refresh token of another own session revokes both", func(t *testing.T) {
		a := s.login(t, "leo@example.com")
		b := s.login(t, "leo@example.com")
		wantStatus(t, s.do(t, "POST", "/api/v1/auth/logout/", map[string]string{"refresh": b.Refresh}, bearer(a.Access)),
			http.StatusNoContent)
		wantProblem(t, s.refresh(t, a.Refresh), http.StatusUnauthorized, "invalid_token")
		wantProblem(t, s.refresh(t, b.Refresh), http.StatusUnauthorized, "invalid_token")
	})

	t.Run("logout with a refresh token of another user's session leaves that one alone", func(t *testing.T) {
		s.signUp(t, "mia@example.com")
		mia := s.login(t, "mia@example.com")
		leo := s.login(t, "leo@example.com")
		wantStatus(t, s.do(t, "POST", "/api/v1/auth/logout/", map[string]string{"refresh": mia.Refresh}, bearer(leo.Access)),
			http.StatusNoContent)
		decode[tokensObject](t, s.refresh(t, mia.Refresh), http.StatusOK)
	})
}

func TestLogoutAll(t *testing.T) {
	s := newStack(t)
	s.signUp(t, "lou@example.com")
	s.signUp(t, "bystander@example.com")
	bystander := s.login(t, "bystander@example.com")
	sessions := []tokensObject{s.login(t, "lou@example.com"), s.login(t, "lou@example.com"), s.login(t, "lou@example.com")}

	t.Run("logout-all revokes every session of the caller and answers 204", func(t *testing.T) {
		wantStatus(t, s.do(t, "POST", "/api/v1/auth/logout-all/", nil, bearer(sessions[1].Access)), http.StatusNoContent)
		for _, tok := range sessions {
			wantProblem(t, s.refresh(t, tok.Refresh), http.StatusUnauthorized, "invalid_token")
			wantProblem(t, s.me(t, tok.Access), http.StatusUnauthorized, "unauthenticated")
		}
		if events := s.auditEvents(t, auth.EventLogoutAll); len(events) != 1 || events[0].Metadata["sessions"] != "3" {
			t.Errorf("auth.logout_all events = %+v, want one of 3 sessions", events)
		}
	})

	t.Run("other users keep their sessions", func(t *testing.T) {
		decode[tokensObject](t, s.refresh(t, bystander.Refresh), http.StatusOK)
	})
}

func TestSessions(t *testing.T) {
	s := newStack(t)
	s.signUp(t, "sam@example.com")
	s.signUp(t, "eve@example.com")
	phone := s.login(t, "sam@example.com", header("User-Agent", "phone/1"))
	s.clock.Advance(time.Second)
	laptop := s.login(t, "sam@example.com", header("User-Agent", "laptop/2"))
	eve := s.login(t, "eve@example.com")

	list := func(t *testing.T, access string) sessionsBody {
		t.Helper()
		return decode[sessionsBody](t, s.do(t, "GET", "/api/v1/auth/sessions/", nil, bearer(access)), http.StatusOK)
	}

	t.Run("the list holds the caller's active sessions, newest first, the caller's marked current", func(t *testing.T) {
		got := list(t, phone.Access)
		if len(got.Sessions) != 2 || got.NextCursor != nil {
			t.Fatalf("sessions = %+v", got)
		}
		newest, oldest := got.Sessions[0], got.Sessions[1]
		if newest.ID != laptop.SessionID || newest.Current || newest.UserAgent != "laptop/2" ||
			oldest.ID != phone.SessionID || !oldest.Current || oldest.UserAgent != "phone/1" || oldest.IP != "127.0.0.1" {
			t.Errorf("sessions = %+v", got.Sessions)
		}
		for _, ts := range []string{oldest.CreatedAt, oldest.LastUsedAt, oldest.ExpiresAt} {
			if _, err := time.Parse(time.RFC3339, ts); err != nil || ts[len(ts)-1] != 'Z' {
				t.Errorf("time %q is not RFC 3339 in UTC", ts)
			}
		}
		if created, _ := time.Parse(time.RFC3339, oldest.CreatedAt); !created.Equal(s.clock.Now().Add(-time.Second)) {
			t.Errorf("created_at = %s, want the login time", oldest.CreatedAt)
		}
	})

	t.Run("another user's session id is 404 and stays active", func(t *testing.T) {
		wantProblem(t, s.do(t, "DELETE", "/api/v1/auth/sessions/"+eve.SessionID+"/", nil, bearer(phone.Access)),
			http.StatusNotFound, "not_found")
		decode[tokensObject](t, s.refresh(t, eve.Refresh), http.StatusOK)
	})

	t.Run("an unknown or malformed session id is 404", func(t *testing.T) {
		for _, id := range []string{"0b5c2c52-47d4-4b4e-9d37-6b2f3f0b2a11", "nope", "0b5c2c52-47d4-4b4e-9d37-6b2f3f0b2a1z"} {
			wantProblem(t, s.do(t, "DELETE", "/api/v1/auth/sessions/"+id+"/", nil, bearer(phone.Access)),
				http.StatusNotFound, "not_found")
		}
	})

	t.Run("deleting another own session revokes it and answers 204", func(t *testing.T) {
		res := s.do(t, "DELETE", "/api/v1/auth/sessions/"+laptop.SessionID+"/", nil, bearer(phone.Access))
		wantStatus(t, res, http.StatusNoContent)
		wantProblem(t, s.refresh(t, laptop.Refresh), http.StatusUnauthorized, "invalid_token")
		wantProblem(t, s.me(t, laptop.Access), http.StatusUnauthorized, "unauthenticated")
		if got := list(t, phone.Access); len(got.Sessions) != 1 || got.Sessions[0].ID != phone.SessionID {
			t.Errorf("sessions after the delete = %+v", got.Sessions)
		}
		if events := s.auditEvents(t, auth.EventSessionRevoked); len(events) != 1 || events[0].TargetID != laptop.SessionID {
			t.Errorf("session.revoked events = %+v", events)
		}
	})

	t.Run("a session already revoked is 404", func(t *testing.T) {
		wantProblem(t, s.do(t, "DELETE", "/api/v1/auth/sessions/"+laptop.SessionID+"/", nil, bearer(phone.Access)),
			http.StatusNotFound, "not_found")
	})

	t.Run("deleting the current session signs the caller out", func(t *testing.T) {
		wantStatus(t, s.do(t, "DELETE", "/api/v1/auth/sessions/"+phone.SessionID, nil, bearer(phone.Access)), http.StatusNoContent)
		wantProblem(t, s.me(t, phone.Access), http.StatusUnauthorized, "unauthenticated")
	})
}
