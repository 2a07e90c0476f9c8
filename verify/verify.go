// Package verify checks authd's access tokens in another service, with
// nothing but authd's JWK Set URL: no database, no shared secret.
//
// authd must sign with an asymmetric algorithm (JWT_ALGORITHM=EdDSA or
// RS256); it then publishes its public keys at /.well-known/jwks.json. A
// [Verifier] fetches that set once when it is created, keeps the keys in
// memory, fetches it again periodically and when a token names a key it
// does not know (a rotation), no more often than a floor allows, and keeps
// the keys it has when authd cannot be reached:
//
//	v, err := verify.New(ctx, "https://auth.example.com/.well-known/jwks.json",
//		verify.Config{Issuer: "https://auth.example.com"})
//	if err != nil { … }
//	defer v.Close()
//	…
//	c, err := v.Verify(r.Context(), bearerToken) // no I/O unless the kid is new
//	if err != nil { 401 }
//	c.UserID, c.Role, c.SessionID
//
// Verification is as strict as authd's own: the algorithm is the key's
// (EdDSA or RS256, never HS256 or none), the kid is required, jku, jwk and
// x5u headers are ignored, and iss, aud, exp and typ="access" are
// required. Like authd's stateless middleware, a Verifier cannot know
// about logouts: a revoked session's access tokens are accepted until they
// expire (ACCESS_TOKEN_TTL, 5 minutes by default). Roles in tokens may be
// up to that old too; for a permission decision that must see a role
// change at once, ask authd.
//
// The package imports only the standard library and golang-jwt.
package verify

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrInvalidToken is returned by [Verifier.Verify] for every token it does
// not accept: malformed, forged, expired, for another issuer or audience,
// not an access token, or signed with a key the JWK Set does not hold.
// Answer it with 401.
var ErrInvalidToken = errors.New("verify: invalid token")

// Config holds the settings of a [Verifier]. Zero fields take the
// documented defaults.
type Config struct {
	// Issuer is the iss every token must carry: authd's PUBLIC_URL.
	// Required.
	Issuer string
	// Audience is the aud every token must carry: authd's JWT_AUDIENCE.
	// Default "authd".
	Audience string
	// HTTPClient fetches the JWK Set. Default: a client with a 10-second
	// timeout.
	HTTPClient *http.Client
	// RefreshInterval is how often the JWK Set is fetched again in the
	// background. Default 5 minutes.
	RefreshInterval time.Duration
	// MinRefreshInterval is the least time between two fetches caused by
	// tokens with an unknown kid, so that forged kids cannot make the
	// Verifier hammer authd. Default 30 seconds.
	MinRefreshInterval time.Duration
	// Logger receives failed background fetches; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Claims are what an accepted access token says about its caller.
type Claims struct {
	// UserID is the user's id (sub).
	UserID string
	// SessionID is the id of the session the token belongs to (sid).
	SessionID string
	// Role is the user's global role when the token was issued (role):
	// END_USER, STAFF, DATA_ADMIN or SYSTEM_ADMIN.
	Role string
	// ID is the token's own id (jti).
	ID string
	// IssuedAt and ExpiresAt are the token's iat and exp.
	IssuedAt, ExpiresAt time.Time
}

// Verifier verifies access tokens with the keys of one JWK Set URL. It is
// safe for concurrent use.
type Verifier struct {
	url    string
	cfg    Config
	parser *jwt.Parser

	keys atomic.Pointer[keySet]

	// fetching is a semaphore of one: one fetch at a time, waited for
	// with a context.
	fetching  chan struct{}
	lastFetch time.Time // of the last attempt; guarded by fetching

	stop context.CancelFunc
	done chan struct{}
}

// keySet is one fetched JWK Set: public keys by kid.
type keySet map[string]publicKey

type publicKey struct {
	alg string // "EdDSA" or "RS256"
	key any    // ed25519.PublicKey or *rsa.PublicKey
}

// Limits of the fetch.
const (
	maxJWKSBytes   = 1 << 20
	minRSABits     = 2048
	defaultTimeout = 10 * time.Second
)

// New returns a Verifier of the tokens whose keys jwksURL serves, after
// fetching them once. It refreshes them in the background every
// cfg.RefreshInterval until ctx ends or [Verifier.Close] is called; when a
// refresh fails it keeps the keys it has. It returns an error when cfg has
// no Issuer, when a duration is negative, or when the first fetch fails
// or yields no usable key.
func New(ctx context.Context, jwksURL string, cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("verify: Config.Issuer is required")
	}
	if cfg.RefreshInterval < 0 || cfg.MinRefreshInterval < 0 {
		return nil, errors.New("verify: Config intervals must not be negative")
	}
	if cfg.Audience == "" {
		cfg.Audience = "authd"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: defaultTimeout}
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = 5 * time.Minute
	}
	if cfg.MinRefreshInterval == 0 {
		cfg.MinRefreshInterval = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	v := &Verifier{
		url: jwksURL,
		cfg: cfg,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg(), jwt.SigningMethodRS256.Alg()}),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(5*time.Second),
			jwt.WithTimeFunc(cfg.Now),
		),
		fetching: make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	if err := v.Refresh(ctx); err != nil {
		return nil, err
	}
	ctx, v.stop = context.WithCancel(ctx)
	go v.refreshEvery(ctx)
	return v, nil
}

