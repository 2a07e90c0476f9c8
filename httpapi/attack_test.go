package httpapi_test

// The adversarial suite (issue 7, item 1): each test attacks authd over
// HTTP, through the stack of helpers_test.go (every request and response
// checked against the OpenAPI document), and asserts the secure outcome,
// in the answer and in the database. Attacks already covered elsewhere
// are not repeated here; docs/security.md maps every case to its test.

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	auth "github.com/authd/auth"
	"github.com/authd/auth/httpapi"
	"github.com/authd/auth/sso/ssotest"
)

// testIssuer and testAudience are the iss and aud of the stack's tokens.
const (
	testIssuer   = "http://authd.test"
	testAudience = "authd"
)

// withSigningKeys makes the stack sign with asymmetric keys instead of
// HS256.
func withSigningKeys(keys ...auth.SigningKey) stackOption {
	return func(c *auth.Config, _ *httpapi.Config) {
		c.JWTSecret = nil
		c.SigningKeys = keys
	}
}

// withTrustedProxies makes the stack believe X-Forwarded-For from the
// test client's own address, as if it were a reverse proxy.
func withTrustedProxies(t *testing.T, list string) stackOption {
	t.Helper()
	trusted, err := httpapi.ParseTrustedProxies(list)
	if err != nil {
		t.Fatal(err)
	}
	return func(_ *auth.Config, c *httpapi.Config) { c.TrustedProxies = trusted }
}

// withHashQueue lets n password hashes wait, so that a test's concurrent
// requests all reach the flow instead of some being 503 overloaded.
func withHashQueue(n int) stackOption {
	return func(c *auth.Config, _ *httpapi.Config) { c.HashQueue = n }
}

// b64url is base64url without padding, as JWS segments are.
func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jsonSegment returns the base64url JSON of v.
func jsonSegment(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64url(b)
}

// hs256 returns header.payload.signature with an HMAC-SHA256 signature
// made with key over the two segments as given, whatever alg the header
// names: the library is not asked, so nothing refuses an odd key.
func hs256(header, payload string, key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(header + "." + payload))
	return header + "." + payload + "." + b64url(m.Sum(nil))
}

