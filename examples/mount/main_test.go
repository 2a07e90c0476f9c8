package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/authd/auth"
	"github.com/authd/auth/storage"
)

// inbox keeps the mail authd sends, so the test can follow its links.
type inbox struct {
	mu   sync.Mutex
	sent []auth.Message
}

func (b *inbox) Send(_ context.Context, m auth.Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sent = append(b.sent, m)
	return nil
}

// token returns the token of the link in the last mail to `to`.
func (b *inbox) token(t *testing.T, to string) string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(b.sent) - 1; i >= 0; i-- {
		if b.sent[i].To != to {
			continue
		}
		for _, f := range strings.Fields(b.sent[i].Text) {
			if u, err := url.Parse(f); err == nil && u.Query().Has("token") {
				return u.Query().Get("token")
			}
		}
	}
	t.Fatalf("no mail with a link to %s", to)
	return ""
}

// host is the example application behind a test server.
type host struct {
	srv   *httptest.Server
	store *storage.Store
	mail  *inbox
}

// call sends a request with an optional JSON body and bearer token, and
// returns the status and the decoded JSON body.
func (h *host) call(t *testing.T, method, path, body, token string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(res.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, b, err)
		}
	}
	return res.StatusCode, out
}

// want checks the status of a call and returns its body.
func (h *host) want(t *testing.T, status int, method, path, body, token string) map[string]any {
	t.Helper()
	got, out := h.call(t, method, path, body, token)
	if got != status {
		t.Fatalf("%s %s = %d, want %d; body %v", method, path, got, status, out)
	}
	return out
}

// signIn registers email through the mounted API, verifies it from the
// mail and logs in, returning the access token.
func (h *host) signIn(t *testing.T, email string) string {
	t.Helper()
	creds := `{"email":"` + email + `","password":"correct horse battery staple"}`
	h.want(t, http.StatusAccepted, "POST", "/auth/api/v1/auth/register/", creds, "")
	h.want(t, http.StatusOK, "POST", "/auth/api/v1/auth/verify-email/", `{"token":"`+h.mail.token(t, email)+`"}`, "")
	out := h.want(t, http.StatusOK, "POST", "/auth/api/v1/auth/login/", creds, "")
	return out["access"].(string)
}

func TestMountedAPIAndProtectedRoutes(t *testing.T) {
	for _, router := range []struct {
		name    string
		handler func(*app) http.Handler
	}{
		{"on net/http's ServeMux", (*app).stdHandler},
		{"on chi", (*app).chiHandler},
	} {
		t.Run(router.name, func(t *testing.T) {
			ctx := context.Background()
			st, err := storage.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "mount.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			mail := &inbox{}
			a, err := newApp(ctx, st, mail, auth.Config{
				JWTSecret: []byte("a test key of at least thirty-two bytes"),
				Argon2:    auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1}, // cheap, for tests only
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(a.Close)
			h := &host{srv: httptest.NewServer(router.handler(a)), store: st, mail: mail}
			t.Cleanup(h.srv.Close)

			// The baseline route needs nothing.
			bare := h.want(t, http.StatusOK, "GET", "/api/bare-reports", "", "")

			// authd's API answers under /auth/.
			ada := h.signIn(t, "ada@example.com")
			me := h.want(t, http.StatusOK, "GET", "/auth/api/v1/auth/me/", "", ada)
			if me["user"].(map[string]any)["email"] != "ada@example.com" {
				t.Fatalf("me = %v", me)
			}

			// A global permission: 401 without a token or with a bad one,
			// 403 for an END_USER, 200 once the stored role grants it (the
			// same token: roles are read from the store).
			h.want(t, http.StatusUnauthorized, "GET", "/api/reports", "", "")
			h.want(t, http.StatusUnauthorized, "GET", "/api/reports", "", "not-a-token")
			h.want(t, http.StatusForbidden, "GET", "/api/reports", "", ada)
			// An administrator promotes ada through the Admin service (what
			// authd's /internal API does), which drops her from the Guard's
			// user cache at once.
			u, err := st.UserByEmail(ctx, "ada@example.com")
			if err != nil {
				t.Fatal(err)
			}
			root, err := a.auth.CreateSuperuser(ctx, "root@example.com", "correct horse battery staple")
			if err != nil {
				t.Fatal(err)
			}
			admin, err := auth.NewAdmin(st, a.guard, nil)
			if err != nil {
				t.Fatal(err)
			}
			staff := auth.RoleStaff
			if _, err := admin.UpdateUser(ctx, auth.Client{}, auth.Principal{UserID: root.ID}, u.ID, auth.UserUpdate{Role: &staff}); err != nil {
				t.Fatal(err)
			}
			reports := h.want(t, http.StatusOK, "GET", "/api/reports", "", ada)
			if len(reports["reports"].([]any)) != len(bare["reports"].([]any)) {
				t.Errorf("reports %v and bare reports %v differ", reports, bare)
			}

			// Organisation permissions: ada creates acme through the
			// mounted API and owns it.
			h.want(t, http.StatusCreated, "POST", "/auth/api/v1/orgs/create/", `{"name":"Acme","slug":"acme"}`, ada)
			h.want(t, http.StatusUnauthorized, "GET", "/orgs/acme/projects", "", "")
			h.want(t, http.StatusCreated, "POST", "/orgs/acme/projects", `{"name":"rocket"}`, ada)
			got := h.want(t, http.StatusOK, "GET", "/orgs/acme/projects", "", ada)
			if ps := got["projects"].([]any); len(ps) != 1 || ps[0] != "rocket" {
				t.Fatalf("projects = %v", got)
			}
			h.want(t, http.StatusNotFound, "GET", "/orgs/nowhere/projects", "", ada)

			// bob is not a member: the organisation is not found for him.
			bob := h.signIn(t, "bob@example.com")
			h.want(t, http.StatusNotFound, "GET", "/orgs/acme/projects", "", bob)
			h.want(t, http.StatusNotFound, "POST", "/orgs/acme/projects", `{"name":"mine"}`, bob)

			// Invited as a MEMBER, bob may list (org.view) but not create
			// (org.update).
			h.want(t, http.StatusCreated, "POST", "/auth/api/v1/orgs/acme/invites/",
				`{"email":"bob@example.com","role":"MEMBER"}`, ada)
			h.want(t, http.StatusOK, "POST", "/auth/api/v1/orgs/invites/accept/",
				`{"token":"`+mail.token(t, "bob@example.com")+`"}`, bob)
			h.want(t, http.StatusOK, "GET", "/orgs/acme/projects", "", bob)
			denied := h.want(t, http.StatusForbidden, "POST", "/orgs/acme/projects", `{"name":"mine"}`, bob)
			if denied["code"] != "permission_denied" {
				t.Errorf("403 body = %v", denied)
			}
		})
	}
}
