package sso

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// stateTTL is how long a state, and the PKCE verifier kept with it, lives.
const stateTTL = 10 * time.Minute

// maxStateLength bounds the states check looks at; the ones issue makes
// are about 150 characters.
const maxStateLength = 512

// stateSigner issues and checks the state parameter of the flow:
//
//	base64url(provider "|" nonce "|" expiry) "." base64url(HMAC-SHA256(payload))
//
// The expiry is in Unix seconds. The MAC key is derived from SECRET_KEY
// for this one use, so a MAC made here means nothing anywhere else.
type stateSigner struct {
	key []byte
}

func newStateSigner(secret []byte) stateSigner {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("authd/sso/state/v1"))
	return stateSigner{key: m.Sum(nil)}
}

func (s stateSigner) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(payload)
	return m.Sum(nil)
}

// issue returns a new state naming provider and expiring at expires.
func (s stateSigner) issue(provider string, expires time.Time) string {
	payload := []byte(provider + "|" + randomToken() + "|" + strconv.FormatInt(expires.Unix(), 10))
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload))
}

// check returns the provider a state names, and true when its MAC is
// right and it has not expired at now. It does no I/O.
func (s stateSigner) check(state string, now time.Time) (string, bool) {
	if len(state) > maxStateLength {
		return "", false
	}
	enc, sig, ok := strings.Cut(state, ".")
	if !ok {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return "", false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(payload)) {
		return "", false
	}
	parts := strings.Split(string(payload), "|")
	if len(parts) != 3 {
		return "", false
	}
	expires, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || now.Unix() >= expires {
		return "", false
	}
	return parts[0], true
}

// randomToken returns 32 bytes from crypto/rand, base64url-encoded.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never returns an error
	return base64.RawURLEncoding.EncodeToString(b)
}

// sha256Hex returns the hex SHA-256 of s, the only form in which the flow's
// secrets are stored.
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