// forgeJWT signs claims c with method and key, with extra header fields.
func forgeJWT(t *testing.T, method jwt.SigningMethod, key any, hdr map[string]any, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	maps.Copy(tok.Header, hdr)
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// accessClaims returns the claims of a valid access token of a's session
// sid, issued now by the stack's clock.
func accessClaims(s *stack, userID, sid string) jwt.MapClaims {
	now := s.clock.Now()
	return jwt.MapClaims{"iss": testIssuer, "aud": testAudience, "sub": userID, "sid": sid, "role": "END_USER",
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": "forged-jti", "typ": "access"}
}

// with returns a copy of c with the fields of change set, and those set
// to nil removed.
func with(c jwt.MapClaims, change jwt.MapClaims) jwt.MapClaims {
	out := maps.Clone(c)
	for k, v := range change {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

// wantRefused checks that token is refused as a Bearer token, on a route
// that reads the store (GET /auth/me/) and, as a refresh token, at
// /auth/token/refresh/.
func wantRefused(t *testing.T, s *stack, token string) {
	t.Helper()
	wantProblem(t, s.me(t, token), http.StatusUnauthorized, "unauthenticated")
	wantProblem(t, s.refresh(t, token), http.StatusUnauthorized, "invalid_token")
}

// attackerServer is a server an attacker points a token header at: a
// JWK Set holding key. It counts the requests it gets, which must be
// none.
func attackerServer(t *testing.T, key ed25519.PublicKey) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"attacker","x":%q}]}`, b64url(key))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestAttackForgedAccessTokens(t *testing.T) {
	s := newStack(t)
	victim := s.signUp(t, "victim@example.com")
	mallory := s.signUp(t, "mallory@example.com")
	tok := s.login(t, "mallory@example.com")
	good := accessClaims(s, mallory.ID, tok.SessionID)
	sign := func(c jwt.MapClaims) string { return forgeJWT(t, jwt.SigningMethodHS256, testJWTSecret, nil, c) }

	// The harness is sound: claims signed with the real key are accepted,
	// so every refusal below is the parser's doing.
	if got := decode[userBody](t, s.me(t, sign(good)), http.StatusOK).User; got.ID != mallory.ID {
		t.Fatalf("a well-formed token signed with the real key named %s", got.ID)
	}

	parts := strings.Split(tok.Access, ".")
	header, payload := parts[0], parts[1]
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}

	t.Run("alg none, in any spelling, with or without a signature, is refused", func(t *testing.T) {
		for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
			h := jsonSegment(t, map[string]string{"alg": alg, "typ": "JWT"})
			wantRefused(t, s, h+"."+payload+".")
			wantRefused(t, s, h+"."+payload+"."+parts[2])
			wantRefused(t, s, h+"."+payload)
		}
	})

	t.Run("a signature with any one bit flipped is refused", func(t *testing.T) {
		for i := range sig {
			flipped := slices.Clone(sig)
			flipped[i] ^= 0x01
			wantProblem(t, s.me(t, header+"."+payload+"."+b64url(flipped)), http.StatusUnauthorized, "unauthenticated")
		}
		// The real signature over a payload naming another user.
		var c map[string]any
		raw, _ := base64.RawURLEncoding.DecodeString(payload)
		json.Unmarshal(raw, &c)
		c["sub"] = victim.ID
		wantProblem(t, s.me(t, header+"."+jsonSegment(t, c)+"."+parts[2]), http.StatusUnauthorized, "unauthenticated")
	})

	t.Run("another HMAC algorithm keyed with the real secret is refused", func(t *testing.T) {
		wantRefused(t, s, forgeJWT(t, jwt.SigningMethodHS384, testJWTSecret, nil, good))
		wantRefused(t, s, forgeJWT(t, jwt.SigningMethodHS512, testJWTSecret, nil, good))
	})

	t.Run("claims that break a rule are refused even when signed with the real key", func(t *testing.T) {
		now := s.clock.Now()
		tests := []struct {
			name   string
			change jwt.MapClaims
		}{
			{"expired beyond the 5 s leeway", jwt.MapClaims{"exp": now.Add(-6 * time.Second).Unix()}},
			{"without exp", jwt.MapClaims{"exp": nil}},
			// golang-jwt reads a numeric string as its number (json.Number):
			// lenient, but the value is still checked.
			{"exp in the past, as a string", jwt.MapClaims{"exp": fmt.Sprint(now.Add(-time.Hour).Unix())}},
			{"exp that is not a number", jwt.MapClaims{"exp": "tomorrow"}},
			{"issued in the future (iat beyond the leeway)", jwt.MapClaims{"iat": now.Add(time.Hour).Unix()}},
			{"not valid yet (nbf beyond the leeway)", jwt.MapClaims{"nbf": now.Add(time.Hour).Unix()}},
			{"another issuer", jwt.MapClaims{"iss": "https://evil.example"}},
			{"no issuer", jwt.MapClaims{"iss": nil}},
			{"another audience", jwt.MapClaims{"aud": "another-service"}},
			{"no audience", jwt.MapClaims{"aud": nil}},
			{"the audience as an array, which the contract does not issue", jwt.MapClaims{"aud": []string{testAudience}}},
			{"an array holding the audience and another", jwt.MapClaims{"aud": []string{"another-service", testAudience}}},
			{"typ refresh", jwt.MapClaims{"typ": "refresh"}},
			{"typ in another case", jwt.MapClaims{"typ": "Access"}},
			{"no typ", jwt.MapClaims{"typ": nil}},
			{"no sub", jwt.MapClaims{"sub": nil}},
			{"no sid", jwt.MapClaims{"sid": nil}},
			{"no jti", jwt.MapClaims{"jti": nil}},
			{"another user's id in the caller's session", jwt.MapClaims{"sub": victim.ID}},
			{"a session that does not exist", jwt.MapClaims{"sid": unknownID}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantProblem(t, s.me(t, sign(with(good, tt.change))), http.StatusUnauthorized, "unauthenticated")
			})
		}
	})

	t.Run("the leeway is 5 s: a token expired 4 s ago or issued 4 s ahead is accepted", func(t *testing.T) {
		now := s.clock.Now()
		decode[userBody](t, s.me(t, sign(with(good, jwt.MapClaims{"exp": now.Add(-4 * time.Second).Unix()}))), http.StatusOK)
		decode[userBody](t, s.me(t, sign(with(good, jwt.MapClaims{"iat": now.Add(4 * time.Second).Unix(),
			"nbf": now.Add(4 * time.Second).Unix()}))), http.StatusOK)
	})

	t.Run("kid, jku, jwk and x5u headers are never followed", func(t *testing.T) {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		srv, hits := attackerServer(t, pub)
		attackerJWK := map[string]any{"kty": "OKP", "crv": "Ed25519", "kid": "attacker", "x": b64url(pub)}
		attackerSecret := []byte("the attacker's own HMAC key, 32 bytes or more")
		claims := jsonSegment(t, good)
		for _, tt := range []struct {
			name  string
			token string
		}{
			{"jku to the attacker's key set, EdDSA", forgeJWT(t, jwt.SigningMethodEdDSA, priv,
				map[string]any{"kid": "attacker", "jku": srv.URL + "/jwks.json"}, good)},
			{"embedded jwk, EdDSA", forgeJWT(t, jwt.SigningMethodEdDSA, priv,
				map[string]any{"kid": "attacker", "jwk": attackerJWK}, good)},
			{"x5u to the attacker's server, EdDSA", forgeJWT(t, jwt.SigningMethodEdDSA, priv,
				map[string]any{"x5u": srv.URL + "/cert.pem"}, good)},
			{"jku with HS256 and the attacker's secret", forgeJWT(t, jwt.SigningMethodHS256, attackerSecret,
				map[string]any{"jku": srv.URL + "/jwks.json"}, good)},
			{"kid naming /dev/null, signed with an empty key", hs256(jsonSegment(t,
				map[string]string{"alg": "HS256", "typ": "JWT", "kid": "../../../../../../dev/null"}), claims, nil)},
			{"kid naming a file, signed with its likely content", hs256(jsonSegment(t,
				map[string]string{"alg": "HS256", "kid": "/proc/sys/kernel/randomize_va_space"}), claims, []byte("2\n"))},
			{"kid with SQL, signed with what it would select", hs256(jsonSegment(t,
				map[string]string{"alg": "HS256", "kid": "x' UNION SELECT 'key' --"}), claims, []byte("key"))},
			{"jwk header holding an HMAC key", hs256(jsonSegment(t,
				map[string]any{"alg": "HS256", "jwk": map[string]string{"kty": "oct", "k": b64url(attackerSecret)}}), claims, attackerSecret)},
		} {
			t.Run(tt.name, func(t *testing.T) { wantRefused(t, s, tt.token) })
		}
		if n := hits.Load(); n != 0 {
			t.Fatalf("the attacker's server received %d requests, want none", n)
		}
	})
}

// TestAttackKeyConfusion presents, to EdDSA and RS256 deployments over
// HTTP, HS256 tokens keyed with the public key (the classic RS/HS
// confusion) and tokens that bring their own key. The library-level
// matrix is TestAsymmetricTokensAreVerifiedStrictly in tokens_test.go.
func TestAttackKeyConfusion(t *testing.T) {
	for _, alg := range []string{auth.AlgEdDSA, auth.AlgRS256} {
		t.Run("with "+alg, func(t *testing.T) {
			key, err := auth.GenerateSigningKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			s := newStack(t, withSigningKeys(key))
			u := s.signUp(t, "mallory@example.com")
			tok := s.login(t, "mallory@example.com")
			good := accessClaims(s, u.ID, tok.SessionID)
			kid := map[string]any{"kid": key.ID}
			if got := decode[userBody](t, s.me(t, forgeJWT(t, jwt.GetSigningMethod(alg), key.Key, kid, good)), http.StatusOK).User; got.ID != u.ID {
				t.Fatalf("the harness's token named %s", got.ID)
			}

			var public any
			switch k := key.Key.(type) {
			case ed25519.PrivateKey:
				public = k.Public()
			case *rsa.PrivateKey:
				public = &k.PublicKey
			}
			der, err := x509.MarshalPKIXPublicKey(public)
			if err != nil {
				t.Fatal(err)
			}
			jwks, _ := s.auth.JWKS()
			secrets := map[string][]byte{
				"the PEM public key":          pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
				"the DER public key":          der,
				"the JWK Set document":        jwks,
				"the JWK Set without newline": []byte(strings.TrimSpace(string(jwks))),
			}
			if pk, ok := public.(ed25519.PublicKey); ok {
				secrets["the raw Ed25519 public key"] = pk
			} else {
				secrets["the PKCS #1 public key"] = x509.MarshalPKCS1PublicKey(public.(*rsa.PublicKey))
			}
			for name, secret := range secrets {
				t.Run("HS256 keyed with "+name+" is refused", func(t *testing.T) {
					wantRefused(t, s, forgeJWT(t, jwt.SigningMethodHS256, secret, kid, good))
					wantRefused(t, s, forgeJWT(t, jwt.SigningMethodHS256, secret, nil, good))
				})
			}
			t.Run("alg none under the real kid is refused", func(t *testing.T) {
				h := jsonSegment(t, map[string]string{"alg": "none", "kid": key.ID})
				wantRefused(t, s, h+"."+jsonSegment(t, good)+".")
			})
			t.Run("the attacker's own key, named by jku or embedded as jwk, is refused and never fetched", func(t *testing.T) {
				pub, priv, _ := ed25519.GenerateKey(rand.Reader)
				srv, hits := attackerServer(t, pub)
				wantRefused(t, s, forgeJWT(t, jwt.SigningMethodEdDSA, priv, map[string]any{"kid": key.ID, "jku": srv.URL}, good))
				wantRefused(t, s, forgeJWT(t, jwt.SigningMethodEdDSA, priv, map[string]any{"kid": "attacker", "jku": srv.URL}, good))
				wantRefused(t, s, forgeJWT(t, jwt.SigningMethodEdDSA, priv, map[string]any{"kid": key.ID,
					"jwk": map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64url(pub)}}, good))
				if n := hits.Load(); n != 0 {
					t.Fatalf("the attacker's server received %d requests", n)
				}
			})
			t.Run("a real token's signature on altered claims is refused", func(t *testing.T) {
				p := strings.Split(tok.Access, ".")
				wantRefused(t, s, p[0]+"."+jsonSegment(t, with(good, jwt.MapClaims{"role": "SYSTEM_ADMIN"}))+"."+p[2])
			})
		})
	}
}

// TestAttackRefreshRace sends 50 refreshes of one token at once: exactly
// one is answered with tokens. The others find the token rotated, which
// is reuse: the session ends, so even the winner's new tokens die, as a
// stolen token racing its owner must.
func TestAttackRefreshRace(t *testing.T) {
	for _, db := range databases {
		t.Run("on "+db.name, func(t *testing.T) {
			s := newStackOn(t, db)
			s.signUp(t, "racer@example.com")
			tok := s.login(t, "racer@example.com")
			results := race(50, func(int) response { return s.refresh(t, tok.Refresh) })
			var winner *tokensObject
			codes := map[string]int{}
			for _, res := range results {
				if res.status == http.StatusOK {
					if winner != nil {
						t.Fatalf("two refreshes of one token succeeded")
					}
					got := decode[tokensObject](t, res, http.StatusOK)
					winner = &got
					continue
				}
				codes[wantProblem(t, res, http.StatusUnauthorized, res.code()).Code]++
			}
			if winner == nil {
				t.Fatalf("no refresh succeeded: %v", codes)
			}
			for code := range codes {
				if code != "token_reused" && code != "invalid_token" {
					t.Errorf("a losing refresh got %s", code)
				}
			}
			if codes["token_reused"] == 0 {
				t.Errorf("no loser was told token_reused: %v", codes)
			}
			// The race was reuse: the session is over.
			wantProblem(t, s.refresh(t, winner.Refresh), http.StatusUnauthorized, "invalid_token")
			wantProblem(t, s.me(t, winner.Access), http.StatusUnauthorized, "unauthenticated")
			if len(s.auditEvents(t, auth.EventTokenReused)) == 0 {
				t.Error("no auth.token_reused event was recorded")
			}
		})
	}
}

// code returns the problem code of a response, or "".
func (r response) code() string {
	var p problem
	json.Unmarshal(r.body, &p)
	return p.Code
}

// race runs send(0) … send(n-1) at once, each in its own goroutine, and
// returns the answers in that order.
func race(n int, send func(i int) response) []response {
	out := make([]response, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = send(i)
		})
	}
	close(start)
	wg.Wait()
	return out
}

func TestAttackInviteAcceptedTwice(t *testing.T) {
	for _, db := range databases {
		t.Run("on "+db.name, func(t *testing.T) {
			s := newStackOn(t, db)
			owner := s.newActor(t, "owner@example.com", auth.RoleEndUser)
			guest := s.newActor(t, "guest@example.com", auth.RoleEndUser)
			org := s.createOrg(t, owner, "acme")
			inv, token := s.invite(t, owner, "acme", guest.email, "MEMBER")

			results := race(50, func(int) response { return s.accept(t, guest, token) })
			var ok int
			for _, res := range results {
				switch res.status {
				case http.StatusOK:
					ok++
				case http.StatusBadRequest:
					wantProblem(t, res, http.StatusBadRequest, "invalid_token")
				case http.StatusConflict:
					wantProblem(t, res, http.StatusConflict, "already_member")
				default:
					t.Errorf("a concurrent accept got %d %s", res.status, res.body)
				}
			}
			if ok != 1 {
				t.Fatalf("%d accepts succeeded, want exactly 1", ok)
			}
			ctx := context.Background()
			members, _, err := s.store.Members(ctx, org.ID, auth.Page{Limit: 200})
			if err != nil {
				t.Fatal(err)
			}
			var guestRows int
			for _, m := range members {
				if m.UserID == guest.id {
					guestRows++
					if m.Role != auth.OrgMember {
						t.Errorf("the guest joined as %s", m.Role)
					}
				}
			}
			if guestRows != 1 || len(members) != 2 {
				t.Errorf("members = %+v, want the owner and the guest once", members)
			}
			events, _, err := s.store.AuditEvents(ctx, auth.AuditFilter{Event: auth.EventMemberJoined, OrgID: org.ID}, auth.Page{Limit: 200})
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 1 || events[0].Metadata["invite_id"] != inv.ID {
				t.Errorf("member.joined events = %+v, want exactly one for invite %s", events, inv.ID)
			}
			if pending := list[inviteObject](t, s, owner, "/api/v1/orgs/acme/invites/", "invites"); len(pending) != 0 {
				t.Errorf("the invite is still pending: %+v", pending)
			}
		})
	}
}

func TestAttackResetTokenUsedTwice(t *testing.T) {
	for _, db := range databases {
		t.Run("on "+db.name, func(t *testing.T) {
			s := newStackOn(t, db, withHashQueue(100))
			s.signUp(t, "victim@example.com")
			old := s.login(t, "victim@example.com")
			wantStatus(t, s.do(t, "POST", "/api/v1/auth/password/forgot/", map[string]string{"email": "victim@example.com"}), http.StatusAccepted)
			token := linkToken(t, s.takeMail(t, "victim@example.com"), "/reset-password")

			const n = 50
			password := func(i int) string { return fmt.Sprintf("contested reset number %02d of fifty", i) }
			results := race(n, func(i int) response {
				return s.do(t, "POST", "/api/v1/auth/password/reset/", map[string]string{"token": token, "new_password": password(i)})
			})
			winner := -1
			for i, res := range results {
				switch res.status {
				case http.StatusNoContent:
					if winner >= 0 {
						t.Fatalf("resets %d and %d both succeeded", winner, i)
					}
					winner = i
				default:
					wantProblem(t, res, http.StatusBadRequest, "invalid_token")
				}
			}
			if winner < 0 {
				t.Fatal("no reset succeeded")
			}
			if events := s.auditEvents(t, auth.EventPasswordReset); len(events) != 1 {
				t.Errorf("%d password.reset events, want 1", len(events))
			}
			// The stored password is the winner's, and only the winner's.
			s.loginWith(t, "victim@example.com", password(winner))
			for _, i := range []int{(winner + 1) % n, (winner + n - 1) % n} {
				wantProblem(t, s.do(t, "POST", "/api/v1/auth/login/",
					map[string]string{"email": "victim@example.com", "password": password(i)}), http.StatusUnauthorized, "invalid_credentials")
			}
			wantProblem(t, s.me(t, old.Access), http.StatusUnauthorized, "unauthenticated")
		})
	}
}

// countUsers returns how many users the store holds.
func (s *stack) countUsers(t *testing.T) int {
	t.Helper()
	users, _, err := s.store.Users(context.Background(), auth.UserFilter{}, auth.Page{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	return len(users)
}

func TestAttackEmailCollisions(t *testing.T) {
	s := newStack(t)
	register := func(addr string) response {
		return s.do(t, "POST", "/api/v1/auth/register/", map[string]string{"email": addr, "password": testPassword})
	}
	first := register("Alice@Example.IO")
	wantStatus(t, first, http.StatusAccepted)
	alice := s.user(t, "alice@example.io")
	decode[userBody](t, s.do(t, "POST", "/api/v1/auth/verify-email/", map[string]string{"token": linkToken(t,
		s.takeMail(t, "alice@example.io"), "/verify-email")}), http.StatusOK)
	users := s.countUsers(t)

	t.Run("case and compatibility forms are the same account", func(t *testing.T) {
		for _, addr := range []string{
			"alice@example.io",
			"ALICE@EXAMPLE.IO",
			"  alice@example.io\t",
			"ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｉｏ", // full-width
			"𝐚𝐥𝐢𝐜𝐞@example.io", // mathematical bold
			"ᵃlice@example.io", // superscript a
			"alice@ｅｘａｍｐｌｅ.io",
		} {
			res := register(addr)
			if string(res.body) != string(first.body) || res.status != first.status {
				t.Errorf("register %q = %d %s, want the first answer", addr, res.status, res.body)
			}
			s.takeMail(t, "alice@example.io") // the owner is told, nobody else
			tok := s.loginWith(t, addr, testPassword)
			if tok.User.ID != alice.ID {
				t.Errorf("login as %q reached user %s, want %s", addr, tok.User.ID, alice.ID)
			}
		}
		if n := s.countUsers(t); n != users {
			t.Errorf("%d users after the collisions, want %d", n, users)
		}
	})

	t.Run("homoglyph and invisible forms are refused, never a second account", func(t *testing.T) {
		for _, addr := range []string{
			"аlice@example.io",       // Cyrillic а
			"alicе@example.io",       // Cyrillic е
			"alice@exаmple.io",       // Cyrillic а in the domain
			"αlice@example.io",       // Greek alpha
			"alıce@example.io",       // dotless i
			"al\u200bice@example.io", // zero-width space
			"al\u00adice@example.io", // soft hyphen
			"alice\u0301@example.io", // combining accent
			"alice@example.io\u200e", // left-to-right mark
			"alice\x00@example.io",   // NUL
		} {
			wantValidation(t, register(addr), "email")
			wantValidation(t, s.do(t, "POST", "/api/v1/auth/password/forgot/", map[string]string{"email": addr}), "email")
			wantValidation(t, s.do(t, "POST", "/api/v1/auth/verify-email/resend/", map[string]string{"email": addr}), "email")
			wantProblem(t, s.do(t, "POST", "/api/v1/auth/login/", map[string]string{"email": addr, "password": testPassword}),
				http.StatusUnauthorized, "invalid_credentials")
		}
		s.wantNoMail(t, "alice@example.io")
		if n := s.countUsers(t); n != users {
			t.Errorf("%d users after the homoglyphs, want %d", n, users)
		}
	})

	t.Run("a capital that lower-cases into ASCII folds like any other case", func(t *testing.T) {
		// strings.ToLower maps U+0130 (İ) to i: "İvan" is "ivan", not a
		// look-alike of it.
		first := register("ivan@example.io")
		s.takeMail(t, "ivan@example.io")
		sameAnswer(t, "İvan", register("İvan@example.io"), first)
		s.takeMail(t, "ivan@example.io")
		if n := s.countUsers(t); n != users+1 {
			t.Errorf("%d users, want %d", n, users+1)
		}
		users++
	})

	t.Run("an identity provider's address in another case links to the same account", func(t *testing.T) {
		s.fake.SetIdentity(ssotest.Identity{Subject: "77", Email: "ALICE@Example.IO", EmailVerified: true, Name: "Alice", Login: "alice"})
		loc := s.ssoSignIn(t, "google")
		got := decode[struct {
			Created bool       `json:"created"`
			User    userObject `json:"user"`
		}](t, s.do(t, "POST", "/api/v1/auth/sso/exchange/", map[string]string{"code": loc.Query().Get("code"),
			"state": loc.Query().Get("state")}), http.StatusOK)
		if got.Created || got.User.ID != alice.ID {
			t.Errorf("exchange = %+v, want alice's account, not a new one", got)
		}
	})

	t.Run("an identity provider's homoglyph address creates nothing", func(t *testing.T) {
		s.fake.SetIdentity(ssotest.Identity{Subject: "78", Email: "аlice@example.io", EmailVerified: true, Name: "Fake", Login: "fake"})
		if loc := s.ssoSignIn(t, "google"); loc.Query().Get("error") != "email_not_verified" {
			t.Errorf("callback → %s, want error=email_not_verified", loc)
		}
		if n := s.countUsers(t); n != users {
			t.Errorf("%d users, want %d", n, users)
		}
	})
}

// sqlLooking are strings that break a query built by concatenation, or a
// LIKE pattern built without escaping.
var sqlLooking = []string{
	`'; DROP TABLE users; --`,
	`Robert'); DROP TABLE orgs;--`,
	`' OR '1'='1`,
	`" OR ""="`,
	`%`,
	`_`,
	`%_%`,
	`\`,
	`\'`,
	`\\'; --`,
	`$1 ? :name @p1`,
	`/* comment */ UNION SELECT email FROM users`,
	"tab\there, new\nline",
	`ʼ unicode quote ’ and ＇`,
}

