package sso

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"

	"github.com/authd/auth"
)

// defaultTimeout bounds one [Provider.Identify] call (the code exchange and
// the identity requests together) unless ProviderConfig.Timeout says
// otherwise.
const defaultTimeout = 10 * time.Second

// maxResponseBytes caps how much of a provider's answer is read.
const maxResponseBytes = 1 << 20

// Provider is an OAuth 2.0 identity provider that authd signs users in
// with. Implementations are safe for concurrent use.
type Provider interface {
	// Name returns the provider's name as it appears in URLs and in the
	// identities of users ("google", "github").
	Name() string
	// AuthCodeURL returns the provider's authorization URL for state, with
	// the PKCE S256 challenge of verifier. It does no I/O.
	AuthCodeURL(state, verifier string) string
	// Identify exchanges code (with the PKCE verifier of its
	// authorization request) for an access token, then asks the provider
	// who signed in. Errors of the provider (a non-2xx answer, a body that
	// is not the expected JSON, a timeout) are returned wrapped; no error
	// holds a token.
	Identify(ctx context.Context, code, verifier string) (auth.ExternalIdentity, error)
}

// ProviderConfig configures one provider. ClientID, ClientSecret and
// RedirectURL (authd's callback, PUBLIC_URL/api/v1/auth/sso/callback/) are
// required. The endpoint URLs default to the provider's real ones when
// empty; tests and proxies override them.
type ProviderConfig struct {
	ClientID     string
	ClientSecret string
	RedirectURL  string

	// AuthURL is the authorization endpoint the browser is sent to.
	AuthURL string
	// TokenURL is the endpoint that exchanges a code for an access token.
	TokenURL string
	// UserInfoURL is Google's OpenID Connect userinfo endpoint (Google
	// only).
	UserInfoURL string
	// APIURL is the base of GitHub's /user and /user/emails (GitHub only).
	APIURL string

	// HTTPClient makes every request to the provider. Nil means a client
	// with a timeout of Timeout.
	HTTPClient *http.Client
	// Timeout bounds one Identify call: the code exchange and the identity
	// requests together. Default 10 seconds.
	Timeout time.Duration
}

// oauthProvider is what Google and GitHub share: the OAuth 2.0 code flow
// with PKCE. identify fetches the identity once a token is in hand.
type oauthProvider struct {
	name     string
	oauth    oauth2.Config
	client   *http.Client
	timeout  time.Duration
	identify func(ctx context.Context, client *http.Client, accessToken string) (auth.ExternalIdentity, error)
}

// newOAuthProvider checks cfg and returns the shared part of a provider,
// with endpoint (the real one) overridden by cfg's URLs.
func newOAuthProvider(name string, cfg ProviderConfig, endpoint oauth2.Endpoint, scopes []string) (*oauthProvider, error) {
	switch {
	case cfg.ClientID == "" || cfg.ClientSecret == "":
		return nil, fmt.Errorf("sso: %s: ClientID and ClientSecret are required", name)
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("sso: %s: Timeout must not be negative", name)
	}
	if err := checkURL(cfg.RedirectURL); err != nil {
		return nil, fmt.Errorf("sso: %s: RedirectURL: %w", name, err)
	}
	for _, u := range []struct {
		field string
		value string
		dst   *string
	}{{"AuthURL", cfg.AuthURL, &endpoint.AuthURL}, {"TokenURL", cfg.TokenURL, &endpoint.TokenURL}} {
		if u.value == "" {
			continue
		}
		if err := checkURL(u.value); err != nil {
			return nil, fmt.Errorf("sso: %s: %s: %w", name, u.field, err)
		}
		*u.dst = u.value
	}
	// Both providers take the client's credentials in the form; saying so
	// spares the library's guess, which costs a failed request first.
	endpoint.AuthStyle = oauth2.AuthStyleInParams

	p := &oauthProvider{
		name: name,
		oauth: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
			RedirectURL: cfg.RedirectURL, Endpoint: endpoint, Scopes: scopes},
		client:  cfg.HTTPClient,
		timeout: cfg.Timeout,
	}
	if p.timeout == 0 {
		p.timeout = defaultTimeout
	}
	if p.client == nil {
		p.client = &http.Client{Timeout: p.timeout}
	}
	return p, nil
}

// checkURL accepts an absolute http or https URL.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}

// Name returns the provider's name.
func (p *oauthProvider) Name() string { return p.name }

// AuthCodeURL returns the authorization URL for state with the S256
// challenge of verifier.
func (p *oauthProvider) AuthCodeURL(state, verifier string) string {
	return p.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
}

// Identify exchanges code and fetches the identity, within the
// provider's timeout.
func (p *oauthProvider) Identify(ctx context.Context, code, verifier string) (auth.ExternalIdentity, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	// The oauth2 package takes its HTTP client from the context only.
	tok, err := p.oauth.Exchange(context.WithValue(ctx, oauth2.HTTPClient, p.client), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return auth.ExternalIdentity{}, fmt.Errorf("sso: %s: exchange code: %w", p.name, tokenError(err))
	}
	id, err := p.identify(ctx, p.client, tok.AccessToken)
	if err != nil {
		return auth.ExternalIdentity{}, fmt.Errorf("sso: %s: %w", p.name, err)
	}
	id.Provider = p.name
	return id, nil
}

// tokenError returns err without the body of the token endpoint's answer,
// which oauth2.RetrieveError would repeat: a provider's body is not ours
// to log.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return err
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	if re.ErrorCode != "" {
		return fmt.Errorf("token endpoint answered %d with error %.64q", status, re.ErrorCode)
	}
	return fmt.Errorf("token endpoint answered %d", status)
}

// getJSON GETs endpoint with the access token as a bearer credential (never in
// the URL) and decodes a 2xx JSON answer into v.
func getJSON(ctx context.Context, client *http.Client, endpoint, accessToken string, header http.Header, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", endpoint, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := client.Do(req)
	if err != nil {
		return err // a *url.Error, which names the method and the URL
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
		return fmt.Errorf("GET %s: answered %d", endpoint, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBytes)).Decode(v); err != nil {
		return fmt.Errorf("GET %s: decode answer: %w", endpoint, err)
	}
	return nil
}
