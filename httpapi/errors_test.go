package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	auth "github.com/authd/auth"
	"github.com/authd/auth/httpapi"
	"github.com/authd/auth/internal/testkit"
)

// mapped answers a request with err through the error table, as a handler
// returning err would.
func mapped(t *testing.T, err error) (response, *testkit.Buffer) {
	t.Helper()
	logs := &testkit.Buffer{}
	rec := httptest.NewRecorder()
	httpapi.WriteError(rec, httptest.NewRequest("POST", "/api/v1/auth/login/", nil),
		slog.New(slog.NewJSONHandler(logs, nil)), err)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}, logs
}

func TestErrorTable(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		code       string
		retryAfter string
	}{
		{"ErrInvalidRequest is 400 invalid_request", auth.ErrInvalidRequest, 400, "invalid_request", ""},
		{"a ValidationError is 400 validation_failed", &auth.ValidationError{Fields: map[string]string{"email": "required"}}, 400, "validation_failed", ""},
		{"ErrInvalidToken is 400 invalid_token", auth.ErrInvalidToken, 400, "invalid_token", ""},
		{"ErrUnauthenticated is 401 unauthenticated", auth.ErrUnauthenticated, 401, "unauthenticated", ""},
		{"ErrInvalidCredentials is 401 invalid_credentials", auth.ErrInvalidCredentials, 401, "invalid_credentials", ""},
		{"ErrInvalidRefreshToken is 401 invalid_token", auth.ErrInvalidRefreshToken, 401, "invalid_token", ""},
		{"ErrTokenReused is 401 token_reused", auth.ErrTokenReused, 401, "token_reused", ""},
		{"ErrEmailNotVerified is 403 email_not_verified", auth.ErrEmailNotVerified, 403, "email_not_verified", ""},
		{"ErrAccountDisabled is 403 account_disabled", auth.ErrAccountDisabled, 403, "account_disabled", ""},
		{"ErrPermissionDenied is 403 permission_denied", auth.ErrPermissionDenied, 403, "permission_denied", ""},
		{"ErrInviteEmailMismatch is 403 invite_email_mismatch", auth.ErrInviteEmailMismatch, 403, "invite_email_mismatch", ""},
		{"ErrNotFound is 404 not_found", auth.ErrNotFound, 404, "not_found", ""},
		{"ErrPasswordAlreadySet is 409 password_already_set", auth.ErrPasswordAlreadySet, 409, "password_already_set", ""},
		{"ErrSlugTaken is 409 slug_taken", auth.ErrSlugTaken, 409, "slug_taken", ""},
		{"ErrAlreadyMember is 409 already_member", auth.ErrAlreadyMember, 409, "already_member", ""},
		{"ErrOwnerCannotLeave is 409 owner_cannot_leave", auth.ErrOwnerCannotLeave, 409, "owner_cannot_leave", ""},
		{"ErrConflict is 409 conflict", auth.ErrConflict, 409, "conflict", ""},
		{"a ThrottledError of 1.5 s is 429 with Retry-After 2", &auth.ThrottledError{Limit: "login", RetryAfter: 1500 * time.Millisecond}, 429, "throttled", "2"},
		{"a ThrottledError of exactly 30 s says 30", &auth.ThrottledError{Limit: "login", RetryAfter: 30 * time.Second}, 429, "throttled", "30"},
		{"a ThrottledError under a second says at least 1", &auth.ThrottledError{Limit: "login", RetryAfter: time.Millisecond}, 429, "throttled", "1"},
		{"a ThrottledError without a wait says 1", &auth.ThrottledError{Limit: "login"}, 429, "throttled", "1"},
		{"an OverloadedError is 503 overloaded with its Retry-After", &auth.OverloadedError{RetryAfter: 2500 * time.Millisecond}, 503, "overloaded", "3"},
		{"a bare ErrOverloaded is 503 with Retry-After 1", auth.ErrOverloaded, 503, "overloaded", "1"},
		{"ErrUnavailable is 503 unavailable with Retry-After 1", fmt.Errorf("storage: get user: %w: %w", auth.ErrUnavailable, errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")), 503, "unavailable", "1"},
		{"a wrapped sentinel keeps its code", fmt.Errorf("auth: login: %w", auth.ErrAccountDisabled), 403, "account_disabled", ""},
		{"a wrapped ThrottledError keeps its wait", fmt.Errorf("outer: %w", &auth.ThrottledError{RetryAfter: 4 * time.Second}), 429, "throttled", "4"},
		{"an unknown error is 500 internal_error", errors.New("pq: relation \"users\" does not exist"), 500, "internal_error", ""},
		{"a bare context deadline is 500 internal_error", context.DeadlineExceeded, 500, "internal_error", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, logs := mapped(t, tt.err)
			wantProblem(t, res, tt.status, tt.code)
			if got := res.header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			logged := strings.Contains(logs.String(), `"level":"ERROR"`)
			if logged != (tt.status == 500) {
				t.Errorf("logged as an error: %v, want %v; log %s", logged, tt.status == 500, logs)
			}
			if tt.status == 500 && (strings.Contains(string(res.body), "pq") || strings.Contains(string(res.body), "deadline")) {
				t.Errorf("the 500 leaks the error: %s", res.body)
			}
		})
	}

	t.Run("validation errors list every field", func(t *testing.T) {
		res, _ := mapped(t, &auth.ValidationError{Fields: map[string]string{"email": "required", "password": "is too common"}})
		p := wantProblem(t, res, 400, "validation_failed")
		if len(p.Errors) != 2 || p.Errors["email"] != "required" || p.Errors["password"] != "is too common" {
			t.Errorf("errors = %v", p.Errors)
		}
	})

	t.Run("a request the client abandoned is not answered as an error", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		logs := &testkit.Buffer{}
		rec := httptest.NewRecorder()
		httpapi.WriteError(rec, httptest.NewRequest("POST", "/", nil).WithContext(ctx),
			slog.New(slog.NewJSONHandler(logs, nil)), fmt.Errorf("auth: login: %w", context.Canceled))
		if rec.Code == 500 || rec.Body.Len() != 0 || logs.String() != "" {
			t.Errorf("canceled request: status %d, body %q, log %q", rec.Code, rec.Body, logs)
		}
	})

	t.Run("context.Canceled while the request is live is a 500", func(t *testing.T) {
		res, _ := mapped(t, context.Canceled)
		wantProblem(t, res, 500, "internal_error")
	})
}