func TestAttackSQLLookingInput(t *testing.T) {
	for _, db := range databases {
		t.Run("on "+db.name, func(t *testing.T) {
			s := newStackOn(t, db)
			sys := s.newActor(t, "sys@example.com", auth.RoleSystemAdmin)
			target := s.newActor(t, "target@example.com", auth.RoleEndUser)
			s.createOrg(t, sys, "acme")
			names := map[string]string{} // user id → name, for the searches
			orgNames := map[string]string{"acme": "Org acme"}

			for i, v := range sqlLooking {
				name := "n" + v // a name is trimmed: keep the payload inside
				t.Run(fmt.Sprintf("payload %d %q", i, v), func(t *testing.T) {
					// Register and PATCH /auth/me/: stored and returned verbatim.
					addr := fmt.Sprintf("sql%d@example.com", i)
					wantStatus(t, s.do(t, "POST", "/api/v1/auth/register/",
						map[string]string{"email": addr, "password": testPassword, "name": name}), http.StatusAccepted)
					if u := s.user(t, addr); u.Name != name {
						t.Errorf("registered name = %q, want %q", u.Name, name)
					}
					token := linkToken(t, s.takeMail(t, addr), "/verify-email")
					decode[userBody](t, s.do(t, "POST", "/api/v1/auth/verify-email/", map[string]string{"token": token}), http.StatusOK)
					tok := s.login(t, addr)
					renamed := name + " again"
					if got := decode[userBody](t, s.do(t, "PATCH", "/api/v1/auth/me/", map[string]string{"name": renamed},
						bearer(tok.Access)), http.StatusOK).User; got.Name != renamed {
						t.Errorf("PATCH /auth/me/ name = %q, want %q", got.Name, renamed)
					}
					me := decode[userBody](t, s.me(t, tok.Access), http.StatusOK).User
					if me.Name != renamed || s.user(t, addr).Name != renamed {
						t.Errorf("stored name = %q, want %q", me.Name, renamed)
					}
					names[me.ID] = renamed

					// An organisation's name; a slug is derived from it.
					org := decode[orgBody](t, s.do(t, "POST", "/api/v1/orgs/create/", map[string]string{"name": name},
						bearer(tok.Access)), http.StatusCreated).Org
					if org.Name != name {
						t.Errorf("org name = %q, want %q", org.Name, name)
					}
					orgRenamed := name + " renamed"
					if got := decode[orgBody](t, s.do(t, "PATCH", "/api/v1/orgs/"+org.Slug+"/", map[string]string{"name": orgRenamed},
						bearer(tok.Access)), http.StatusOK).Org; got.Name != orgRenamed {
						t.Errorf("renamed org = %q, want %q", got.Name, orgRenamed)
					}
					orgNames[org.Slug] = orgRenamed

					// As a given slug it breaks the slug rules.
					wantValidation(t, s.do(t, "POST", "/api/v1/orgs/create/", map[string]string{"name": "x", "slug": v},
						bearer(tok.Access)), "slug")

					// In a path it names nothing.
					wantProblem(t, s.do(t, "GET", "/api/v1/orgs/"+url.PathEscape(v)+"/", nil, sys.auth()), http.StatusNotFound, "not_found")
					wantProblem(t, s.do(t, "GET", "/api/v1/internal/orgs/"+url.PathEscape(v)+"/", nil, sys.auth()), http.StatusNotFound, "not_found")
					wantProblem(t, s.do(t, "GET", "/api/v1/internal/users/"+url.PathEscape(v)+"/", nil, sys.auth()), http.StatusNotFound, "not_found")
					wantProblem(t, s.do(t, "DELETE", "/api/v1/auth/sessions/"+url.PathEscape(v)+"/", nil, bearer(tok.Access)), http.StatusNotFound, "not_found")

					// An administrator's rename of another user.
					adminName := name + " by admin"
					if got := decode[userBody](t, s.do(t, "PATCH", "/api/v1/internal/users/"+target.id+"/",
						map[string]string{"name": adminName}, sys.auth()), http.StatusOK).User; got.Name != adminName {
						t.Errorf("admin rename = %q, want %q", got.Name, adminName)
					}

					// As a token, an email or a password it matches nothing.
					wantProblem(t, s.do(t, "POST", "/api/v1/auth/verify-email/", map[string]string{"token": v}), http.StatusBadRequest, "invalid_token")
					wantProblem(t, s.do(t, "POST", "/api/v1/auth/password/reset/", map[string]string{"token": v, "new_password": newPassword}),
						http.StatusBadRequest, "invalid_token")
					wantProblem(t, s.refresh(t, v), http.StatusUnauthorized, "invalid_token")
					wantProblem(t, s.do(t, "POST", "/api/v1/orgs/invites/accept/", map[string]string{"token": v}, bearer(tok.Access)),
						http.StatusBadRequest, "invalid_token")
					wantProblem(t, s.do(t, "POST", "/api/v1/auth/sso/exchange/", map[string]string{"code": v, "state": v}),
						http.StatusBadRequest, "invalid_token")
					wantProblem(t, s.do(t, "POST", "/api/v1/auth/login/", map[string]string{"email": v, "password": v}),
						http.StatusUnauthorized, "invalid_credentials")
					wantProblem(t, s.do(t, "POST", "/api/v1/auth/login/", map[string]string{"email": addr, "password": v}),
						http.StatusUnauthorized, "invalid_credentials")

					// As a User-Agent it is kept with the session, verbatim.
					if !strings.ContainsAny(v, "\r\n") {
						ua := s.login(t, addr, header("User-Agent", v))
						sessions := decode[sessionsBody](t, s.do(t, "GET", "/api/v1/auth/sessions/", nil, bearer(ua.Access)), http.StatusOK).Sessions
						if i := slices.IndexFunc(sessions, func(x sessionObject) bool { return x.Current }); i < 0 || sessions[i].UserAgent != v {
							t.Errorf("sessions = %+v, want the current one with user agent %q", sessions, v)
						}
					}

					// As a filter it matches only itself.
					wantEmptyOr200 := func(path string) {
						decodeList[any](t, s.do(t, "GET", path, nil, sys.auth()), "events")
					}
					wantEmptyOr200("/api/v1/internal/audit/?event=" + url.QueryEscape(v))
					wantEmptyOr200("/api/v1/internal/audit/?actor_id=" + url.QueryEscape(v) + "&org_id=" + url.QueryEscape(v))
				})
			}

			t.Run("a search matches its query literally, wildcards and quotes included", func(t *testing.T) {
				users := list[userObject](t, s, sys, "/api/v1/internal/users/", "users")
				orgs := list[orgObject](t, s, sys, "/api/v1/internal/orgs/", "orgs")
				for _, q := range append(slices.Clone(sqlLooking), "'", "%'", "n%", "_@", "\\%") {
					var wantUsers, wantOrgs []string
					for _, u := range users {
						if contains(u.Email, q) || contains(u.Name, q) {
							wantUsers = append(wantUsers, u.ID)
						}
					}
					for _, o := range orgs {
						if contains(o.Name, q) || contains(o.Slug, q) {
							wantOrgs = append(wantOrgs, o.ID)
						}
					}
					var gotUsers, gotOrgs []string
					for _, u := range list[userObject](t, s, sys, "/api/v1/internal/users/?q="+url.QueryEscape(q), "users") {
						gotUsers = append(gotUsers, u.ID)
					}
					for _, o := range list[orgObject](t, s, sys, "/api/v1/internal/orgs/?q="+url.QueryEscape(q), "orgs") {
						gotOrgs = append(gotOrgs, o.ID)
					}
					slices.Sort(wantUsers)
					slices.Sort(gotUsers)
					slices.Sort(wantOrgs)
					slices.Sort(gotOrgs)
					if !slices.Equal(gotUsers, wantUsers) {
						t.Errorf("users matching %q: got %v, want %v", q, gotUsers, wantUsers)
					}
					if !slices.Equal(gotOrgs, wantOrgs) {
						t.Errorf("orgs matching %q: got %v, want %v", q, gotOrgs, wantOrgs)
					}
				}
			})

			t.Run("SQL-looking characters that an address allows are kept verbatim", func(t *testing.T) {
				for _, addr := range []string{"o'brien@example.com", "a%b_c@example.com", "x+'or'1'='1@example.com"} {
					wantStatus(t, s.do(t, "POST", "/api/v1/auth/register/",
						map[string]string{"email": addr, "password": testPassword}), http.StatusAccepted)
					token := linkToken(t, s.takeMail(t, addr), "/verify-email")
					u := decode[userBody](t, s.do(t, "POST", "/api/v1/auth/verify-email/", map[string]string{"token": token}), http.StatusOK).User
					if u.Email != addr {
						t.Errorf("email = %q, want %q", u.Email, addr)
					}
					if got := s.login(t, addr).User; got.ID != u.ID {
						t.Errorf("login %q reached %s", addr, got.ID)
					}
					inv := decode[inviteBody](t, s.do(t, "POST", "/api/v1/orgs/acme/invites/",
						map[string]string{"email": "invited." + addr, "role": "MEMBER"}, sys.auth()), http.StatusCreated).Invite
					if inv.Email != "invited."+addr {
						t.Errorf("invite email = %q", inv.Email)
					}
					s.takeMail(t, "invited."+addr)
				}
			})

			t.Run("a NUL character is refused with validation_failed or matches nothing, never a 500", func(t *testing.T) {
				const nul = "a\x00b"
				wantValidation(t, s.do(t, "POST", "/api/v1/auth/register/",
					map[string]string{"email": "nul@example.com", "password": testPassword, "name": nul}), "name")
				wantValidation(t, s.do(t, "PATCH", "/api/v1/auth/me/", map[string]string{"name": nul}, sys.auth()), "name")
				wantValidation(t, s.do(t, "POST", "/api/v1/orgs/create/", map[string]string{"name": nul}, sys.auth()), "name")
				wantValidation(t, s.do(t, "PATCH", "/api/v1/orgs/acme/", map[string]string{"name": nul}, sys.auth()), "name")
				wantValidation(t, s.do(t, "PATCH", "/api/v1/internal/users/"+target.id+"/", map[string]string{"name": nul}, sys.auth()), "name")
				wantValidation(t, s.do(t, "POST", "/api/v1/orgs/create/", map[string]string{"name": "x", "slug": nul}, sys.auth()), "slug")
				wantValidation(t, s.do(t, "POST", "/api/v1/orgs/acme/invites/", map[string]string{"email": "a\x00@example.com", "role": "MEMBER"}, sys.auth()), "email")
				wantValidation(t, s.do(t, "GET", "/api/v1/internal/audit/?event=a%00b", nil, sys.auth()), "event")
				wantProblem(t, s.do(t, "POST", "/api/v1/auth/login/", map[string]string{"email": "a\x00@example.com", "password": nul}),
					http.StatusUnauthorized, "invalid_credentials")
				wantProblem(t, s.do(t, "POST", "/api/v1/auth/login/", map[string]string{"email": "sys@example.com", "password": nul}),
					http.StatusUnauthorized, "invalid_credentials")
				wantProblem(t, s.do(t, "POST", "/api/v1/auth/verify-email/", map[string]string{"token": nul}), http.StatusBadRequest, "invalid_token")
				for _, path := range []string{"/api/v1/orgs/ac%00me/", "/api/v1/orgs/ac%00me/members/", "/api/v1/internal/orgs/ac%00me/",
					"/api/v1/internal/users/a%00b/"} {
					wantProblem(t, s.do(t, "GET", path, nil, sys.auth()), http.StatusNotFound, "not_found")
				}
				decodeList[any](t, s.do(t, "GET", "/api/v1/internal/users/?q=a%00b", nil, sys.auth()), "users")
				decodeList[any](t, s.do(t, "GET", "/api/v1/internal/orgs/?q=a%00b", nil, sys.auth()), "orgs")
			})

			t.Run("every table is still there", func(t *testing.T) {
				if n := len(list[userObject](t, s, sys, "/api/v1/internal/users/", "users")); n != len(sqlLooking)+5 {
					t.Errorf("%d users, want %d", n, len(sqlLooking)+5)
				}
				if n := len(list[orgObject](t, s, sys, "/api/v1/internal/orgs/", "orgs")); n != len(orgNames) {
					t.Errorf("%d orgs, want %d", n, len(orgNames))
				}
				s.login(t, "sys@example.com")
			})
		})
	}
}