// refreshEvery fetches the JWK Set every RefreshInterval until ctx ends.
func (v *Verifier) refreshEvery(ctx context.Context) {
	defer close(v.done)
	t := time.NewTicker(v.cfg.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := v.Refresh(ctx); err != nil && ctx.Err() == nil {
				v.cfg.Logger.Warn("JWK Set refresh failed; keeping the cached keys", "url", v.url, "err", err)
			}
		}
	}
}

// Close stops the background refresh and waits for it to end. It is safe
// to call more than once; Verify keeps working with the cached keys
// (fetching on an unknown kid still happens).
func (v *Verifier) Close() {
	v.stop()
	<-v.done
}

// Refresh fetches the JWK Set now and, when it holds at least one usable
// key, replaces the cached keys with it. It waits for a fetch already
// under way. It returns an error when the set cannot be fetched or has no
// usable key; the cached keys are then kept.
func (v *Verifier) Refresh(ctx context.Context) error {
	select {
	case v.fetching <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-v.fetching }()
	return v.fetchLocked(ctx)
}

// fetchLocked fetches and installs the key set; the caller holds fetching.
func (v *Verifier) fetchLocked(ctx context.Context) error {
	v.lastFetch = v.cfg.Now()
	set, err := v.fetch(ctx)
	if err != nil {
		return fmt.Errorf("verify: fetch %s: %w", v.url, err)
	}
	v.keys.Store(&set)
	return nil
}

// fetch reads and parses the JWK Set.
func (v *Verifier) fetch(ctx context.Context) (keySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxJWKSBytes {
		return nil, errors.New("JWK Set larger than 1 MiB")
	}
	return parseKeySet(body)
}

