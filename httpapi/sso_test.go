package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authd/auth/sso/ssotest"
)

// ssoSignIn runs start → provider → callback and returns the frontend URL
// the callback redirected to.
func (s *stack) ssoSignIn(t *testing.T, provider string) *url.URL {
	t.Helper()
	started := decode[struct {
		AuthorizationURL string `json:"authorization_url"`
		State            string `json:"state"`
	}](t, s.do(t, "POST", "/api/v1/auth/sso/"+provider+"/", map[string]string{}), http.StatusOK)
	back := s.fake.Authorize(t, started.AuthorizationURL)
	return s.callback(t, back.RawQuery)
}

// callback sends the provider's redirect query to the callback and returns
// where it redirects.
func (s *stack) callback(t *testing.T, rawQuery string) *url.URL {
	t.Helper()
	client := *s.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Get(s.srv.URL + "/api/v1/auth/sso/callback/?" + rawQuery)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, err := res.Location()
	if res.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), "http://app.test/auth/sso/complete?") {
		t.Fatalf("callback = %d to %v", res.StatusCode, loc)
	}
	return loc
}

func TestSSOEndpoints(t *testing.T) {
	s := newStack(t)

	t.Run("an unknown provider is 404 unknown_provider", func(t *testing.T) {
		wantProblem(t, s.do(t, "POST", "/api/v1/auth/sso/myspace/", map[string]string{}), http.StatusNotFound, "unknown_provider")
	})
	t.Run("a forged state redirects with invalid_state and never reaches the provider", func(t *testing.T) {
		before := s.fake.TokenRequests()
		loc := s.callback(t, "code=abc&state=forged")
		if loc.Query().Get("error") != "invalid_state" || s.fake.TokenRequests() != before {
			t.Fatalf("forged state → %s, provider calls %d → %d", loc, before, s.fake.TokenRequests())
		}
	})

	var access string
	t.Run("a new user signs in and the exchange code is single use", func(t *testing.T) {
		loc := s.ssoSignIn(t, "github")
		body := map[string]string{"code": loc.Query().Get("code"), "state": loc.Query().Get("state")}
		res := s.do(t, "POST", "/api/v1/auth/sso/exchange/", body)
		wantKeys(t, res.body, "access", "refresh", "token_type", "expires_in", "refresh_expires_in", "session_id", "user", "created")
		got := decode[struct {
			Access  string     `json:"access"`
			Created bool       `json:"created"`
			User    userObject `json:"user"`
		}](t, res, http.StatusOK)
		if !got.Created || got.User.Email != ssotest.DefaultIdentity().Email || !got.User.EmailVerified || got.User.HasPassword {
			t.Fatalf("exchange = %+v", got)
		}
		access = got.Access
		wantProblem(t, s.do(t, "POST", "/api/v1/auth/sso/exchange/", body), http.StatusBadRequest, "invalid_token")
		wantValidation(t, s.do(t, "POST", "/api/v1/auth/sso/exchange/", map[string]string{}), "code", "state")
	})
	t.Run("identities are listed and the last one cannot be unlinked", func(t *testing.T) {
		list := decode[struct {
			Identities []struct {
				Provider  string `json:"provider"`
				Email     string `json:"email"`
				CreatedAt string `json:"created_at"`
			} `json:"identities"`
		}](t, s.do(t, "GET", "/api/v1/auth/identities/", nil, bearer(access)), http.StatusOK)
		if len(list.Identities) != 1 || list.Identities[0].Provider != "github" || list.Identities[0].CreatedAt == "" {
			t.Fatalf("identities = %+v", list)
		}
		wantProblem(t, s.do(t, "DELETE", "/api/v1/auth/identities/github/", nil, bearer(access)), http.StatusConflict, "last_login_method")
		wantProblem(t, s.do(t, "DELETE", "/api/v1/auth/identities/google/", nil, bearer(access)), http.StatusNotFound, "not_found")
		wantStatus(t, s.do(t, "POST", "/api/v1/auth/password/set/", map[string]string{"new_password": "a password set after sso"}, bearer(access)), http.StatusNoContent)
		wantStatus(t, s.do(t, "DELETE", "/api/v1/auth/identities/github/", nil, bearer(access)), http.StatusNoContent)
		wantProblem(t, s.do(t, "GET", "/api/v1/auth/identities/", nil), http.StatusUnauthorized, "unauthenticated")
	})
}
