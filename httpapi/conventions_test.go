package httpapi_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestRouting(t *testing.T) {
	s := newStack(t)

	t.Run("a path without its trailing slash is served the same, without a redirect", func(t *testing.T) {
		body := map[string]string{"email": "nobody@example.com", "password": testPassword}
		with := s.do(t, "POST", "/api/v1/auth/login/", body)
		without := s.do(t, "POST", "/api/v1/auth/login", body)
		wantProblem(t, without, http.StatusUnauthorized, "invalid_credentials")
		if string(with.body) != string(without.body) || with.status != without.status {
			t.Errorf("with slash %d %s, without %d %s", with.status, with.body, without.status, without.body)
		}
		wantProblem(t, s.do(t, "GET", "/api/v1/auth/me", nil), http.StatusUnauthorized, "unauthenticated")
	})

	t.Run("a path with a wildcard is served without its trailing slash", func(t *testing.T) {
		wantProblem(t, s.do(t, "DELETE", "/api/v1/auth/sessions/not-a-session", nil),
			http.StatusUnauthorized, "unauthenticated")
	})

	t.Run("an unknown path is 404 not_found", func(t *testing.T) {
		for _, path := range []string{"/", "/api/v1/", "/api/v1/auth/nope/", "/api/v2/auth/login/", "/api/v1/auth/login/extra/",
			"/api/v1/orgs/acme/nope/", "/api/v1/internal/", "/api/v1/internal/permissions/user/"} {
			wantProblem(t, s.do(t, "GET", path, nil), http.StatusNotFound, "not_found")
		}
	})

	t.Run("a known path with another method is 405 with Allow", func(t *testing.T) {
		tests := []struct {
			method, path, allow string
		}{
			{"GET", "/api/v1/auth/login/", "POST"},
			{"DELETE", "/api/v1/auth/register", "POST"},
			{"POST", "/api/v1/auth/me/", "GET, HEAD, PATCH"},
			{"GET", "/api/v1/auth/sessions/0b5c2c52-47d4-4b4e-9d37-6b2f3f0b2a11/", "DELETE"},
			{"PUT", "/api/v1/auth/sessions/", "GET, HEAD"},
			{"GET", "/api/v1/orgs/create/", "POST"},
			{"POST", "/api/v1/orgs/acme/", "GET, HEAD, PATCH, DELETE"},
			{"PUT", "/api/v1/orgs/acme/invites", "GET, HEAD, POST"},
			{"GET", "/api/v1/orgs/acme/members/0b5c2c52-47d4-4b4e-9d37-6b2f3f0b2a11/", "PATCH, DELETE"},
			{"DELETE", "/api/v1/internal/users/0b5c2c52-47d4-4b4e-9d37-6b2f3f0b2a11/", "GET, HEAD, PATCH"},
			{"GET", "/api/v1/internal/permissions/user/STAFF/", "PUT"},
		}
		for _, tt := range tests {
			res := s.do(t, tt.method, tt.path, nil)
			wantProblem(t, res, http.StatusMethodNotAllowed, "method_not_allowed")
			if got := res.header.Get("Allow"); got != tt.allow {
				t.Errorf("%s %s: Allow = %q, want %q", tt.method, tt.path, got, tt.allow)
			}
		}
	})

	t.Run("HEAD is served where GET is", func(t *testing.T) {
		res := s.do(t, "HEAD", "/api/v1/auth/me/", nil)
		wantStatus(t, res, http.StatusUnauthorized)
	})
}

func TestRequestID(t *testing.T) {
	s := newStack(t)
	tests := []struct {
		name     string
		incoming string
		echoed   bool
	}{
		{"a sane incoming id is echoed", "req-42.a_b:c", true},
		{"an id of 128 characters is echoed", strings.Repeat("a", 128), true},
		{"an id of 129 characters is replaced", strings.Repeat("a", 129), false},
		{"an id with a space is replaced", "req 42", false},
		{"an id with a slash is replaced", "req/42", false},
		{"a missing id is generated", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []requestOption
			if tt.incoming != "" {
				opts = append(opts, header("X-Request-Id", tt.incoming))
			}
			for _, path := range []string{"/api/v1/auth/login/", "/nowhere"} {
				got := s.do(t, "POST", path, "{}", opts...).header.Get("X-Request-Id")
				switch {
				case tt.echoed && got != tt.incoming:
					t.Errorf("%s: X-Request-Id = %q, want the incoming %q", path, got, tt.incoming)
				case !tt.echoed && (got == "" || got == tt.incoming):
					t.Errorf("%s: X-Request-Id = %q, want a new id", path, got)
				}
			}
		})
	}

	t.Run("generated ids differ between requests", func(t *testing.T) {
		a := s.do(t, "GET", "/api/v1/auth/me/", nil).header.Get("X-Request-Id")
		b := s.do(t, "GET", "/api/v1/auth/me/", nil).header.Get("X-Request-Id")
		if a == b {
			t.Errorf("two requests got the same id %q", a)
		}
	})
}