// jwk is the part of a JSON Web Key the Verifier reads.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	N   string `json:"n"`
	E   string `json:"e"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// parseKeySet returns the usable keys of a JWK Set: Ed25519 keys (EdDSA)
// and RSA keys of at least 2048 bits (RS256) that have a kid and are for
// signatures. Others are skipped, as is a repeated kid; a set with no
// usable key is an error.
func parseKeySet(body []byte) (keySet, error) {
	var doc struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %w", err)
	}
	set := keySet{}
	for _, k := range doc.Keys {
		if k.Kid == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		if _, dup := set[k.Kid]; dup {
			continue
		}
		if pk, ok := k.publicKey(); ok {
			set[k.Kid] = pk
		}
	}
	if len(set) == 0 {
		return nil, errors.New("no usable EdDSA or RS256 key in the JWK Set")
	}
	return set, nil
}

// publicKey returns the key of k and its algorithm, or false when k is
// not an Ed25519 or RS256 key the Verifier accepts.
func (k jwk) publicKey() (publicKey, bool) {
	dec := base64.RawURLEncoding.DecodeString
	switch {
	case k.Kty == "OKP" && k.Crv == "Ed25519" && (k.Alg == "" || k.Alg == "EdDSA"):
		x, err := dec(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return publicKey{}, false
		}
		return publicKey{alg: "EdDSA", key: ed25519.PublicKey(x)}, true
	case k.Kty == "RSA" && (k.Alg == "" || k.Alg == "RS256"):
		n, err1 := dec(k.N)
		e, err2 := dec(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return publicKey{}, false
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < minRSABits || pub.E < 3 || pub.E%2 == 0 {
			return publicKey{}, false
		}
		return publicKey{alg: "RS256", key: pub}, true
	}
	return publicKey{}, false
}

// claims mirrors the claims of authd's tokens; aud is a single string.
type claims struct {
	Issuer    string           `json:"iss"`
	Audience  string           `json:"aud"`
	Subject   string           `json:"sub"`
	SessionID string           `json:"sid"`
	Role      string           `json:"role"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ExpiresAt *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"` // never issued by authd, honoured when present
	ID        string           `json:"jti"`
	Type      string           `json:"typ"`
}

func (c claims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }
func (c claims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt, nil }
func (c claims) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore, nil }
func (c claims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c claims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c claims) GetAudience() (jwt.ClaimStrings, error)       { return jwt.ClaimStrings{c.Audience}, nil }

// Verify checks an access token and returns its claims. The token's kid
// must name a key of the JWK Set and its alg must be that key's; iss, aud,
// exp and typ="access" are checked as authd checks them. Verify does no
// I/O for a known kid; for an unknown one it fetches the set again first,
// unless the last fetch is more recent than MinRefreshInterval, and ctx
// bounds that fetch. Every refusal is an error wrapping ErrInvalidToken.
func (v *Verifier) Verify(ctx context.Context, token string) (Claims, error) {
	var c claims
	_, err := v.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		return v.keyFor(ctx, t)
	})
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if c.Type != "access" || c.Subject == "" || c.SessionID == "" || c.ID == "" {
		return Claims{}, fmt.Errorf("%w: not an access token", ErrInvalidToken)
	}
	out := Claims{UserID: c.Subject, SessionID: c.SessionID, Role: c.Role, ID: c.ID, ExpiresAt: c.ExpiresAt.Time}
	if c.IssuedAt != nil {
		out.IssuedAt = c.IssuedAt.Time
	}
	return out, nil
}

// keyFor is the keyfunc: the key named by t's kid, fetched again if it is
// unknown and the floor allows, when its algorithm is t's. The jku, jwk
// and x5u headers are never read.
func (v *Verifier) keyFor(ctx context.Context, t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, errors.New("token has no kid")
	}
	k, ok := (*v.keys.Load())[kid]
	if !ok {
		var err error
		if k, err = v.refetchFor(ctx, kid); err != nil {
			return nil, err
		}
	}
	if t.Method.Alg() != k.alg {
		return nil, errors.New("token's alg does not fit its key")
	}
	return k.key, nil
}

// refetchFor fetches the JWK Set again for an unknown kid, at most once per
// MinRefreshInterval, and returns the key if the new set has it.
func (v *Verifier) refetchFor(ctx context.Context, kid string) (publicKey, error) {
	errUnknown := errors.New("token has an unknown kid")
	select {
	case v.fetching <- struct{}{}:
	case <-ctx.Done():
		return publicKey{}, ctx.Err()
	}
	defer func() { <-v.fetching }()
	// Another caller may have fetched while this one waited.
	if k, ok := (*v.keys.Load())[kid]; ok {
		return k, nil
	}
	if v.cfg.Now().Sub(v.lastFetch) < v.cfg.MinRefreshInterval {
		return publicKey{}, errUnknown
	}
	if err := v.fetchLocked(ctx); err != nil {
		return publicKey{}, fmt.Errorf("%w (%w)", errUnknown, err)
	}
	if k, ok := (*v.keys.Load())[kid]; ok {
		return k, nil
	}
	return publicKey{}, errUnknown
}
