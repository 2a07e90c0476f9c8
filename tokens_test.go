package auth_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authd/auth"
	"github.com/authd/auth/storage"
)

// generateKey returns a new signing key of alg or fails the test.
func generateKey(t *testing.T, alg string) auth.SigningKey {
	t.Helper()
	k, err := auth.GenerateSigningKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// withKeys configures asymmetric tokens with keys and no JWTSecret.
func withKeys(keys ...auth.SigningKey) func(*auth.Config) {
	return func(c *auth.Config) {
		c.JWTSecret = nil
		c.SigningKeys = keys
	}
}

// verifyOnly returns k marked VerifyOnly.
func verifyOnly(k auth.SigningKey) auth.SigningKey {
	k.VerifyOnly = true
	return k
}

// header returns the decoded JOSE header of token.
func header(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

type jwkJSON struct {
	Kty, Crv, X, N, E, Kid, Alg, Use, D string
}

// jwks returns a's published keys by kid.
func jwks(t *testing.T, a *auth.Authenticator) map[string]jwkJSON {
	t.Helper()
	b, ok := a.JWKS()
	if !ok {
		t.Fatal("JWKS() = false with asymmetric keys")
	}
	var set struct{ Keys []jwkJSON }
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatalf("JWKS is not JSON: %v\n%s", err, b)
	}
	out := map[string]jwkJSON{}
	for _, k := range set.Keys {
		out[k.Kid] = k
	}
	if len(out) != len(set.Keys) {
		t.Fatalf("JWKS repeats a kid: %s", b)
	}
	return out
}

// publicKeyOf rebuilds the public key of a JWK, as a resource server would.
func publicKeyOf(t *testing.T, k jwkJSON) any {
	t.Helper()
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(b) == 0 {
			t.Fatalf("JWK member %q is not base64url: %v", s, err)
		}
		return b
	}
	switch k.Kty {
	case "OKP":
		return ed25519.PublicKey(dec(k.X))
	case "RSA":
		return &rsa.PublicKey{N: new(big.Int).SetBytes(dec(k.N)), E: int(new(big.Int).SetBytes(dec(k.E)).Int64())}
	}
	t.Fatalf("unexpected kty %q", k.Kty)
	return nil
}

func TestAsymmetricTokens(t *testing.T) {
	for _, alg := range []string{auth.AlgEdDSA, auth.AlgRS256} {
		t.Run(alg+" tokens are issued, verified, refreshed and published", func(t *testing.T) {
			key := generateKey(t, alg)
			f := newFixture(t, withKeys(key))
			u := f.verifiedUser(t, "keys@example.com")
			tok := f.login(t, "keys@example.com")

			h := header(t, tok.Access)
			if h["alg"] != alg || h["kid"] != key.ID {
				t.Fatalf("access token header = %v, want alg %s kid %s", h, alg, key.ID)
			}
			p, err := f.auth.VerifyAccessToken(tok.Access)
			if err != nil || p.UserID != u.ID || p.SessionID != tok.SessionID {
				t.Fatalf("VerifyAccessToken = %+v, %v", p, err)
			}
			if _, err := f.auth.VerifyAccessToken(tok.Refresh); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Fatalf("a refresh token was accepted as an access token: %v", err)
			}
			next, err := f.auth.Refresh(t.Context(), client, tok.Refresh)
			if err != nil {
				t.Fatalf("Refresh = %v", err)
			}
			if _, err := f.auth.VerifyAccessToken(next.Access); err != nil {
				t.Fatalf("refreshed access token: %v", err)
			}

			keys := jwks(t, f.auth)
			k, ok := keys[key.ID]
			if len(keys) != 1 || !ok {
				t.Fatalf("JWKS kids = %v, want only %s", keys, key.ID)
			}
			if k.Alg != alg || k.Use != "sig" || k.D != "" {
				t.Errorf("JWK = %+v, want alg %s, use sig, no private part", k, alg)
			}
			switch alg {
			case auth.AlgEdDSA:
				if k.Kty != "OKP" || k.Crv != "Ed25519" || k.X == "" {
					t.Errorf("Ed25519 JWK = %+v", k)
				}
			case auth.AlgRS256:
				if k.Kty != "RSA" || k.N == "" || k.E != "AQAB" {
					t.Errorf("RSA JWK = %+v", k)
				}
			}
			// A resource server holding only the JWK verifies the token.
			pub := publicKeyOf(t, k)
			_, err = jwt.Parse(tok.Access, func(*jwt.Token) (any, error) { return pub, nil },
				jwt.WithValidMethods([]string{alg}), jwt.WithTimeFunc(f.clock.Now))
			if err != nil {
				t.Fatalf("the JWK does not verify the token: %v", err)
			}
		})
	}

	t.Run("HS256 publishes no keys", func(t *testing.T) {
		f := newFixture(t)
		if b, ok := f.auth.JWKS(); ok || b != nil {
			t.Fatalf("JWKS() = %s, %v with HS256", b, ok)
		}
	})
}