func TestInternalErrors(t *testing.T) {
	s := newStack(t)
	s.signUp(t, "ivy@example.com")
	s.store.Close() // every query fails from now on

	res := s.do(t, "POST", "/api/v1/auth/login/", map[string]string{"email": "ivy@example.com", "password": testPassword},
		header("X-Request-Id", "broken-db-42"))

	t.Run("a failure of the store is 500 internal_error that leaks nothing", func(t *testing.T) {
		p := wantProblem(t, res, http.StatusInternalServerError, "internal_error")
		for _, leak := range []string{"sql", "database", "closed", "auth:"} {
			if strings.Contains(strings.ToLower(string(res.body)), leak) {
				t.Errorf("the body leaks %q: %s", leak, res.body)
			}
		}
		if !strings.Contains(p.Detail, "X-Request-Id") {
			t.Errorf("detail %q should point at the request id", p.Detail)
		}
	})

	t.Run("the failure is logged with the request id", func(t *testing.T) {
		var found bool
		sc := bufio.NewScanner(strings.NewReader(s.logs.String()))
		for sc.Scan() {
			var line map[string]any
			json.Unmarshal(sc.Bytes(), &line)
			if line["level"] == "ERROR" && line["request_id"] == "broken-db-42" && line["err"] != nil {
				found = true
			}
		}
		if !found {
			t.Errorf("no error line with the request id in:\n%s", s.logs)
		}
	})
}