// contains reports whether s contains q, ignoring case as the searches do.
func contains(s, q string) bool { return strings.Contains(strings.ToLower(s), strings.ToLower(q)) }

// TestAttackIDORAcrossOrgs extends TestScopesNeverBleed (scope_test.go,
// an OWNER of A and a SYSTEM_ADMIN outside B) to every role of A, with
// B's ids through B's slug and through A's, in any case: always 404, and
// B unchanged.
func TestAttackIDORAcrossOrgs(t *testing.T) {
	for _, db := range databases {
		t.Run("on "+db.name, func(t *testing.T) {
			s := newStackOn(t, db)
			a := s.newTeam(t, "alpha")
			ownerB := s.newActor(t, "owner-b@example.com", auth.RoleEndUser)
			memberB := s.newActor(t, "member-b@example.com", auth.RoleEndUser)
			s.createOrg(t, ownerB, "bravo")
			s.join(t, ownerB, "bravo", memberB, "MEMBER")
			inviteB, _ := s.invite(t, ownerB, "bravo", "pending-b@example.com", "MEMBER")
			want := map[string]string{ownerB.id: "OWNER", memberB.id: "MEMBER"}

			for _, attacker := range []struct {
				name string
				a    actor
			}{{"an ADMIN of A", a.admin}, {"a MEMBER of A", a.member}, {"the OWNER of A", a.owner}} {
				t.Run(attacker.name+" gets 404 on every route of B", func(t *testing.T) {
					inB := map[string]string{"slug": "bravo", "user_id": memberB.id, "id": inviteB.ID}
					for _, c := range routesUnder("/orgs/{slug}/") {
						wantProblem(t, s.callRoute(t, c, inB, attacker.a.auth()), http.StatusNotFound, "not_found")
					}
				})
				// Through A's slug the caller sees A: a route it lacks the
				// permission for is 403 whatever the id, and one it has is
				// 404. Either way B's ids answer exactly as ids that do not
				// exist, so they reveal nothing and touch nothing.
				for _, ids := range []struct {
					name string
					vars map[string]string
				}{
					{"B's ids", map[string]string{"slug": "alpha", "user_id": memberB.id, "id": inviteB.ID}},
					{"B's ids in upper case", map[string]string{"slug": "alpha",
						"user_id": strings.ToUpper(memberB.id), "id": strings.ToUpper(inviteB.ID)}},
				} {
					t.Run(attacker.name+" with "+ids.name+" through A's slug is answered as for unknown ids", func(t *testing.T) {
						unknown := map[string]string{"slug": "alpha", "user_id": unknownID, "id": unknownID}
						for _, c := range routesUnder("/orgs/{slug}/") {
							if !strings.Contains(c.route+c.body, "{user_id}") && !strings.Contains(c.route, "{id}") {
								continue // A's own routes without an id are A's business
							}
							got := s.callRoute(t, c, ids.vars, attacker.a.auth())
							want := s.callRoute(t, c, unknown, attacker.a.auth())
							if got.status != want.status || got.code() != want.code() ||
								(got.status != http.StatusNotFound && got.status != http.StatusForbidden) {
								t.Errorf("%s: %d %s with B's ids, %d %s with unknown ones", c.route, got.status, got.code(), want.status, want.code())
							}
						}
					})
				}
			}
			if got := s.roles(t, ownerB, "bravo"); !maps.Equal(got, want) {
				t.Errorf("members of B = %v, want %v", got, want)
			}
			if invites := list[inviteObject](t, s, ownerB, "/api/v1/orgs/bravo/invites/", "invites"); len(invites) != 1 || invites[0].ID != inviteB.ID {
				t.Errorf("invites of B = %+v", invites)
			}
			if org := decode[orgBody](t, s.do(t, "GET", "/api/v1/orgs/bravo/", nil, ownerB.auth()), http.StatusOK).Org; org.Name != "Org bravo" {
				t.Errorf("org B = %+v", org)
			}
		})
	}
}