func TestKeyIDIsTheJWKThumbprint(t *testing.T) {
	// RFC 8037 appendix A.3: the thumbprint of its Ed25519 example key.
	x, _ := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	k, err := auth.ParseSigningKeyPEM(publicPEM(t, ed25519.PublicKey(x)))
	if err != nil {
		t.Fatal(err)
	}
	if want := "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; k.ID != want {
		t.Fatalf("kid = %s, want %s", k.ID, want)
	}
}

func TestKeyRotation(t *testing.T) {
	oldKey, newKey := generateKey(t, auth.AlgEdDSA), generateKey(t, auth.AlgEdDSA)
	f := newFixture(t, withKeys(oldKey))
	f.verifiedUser(t, "rotate@example.com")
	before := f.login(t, "rotate@example.com")

	authenticator := func(t *testing.T, keys ...auth.SigningKey) *auth.Authenticator {
		t.Helper()
		a, err := auth.NewAuthenticator(f.store, f.mail, auth.Config{SigningKeys: keys, Argon2: cheapArgon2, Now: f.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}

	t.Run("the next key can be published before it signs", func(t *testing.T) {
		a := authenticator(t, oldKey, verifyOnly(newKey))
		if keys := jwks(t, a); len(keys) != 2 {
			t.Fatalf("JWKS has %d keys, want 2", len(keys))
		}
		tok, _, err := a.Login(t.Context(), client, "rotate@example.com", goodPassword)
		if err != nil || header(t, tok.Access)["kid"] != oldKey.ID {
			t.Fatalf("login = %v; kid %v, want the old key's", err, header(t, tok.Access)["kid"])
		}
	})

	rotated := authenticator(t, newKey, verifyOnly(oldKey))
	t.Run("tokens of the old key still verify after the rotation", func(t *testing.T) {
		if _, err := rotated.VerifyAccessToken(before.Access); err != nil {
			t.Fatalf("old access token: %v", err)
		}
		next, err := rotated.Refresh(t.Context(), client, before.Refresh)
		if err != nil {
			t.Fatalf("old refresh token: %v", err)
		}
		if kid := header(t, next.Access)["kid"]; kid != newKey.ID {
			t.Fatalf("refreshed token kid = %v, want the new key's %s", kid, newKey.ID)
		}
		if keys := jwks(t, rotated); len(keys) != 2 {
			t.Fatalf("JWKS has %d keys, want both", len(keys))
		}
	})

	after, _, err := rotated.Login(t.Context(), client, "rotate@example.com", goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the old key alone does not know the new key's tokens", func(t *testing.T) {
		if _, err := f.auth.VerifyAccessToken(after.Access); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("VerifyAccessToken = %v", err)
		}
	})
	t.Run("tokens of a removed key stop verifying", func(t *testing.T) {
		retired := authenticator(t, newKey)
		if _, err := retired.VerifyAccessToken(before.Access); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("token of the removed key: %v", err)
		}
		if _, err := retired.VerifyAccessToken(after.Access); err != nil {
			t.Fatalf("token of the current key: %v", err)
		}
		if keys := jwks(t, retired); len(keys) != 1 {
			t.Fatalf("JWKS has %d keys after the removal, want 1", len(keys))
		}
	})
}

