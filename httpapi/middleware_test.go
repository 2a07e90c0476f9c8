package httpapi_test

import (
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

func TestRequireAuth(t *testing.T) {
	s := newStack(t)
	u := s.signUp(t, "host@example.com")

	// A host application's route, protected by RequireAuth.
	protected := httpapi.RequireAuth(s.auth)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.PrincipalFrom(r.Context())
		if !ok {
			t.Error("no principal in the context")
		}
		fmt.Fprintf(w, "%s %s", p.UserID, p.SessionID)
	}))
	call := func(authorization string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/reports", nil)
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		rec := httptest.NewRecorder()
		protected.ServeHTTP(rec, r)
		return rec
	}
	asResponse := func(rec *httptest.ResponseRecorder) response {
		return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	}

	t.Run("a valid access token reaches the handler with its principal", func(t *testing.T) {
		tok := s.login(t, "host@example.com")
		rec := call("bearer " + tok.Access)
		if rec.Code != http.StatusOK || rec.Body.String() != u.ID+" "+tok.SessionID {
			t.Errorf("got %d %q", rec.Code, rec.Body)
		}
	})

	tests := []struct {
		name          string
		authorization func(t *testing.T) string
	}{
		{"no token is 401 unauthenticated", func(*testing.T) string { return "" }},
		{"a malformed header is 401 unauthenticated", func(*testing.T) string { return "Token abc" }},
		{"a refresh token is 401 unauthenticated", func(t *testing.T) string {
			return "Bearer " + s.login(t, "host@example.com").Refresh
		}},
		{"an expired token is 401 unauthenticated", func(t *testing.T) string {
			tok := s.login(t, "host@example.com")
			s.clock.Advance(6 * time.Minute)
			return "Bearer " + tok.Access
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblem(t, asResponse(call(tt.authorization(t))), http.StatusUnauthorized, "unauthenticated")
		})
	}

	t.Run("the check is stateless: a logged-out session's token passes until it expires", func(t *testing.T) {
		tok := s.login(t, "host@example.com")
		wantStatus(t, s.do(t, "POST", "/api/v1/auth/logout/", nil, bearer(tok.Access)), http.StatusNoContent)
		if rec := call("Bearer " + tok.Access); rec.Code != http.StatusOK {
			t.Errorf("got %d, want 200 from the stateless check", rec.Code)
		}
		s.clock.Advance(6 * time.Minute)
		wantProblem(t, asResponse(call("Bearer "+tok.Access)), http.StatusUnauthorized, "unauthenticated")
	})
}

func TestRecoverPanics(t *testing.T) {
	t.Run("a panic is a logged 500 internal_error", func(t *testing.T) {
		logs := &testkit.Buffer{}
		h := httpapi.RecoverPanics(slog.New(slog.NewJSONHandler(logs, nil)))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			panic("handler bug")
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		wantProblem(t, response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}, 500, "internal_error")
		if strings.Contains(rec.Body.String(), "handler bug") {
			t.Errorf("the body leaks the panic: %s", rec.Body)
		}
		if !strings.Contains(logs.String(), "handler bug") || !strings.Contains(logs.String(), `"level":"ERROR"`) {
			t.Errorf("the panic is not logged: %s", logs)
		}
	})

	t.Run("a panic after the answer started leaves the answer alone", func(t *testing.T) {
		h := httpapi.RecoverPanics(slog.New(slog.DiscardHandler))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			panic("late bug")
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != http.StatusAccepted || rec.Body.Len() != 0 {
			t.Errorf("got %d %q", rec.Code, rec.Body)
		}
	})

	t.Run("http.ErrAbortHandler is passed on", func(t *testing.T) {
		h := httpapi.RecoverPanics(slog.New(slog.DiscardHandler))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			panic(http.ErrAbortHandler)
		}))
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler", v)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	})
}

func TestClientIPReachesTheSession(t *testing.T) {
	trusted, err := httpapi.ParseTrustedProxies("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts []stackOption
		want string
	}{
		{"X-Forwarded-For from an untrusted peer is ignored", nil, "127.0.0.1"},
		{"X-Forwarded-For from a trusted proxy names the client", []stackOption{func(_ *auth.Config, c *httpapi.Config) {
			c.TrustedProxies = trusted
		}}, "203.0.113.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, tt.opts...)
			s.signUp(t, "xff@example.com")
			tok := s.login(t, "xff@example.com", header("X-Forwarded-For", "6.6.6.6, 203.0.113.7"))
			sessions := decode[sessionsBody](t, s.do(t, "GET", "/api/v1/auth/sessions/", nil, bearer(tok.Access)), http.StatusOK)
			if len(sessions.Sessions) != 1 || sessions.Sessions[0].IP != tt.want {
				t.Errorf("sessions = %+v, want one from %s", sessions.Sessions, tt.want)
			}
			if events := s.auditEvents(t, auth.EventLogin); len(events) != 1 || events[0].IP != tt.want {
				t.Errorf("auth.login events = %+v, want one from %s", events, tt.want)
			}
		})
	}
}

func TestNew(t *testing.T) {
	t.Run("an Authenticator is required", func(t *testing.T) {
		if _, err := httpapi.New(httpapi.Config{}); err == nil {
			t.Error("New without Auth succeeded")
		}
	})
}
