package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
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
	ID        string           `json:"jti"`
	Type      string           `json:"typ"`
}

// The jwt.Claims methods, read by the parser's validation.
func (c claims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }
func (c claims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt, nil }
func (c claims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (c claims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c claims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c claims) GetAudience() (jwt.ClaimStrings, error)       { return jwt.ClaimStrings{c.Audience}, nil }

// signer issues and verifies JWTs with one algorithm (HS256) and one key.
// Only that algorithm is accepted and iss, aud, exp and typ are required,
// so "none" and key confusion are impossible.
type signer struct {
	key      []byte
	issuer   string
	audience string
	parser   *jwt.Parser
}

func newSigner(key []byte, issuer, audience string, now func() time.Time) *signer {
	return &signer{
		key:      key,
		issuer:   issuer,
		audience: audience,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithIssuer(issuer),
			jwt.WithAudience(audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(5*time.Second),
			jwt.WithTimeFunc(now),
		),
	}
}

// sign returns the signed JWT of c with the issuer and audience filled in.
func (s *signer) sign(c claims) (string, error) {
	c.Issuer, c.Audience = s.issuer, s.audience
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.key)
}

// parse verifies token and returns its claims when its typ is want and the
// subject, session and id claims are present.
func (s *signer) parse(token, want string) (claims, error) {
	var c claims
	if _, err := s.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.key, nil }); err != nil {
		return claims{}, fmt.Errorf("parse token: %w", err)
	}
	if c.Type != want || c.Subject == "" || c.SessionID == "" || c.ID == "" {
		return claims{}, errors.New("parse token: wrong typ or missing claims")
	}
	return c, nil
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
