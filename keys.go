package auth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
)

// The token signing algorithms. AlgHS256 is the default, keyed with
// Config.JWTSecret; AlgEdDSA and AlgRS256 sign with [SigningKey]s whose
// public halves are published as a JWK Set ([Authenticator.JWKS]).
const (
	AlgHS256 = "HS256"
	AlgEdDSA = "EdDSA" // Ed25519 keys (RFC 8037)
	AlgRS256 = "RS256" // RSA keys of at least 2048 bits, PKCS #1 v1.5 with SHA-256
)

// minRSABits is the smallest RSA modulus accepted for RS256.
const minRSABits = 2048

// generatedRSABits is the size of the RSA keys GenerateSigningKey makes.
const generatedRSABits = 3072

// SigningKey is one asymmetric key of the tokens, an entry of
// Config.SigningKeys. Exactly one configured key signs; the others only
// verify: the previous key during a rotation, so its tokens stay valid
// until they expire, or the next one, published ahead of its use. Make one
// with [GenerateSigningKey] or [ParseSigningKeyPEM].
type SigningKey struct {
	// Algorithm is AlgEdDSA for an Ed25519 key or AlgRS256 for an RSA key
	// of at least 2048 bits. Empty means the algorithm of Key's type.
	Algorithm string
	// ID is the kid header of the tokens the key signs and of its JWK.
	// Empty means its RFC 7638 JWK thumbprint (SHA-256, base64url).
	ID string
	// Key is the private key: an ed25519.PrivateKey or an *rsa.PrivateKey.
	// A verify-only key may be the public key instead: an
	// ed25519.PublicKey or an *rsa.PublicKey.
	Key any
	// VerifyOnly marks a key that verifies tokens but signs none.
	VerifyOnly bool
}

// GenerateSigningKey returns a new random signing key for alg: an Ed25519
// key for AlgEdDSA, a 3072-bit RSA key for AlgRS256, with its ID set to its
// JWK thumbprint. Another alg is an error.
func GenerateSigningKey(alg string) (SigningKey, error) {
	var key any
	switch alg {
	case AlgEdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return SigningKey{}, fmt.Errorf("auth: generate Ed25519 key: %w", err)
		}
		key = priv
	case AlgRS256:
		priv, err := rsa.GenerateKey(rand.Reader, generatedRSABits)
		if err != nil {
			return SigningKey{}, fmt.Errorf("auth: generate RSA key: %w", err)
		}
		key = priv
	default:
		return SigningKey{}, fmt.Errorf("auth: cannot generate a key for algorithm %q: want %s or %s", alg, AlgEdDSA, AlgRS256)
	}
	vk, err := SigningKey{Key: key}.resolve()
	if err != nil {
		return SigningKey{}, err
	}
	return SigningKey{Algorithm: vk.alg, ID: vk.kid, Key: key}, nil
}

// ParseSigningKeyPEM returns the key of the first key block of a PEM file,
// with its Algorithm (from the key's type) and ID (its JWK thumbprint) set.
// It reads PKCS #8 private keys ("PRIVATE KEY": Ed25519 or RSA), PKCS #1
// RSA private keys ("RSA PRIVATE KEY") and, as verify-only keys, PKIX
// public keys ("PUBLIC KEY") and PKCS #1 RSA public keys ("RSA PUBLIC
// KEY"). It returns an error for encrypted keys, other key types (ECDSA,
// X25519, …) and RSA keys under 2048 bits.
func ParseSigningKeyPEM(data []byte) (SigningKey, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return SigningKey{}, errors.New("auth: no PEM key block found")
		}
		var (
			key        any
			verifyOnly bool
			err        error
		)
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			if _, encrypted := block.Headers["Proc-Type"]; encrypted {
				return SigningKey{}, errors.New("auth: encrypted PEM keys are not supported")
			}
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
			verifyOnly = true
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
			verifyOnly = true
		case "ENCRYPTED PRIVATE KEY":
			return SigningKey{}, errors.New("auth: encrypted PEM keys are not supported")
		default:
			continue // EC PARAMETERS, CERTIFICATE, …: look further
		}
		if err != nil {
			return SigningKey{}, fmt.Errorf("auth: parse %s: %w", block.Type, err)
		}
		if p, ok := key.(*ed25519.PrivateKey); ok { // some parsers return a pointer
			key = *p
		}
		vk, err := SigningKey{Key: key, VerifyOnly: verifyOnly}.resolve()
		if err != nil {
			return SigningKey{}, err
		}
		return SigningKey{Algorithm: vk.alg, ID: vk.kid, Key: key, VerifyOnly: verifyOnly}, nil
	}
}

