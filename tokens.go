package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token types: the typ claim of each kind of JWT.
const (
	typAccess  = "access"
	typRefresh = "refresh"
)

// claims is the one claims struct of every token authd signs. It spells
// out the registered claims itself so that aud is a single string, as the
// contract promises (jwt.RegisteredClaims writes an array).
type claims struct {
	Issuer    string           `json:"iss"`
	Audience  string           `json:"aud"`
	Subject   string           `json:"sub"`
	SessionID string           `json:"sid"`
	Role      GlobalRole       `json:"role,omitempty"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ExpiresAt *jwt.NumericDate `json:"exp"`
	// NotBefore is never issued, but honoured when present (RFC 7519
	// §4.1.5), so that a token is never valid before its nbf.
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
	ID        string           `json:"jti"`
	Type      string           `json:"typ"`
}

// The jwt.Claims methods, read by the parser's validation.
func (c claims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }
func (c claims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt, nil }
func (c claims) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore, nil }
func (c claims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c claims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c claims) GetAudience() (jwt.ClaimStrings, error)       { return jwt.ClaimStrings{c.Audience}, nil }

// signer issues and verifies JWTs with one algorithm: HS256 with one
// secret, or EdDSA or RS256 with one signing key and any number of
// verify-only keys, picked by the kid header. Only that algorithm is
// accepted; an asymmetric token needs a kid naming a configured key of
// that algorithm (jku, jwk, x5u and every other header are ignored, never
// fetched); iss, aud, exp and typ are required. So "none", key confusion
// and attacker-supplied keys are impossible.
type signer struct {
	method   jwt.SigningMethod
	signKey  any    // []byte for HS256, crypto.Signer otherwise
	kid      string // of signKey; "" for HS256
	keys     map[string]verifyKey
	keyfunc  jwt.Keyfunc
	jwks     []byte // nil for HS256
	issuer   string
	audience string
	parser   *jwt.Parser
	verified *verifiedTokens // access tokens verified before; nil when off
}

// newSigner returns the signer of cfg: HS256 with cfg.JWTSecret when
// cfg.SigningKeys is empty, else the algorithm of the one signing key. It
// returns an error when the keys are invalid, when not exactly one of them
// signs, when they do not all have the same algorithm or when two share a
// kid.
func newSigner(cfg Config) (*signer, error) {
	s := &signer{issuer: cfg.Issuer, audience: cfg.Audience}
	if len(cfg.SigningKeys) == 0 {
		if len(cfg.JWTSecret) < 32 {
			return nil, errors.New("auth: Config.JWTSecret must be at least 32 bytes (or set Config.SigningKeys)")
		}
		secret := append([]byte(nil), cfg.JWTSecret...)
		s.method, s.signKey = jwt.SigningMethodHS256, secret
		var key any = secret // boxed once, not on every verify
		s.keyfunc = func(*jwt.Token) (any, error) { return key, nil }
	} else {
		s.keys = make(map[string]verifyKey, len(cfg.SigningKeys))
		var published []verifyKey
		for i, k := range cfg.SigningKeys {
			vk, err := k.resolve()
			if err != nil {
				return nil, fmt.Errorf("auth: Config.SigningKeys[%d]: %w", i, err)
			}
			if _, dup := s.keys[vk.kid]; dup {
				return nil, fmt.Errorf("auth: Config.SigningKeys[%d]: kid %q is used twice", i, vk.kid)
			}
			s.keys[vk.kid] = vk
			if k.VerifyOnly {
				published = append(published, vk)
				continue
			}
			switch {
			case vk.private == nil:
				return nil, fmt.Errorf("auth: Config.SigningKeys[%d]: a signing key needs its private key", i)
			case s.signKey != nil:
				return nil, errors.New("auth: Config.SigningKeys: more than one key signs; mark the others VerifyOnly")
			}
			s.method, s.signKey, s.kid = jwt.GetSigningMethod(vk.alg), vk.private, vk.kid
			published = append([]verifyKey{vk}, published...)
		}
		if s.signKey == nil {
			return nil, errors.New("auth: Config.SigningKeys: no key signs; exactly one must not be VerifyOnly")
		}
		for _, vk := range published {
			if vk.alg != s.method.Alg() {
				return nil, fmt.Errorf("auth: Config.SigningKeys: key %q is %s but the signing key is %s; only one algorithm is accepted",
					vk.kid, vk.alg, s.method.Alg())
			}
		}
		s.keyfunc = s.publicKey
		s.jwks = jwkSet(published)
	}
	s.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{s.method.Alg()}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(tokenLeeway),
		jwt.WithTimeFunc(cfg.Now),
	)
	if cfg.VerifiedTokenCache > 0 {
		s.verified = &verifiedTokens{max: cfg.VerifiedTokenCache, leeway: tokenLeeway, now: cfg.Now,
			m: map[[32]byte]claims{}}
	}
	return s, nil
}

// publicKey is the keyfunc of asymmetric tokens: the public key named by
// the token's kid, when that key's algorithm is the token's.
func (s *signer) publicKey(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	k, ok := s.keys[kid]
	switch {
	case kid == "":
		return nil, errors.New("token has no kid")
	case !ok:
		return nil, errors.New("token has an unknown kid")
	case t.Method.Alg() != k.alg:
		return nil, errors.New("token's alg does not fit its key")
	}
	return k.public, nil
}

// sign returns the signed JWT of c with the issuer and audience filled in.
func (s *signer) sign(c claims) (string, error) {
	c.Issuer, c.Audience = s.issuer, s.audience
	t := jwt.NewWithClaims(s.method, c)
	if s.kid != "" {
		t.Header["kid"] = s.kid
	}
	return t.SignedString(s.signKey)
}

// tokenLeeway is the clock skew allowed on exp, nbf and iat.
const tokenLeeway = 5 * time.Second

// parse verifies token and returns its claims when its typ is want and the
// subject, session and id claims are present. Access tokens that verified
// are remembered until they expire (see verifiedTokens).
func (s *signer) parse(token, want string) (claims, error) {
	remember := want == typAccess && s.verified != nil
	if remember {
		if c, ok := s.verified.get(token); ok {
			return c, nil
		}
	}
	var c claims
	if _, err := s.parser.ParseWithClaims(token, &c, s.keyfunc); err != nil {
		return claims{}, fmt.Errorf("parse token: %w", err)
	}
	if c.Type != want || c.Subject == "" || c.SessionID == "" || c.ID == "" {
		return claims{}, errors.New("parse token: wrong typ or missing claims")
	}
	if remember {
		s.verified.put(token, c)
	}
	return c, nil
}

// JWKS returns the JWK Set (RFC 7517) of the public keys of
// Config.SigningKeys, signing key first, as JSON: {"keys": [...]}, each
// key with "kty", "kid", "alg", "use": "sig" and "crv" and "x" (Ed25519) or
// "n" and "e" (RSA). Other services verify access tokens with it (see
// package verify). With HS256 there is nothing to publish and it returns
// false. The returned slice is the caller's. It is safe for concurrent use.
func (a *Authenticator) JWKS() ([]byte, bool) {
	if a.tokens.jwks == nil {
		return nil, false
	}
	return slices.Clone(a.tokens.jwks), true
}

// randomToken returns 32 random bytes, base64url-encoded: the secret of a
// one-time token or a JTI.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never returns an error
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashToken returns the hex SHA-256 of a secret, the only form in which
// tokens are stored.
func hashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// newID returns a random (version 4) UUID string.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