// TestAttackRoleEscalation has an ADMIN (and a MEMBER, and the OWNER
// outside a transfer) try every way to OWNER; TestMembers and
// TestTransferOwnership (orgs_test.go) hold the rest of the hierarchy.
func TestAttackRoleEscalation(t *testing.T) {
	s := newStack(t)
	tm := s.newTeam(t, "acme")
	before := s.roles(t, tm.owner, "acme")
	member := func(a actor) string { return tm.path("members/" + a.id + "/") }

	attempts := []struct {
		name string
		res  func(t *testing.T) response
	}{
		{"an ADMIN makes itself OWNER", func(t *testing.T) response {
			return s.do(t, "PATCH", member(tm.admin), map[string]string{"role": "OWNER"}, tm.admin.auth())
		}},
		{"an ADMIN makes another ADMIN OWNER", func(t *testing.T) response {
			return s.do(t, "PATCH", member(tm.admin2), map[string]string{"role": "OWNER"}, tm.admin.auth())
		}},
		{"an ADMIN makes a MEMBER OWNER", func(t *testing.T) response {
			return s.do(t, "PATCH", member(tm.member), map[string]string{"role": "OWNER"}, tm.admin.auth())
		}},
		{"an ADMIN makes a MEMBER ADMIN", func(t *testing.T) response {
			return s.do(t, "PATCH", member(tm.member), map[string]string{"role": "ADMIN"}, tm.admin.auth())
		}},
		{"an ADMIN demotes the OWNER", func(t *testing.T) response {
			return s.do(t, "PATCH", member(tm.owner), map[string]string{"role": "MEMBER"}, tm.admin.auth())
		}},
		{"an ADMIN removes the OWNER", func(t *testing.T) response {
			return s.do(t, "DELETE", member(tm.owner), nil, tm.admin.auth())
		}},
		{"an ADMIN invites an OWNER", func(t *testing.T) response {
			return s.do(t, "POST", tm.path("invites/"), map[string]string{"email": "next-owner@example.com", "role": "OWNER"}, tm.admin.auth())
		}},
		{"an ADMIN invites an ADMIN (its own second account, say)", func(t *testing.T) response {
			return s.do(t, "POST", tm.path("invites/"), map[string]string{"email": "admin-alt@example.com", "role": "ADMIN"}, tm.admin.auth())
		}},
		{"an ADMIN transfers ownership to itself", func(t *testing.T) response {
			return s.do(t, "POST", tm.path("transfer-ownership/"), map[string]string{"user_id": tm.admin.id}, tm.admin.auth())
		}},
		{"an ADMIN transfers ownership to another ADMIN", func(t *testing.T) response {
			return s.do(t, "POST", tm.path("transfer-ownership/"), map[string]string{"user_id": tm.admin2.id}, tm.admin.auth())
		}},
		{"a MEMBER makes itself ADMIN", func(t *testing.T) response {
			return s.do(t, "PATCH", member(tm.member), map[string]string{"role": "ADMIN"}, tm.member.auth())
		}},
		{"a MEMBER invites an ADMIN", func(t *testing.T) response {
			return s.do(t, "POST", tm.path("invites/"), map[string]string{"email": "member-alt@example.com", "role": "ADMIN"}, tm.member.auth())
		}},
		{"the OWNER gives OWNER without a transfer", func(t *testing.T) response {
			return s.do(t, "PATCH", member(tm.admin), map[string]string{"role": "OWNER"}, tm.owner.auth())
		}},
		{"the OWNER invites a second OWNER", func(t *testing.T) response {
			return s.do(t, "POST", tm.path("invites/"), map[string]string{"email": "co-owner@example.com", "role": "OWNER"}, tm.owner.auth())
		}},
	}
	for _, at := range attempts {
		t.Run(at.name+" is 403 permission_denied", func(t *testing.T) {
			wantProblem(t, at.res(t), http.StatusForbidden, "permission_denied")
		})
	}

	t.Run("an invite's role cannot be raised when it is accepted", func(t *testing.T) {
		newcomer := s.newActor(t, "newcomer@example.com", auth.RoleEndUser)
		_, token := s.invite(t, tm.admin, "acme", newcomer.email, "MEMBER")
		got := decode[acceptBody](t, s.do(t, "POST", "/api/v1/orgs/invites/accept/",
			map[string]string{"token": token, "role": "OWNER"}, newcomer.auth()), http.StatusOK)
		if got.Member.Role != "MEMBER" || got.Org.Role == nil || *got.Org.Role != "MEMBER" {
			t.Errorf("accepted as %+v", got)
		}
		before[newcomer.id] = "MEMBER"
	})

	t.Run("the roles are as before, with exactly one OWNER", func(t *testing.T) {
		after := s.roles(t, tm.owner, "acme")
		if !maps.Equal(after, before) {
			t.Errorf("roles = %v, want %v", after, before)
		}
		var owners int
		for _, r := range after {
			if r == "OWNER" {
				owners++
			}
		}
		org := decode[orgBody](t, s.do(t, "GET", tm.path(""), nil, tm.owner.auth()), http.StatusOK).Org
		if owners != 1 || org.OwnerID != tm.owner.id {
			t.Errorf("%d OWNERs, owner_id %s, want 1 and %s", owners, org.OwnerID, tm.owner.id)
		}
		if pending := list[inviteObject](t, s, tm.owner, tm.path("invites/"), "invites"); len(pending) != 0 {
			t.Errorf("a refused invite is pending: %+v", pending)
		}
	})

	t.Run("global roles cannot be raised by their holders", func(t *testing.T) {
		staff := s.newActor(t, "staff@example.com", auth.RoleStaff)
		data := s.newActor(t, "data@example.com", auth.RoleDataAdmin)
		sys := s.newActor(t, "sys@example.com", auth.RoleSystemAdmin)
		for _, tt := range []struct {
			name string
			res  response
		}{
			{"an END_USER makes itself SYSTEM_ADMIN", s.do(t, "PATCH", "/api/v1/internal/users/"+tm.member.id+"/",
				map[string]string{"role": "SYSTEM_ADMIN"}, tm.member.auth())},
			{"STAFF makes itself SYSTEM_ADMIN", s.do(t, "PATCH", "/api/v1/internal/users/"+staff.id+"/",
				map[string]string{"role": "SYSTEM_ADMIN"}, staff.auth())},
			{"STAFF grants its role every permission", s.do(t, "PUT", "/api/v1/internal/permissions/user/STAFF/",
				map[string][]string{"permissions": {"internal.users.write", "internal.roles.change"}}, staff.auth())},
			{"a DATA_ADMIN raises STAFF", s.do(t, "PATCH", "/api/v1/internal/users/"+staff.id+"/",
				map[string]string{"role": "SYSTEM_ADMIN"}, data.auth())},
			{"a SYSTEM_ADMIN changes its own role", s.do(t, "PATCH", "/api/v1/internal/users/"+sys.id+"/",
				map[string]string{"role": "STAFF"}, sys.auth())},
		} {
			t.Run(tt.name, func(t *testing.T) { wantProblem(t, tt.res, http.StatusForbidden, "permission_denied") })
		}
		for addr, role := range map[string]auth.GlobalRole{tm.member.email: auth.RoleEndUser, staff.email: auth.RoleStaff,
			data.email: auth.RoleDataAdmin, sys.email: auth.RoleSystemAdmin} {
			if got := s.user(t, addr).Role; got != role {
				t.Errorf("%s is %s, want %s", addr, got, role)
			}
		}
	})
}