func TestJSONRequests(t *testing.T) {
	s := newStack(t)
	s.signUp(t, "json@example.com")
	const login = "/api/v1/auth/login/"

	t.Run("malformed JSON, trailing data or wrong types are 400 invalid_request", func(t *testing.T) {
		for _, body := range []string{
			`{"email": "json@example.com",`,
			`{"email": "json@example.com"} {"password": "x"}`,
			`{"email": "json@example.com"}x`,
			`{"email": 42, "password": "x"}`,
			`{"email": "json@example.com", "password": ["x"]}`,
			`{"email": {"a": 1}}`,
			`["json@example.com"]`,
			`"json@example.com"`,
			`null`,
			`{"email": "\xff"`,
		} {
			wantProblem(t, s.do(t, "POST", login, body), http.StatusBadRequest, "invalid_request")
		}
	})

	t.Run("a field of the wrong type is named in the detail", func(t *testing.T) {
		p := wantProblem(t, s.do(t, "POST", login, `{"email": 42}`), http.StatusBadRequest, "invalid_request")
		if !strings.Contains(p.Detail, `"email"`) || !strings.Contains(p.Detail, "string") {
			t.Errorf("detail %q should name the field and the type", p.Detail)
		}
	})

	t.Run("an empty body counts as {}", func(t *testing.T) {
		wantValidation(t, s.do(t, "POST", login, ""), "email", "password")
		wantValidation(t, s.do(t, "POST", login, nil), "email", "password")
		wantValidation(t, s.do(t, "POST", login, "", header("Content-Type", "text/plain")), "email", "password")
	})

	t.Run("a JSON null or a missing field is an empty one", func(t *testing.T) {
		wantValidation(t, s.do(t, "POST", login, `{"email": null, "password": null}`), "email", "password")
		wantValidation(t, s.do(t, "POST", login, `{"email": "json@example.com"}`), "password")
	})

	t.Run("unknown fields are ignored", func(t *testing.T) {
		decode[tokensObject](t, s.do(t, "POST", login,
			`{"email": "json@example.com", "password": "`+testPassword+`", "remember_me": true, "extra": {"a": [1]}}`),
			http.StatusOK)
	})

	t.Run("Content-Type parameters are allowed", func(t *testing.T) {
		decode[tokensObject](t, s.do(t, "POST", login,
			map[string]string{"email": "json@example.com", "password": testPassword},
			header("Content-Type", "application/json; charset=utf-8")), http.StatusOK)
	})

	t.Run("a body of another content type is 415", func(t *testing.T) {
		body := `{"email": "json@example.com", "password": "` + testPassword + `"}`
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/jsonx", "json", ""} {
			wantProblem(t, s.do(t, "POST", login, body, header("Content-Type", ct)),
				http.StatusUnsupportedMediaType, "unsupported_media_type")
		}
	})

	t.Run("a body over 64 KiB is 413", func(t *testing.T) {
		big := `{"email": "json@example.com", "password": "` + strings.Repeat("p", 64<<10) + `"}`
		wantProblem(t, s.do(t, "POST", login, big), http.StatusRequestEntityTooLarge, "payload_too_large")
	})

	t.Run("a body of exactly 64 KiB is read", func(t *testing.T) {
		prefix := `{"email": "json@example.com", "password": "` + testPassword + `", "pad": "`
		body := prefix + strings.Repeat("x", 64<<10-len(prefix)-2) + `"}`
		if len(body) != 64<<10 {
			t.Fatalf("body is %d bytes", len(body))
		}
		decode[tokensObject](t, s.do(t, "POST", login, body), http.StatusOK)
	})

	t.Run("a chunked body over 64 KiB is 413 too", func(t *testing.T) {
		big := `{"pad": "` + strings.Repeat("p", 64<<10) + `"}`
		req, err := http.NewRequest("POST", s.srv.URL+login, struct{ *strings.Reader }{strings.NewReader(big)})
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := s.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("status = %d, want 413", res.StatusCode)
		}
	})
}

func TestResponses(t *testing.T) {
	s := newStack(t)

	t.Run("answers are never cached", func(t *testing.T) {
		for _, res := range []response{
			s.do(t, "POST", "/api/v1/auth/login/", "{}"),
			s.do(t, "POST", "/api/v1/auth/register/", map[string]string{"email": "c@example.com", "password": testPassword}),
		} {
			if got := res.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
		}
	})

	t.Run("each request is logged once, with its route and without secrets", func(t *testing.T) {
		s.signUp(t, "logged@example.com")
		tok := s.login(t, "logged@example.com", header("X-Request-Id", "login-log-test"))
		wantStatus(t, s.me(t, tok.Access), http.StatusOK)

		var found bool
		sc := bufio.NewScanner(strings.NewReader(s.logs.String()))
		for sc.Scan() {
			var line map[string]any
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Fatalf("log line %q: %v", sc.Text(), err)
			}
			if line["request_id"] != "login-log-test" || line["msg"] != "request" {
				continue
			}
			found = true
			if line["method"] != "POST" || line["route"] != "POST /api/v1/auth/login/{$}" ||
				line["status"] != float64(200) || line["duration"] == nil {
				t.Errorf("request line %s lacks method, route, status or duration", sc.Text())
			}
		}
		if !found {
			t.Fatalf("no request line with the request id in:\n%s", s.logs.String())
		}
		for _, secret := range []string{testPassword, tok.Access, tok.Refresh, "Bearer"} {
			if strings.Contains(s.logs.String(), secret) {
				t.Errorf("the log contains a secret (%.12s…)", secret)
			}
		}
	})
}
