package sso_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/authd/auth"
	"github.com/authd/auth/sso"
	"github.com/authd/auth/sso/ssotest"
)

// identify runs one authorization at the fake with p and returns what
// Identify makes of it.
func identify(t *testing.T, fake *ssotest.Server, p sso.Provider) (auth.ExternalIdentity, error) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	back := fake.Authorize(t, p.AuthCodeURL("some-state", verifier))
	return p.Identify(context.Background(), back.Query().Get("code"), verifier)
}

func TestProvidersReadTheIdentity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		provider func(sso.ProviderConfig) (sso.Provider, error)
		config   func(*ssotest.Server, string) sso.ProviderConfig
		identity ssotest.Identity
		want     auth.ExternalIdentity
	}{
		{
			name: "google", provider: sso.Google, config: (*ssotest.Server).GoogleConfig,
			identity: ssotest.Identity{Subject: "10769150350006150715113082367", Email: "Bo@Example.com", EmailVerified: true, Name: "Bo"},
			want: auth.ExternalIdentity{Provider: "google", Subject: "10769150350006150715113082367",
				Email: "Bo@Example.com", EmailVerified: true, Name: "Bo"},
		},
		{
			name: `google with email_verified "true"`, provider: sso.Google, config: (*ssotest.Server).GoogleConfig,
			identity: ssotest.Identity{Subject: "s", Email: "bo@example.com", EmailVerified: true, VerifiedAsString: true},
			want:     auth.ExternalIdentity{Provider: "google", Subject: "s", Email: "bo@example.com", EmailVerified: true},
		},
		{
			name: "github, the primary verified address", provider: sso.GitHub, config: (*ssotest.Server).GitHubConfig,
			identity: ssotest.Identity{Subject: "583231", Name: "Bo", Login: "bo", Emails: []ssotest.Email{
				{Email: "old@example.com", Verified: true}, {Email: "bo@example.com", Primary: true, Verified: true}}},
			want: auth.ExternalIdentity{Provider: "github", Subject: "583231", Email: "bo@example.com", EmailVerified: true, Name: "Bo"},
		},
		{
			name: "github without a name uses the login", provider: sso.GitHub, config: (*ssotest.Server).GitHubConfig,
			identity: ssotest.Identity{Subject: "7", Login: "bo", Email: "bo@example.com", EmailVerified: true},
			want:     auth.ExternalIdentity{Provider: "github", Subject: "7", Email: "bo@example.com", EmailVerified: true, Name: "bo"},
		},
		{
			name: "github with an unverified primary address", provider: sso.GitHub, config: (*ssotest.Server).GitHubConfig,
			identity: ssotest.Identity{Subject: "7", Login: "bo", Emails: []ssotest.Email{
				{Email: "bo@example.com", Verified: true}, {Email: "new@example.com", Primary: true}}},
			want: auth.ExternalIdentity{Provider: "github", Subject: "7", Email: "new@example.com", Name: "bo"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := ssotest.NewServer(t)
			fake.SetIdentity(tt.identity)
			p, err := tt.provider(tt.config(fake, callbackURL))
			if err != nil {
				t.Fatal(err)
			}
			got, err := identify(t, fake, p)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("identity = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestProviderErrorsHoldNoToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		path    string // of the fake's endpoint that misbehaves
		handler http.HandlerFunc
		want    string // in the error
	}{
		{"token endpoint 400 with a body", "/github/token", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant","error_description":"leaky-body-text"}`))
		}, `answered 400 with error "invalid_grant"`},
		{"token endpoint 502 with HTML", "/github/token", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte(`<html>leaky-body-text</html>`))
		}, "answered 502"},
		{"user 401", "/github/api/user", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`leaky-body-text`))
		}, "answered 401"},
		{"user without an id", "/github/api/user", func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte(`{"login":"bo"}`))
		}, "no id"},
		{"emails not JSON", "/github/api/user/emails", func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte(`[{"email":`))
		}, "decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := ssotest.NewServer(t)
			fake.Handle(tt.path, tt.handler)
			p, err := sso.GitHub(fake.GitHubConfig(callbackURL))
			if err != nil {
				t.Fatal(err)
			}
			_, err = identify(t, fake, p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "leaky-body-text") {
				t.Errorf("error %q repeats the provider's body", err)
			}
			for _, s := range fake.Secrets() {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q holds a token or verifier", err)
				}
			}
		})
	}
}

func TestProviderConstructorsCheckTheirConfig(t *testing.T) {
	t.Parallel()
	good := sso.ProviderConfig{ClientID: "id", ClientSecret: "secret", RedirectURL: callbackURL}
	tests := []struct {
		name string
		edit func(*sso.ProviderConfig)
	}{
		{"no client id", func(c *sso.ProviderConfig) { c.ClientID = "" }},
		{"no client secret", func(c *sso.ProviderConfig) { c.ClientSecret = "" }},
		{"no redirect URL", func(c *sso.ProviderConfig) { c.RedirectURL = "" }},
		{"a relative token URL", func(c *sso.ProviderConfig) { c.TokenURL = "/token" }},
		{"an auth URL that is not http", func(c *sso.ProviderConfig) { c.AuthURL = "ftp://example.com/auth" }},
		{"a negative timeout", func(c *sso.ProviderConfig) { c.Timeout = -1 }},
	}
	for _, ctor := range []func(sso.ProviderConfig) (sso.Provider, error){sso.Google, sso.GitHub} {
		if _, err := ctor(good); err != nil {
			t.Fatalf("a good config: %v", err)
		}
		for _, tt := range tests {
			cfg := good
			tt.edit(&cfg)
			if _, err := ctor(cfg); err == nil {
				t.Errorf("%s: accepted", tt.name)
			}
		}
	}
	if _, err := sso.Google(sso.ProviderConfig{ClientID: "id", ClientSecret: "s", RedirectURL: callbackURL, UserInfoURL: "x"}); err == nil {
		t.Error("google: a bad UserInfoURL was accepted")
	}
	if _, err := sso.GitHub(sso.ProviderConfig{ClientID: "id", ClientSecret: "s", RedirectURL: callbackURL, APIURL: "x"}); err == nil {
		t.Error("github: a bad APIURL was accepted")
	}
}

func TestRealEndpointsAreTheDefault(t *testing.T) {
	t.Parallel()
	cfg := sso.ProviderConfig{ClientID: "id", ClientSecret: "secret", RedirectURL: callbackURL}
	for _, tt := range []struct {
		ctor func(sso.ProviderConfig) (sso.Provider, error)
		want string
	}{
		{sso.Google, "https://accounts.google.com/o/oauth2/auth?"},
		{sso.GitHub, "https://github.com/login/oauth/authorize?"},
	} {
		p, err := tt.ctor(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.AuthCodeURL("st", oauth2.GenerateVerifier()); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: AuthCodeURL = %s, want it under %s", p.Name(), got, tt.want)
		}
	}
}