func TestAttackMassAssignment(t *testing.T) {
	s := newStack(t)
	other := s.newActor(t, "other@example.com", auth.RoleEndUser)
	otherOrg := s.createOrg(t, other, "other-org")

	t.Run("register ignores every field but email, password and name", func(t *testing.T) {
		wantStatus(t, s.do(t, "POST", "/api/v1/auth/register/", map[string]any{
			"email": "eve@example.com", "password": testPassword, "name": "Eve",
			"email_verified": true, "role": "SYSTEM_ADMIN", "is_active": false, "has_password": false,
			"id": unknownID, "created_at": "2000-01-01T00:00:00Z", "password_hash": "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA",
		}), http.StatusAccepted)
		u := s.user(t, "eve@example.com")
		if u.EmailVerified || u.Role != auth.RoleEndUser || !u.IsActive || !u.HasPassword() || u.ID == unknownID ||
			u.CreatedAt.Year() == 2000 || strings.Contains(u.PasswordHash, "c2FsdA") {
			t.Errorf("the stored user took a mass-assigned field: %+v", u)
		}
		wantProblem(t, s.do(t, "POST", "/api/v1/auth/login/", map[string]string{"email": "eve@example.com", "password": testPassword}),
			http.StatusForbidden, "email_not_verified")
		token := linkToken(t, s.takeMail(t, "eve@example.com"), "/verify-email")
		got := decode[userBody](t, s.do(t, "POST", "/api/v1/auth/verify-email/", map[string]string{"token": token,
			"user_id": other.id, "role": "SYSTEM_ADMIN"}), http.StatusOK).User
		if got.ID != u.ID || got.Role != "END_USER" || s.user(t, "other@example.com").Role != auth.RoleEndUser {
			t.Errorf("verify-email reached %+v", got)
		}
	})

	eve := actor{id: s.user(t, "eve@example.com").ID, email: "eve@example.com"}
	eve.access = s.login(t, eve.email).Access

	t.Run("PATCH /auth/me/ changes the name only", func(t *testing.T) {
		before := s.user(t, eve.email)
		got := decode[userBody](t, s.do(t, "PATCH", "/api/v1/auth/me/", map[string]any{
			"name": "Eve Renamed", "email": "takeover@example.com", "role": "SYSTEM_ADMIN", "email_verified": false,
			"is_active": false, "has_password": false, "id": other.id, "created_at": "2000-01-01T00:00:00Z",
		}, eve.auth()), http.StatusOK).User
		after := s.user(t, eve.email)
		if got.Name != "Eve Renamed" || after.Name != "Eve Renamed" {
			t.Errorf("name = %q, stored %q", got.Name, after.Name)
		}
		after.Name = before.Name
		if !sameUser(after, before) {
			t.Errorf("stored user changed beyond its name:\nbefore %+v\nafter  %+v", before, after)
		}
	})

	t.Run("the password bodies set the caller's password and nothing else", func(t *testing.T) {
		before := s.user(t, eve.email)
		wantStatus(t, s.do(t, "POST", "/api/v1/auth/password/change/", map[string]any{"current_password": testPassword,
			"new_password": newPassword, "email": "takeover@example.com", "user_id": other.id, "role": "SYSTEM_ADMIN"},
			eve.auth()), http.StatusNoContent)
		after := s.user(t, eve.email)
		after.PasswordHash = before.PasswordHash
		if !sameUser(after, before) {
			t.Errorf("password change changed more:\nbefore %+v\nafter  %+v", before, after)
		}
		s.loginWith(t, "other@example.com", testPassword) // the other user's password is intact
		wantProblem(t, s.do(t, "POST", "/api/v1/auth/password/set/", map[string]any{"new_password": "yet another long password 77",
			"user_id": other.id}, eve.auth()), http.StatusConflict, "password_already_set")
	})

	t.Run("org bodies cannot pick the owner, the id, the slug on rename or the invite's org", func(t *testing.T) {
		org := decode[orgBody](t, s.do(t, "POST", "/api/v1/orgs/create/", map[string]any{"name": "Eve's", "slug": "eves",
			"owner_id": other.id, "id": unknownID, "role": "MEMBER"}, eve.auth()), http.StatusCreated).Org
		if org.OwnerID != eve.id || org.ID == unknownID || org.Role == nil || *org.Role != "OWNER" {
			t.Errorf("created org = %+v", org)
		}
		renamed := decode[orgBody](t, s.do(t, "PATCH", "/api/v1/orgs/eves/", map[string]any{"name": "Eve's Co",
			"slug": "hijacked", "owner_id": other.id, "id": otherOrg.ID}, eve.auth()), http.StatusOK).Org
		if renamed.Slug != "eves" || renamed.OwnerID != eve.id || renamed.ID != org.ID {
			t.Errorf("renamed org = %+v", renamed)
		}
		inv := decode[inviteBody](t, s.do(t, "POST", "/api/v1/orgs/eves/invites/", map[string]any{"email": "friend@example.com",
			"role": "MEMBER", "org_id": otherOrg.ID, "invited_by": other.id, "expires_at": "2100-01-01T00:00:00Z"},
			eve.auth()), http.StatusCreated).Invite
		if inv.InvitedBy != eve.id || inv.ExpiresAt == "2100-01-01T00:00:00Z" {
			t.Errorf("invite = %+v", inv)
		}
		s.takeMail(t, "friend@example.com")
		if pending := list[inviteObject](t, s, other, "/api/v1/orgs/other-org/invites/", "invites"); len(pending) != 0 {
			t.Errorf("the invite landed in the other org: %+v", pending)
		}
		if got := s.roles(t, other, "other-org"); len(got) != 1 || got[other.id] != "OWNER" {
			t.Errorf("members of the other org = %v", got)
		}
	})

	t.Run("a login body cannot pick the role of the token", func(t *testing.T) {
		tok := decode[tokensObject](t, s.do(t, "POST", "/api/v1/auth/login/", map[string]any{"email": eve.email,
			"password": newPassword, "role": "SYSTEM_ADMIN", "session_id": unknownID}), http.StatusOK)
		raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok.Access, ".")[1])
		var c map[string]any
		json.Unmarshal(raw, &c)
		if c["role"] != "END_USER" || tok.SessionID == unknownID || tok.User.Role != "END_USER" {
			t.Errorf("login = %+v, claims %v", tok, c)
		}
		wantProblem(t, s.do(t, "GET", "/api/v1/internal/dashboard/", nil, bearer(tok.Access)), http.StatusForbidden, "permission_denied")
	})

	t.Run("a field name in another case is an unknown field, ignored", func(t *testing.T) {
		// encoding/json alone would read "NAME" as name, and the last of
		// two spellings would win: not what a proxy reading the contract
		// sees.
		got := decode[userBody](t, s.do(t, "PATCH", "/api/v1/auth/me/", `{"name": "Eve Cased", "NAME": "Mallory", "Name": "M"}`,
			eve.auth()), http.StatusOK).User
		if got.Name != "Eve Cased" {
			t.Errorf("name = %q, want the exact field's", got.Name)
		}
		wantValidation(t, s.do(t, "PATCH", "/api/v1/auth/me/", `{"NAME": "Mallory"}`, eve.auth()), "name")
		wantValidation(t, s.do(t, "POST", "/api/v1/auth/register/", `{"EMAIL": "cased@example.com", "Password": "`+testPassword+`"}`),
			"email", "password")
		wantProblem(t, s.do(t, "PATCH", "/api/v1/orgs/eves/", `{"name": 5, "NAME": "x"}`, eve.auth()), http.StatusBadRequest, "invalid_request")
	})

	t.Run("an administrator's PATCH changes name, is_active and role only", func(t *testing.T) {
		sys := s.newActor(t, "sys@example.com", auth.RoleSystemAdmin)
		before := s.user(t, "other@example.com")
		decode[userBody](t, s.do(t, "PATCH", "/api/v1/internal/users/"+other.id+"/", map[string]any{"name": "Other",
			"email": "moved@example.com", "email_verified": false, "has_password": false, "password": "new password here 123",
			"id": unknownID}, sys.auth()), http.StatusOK)
		after := s.user(t, "other@example.com")
		after.Name = before.Name
		if !sameUser(after, before) {
			t.Errorf("admin PATCH changed more than the name:\nbefore %+v\nafter  %+v", before, after)
		}
	})
}