// TestEveryContractCodeIsReachable walks API.md's error table and reaches
// each code that exists today: over HTTP where an endpoint of this package
// can produce it, through the error table where no request can force it.
func TestEveryContractCodeIsReachable(t *testing.T) {
	s := newStack(t, withLimits(auth.Limits{ForgotPasswordIP: auth.Limit{Burst: 1, Period: time.Hour}}))
	walker := s.newActor(t, "walk@example.com", auth.RoleEndUser)
	s.createOrg(t, walker, "walk-org")

	overHTTP := func(method, path string, body any, opts ...requestOption) func(*testing.T) response {
		return func(t *testing.T) response { return s.do(t, method, path, body, opts...) }
	}
	throughTable := func(err error) func(*testing.T) response {
		return func(t *testing.T) response { res, _ := mapped(t, err); return res }
	}

	contract := []struct {
		status int
		code   string
		reach  func(*testing.T) response // nil: the code comes with a later part of the contract
	}{
		{400, "invalid_request", overHTTP("POST", "/api/v1/auth/login/", `{"email":`)},
		{400, "validation_failed", overHTTP("POST", "/api/v1/auth/login/", `{}`)},
		{400, "invalid_token", overHTTP("POST", "/api/v1/auth/verify-email/", map[string]string{"token": "unknown"})},
		{401, "unauthenticated", overHTTP("GET", "/api/v1/auth/me/", nil)},
		{401, "invalid_credentials", overHTTP("POST", "/api/v1/auth/login/", map[string]string{"email": "walk@example.com", "password": "wrong wrong wrong"})},
		{401, "invalid_token", overHTTP("POST", "/api/v1/auth/token/refresh/", map[string]string{"refresh": "unknown"})},
		{401, "token_reused", func(t *testing.T) response {
			old := s.login(t, "walk@example.com").Refresh
			decode[tokensObject](t, s.refresh(t, old), http.StatusOK)
			return s.refresh(t, old)
		}},
		{403, "email_not_verified", func(t *testing.T) response {
			s.register(t, "walk-unverified@example.com")
			return s.do(t, "POST", "/api/v1/auth/login/", map[string]string{"email": "walk-unverified@example.com", "password": testPassword})
		}},
		{403, "account_disabled", func(t *testing.T) response {
			s.signUp(t, "walk-disabled@example.com")
			s.updateUser(t, "walk-disabled@example.com", func(u *auth.User) { u.IsActive = false })
			return s.do(t, "POST", "/api/v1/auth/login/", map[string]string{"email": "walk-disabled@example.com", "password": testPassword})
		}},
		{403, "permission_denied", overHTTP("GET", "/api/v1/internal/dashboard/", nil, walker.auth())},
		{403, "invite_email_mismatch", func(t *testing.T) response {
			_, token := s.invite(t, walker, "walk-org", "walk-invitee@example.com", "MEMBER")
			return s.accept(t, walker, token)
		}},
		{404, "not_found", overHTTP("DELETE", "/api/v1/auth/sessions/0b5c2c52-47d4-4b4e-9d37-6b2f3f0b2a11/", nil, walker.auth())},
		{404, "unknown_provider", overHTTP("POST", "/api/v1/auth/sso/myspace/", map[string]string{})},
		{409, "slug_taken", overHTTP("POST", "/api/v1/orgs/create/", map[string]string{"name": "Walk", "slug": "walk-org"}, walker.auth())},
		{409, "already_member", overHTTP("POST", "/api/v1/orgs/walk-org/invites/", map[string]string{"email": "walk@example.com", "role": "MEMBER"}, walker.auth())},
		{409, "password_already_set", overHTTP("POST", "/api/v1/auth/password/set/", map[string]string{"new_password": newPassword}, walker.auth())},
		{409, "owner_cannot_leave", overHTTP("POST", "/api/v1/orgs/walk-org/leave/", nil, walker.auth())},
		{409, "last_login_method", func(t *testing.T) response {
			loc := s.ssoSignIn(t, "google")
			got := decode[struct {
				Access string `json:"access"`
			}](t, s.do(t, "POST", "/api/v1/auth/sso/exchange/", map[string]string{"code": loc.Query().Get("code"),
				"state": loc.Query().Get("state")}), http.StatusOK)
			return s.do(t, "DELETE", "/api/v1/auth/identities/google/", nil, bearer(got.Access))
		}},
		{409, "conflict", func(t *testing.T) response {
			admin := s.newActor(t, "walk-admin@example.com", auth.RoleSystemAdmin)
			return s.setPermissions(t, admin, "user", "SYSTEM_ADMIN")
		}},
		{413, "payload_too_large", overHTTP("POST", "/api/v1/auth/login/", `{"pad": "`+strings.Repeat("x", 64<<10)+`"}`)},
		{415, "unsupported_media_type", overHTTP("POST", "/api/v1/auth/login/", `{}`, header("Content-Type", "text/plain"))},
		{429, "throttled", func(t *testing.T) response {
			body := map[string]string{"email": "nobody@example.com"}
			wantStatus(t, s.do(t, "POST", "/api/v1/auth/password/forgot/", body), http.StatusAccepted)
			return s.do(t, "POST", "/api/v1/auth/password/forgot/", body)
		}},
		// A full hashing queue is a race against the clock over HTTP.
		{503, "overloaded", throughTable(&auth.OverloadedError{RetryAfter: time.Second})},
		// A database that cannot be reached: storage's fault test reaches
		// it over HTTP with a PostgreSQL server it restarts.
		{503, "unavailable", throughTable(fmt.Errorf("storage: begin: %w", auth.ErrUnavailable))},
		// TestInternalErrors reaches it over HTTP with a broken store.
		{500, "internal_error", throughTable(errors.New("something unexpected"))},
	}
	for _, c := range contract {
		t.Run(fmt.Sprintf("%d %s is reachable", c.status, c.code), func(t *testing.T) {
			if c.reach == nil {
				t.Skipf("%s has no sentinel in package auth yet", c.code)
			}
			wantProblem(t, c.reach(t), c.status, c.code)
		})
	}
}