// forge signs claims with key under method and the given extra headers.
func forge(t *testing.T, method jwt.SigningMethod, key any, hdr map[string]any, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	for k, v := range hdr {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func publicPEM(t *testing.T, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func TestAsymmetricTokensAreVerifiedStrictly(t *testing.T) {
	for _, alg := range []string{auth.AlgEdDSA, auth.AlgRS256} {
		t.Run("with "+alg, func(t *testing.T) {
			key := generateKey(t, alg)
			f := newFixture(t, withKeys(key))
			u := f.verifiedUser(t, "strict@example.com")
			tok := f.login(t, "strict@example.com")
			now := f.clock.Now()
			good := jwt.MapClaims{"iss": "http://localhost:8080", "aud": "authd", "sub": u.ID, "sid": tok.SessionID,
				"role": "END_USER", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "jti": "j1", "typ": "access"}
			method := jwt.GetSigningMethod(alg)
			pub := publicKeyOf(t, jwks(t, f.auth)[key.ID])
			pubPEM := publicPEM(t, pub)
			var pubRaw []byte
			if k, ok := pub.(ed25519.PublicKey); ok {
				pubRaw = k
			} else {
				pubRaw = x509.MarshalPKCS1PublicKey(pub.(*rsa.PublicKey))
			}
			_, attacker, _ := ed25519.GenerateKey(rand.Reader)
			attackerRSA, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				t.Fatal(err)
			}

			// The harness signs acceptable tokens with the real key.
			if _, err := f.auth.VerifyAccessToken(forge(t, method, key.Key, map[string]any{"kid": key.ID}, good)); err != nil {
				t.Fatalf("a well-formed token signed with the key was refused: %v", err)
			}

			// A server an attacker points the token at: it must never be asked.
			var fetched atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fetched.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"keys":[]}`))
			}))
			defer srv.Close()
			attackerJWK := map[string]any{"kty": "OKP", "crv": "Ed25519", "kid": "attacker",
				"x": base64.RawURLEncoding.EncodeToString(attacker.Public().(ed25519.PublicKey))}

			payload := strings.Split(forge(t, method, key.Key, map[string]any{"kid": key.ID}, good), ".")[1]
			// The other asymmetric family, signed with the attacker's key.
			other, otherKey := jwt.SigningMethod(jwt.SigningMethodRS256), any(attackerRSA)
			if alg == auth.AlgRS256 {
				other, otherKey = jwt.SigningMethodEdDSA, attacker
			}
			tests := []struct{ name, token string }{
				{"alg none", b64(`{"alg":"none","typ":"JWT","kid":"`+key.ID+`"}`) + "." + payload + "."},
				{"alg none without kid", b64(`{"alg":"none","typ":"JWT"}`) + "." + payload + "."},
				{"HS256 keyed with the public key's PEM", forge(t, jwt.SigningMethodHS256, pubPEM, map[string]any{"kid": key.ID}, good)},
				{"HS256 keyed with the raw public key", forge(t, jwt.SigningMethodHS256, pubRaw, map[string]any{"kid": key.ID}, good)},
				{"the real key without a kid", forge(t, method, key.Key, nil, good)},
				{"the real key with an unknown kid", forge(t, method, key.Key, map[string]any{"kid": "unknown"}, good)},
				{"another key under the real kid", forge(t, jwt.SigningMethodEdDSA, attacker, map[string]any{"kid": key.ID}, good)},
				{"another key with its own kid", forge(t, jwt.SigningMethodEdDSA, attacker, map[string]any{"kid": "attacker"}, good)},
				{"a jku header pointing at the attacker's JWKS", forge(t, jwt.SigningMethodEdDSA, attacker,
					map[string]any{"kid": "attacker", "jku": srv.URL + "/jwks.json"}, good)},
				{"a jku header with the real kid", forge(t, jwt.SigningMethodEdDSA, attacker,
					map[string]any{"kid": key.ID, "jku": srv.URL + "/jwks.json"}, good)},
				{"an embedded jwk header", forge(t, jwt.SigningMethodEdDSA, attacker,
					map[string]any{"kid": "attacker", "jwk": attackerJWK}, good)},
				{"an embedded jwk header with the real kid", forge(t, jwt.SigningMethodEdDSA, attacker,
					map[string]any{"kid": key.ID, "jwk": attackerJWK}, good)},
				{"an x5u header", forge(t, jwt.SigningMethodEdDSA, attacker,
					map[string]any{"kid": "attacker", "x5u": srv.URL + "/cert.pem"}, good)},
				{"a refresh typ", forge(t, method, key.Key, map[string]any{"kid": key.ID},
					merge(good, jwt.MapClaims{"typ": "refresh"}))},
				{"another issuer", forge(t, method, key.Key, map[string]any{"kid": key.ID},
					merge(good, jwt.MapClaims{"iss": "https://evil.example"}))},
				{"no expiry", forge(t, method, key.Key, map[string]any{"kid": key.ID},
					merge(good, jwt.MapClaims{"exp": nil}))},
				{"the other algorithm family under the real kid", forge(t, other, otherKey, map[string]any{"kid": key.ID}, good)},
			}
			for _, tt := range tests {
				t.Run(tt.name+" is refused", func(t *testing.T) {
					if _, err := f.auth.VerifyAccessToken(tt.token); !errors.Is(err, auth.ErrUnauthenticated) {
						t.Fatalf("VerifyAccessToken = %v", err)
					}
				})
			}
			if n := fetched.Load(); n != 0 {
				t.Fatalf("the attacker's server received %d requests, want none", n)
			}
		})
	}

	t.Run("an HS256 deployment refuses asymmetric tokens", func(t *testing.T) {
		f := newFixture(t)
		u := f.verifiedUser(t, "hs@example.com")
		tok := f.login(t, "hs@example.com")
		now := f.clock.Now()
		c := jwt.MapClaims{"iss": "http://localhost:8080", "aud": "authd", "sub": u.ID, "sid": tok.SessionID,
			"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "jti": "j1", "typ": "access"}
		key := generateKey(t, auth.AlgEdDSA)
		if _, err := f.auth.VerifyAccessToken(forge(t, jwt.SigningMethodEdDSA, key.Key, map[string]any{"kid": key.ID}, c)); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("an EdDSA token was accepted by an HS256 deployment: %v", err)
		}
	})
}

func merge(a, b jwt.MapClaims) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

func TestSigningKeysAreValidated(t *testing.T) {
	ed := generateKey(t, auth.AlgEdDSA)
	ed2 := generateKey(t, auth.AlgEdDSA)
	rs := generateKey(t, auth.AlgRS256)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	edPublic := auth.SigningKey{Key: ed.Key.(ed25519.PrivateKey).Public()}
	tests := []struct {
		name string
		keys []auth.SigningKey
	}{
		{"an RSA key under 2048 bits", []auth.SigningKey{{Key: weak}}},
		{"an RSA key under 2048 bits, verify-only", []auth.SigningKey{ed, {Key: &weak.PublicKey, VerifyOnly: true}}},
		{"two signing keys", []auth.SigningKey{ed, ed2}},
		{"no signing key", []auth.SigningKey{verifyOnly(ed)}},
		{"a signing key without its private key", []auth.SigningKey{edPublic}},
		{"two algorithms", []auth.SigningKey{ed, verifyOnly(rs)}},
		{"an algorithm that does not fit the key", []auth.SigningKey{{Algorithm: auth.AlgRS256, Key: ed.Key}}},
		{"HS256 as a key's algorithm", []auth.SigningKey{{Algorithm: auth.AlgHS256, Key: ed.Key}}},
		{"ES256", []auth.SigningKey{{Algorithm: "ES256", Key: ed.Key}}},
		{"a key that is not a key", []auth.SigningKey{{Key: []byte("secret")}}},
		{"a missing key", []auth.SigningKey{{Algorithm: auth.AlgEdDSA}}},
		{"a kid used twice", []auth.SigningKey{ed, {ID: ed.ID, Key: ed2.Key, VerifyOnly: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			_, err := auth.NewAuthenticator(newFixture(t).store, &mailbox{}, auth.Config{SigningKeys: tt.keys, Argon2: cheapArgon2})
			if err == nil {
				t.Fatal("NewAuthenticator accepted the keys")
			}
		})
	}
	t.Run("asymmetric keys need no JWT secret, HS256 does", func(t *testing.T) {
		st := newFixture(t).store
		if _, err := auth.NewAuthenticator(st, &mailbox{}, auth.Config{SigningKeys: []auth.SigningKey{ed2, verifyOnly(edPublic)}, Argon2: cheapArgon2}); err != nil {
			t.Fatalf("NewAuthenticator = %v", err)
		}
		if _, err := auth.NewAuthenticator(st, &mailbox{}, auth.Config{Argon2: cheapArgon2}); err == nil {
			t.Fatal("HS256 without a JWT secret was accepted")
		}
	})
	t.Run("RS256 generation refuses nothing it made", func(t *testing.T) {
		if rs.Key.(*rsa.PrivateKey).N.BitLen() < 2048 || rs.Algorithm != auth.AlgRS256 || rs.ID == "" {
			t.Fatalf("generated RSA key = %s %s %d bits", rs.Algorithm, rs.ID, rs.Key.(*rsa.PrivateKey).N.BitLen())
		}
		if _, err := auth.GenerateSigningKey(auth.AlgHS256); err == nil {
			t.Fatal("GenerateSigningKey(HS256) succeeded")
		}
	})
}

func TestSigningKeyPEM(t *testing.T) {
	for _, alg := range []string{auth.AlgEdDSA, auth.AlgRS256} {
		t.Run(alg+" keys survive a PEM round trip", func(t *testing.T) {
			k := generateKey(t, alg)
			b, err := auth.MarshalSigningKeyPEM(k)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(b), "-----BEGIN PRIVATE KEY-----") {
				t.Fatalf("PEM = %.40q, want PKCS #8", b)
			}
			got, err := auth.ParseSigningKeyPEM(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != k.ID || got.Algorithm != alg || got.VerifyOnly {
				t.Fatalf("parsed key = %s %s verifyOnly=%v, want %s %s", got.Algorithm, got.ID, got.VerifyOnly, alg, k.ID)
			}

			pub, err := auth.MarshalSigningKeyPEM(auth.SigningKey{Key: k.Key.(crypto.Signer).Public()})
			if err != nil {
				t.Fatal(err)
			}
			gotPub, err := auth.ParseSigningKeyPEM(pub)
			if err != nil {
				t.Fatal(err)
			}
			if gotPub.ID != k.ID || !gotPub.VerifyOnly {
				t.Fatalf("public key PEM = %s verifyOnly=%v, want %s verify-only", gotPub.ID, gotPub.VerifyOnly, k.ID)
			}
		})
	}

	t.Run("PKCS #1 RSA keys are read", func(t *testing.T) {
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)})
		k, err := auth.ParseSigningKeyPEM(b)
		if err != nil || k.Algorithm != auth.AlgRS256 || k.VerifyOnly {
			t.Fatalf("ParseSigningKeyPEM = %+v, %v", k.Algorithm, err)
		}
	})

	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	weakDER, _ := x509.MarshalPKCS8PrivateKey(weak)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	for name, b := range map[string][]byte{
		"garbage":                   []byte("not a key"),
		"an ECDSA key":              pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}),
		"an RSA key under 2048 bit": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: weakDER}),
		"an encrypted key":          []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"),
		"a certificate only":        []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
	} {
		t.Run(name+" is refused", func(t *testing.T) {
			if _, err := auth.ParseSigningKeyPEM(b); err == nil {
				t.Fatal("ParseSigningKeyPEM succeeded")
			}
		})
	}
}

// Signing tokens with Ed25519 and publishing the public key for other
// services: serve the JWK Set at /.well-known/jwks.json (httpapi.JWKS).
func ExampleAuthenticator_JWKS() {
	ctx := context.Background()
	st, err := storage.Open(ctx, "sqlite::memory:")
	if err != nil {
		panic(err)
	}
	defer st.Close()
	key, err := auth.GenerateSigningKey(auth.AlgEdDSA) // or auth.ParseSigningKeyPEM(file)
	if err != nil {
		panic(err)
	}
	a, err := auth.NewAuthenticator(st, &mailbox{}, auth.Config{SigningKeys: []auth.SigningKey{key}})
	if err != nil {
		panic(err)
	}
	body, ok := a.JWKS()
	var set struct {
		Keys []struct{ Kty, Crv, Alg, Use, Kid string }
	}
	json.Unmarshal(body, &set)
	k := set.Keys[0]
	fmt.Println(ok, k.Kty, k.Crv, k.Alg, k.Use, k.Kid == key.ID)
	// Output: true OKP Ed25519 EdDSA sig true
}

// BenchmarkVerifyAccessToken compares the hot path of a host application
// under each algorithm.
func BenchmarkVerifyAccessToken(b *testing.B) {
	for _, alg := range []string{auth.AlgHS256, auth.AlgEdDSA, auth.AlgRS256} {
		b.Run(alg, func(b *testing.B) {
			ctx := context.Background()
			st, err := storage.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "authd.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			if err := st.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			// Full verification every time: the verified-token cache is off.
			cfg := auth.Config{JWTSecret: []byte("test-secret-test-secret-test-secret!"), Argon2: cheapArgon2, VerifiedTokenCache: -1}
			if alg != auth.AlgHS256 {
				k, err := auth.GenerateSigningKey(alg)
				if err != nil {
					b.Fatal(err)
				}
				cfg.SigningKeys = []auth.SigningKey{k}
			}
			a, err := auth.NewAuthenticator(st, &mailbox{}, cfg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := a.CreateSuperuser(ctx, "bench@example.com", goodPassword); err != nil {
				b.Fatal(err)
			}
			tok, _, err := a.Login(ctx, client, "bench@example.com", goodPassword)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.VerifyAccessToken(tok.Access); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