// sameUser reports whether a and b are the same stored user, but for
// UpdatedAt.
func sameUser(a, b auth.User) bool {
	return a.ID == b.ID && a.Email == b.Email && a.Name == b.Name && a.Role == b.Role && a.EmailVerified == b.EmailVerified &&
		a.IsActive == b.IsActive && a.PasswordHash == b.PasswordHash && a.CreatedAt.Equal(b.CreatedAt)
}

func TestAttackForwardedForSpoofing(t *testing.T) {
	limits := auth.Limits{Login: auth.Limit{Burst: 2, Period: time.Hour}}
	wrong := map[string]string{"email": "target@example.com", "password": "not the password at all"}
	login := func(t *testing.T, s *stack, opts ...requestOption) response {
		return s.do(t, "POST", "/api/v1/auth/login/", wrong, opts...)
	}
	spoofs := []requestOption{
		header("X-Forwarded-For", "203.0.113.7"),
		header("X-Forwarded-For", "203.0.113.8, 198.51.100.1"),
		header("X-Real-IP", "203.0.113.9"),
		header("Forwarded", "for=203.0.113.10"),
		header("True-Client-IP", "203.0.113.11"),
		header("CF-Connecting-IP", "203.0.113.12"),
	}

	t.Run("from an untrusted peer no header changes the rate-limit key", func(t *testing.T) {
		s := newStack(t, withLimits(limits))
		s.signUp(t, "target@example.com")
		for range 2 {
			wantProblem(t, login(t, s), http.StatusUnauthorized, "invalid_credentials")
		}
		wantProblem(t, login(t, s), http.StatusTooManyRequests, "throttled")
		for _, spoof := range spoofs {
			wantProblem(t, login(t, s, spoof), http.StatusTooManyRequests, "throttled")
		}
		// Nor does a correct password get through under a spoofed address.
		wantProblem(t, s.do(t, "POST", "/api/v1/auth/login/", map[string]string{"email": "target@example.com", "password": testPassword},
			header("X-Forwarded-For", "192.0.2.99")), http.StatusTooManyRequests, "throttled")
	})

	t.Run("behind a trusted proxy the client cannot prepend its way out", func(t *testing.T) {
		s := newStack(t, withLimits(limits), withTrustedProxies(t, "127.0.0.1, ::1"))
		s.signUp(t, "target@example.com")
		// The proxy appends the address it saw, 198.51.100.7; what comes
		// before is the client's to write.
		via := func(spoofed string) requestOption {
			return header("X-Forwarded-For", spoofed+"198.51.100.7")
		}
		wantProblem(t, login(t, s, via("")), http.StatusUnauthorized, "invalid_credentials")
		wantProblem(t, login(t, s, via("203.0.113.1, ")), http.StatusUnauthorized, "invalid_credentials")
		for i := range 5 {
			wantProblem(t, login(t, s, via(fmt.Sprintf("203.0.113.%d, ", 20+i))), http.StatusTooManyRequests, "throttled")
		}
		wantProblem(t, login(t, s, via("127.0.0.1, ")), http.StatusTooManyRequests, "throttled")
		wantProblem(t, login(t, s, via("garbage, ")), http.StatusTooManyRequests, "throttled")
		// Another real client, as the proxy reports it, is its own key.
		wantProblem(t, login(t, s, header("X-Forwarded-For", "198.51.100.8")), http.StatusUnauthorized, "invalid_credentials")
	})
}

// urlPattern finds the URLs in a mail's text.
var urlPattern = regexp.MustCompile(`https?://[^\s"'<>]+`)

