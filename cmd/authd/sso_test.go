package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authd/auth/sso/ssotest"
)

// Both providers end to end through the authd binary's wiring: start,
// the provider's redirect, the callback's redirect to the frontend, the
// exchange, then the identity listed and protected as the last login
// method.
func TestSingleSignOnEndToEnd(t *testing.T) {
	fake := ssotest.NewServer(t)
	addr := freeAddr(t)
	base := "http://" + addr
	vars := map[string]string{
		"ADDR":                 addr,
		"PUBLIC_URL":           base,
		"FRONTEND_URL":         "http://app.example.com",
		"DATABASE_URL":         "sqlite:" + t.TempDir() + "/sso.db",
		"MAIL_DIR":             t.TempDir(),
		"SECRET_KEY":           "0123456789abcdef0123456789abcdef",
		"JWT_SECRET_KEY":       "0123456789abcdef0123456789abcdef",
		"GOOGLE_CLIENT_ID":     ssotest.ClientID,
		"GOOGLE_CLIENT_SECRET": ssotest.ClientSecret,
		"GITHUB_CLIENT_ID":     ssotest.ClientID,
		"GITHUB_CLIENT_SECRET": ssotest.ClientSecret,
	}
	callback := base + "/api/v1/auth/sso/callback/"
	for _, cfg := range []struct {
		prefix string
		urls   map[string]string
	}{
		{"GOOGLE", map[string]string{"AUTH": fake.GoogleConfig(callback).AuthURL, "TOKEN": fake.GoogleConfig(callback).TokenURL,
			"USERINFO": fake.GoogleConfig(callback).UserInfoURL}},
		{"GITHUB", map[string]string{"AUTH": fake.GitHubConfig(callback).AuthURL, "TOKEN": fake.GitHubConfig(callback).TokenURL,
			"API": fake.GitHubConfig(callback).APIURL}},
	} {
		for k, v := range cfg.urls {
			vars[cfg.prefix+"_"+k+"_URL"] = v
		}
	}
	t.Chdir(t.TempDir())
	startServe(t, vars)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	for i, provider := range []string{"github", "google"} {
		t.Run(provider, func(t *testing.T) {
			var started struct {
				AuthorizationURL string `json:"authorization_url"`
				State            string `json:"state"`
			}
			resp := post(t, base+"/api/v1/auth/sso/"+provider+"/", `{}`, "")
			json.NewDecoder(resp.Body).Decode(&started)
			if resp.StatusCode != http.StatusOK || started.State == "" {
				t.Fatalf("start = %d %+v", resp.StatusCode, started)
			}
			au, _ := url.Parse(started.AuthorizationURL)
			if q := au.Query(); q.Get("code_challenge_method") != "S256" || q.Get("redirect_uri") != callback || q.Get("state") != started.State {
				t.Fatalf("authorization_url = %s", started.AuthorizationURL)
			}

			back := fake.Authorize(t, started.AuthorizationURL)
			cb, err := noRedirect.Get(back.String())
			if err != nil {
				t.Fatal(err)
			}
			cb.Body.Close()
			loc, _ := cb.Location()
			if cb.StatusCode != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), "http://app.example.com/auth/sso/complete?") {
				t.Fatalf("callback = %d to %v", cb.StatusCode, loc)
			}
			for _, secret := range fake.Secrets() {
				if strings.Contains(loc.String(), secret) {
					t.Fatal("a provider token reached the frontend URL")
				}
			}

			body, _ := json.Marshal(map[string]string{"code": loc.Query().Get("code"), "state": loc.Query().Get("state")})
			resp = post(t, base+"/api/v1/auth/sso/exchange/", string(body), "")
			var tokens struct {
				Access  string `json:"access"`
				Created bool   `json:"created"`
				User    struct {
					Email         string `json:"email"`
					EmailVerified bool   `json:"email_verified"`
					HasPassword   bool   `json:"has_password"`
				} `json:"user"`
			}
			json.NewDecoder(resp.Body).Decode(&tokens)
			if resp.StatusCode != http.StatusOK || tokens.Access == "" || tokens.Created != (i == 0) ||
				tokens.User.Email != "ada@example.com" || !tokens.User.EmailVerified || tokens.User.HasPassword {
				t.Fatalf("exchange = %d %+v", resp.StatusCode, tokens)
			}
			if again := post(t, base+"/api/v1/auth/sso/exchange/", string(body), ""); again.StatusCode != http.StatusBadRequest {
				t.Fatalf("a replayed exchange code = %d, want 400", again.StatusCode)
			}

			req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/auth/identities/", nil)
			req.Header.Set("Authorization", "Bearer "+tokens.Access)
			ids, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var list struct {
				Identities []struct{ Provider string } `json:"identities"`
			}
			json.NewDecoder(ids.Body).Decode(&list)
			ids.Body.Close()
			if len(list.Identities) != i+1 {
				t.Fatalf("identities = %+v, want %d", list.Identities, i+1)
			}
		})
	}
}
