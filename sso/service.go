package sso

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/authd/auth"
)

// codeTTL is how long a one-time exchange code lives.
const codeTTL = 60 * time.Second

// completePath is where the callback sends the browser, under FrontendURL.
const completePath = "/auth/sso/complete"

// The error codes the callback puts in its redirect (?error=CODE).
const (
	errInvalidState     = "invalid_state"
	errAccessDenied     = "access_denied"
	errEmailNotVerified = "email_not_verified"
	errAccountDisabled  = "account_disabled"
	errProviderError    = "provider_error"
)

// Config holds the settings of a [Service]. SecretKey is required; every
// other zero field means the documented default, filled on a copy.
type Config struct {
	// SecretKey (SECRET_KEY) signs the state. Required, at least 32 bytes.
	SecretKey []byte
	// FrontendURL is the base of the callback's redirect. Default
	// "http://localhost:3000".
	FrontendURL string
	// Limiter counts sign-in starts; nil means a new in-memory limiter.
	Limiter auth.Limiter
	// Limit is RATE_LIMIT_SSO_START_IP, per client IP. Zero means the
	// contract's default, 20 a minute.
	Limit auth.Limit
	// RateLimitDisabled turns the limit off.
	RateLimitDisabled bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives operational logs (never a token); nil discards.
	Logger *slog.Logger
}

// Service runs the single sign-on flow of the REST contract: [Service.Start]
// sends the browser to a provider, [Service.Callback] takes it back and
// leaves a one-time code for the frontend, and [Service.Exchange] trades
// that code for tokens. It is safe for concurrent use.
type Service struct {
	auth      *auth.Authenticator
	tokens    auth.TokenStore
	providers map[string]Provider
	states    stateSigner
	frontend  string
	limiter   auth.Limiter
	limit     auth.Limit
	noLimit   bool
	now       func() time.Time
	log       *slog.Logger
}