func TestAttackOpenRedirect(t *testing.T) {
	s := newStack(t)
	evil := []requestOption{
		func(r *http.Request) { r.Host = "evil.example" },
		header("X-Forwarded-Host", "evil.example"),
		header("X-Forwarded-Proto", "https"),
		header("Origin", "https://evil.example"),
		header("Referer", "https://evil.example/login"),
	}
	redirectParams := url.Values{
		"redirect_uri": {"https://evil.example/cb"}, "redirect": {"https://evil.example"}, "next": {"//evil.example"},
		"return_to": {"https://evil.example"}, "returnTo": {"https://evil.example"}, "continue": {"https://evil.example"},
		"url": {"https://evil.example"}, "callback": {"https://evil.example"}, "frontend_url": {"https://evil.example"},
	}
	underFrontend := func(t *testing.T, loc *url.URL) {
		t.Helper()
		if loc.Scheme != "http" || loc.Host != "app.test" || loc.Path != "/auth/sso/complete" || loc.User != nil {
			t.Fatalf("redirect to %s, want http://app.test/auth/sso/complete", loc)
		}
		for k := range loc.Query() {
			if k != "code" && k != "state" && k != "error" {
				t.Errorf("the redirect carries %q: %s", k, loc)
			}
		}
	}
	start := func(t *testing.T, provider string) (authURL *url.URL, state string) {
		t.Helper()
		body := map[string]string{}
		for k := range redirectParams {
			body[k] = redirectParams.Get(k)
		}
		got := decode[struct {
			AuthorizationURL string `json:"authorization_url"`
			State            string `json:"state"`
		}](t, s.do(t, "POST", "/api/v1/auth/sso/"+provider+"/?"+redirectParams.Encode(), body, evil...), http.StatusOK)
		u, err := url.Parse(got.AuthorizationURL)
		if err != nil {
			t.Fatal(err)
		}
		return u, got.State
	}

	t.Run("the authorization request's redirect_uri is PUBLIC_URL's callback, whatever the request says", func(t *testing.T) {
		for _, provider := range []string{"google", "github"} {
			u, _ := start(t, provider)
			if got, want := u.Query().Get("redirect_uri"), s.srv.URL+"/api/v1/auth/sso/callback/"; got != want {
				t.Errorf("%s redirect_uri = %q, want %q", provider, got, want)
			}
			if !strings.HasPrefix(u.String(), s.fake.URL) {
				t.Errorf("%s authorization URL %s is not the provider's", provider, u)
			}
		}
	})

	t.Run("a successful callback lands under FRONTEND_URL, its extra parameters dropped", func(t *testing.T) {
		u, _ := start(t, "google")
		back := s.fake.Authorize(t, u.String())
		q := back.Query()
		for k, v := range redirectParams {
			q[k] = v
		}
		loc := s.callback(t, q.Encode())
		underFrontend(t, loc)
		if loc.Query().Get("code") == "" {
			t.Errorf("no code in %s", loc)
		}
	})

	t.Run("a failing callback lands under FRONTEND_URL with one of the fixed error codes", func(t *testing.T) {
		codes := []string{"invalid_state", "access_denied", "email_not_verified", "account_disabled", "provider_error"}
		_, state := start(t, "github")
		_, state2 := start(t, "github")
		for _, q := range []url.Values{
			redirectParams,
			{"state": {"forged"}, "code": {"x"}, "next": {"https://evil.example"}},
			{"state": {"//evil.example/%0d%0aLocation:%20https://evil.example"}},
			{"state": {"https://evil.example"}, "error": {"https://evil.example"}},
			{"state": {state}, "error": {"https://evil.example/<script>"}, "error_uri": {"https://evil.example"}},
			{"state": {state2}, "error": {"access_denied\r\nLocation: https://evil.example"}},
		} {
			loc := s.callback(t, q.Encode())
			underFrontend(t, loc)
			if e := loc.Query().Get("error"); !slices.Contains(codes, e) {
				t.Errorf("error = %q, want one of %v", e, codes)
			}
		}
	})

	t.Run("every link in mail is under FRONTEND_URL, whatever the request's host", func(t *testing.T) {
		owner := s.newActor(t, "owner@example.com", auth.RoleEndUser)
		s.createOrg(t, owner, "acme")
		s.register(t, "pending@example.com")
		send := []func(){
			func() {
				s.do(t, "POST", "/api/v1/auth/register/", map[string]string{"email": "new@example.com", "password": testPassword,
					"next": "https://evil.example"}, evil...)
			},
			func() { // the notice to an existing owner
				s.do(t, "POST", "/api/v1/auth/register/", map[string]string{"email": "owner@example.com", "password": testPassword}, evil...)
			},
			func() {
				s.do(t, "POST", "/api/v1/auth/password/forgot/", map[string]string{"email": "owner@example.com",
					"redirect_uri": "https://evil.example"}, evil...)
			},
			func() {
				s.do(t, "POST", "/api/v1/auth/verify-email/resend/", map[string]string{"email": "pending@example.com",
					"return_to": "https://evil.example"}, evil...)
			},
			func() {
				s.do(t, "POST", "/api/v1/orgs/acme/invites/", map[string]string{"email": "guest@example.com", "role": "MEMBER",
					"redirect_uri": "https://evil.example"}, append([]requestOption{owner.auth()}, evil...)...)
			},
		}
		var mails []email
		for _, f := range send {
			f()
		}
		for _, to := range []string{"new@example.com", "owner@example.com", "pending@example.com", "guest@example.com"} {
			mails = append(mails, s.newMail(t, to)...)
		}
		if len(mails) != 5 {
			t.Fatalf("%d mails, want 5", len(mails))
		}
		for _, m := range mails {
			links := urlPattern.FindAllString(m.Text, -1)
			if len(links) == 0 {
				t.Errorf("mail %q has no link", m.Subject)
			}
			for _, l := range links {
				if !strings.HasPrefix(l, "http://app.test/") && l != "http://app.test" {
					t.Errorf("mail %q links to %s", m.Subject, l)
				}
			}
			if strings.Contains(m.Text, "evil") {
				t.Errorf("mail %q mentions the attacker's host:\n%s", m.Subject, m.Text)
			}
		}
	})
}

// sameAnswer fails unless a and b have the same status, body and
// headers, but for X-Request-Id and Date.
func sameAnswer(t *testing.T, what string, a, b response) {
	t.Helper()
	if a.status != b.status || string(a.body) != string(b.body) {
		t.Errorf("%s: %d %s vs %d %s", what, a.status, a.body, b.status, b.body)
	}
	strip := func(h http.Header) http.Header {
		h = h.Clone()
		h.Del("X-Request-Id")
		h.Del("Date")
		return h
	}
	if ha, hb := strip(a.header), strip(b.header); !maps.EqualFunc(ha, hb, slices.Equal) {
		t.Errorf("%s: headers differ:\n%v\n%v", what, ha, hb)
	}
}

func TestAttackAccountEnumeration(t *testing.T) {
	s := newStack(t)
	s.signUp(t, "known@example.com")
	s.register(t, "pending@example.com")
	s.signUp(t, "disabled@example.com")
	s.updateUser(t, "disabled@example.com", func(u *auth.User) { u.IsActive = false })
	// An account made by single sign-on has no password.
	s.fake.SetIdentity(ssotest.Identity{Subject: "5", Email: "sso@example.com", EmailVerified: true, Name: "SSO", Login: "sso"})
	loc := s.ssoSignIn(t, "github")
	decode[map[string]any](t, s.do(t, "POST", "/api/v1/auth/sso/exchange/", map[string]string{"code": loc.Query().Get("code"),
		"state": loc.Query().Get("state")}), http.StatusOK)
	existing := []string{"known@example.com", "pending@example.com", "disabled@example.com", "sso@example.com", "KNOWN@example.com"}
	const unknown = "nobody@example.com"

	for _, flow := range []struct {
		name string
		send func(addr string) response
	}{
		{"register", func(addr string) response {
			return s.do(t, "POST", "/api/v1/auth/register/", map[string]string{"email": addr, "password": testPassword, "name": "X"})
		}},
		{"login with a wrong password", func(addr string) response {
			return s.do(t, "POST", "/api/v1/auth/login/", map[string]string{"email": addr, "password": "a wrong password, long enough"})
		}},
		{"forgot password", func(addr string) response {
			return s.do(t, "POST", "/api/v1/auth/password/forgot/", map[string]string{"email": addr})
		}},
		{"resend verification", func(addr string) response {
			return s.do(t, "POST", "/api/v1/auth/verify-email/resend/", map[string]string{"email": addr})
		}},
	} {
		t.Run(flow.name+" answers an unknown email as it answers existing ones", func(t *testing.T) {
			base := flow.send(unknown)
			if base.status >= 500 {
				t.Fatalf("%d %s", base.status, base.body)
			}
			for _, addr := range existing {
				sameAnswer(t, addr+" vs "+unknown, flow.send(addr), base)
			}
		})
	}
}

// TestAttackLoginTiming measures logins with a wrong password for an
// existing account and for an unknown email, interleaved, with the
// default Argon2id cost (19 MiB, t=2, p=1): thanks to the dummy hash
// their medians are within 10%.
func TestAttackLoginTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("times 400 logins at the production Argon2 cost")
	}
	s := newStack(t, func(c *auth.Config, _ *httpapi.Config) { c.Argon2 = auth.Argon2Params{} }) // the defaults
	s.signUp(t, "timed@example.com")
	const n = 200
	known := map[string]string{"email": "timed@example.com", "password": "wrong password, not the real one"}
	unknown := map[string]string{"email": "untimed@example.com", "password": "wrong password, not the real one"}
	measure := func(body map[string]string) time.Duration {
		begin := time.Now()
		wantProblem(t, s.do(t, "POST", "/api/v1/auth/login/", body), http.StatusUnauthorized, "invalid_credentials")
		return time.Since(begin)
	}
	for range 5 { // warm up
		measure(known)
		measure(unknown)
	}
	var k, u []time.Duration
	for i := range n {
		if i%2 == 0 { // alternate the order, so drift hits both alike
			k = append(k, measure(known))
			u = append(u, measure(unknown))
		} else {
			u = append(u, measure(unknown))
			k = append(k, measure(known))
		}
	}
	median := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return (d[len(d)/2-1] + d[len(d)/2]) / 2
	}
	mk, mu := median(k), median(u)
	ratio := float64(mk) / float64(mu)
	t.Logf("median login with a wrong password: existing account %v, unknown email %v (ratio %.3f)", mk, mu, ratio)
	if ratio < 0.9 || ratio > 1.1 {
		t.Errorf("medians %v and %v differ by more than 10%% (ratio %.3f)", mk, mu, ratio)
	}
}

// TestAttackIdentitySpoofingAcrossProviders: an identity is its provider
// and its subject together (ASVS 6.8.1), so the same subject at another
// provider is someone else.
func TestAttackIdentitySpoofingAcrossProviders(t *testing.T) {
	s := newStack(t)
	signIn := func(provider string, id ssotest.Identity) userObject {
		t.Helper()
		s.fake.SetIdentity(id)
		loc := s.ssoSignIn(t, provider)
		return decode[struct {
			User userObject `json:"user"`
		}](t, s.do(t, "POST", "/api/v1/auth/sso/exchange/", map[string]string{"code": loc.Query().Get("code"),
			"state": loc.Query().Get("state")}), http.StatusOK).User
	}
	ada := signIn("github", ssotest.Identity{Subject: "4242", Email: "ada@example.com", EmailVerified: true, Name: "Ada", Login: "ada"})
	eve := signIn("google", ssotest.Identity{Subject: "4242", Email: "eve@example.com", EmailVerified: true, Name: "Eve"})
	if eve.ID == ada.ID || eve.Email != "eve@example.com" {
		t.Fatalf("google's subject 4242 signed in as %+v; github's is %+v", eve, ada)
	}
	// And each provider's subject keeps finding its own user.
	if again := signIn("github", ssotest.Identity{Subject: "4242", Email: "ada@example.com", EmailVerified: true, Login: "ada"}); again.ID != ada.ID {
		t.Errorf("github 4242 now reaches %s, want %s", again.ID, ada.ID)
	}
}