// MarshalSigningKeyPEM returns k's key as PEM: a PKCS #8 "PRIVATE KEY"
// block for a private key, a PKIX "PUBLIC KEY" block for a public one. It
// returns an error when k's key is not one that [SigningKey] allows.
func MarshalSigningKeyPEM(k SigningKey) ([]byte, error) {
	if _, err := k.resolve(); err != nil {
		return nil, err
	}
	var (
		block pem.Block
		err   error
	)
	switch k.Key.(type) {
	case ed25519.PrivateKey, *rsa.PrivateKey:
		block.Type = "PRIVATE KEY"
		block.Bytes, err = x509.MarshalPKCS8PrivateKey(k.Key)
	default:
		block.Type = "PUBLIC KEY"
		block.Bytes, err = x509.MarshalPKIXPublicKey(k.Key)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: marshal key: %w", err)
	}
	return pem.EncodeToMemory(&block), nil
}

// verifyKey is a resolved SigningKey: its algorithm, kid, public key and,
// when it has one, its private key.
type verifyKey struct {
	alg     string
	kid     string
	public  any           // ed25519.PublicKey or *rsa.PublicKey
	private crypto.Signer // nil for a public-only key
	jwk     jwk
}

// resolve checks k and returns its algorithm, kid and keys. An RSA key
// under 2048 bits, an invalid RSA private key, an unsupported key type or
// an algorithm that does not fit the key is an error.
func (k SigningKey) resolve() (verifyKey, error) {
	var vk verifyKey
	switch key := k.Key.(type) {
	case ed25519.PrivateKey:
		if len(key) != ed25519.PrivateKeySize {
			return vk, errors.New("auth: malformed Ed25519 private key")
		}
		vk.alg, vk.private, vk.public = AlgEdDSA, key, key.Public()
	case ed25519.PublicKey:
		if len(key) != ed25519.PublicKeySize {
			return vk, errors.New("auth: malformed Ed25519 public key")
		}
		vk.alg, vk.public = AlgEdDSA, key
	case *rsa.PrivateKey:
		if key == nil {
			return vk, errors.New("auth: nil RSA key")
		}
		if err := key.Validate(); err != nil {
			return vk, fmt.Errorf("auth: invalid RSA private key: %w", err)
		}
		vk.alg, vk.private, vk.public = AlgRS256, key, &key.PublicKey
	case *rsa.PublicKey:
		if key == nil || key.N == nil {
			return vk, errors.New("auth: nil RSA key")
		}
		vk.alg, vk.public = AlgRS256, key
	case nil:
		return vk, errors.New("auth: SigningKey.Key is not set")
	default:
		return vk, fmt.Errorf("auth: unsupported key type %T: want an Ed25519 or RSA key", k.Key)
	}
	if rk, ok := vk.public.(*rsa.PublicKey); ok {
		if bits := rk.N.BitLen(); bits < minRSABits {
			return vk, fmt.Errorf("auth: RSA key of %d bits: RS256 needs at least %d", bits, minRSABits)
		}
		if rk.E < 3 || rk.E%2 == 0 {
			return vk, errors.New("auth: RSA key with an invalid public exponent")
		}
	}
	if k.Algorithm != "" && k.Algorithm != vk.alg {
		return vk, fmt.Errorf("auth: SigningKey.Algorithm %q does not fit a %s key (want %s)", k.Algorithm, keyKind(vk.alg), vk.alg)
	}
	vk.jwk = newJWK(vk.public)
	vk.kid = k.ID
	if vk.kid == "" {
		vk.kid = vk.jwk.thumbprint()
	}
	vk.jwk.Kid, vk.jwk.Alg, vk.jwk.Use = vk.kid, vk.alg, "sig"
	return vk, nil
}

func keyKind(alg string) string {
	if alg == AlgEdDSA {
		return "Ed25519"
	}
	return "RSA"
}

// jwk is the public JSON Web Key of a signing key (RFC 7517, RFC 7518
// §6.3, RFC 8037 §2).
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

func newJWK(public any) jwk {
	b64 := base64.RawURLEncoding.EncodeToString
	switch key := public.(type) {
	case ed25519.PublicKey:
		return jwk{Kty: "OKP", Crv: "Ed25519", X: b64(key)}
	case *rsa.PublicKey:
		return jwk{Kty: "RSA", N: b64(key.N.Bytes()), E: b64(big.NewInt(int64(key.E)).Bytes())}
	}
	panic("auth: newJWK of an unresolved key")
}

// thumbprint returns the RFC 7638 JWK thumbprint: the base64url SHA-256 of
// the required members in lexicographic order, without whitespace.
func (j jwk) thumbprint() string {
	var canonical string
	switch j.Kty {
	case "OKP":
		canonical = `{"crv":"` + j.Crv + `","kty":"OKP","x":"` + j.X + `"}`
	case "RSA":
		canonical = `{"e":"` + j.E + `","kty":"RSA","n":"` + j.N + `"}`
	}
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// jwkSet returns the JSON of the JWK Set of keys.
func jwkSet(keys []verifyKey) []byte {
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(keys))}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.jwk)
	}
	b, err := json.Marshal(set)
	if err != nil { // strings only: always marshals
		panic(err)
	}
	return b
}