// NewService returns a Service signing users in through a with the
// providers, keyed by their names; a nil Provider in the map counts as not
// configured. It returns an error when a or tokens is nil, a key is not
// its provider's name, SecretKey is shorter than 32 bytes or FrontendURL
// is not an absolute URL.
func NewService(a *auth.Authenticator, tokens auth.TokenStore, providers map[string]Provider, cfg Config) (*Service, error) {
	if a == nil || tokens == nil {
		return nil, errors.New("sso: NewService needs an Authenticator and a TokenStore")
	}
	if len(cfg.SecretKey) < 32 {
		return nil, errors.New("sso: Config.SecretKey must be at least 32 bytes")
	}
	if cfg.FrontendURL == "" {
		cfg.FrontendURL = "http://localhost:3000"
	}
	if err := checkURL(cfg.FrontendURL); err != nil {
		return nil, fmt.Errorf("sso: Config.FrontendURL: %w", err)
	}
	if cfg.Limit == (auth.Limit{}) {
		cfg.Limit = auth.DefaultLimits().SSOStartIP
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Limiter == nil {
		l := auth.NewMemoryLimiter()
		l.Now = cfg.Now
		cfg.Limiter = l
	}
	configured := make(map[string]Provider, len(providers))
	for name, p := range providers {
		if p == nil {
			continue
		}
		if name == "" || p.Name() != name || strings.ContainsAny(name, "|\n") {
			return nil, fmt.Errorf("sso: provider %q is keyed as %q", p.Name(), name)
		}
		configured[name] = p
	}
	return &Service{
		auth:      a,
		tokens:    tokens,
		providers: configured,
		states:    newStateSigner(cfg.SecretKey),
		frontend:  strings.TrimSuffix(cfg.FrontendURL, "/"),
		limiter:   cfg.Limiter,
		limit:     cfg.Limit,
		noLimit:   cfg.RateLimitDisabled,
		now:       cfg.Now,
		log:       cfg.Logger,
	}, nil
}

// Providers returns the names of the configured providers, sorted.
func (s *Service) Providers() []string {
	return slices.Sorted(maps.Keys(s.providers))
}

// Start begins a sign-in with provider: it returns the URL to send the
// browser to and the state that URL carries. The state is signed, names
// the provider and expires in 10 minutes; the PKCE verifier stays on the
// server, stored with the state's hash. Start returns
// auth.ErrUnknownProvider for a provider that is not configured and a
// *auth.ThrottledError past the per-IP limit.
func (s *Service) Start(ctx context.Context, c auth.Client, provider string) (authorizationURL, state string, err error) {
	p, ok := s.providers[provider]
	if !ok {
		return "", "", auth.ErrUnknownProvider
	}
	if err := s.allow(ctx, c.IP); err != nil {
		return "", "", err
	}
	now := s.clock()
	expires := now.Add(stateTTL)
	state = s.states.issue(provider, expires)
	verifier := oauth2.GenerateVerifier()
	err = s.tokens.CreateToken(ctx, auth.OneTimeToken{Purpose: auth.PurposeSSOState, Hash: sha256Hex(state),
		Data: provider + "\n" + verifier, CreatedAt: now, ExpiresAt: expires})
	if err != nil {
		return "", "", fmt.Errorf("sso: start: %w", err)
	}
	return p.AuthCodeURL(state, verifier), state, nil
}

// allow consumes one start of ip's budget. A limiter failure is logged and
// lets the request through, as the Authenticator's limits do.
func (s *Service) allow(ctx context.Context, ip string) error {
	if s.noLimit || s.limit.Burst == 0 {
		return nil
	}
	const name = "sso_start_ip"
	r, err := s.limiter.Allow(ctx, name+":"+ip, s.limit)
	if err != nil {
		s.log.WarnContext(ctx, "rate limiter unavailable", "limit", name, "err", err)
		return nil
	}
	if !r.Allowed {
		return &auth.ThrottledError{Limit: name, RetryAfter: r.RetryAfter}
	}
	return nil
}

// Callback handles the provider's redirect back to authd, whose query is
// query, and returns where to send the browser: FrontendURL +
// "/auth/sso/complete" with ?code=…&state=… on success, or ?error=CODE
// with CODE one of invalid_state, access_denied, email_not_verified,
// account_disabled and provider_error. A missing, forged, expired or used
// state never reaches the provider. No access or refresh token is ever
// put in the URL: the frontend trades the code with [Service.Exchange].
func (s *Service) Callback(ctx context.Context, c auth.Client, query url.Values) string {
	state := query.Get("state")
	name, ok := s.states.check(state, s.clock())
	p, configured := s.providers[name]
	if !ok || !configured {
		return s.fail(errInvalidState)
	}
	row, err := s.tokens.ConsumeToken(ctx, auth.PurposeSSOState, sha256Hex(state), s.clock())
	if errors.Is(err, auth.ErrNotFound) {
		return s.fail(errInvalidState)
	}
	if err != nil {
		s.log.ErrorContext(ctx, "sso: consume state", "provider", name, "err", err)
		return s.fail(errProviderError)
	}
	rowProvider, verifier, _ := strings.Cut(row.Data, "\n")
	if rowProvider != name || verifier == "" {
		return s.fail(errInvalidState)
	}

	switch e := query.Get("error"); {
	case e == "access_denied":
		return s.fail(errAccessDenied)
	case e != "":
		s.log.WarnContext(ctx, "sso: provider returned an error", "provider", name, "error", truncate(e, 64))
		return s.fail(errProviderError)
	}
	code := query.Get("code")
	if code == "" {
		s.log.WarnContext(ctx, "sso: provider returned no code", "provider", name)
		return s.fail(errProviderError)
	}
	id, err := p.Identify(ctx, code, verifier)
	if err != nil {
		s.log.WarnContext(ctx, "sso: identify", "provider", name, "err", err)
		return s.fail(errProviderError)
	}
	id.Provider = name

	user, created, err := s.auth.ResolveIdentity(ctx, c, id)
	switch {
	case errors.Is(err, auth.ErrEmailNotVerified):
		return s.fail(errEmailNotVerified)
	case errors.Is(err, auth.ErrAccountDisabled):
		return s.fail(errAccountDisabled)
	case err != nil:
		s.log.ErrorContext(ctx, "sso: resolve identity", "provider", name, "err", err)
		return s.fail(errProviderError)
	}

	exchange := randomToken()
	now := s.clock()
	err = s.tokens.CreateToken(ctx, auth.OneTimeToken{Purpose: auth.PurposeSSOCode, Hash: codeHash(exchange, state),
		UserID: user.ID, Data: name + "\n" + strconv.FormatBool(created), CreatedAt: now, ExpiresAt: now.Add(codeTTL)})
	if err != nil {
		s.log.ErrorContext(ctx, "sso: store exchange code", "provider", name, "err", err)
		return s.fail(errProviderError)
	}
	return s.complete(url.Values{"code": {exchange}, "state": {state}})
}

// Exchange trades the one-time code of a successful callback, with the
// state it is bound to, for a new session: it returns the tokens, the user
// and whether the sign-in created the user. It returns a
// *auth.ValidationError when code or state is empty, auth.ErrInvalidToken
// for a code that is unknown, used, expired (after 60 seconds) or
// presented with another state, and auth.ErrAccountDisabled for a user
// disabled since the callback.
func (s *Service) Exchange(ctx context.Context, c auth.Client, code, state string) (auth.Tokens, auth.User, bool, error) {
	fields := map[string]string{}
	if code == "" {
		fields["code"] = "required"
	}
	if state == "" {
		fields["state"] = "required"
	}
	if len(fields) > 0 {
		return auth.Tokens{}, auth.User{}, false, &auth.ValidationError{Fields: fields}
	}
	row, err := s.tokens.ConsumeToken(ctx, auth.PurposeSSOCode, codeHash(code, state), s.clock())
	if errors.Is(err, auth.ErrNotFound) {
		return auth.Tokens{}, auth.User{}, false, auth.ErrInvalidToken
	}
	if err != nil {
		return auth.Tokens{}, auth.User{}, false, fmt.Errorf("sso: exchange: %w", err)
	}
	provider, created, _ := strings.Cut(row.Data, "\n")
	tokens, user, err := s.auth.LoginWithIdentity(ctx, c, row.UserID, provider)
	if errors.Is(err, auth.ErrNotFound) {
		// The user was deleted since the callback: the code names nobody.
		return auth.Tokens{}, auth.User{}, false, auth.ErrInvalidToken
	}
	if err != nil {
		return auth.Tokens{}, auth.User{}, false, err
	}
	return tokens, user, created == "true", nil
}

// codeHash is the stored form of an exchange code, bound to its state.
func codeHash(code, state string) string { return sha256Hex(code + "|" + state) }

// fail returns the frontend's completion URL with ?error=code.
func (s *Service) fail(code string) string {
	return s.complete(url.Values{"error": {code}})
}

func (s *Service) complete(q url.Values) string {
	return s.frontend + completePath + "?" + q.Encode()
}

// clock returns the current time as the stores keep it: UTC, microseconds.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// truncate cuts s to at most n bytes of valid UTF-8, for logging what a
// provider sent.
func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}
