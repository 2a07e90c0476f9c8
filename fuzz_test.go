package auth_test

// Fuzz targets of the root package (issue 7, item 2). Each checks a
// property that must hold for every input, not only that nothing panics.
// Their seed corpora are under testdata/fuzz/; plain `go test` replays
// them, `go test -fuzz` explores (see docs/security.md).

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authd/auth"
	"github.com/authd/auth/storage"
)

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"a@b.io", "A@X.IO", " a@b.io\t", "ａ＠ｂ．ｉｏ", "аlice@example.io", "o'brien@example.com",
		`"a@b"@example.com`, "a@[127.0.0.1]", "Ada <ada@example.com>", "a@b.io, c@d.io", "a..b@c.io", "a@b..io", "a@.b.io",
		"a@b.io.", "@b.io", "a@", "", "İvan@example.io", "𝐚@b.io", "a\x00@b.io", "a@b.io(comment)", strings.Repeat("a", 250) + "@b.io"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := auth.NormalizeEmail(s)
		if err != nil {
			if e != "" {
				t.Fatalf("NormalizeEmail(%q) = %q with error %v", s, e, err)
			}
			return
		}
		if e == "" || len(e) > 254 || strings.Count(e, "@") != 1 {
			t.Fatalf("NormalizeEmail(%q) = %q: empty, too long or not one @", s, e)
		}
		for i := 0; i < len(e); i++ {
			if c := e[i]; c < 0x21 || c > 0x7e || ('A' <= c && c <= 'Z') {
				t.Fatalf("NormalizeEmail(%q) = %q holds %q: not lower-case printable ASCII", s, e, c)
			}
		}
		local, domain, _ := strings.Cut(e, "@")
		if local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
			strings.Contains(domain, "..") {
			t.Fatalf("NormalizeEmail(%q) = %q: a malformed domain", s, e)
		}
		// The canonical form is a fixed point, whatever its case or the
		// white space around it: one account per address.
		for _, variant := range []string{e, strings.ToUpper(e), " " + e + "\t"} {
			if again, err := auth.NormalizeEmail(variant); err != nil || again != e {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; want %q (from %q)", variant, again, err, e, s)
			}
		}
	})
}

func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"5/m", "30/m", "20/h", "1/s", " 10/h ", "0/m", "-1/m", "+5/m", "5/d", "5", "/m", "5/", "5/M",
		"9223372036854775807/s", "1000000001/s", "1e3/m", "0x10/m", "5/m/", "٣/m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := auth.ParseLimit(s)
		if err != nil {
			if l != (auth.Limit{}) {
				t.Fatalf("ParseLimit(%q) = %+v with error %v", s, l, err)
			}
			return
		}
		if l.Burst < 1 || (l.Period != time.Second && l.Period != time.Minute && l.Period != time.Hour) {
			t.Fatalf("ParseLimit(%q) = %+v", s, l)
		}
		if again, err := auth.ParseLimit(l.String()); err != nil || again != l {
			t.Fatalf("ParseLimit(%q) = %+v, whose String %q reads back as %+v, %v", s, l, l.String(), again, err)
		}
		// The limiter takes every limit ParseLimit accepts.
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		lim := &auth.MemoryLimiter{Now: func() time.Time { return now }}
		for i := range 3 {
			r, err := lim.Allow(context.Background(), "k", l)
			if err != nil || r.RetryAfter < 0 || (i < l.Burst && !r.Allowed) {
				t.Fatalf("Allow #%d with %+v = %+v, %v", i+1, l, r, err)
			}
		}
	})
}

// The tokens of the token fuzzers are checked by an Authenticator with this
// secret, issuer and audience, on a clock that never moves, so the
// committed seed tokens stay valid.
var (
	fuzzSecret   = []byte("a fuzzing secret of at least 32 bytes")
	fuzzIssuer   = "https://authd.fuzz"
	fuzzAudience = "fuzz-audience"
	fuzzNow      = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
)

// fuzzAuthenticator returns an Authenticator for the token fuzzers on an
// empty SQLite store, with rate limits off so that every input reaches
// the parser and the store.
func fuzzAuthenticator(tb testing.TB) *auth.Authenticator {
	tb.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, "sqlite:"+filepath.Join(tb.TempDir(), "fuzz.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	a, err := auth.NewAuthenticator(st, &mailbox{}, auth.Config{
		JWTSecret: fuzzSecret, Issuer: fuzzIssuer, Audience: fuzzAudience, Argon2: cheapArgon2,
		RateLimitDisabled: true, Now: func() time.Time { return fuzzNow },
	})
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// fuzzClaims are the claims of a valid token for fuzzAuthenticator.
func fuzzClaims(typ string) map[string]any {
	return map[string]any{"iss": fuzzIssuer, "aud": fuzzAudience, "sub": "0b5c2c52-47d4-4b4e-9d37-6b2f3f0b2a11",
		"sid": "5d1e0c9a-3b1f-4c49-8f6e-2a7d9b3c4e5f", "role": "END_USER", "iat": fuzzNow.Unix(),
		"exp": fuzzNow.Add(5 * time.Minute).Unix(), "jti": "fuzz-jti", "typ": typ}
}

// signFuzz returns header.payload.signature: the base64url of the raw
// header and payload bytes, with their HMAC-SHA256 under fuzzSecret.
func signFuzz(header, payload []byte) string {
	enc := base64.RawURLEncoding.EncodeToString
	signing := enc(header) + "." + enc(payload)
	m := hmac.New(sha256.New, fuzzSecret)
	m.Write([]byte(signing))
	return signing + "." + enc(m.Sum(nil))
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// checkRefreshRefused checks that Refresh refuses token with one of the
// contract's errors: no session exists in the fuzzers' store, so nothing
// may be rotated, and nothing may fail otherwise (a store error would be a
// 500).
func checkRefreshRefused(t *testing.T, a *auth.Authenticator, token string) {
	t.Helper()
	_, err := a.Refresh(context.Background(), client, token)
	var verr *auth.ValidationError
	switch {
	case err == nil:
		t.Fatalf("Refresh(%q) succeeded with no session in the store", token)
	case errors.Is(err, auth.ErrInvalidRefreshToken), errors.Is(err, auth.ErrTokenReused):
	case errors.As(err, &verr) && token == "":
	default:
		t.Fatalf("Refresh(%q) = %v, want invalid_token", token, err)
	}
}

// FuzzParseToken feeds arbitrary strings to VerifyAccessToken and Refresh.
// A string the fuzzer makes from a valid token may only be accepted when
// its claims are that token's: no mutation mints new claims.
func FuzzParseToken(f *testing.F) {
	a := fuzzAuthenticator(f)
	good := map[string]bool{} // payloads (decoded) of the valid seed tokens
	for _, typ := range []string{"access", "refresh"} {
		payload := mustJSON(fuzzClaims(typ))
		good[string(payload)] = true
		tok := signFuzz([]byte(`{"alg":"HS256","typ":"JWT"}`), payload)
		f.Add(tok)
		parts := strings.Split(tok, ".")
		f.Add(parts[0] + "." + parts[1] + ".")
		f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".")
	}
	for _, s := range []string{"", "a.b.c", "..", "not a token", "eyJ.eyJ.", strings.Repeat(".", 10)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		p, err := a.VerifyAccessToken(token)
		if err != nil {
			if !errors.Is(err, auth.ErrUnauthenticated) {
				t.Fatalf("VerifyAccessToken(%q) = %v, want ErrUnauthenticated", token, err)
			}
		} else {
			parts := strings.Split(token, ".")
			payload, derr := base64.RawURLEncoding.DecodeString(parts[1])
			if derr != nil || !good[string(payload)] {
				t.Fatalf("VerifyAccessToken accepted %q, whose claims %q were never signed", token, payload)
			}
			if p.UserID == "" || p.SessionID == "" {
				t.Fatalf("VerifyAccessToken(%q) = %+v", token, p)
			}
		}
		checkRefreshRefused(t, a, token)
	})
}

// fuzzedClaims mirrors how the parser reads a payload (encoding/json into
// a struct, first value only), so that the oracle sees what it sees.
type fuzzedClaims struct {
	Issuer    string           `json:"iss"`
	Audience  string           `json:"aud"`
	Subject   string           `json:"sub"`
	SessionID string           `json:"sid"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ExpiresAt *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	ID        string           `json:"jti"`
	Type      string           `json:"typ"`
}

// FuzzTokenClaims signs arbitrary header and payload bytes with the real
// key, so that every input passes the signature check, and checks that
// VerifyAccessToken accepts only HS256 access tokens of the right issuer
// and audience that are current, and that Refresh rotates nothing.
func FuzzTokenClaims(f *testing.F) {
	a := fuzzAuthenticator(f)
	hs := []byte(`{"alg":"HS256","typ":"JWT"}`)
	add := func(header []byte, change map[string]any) {
		c := fuzzClaims("access")
		for k, v := range change {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		f.Add(header, mustJSON(c))
	}
	add(hs, nil)
	add(hs, map[string]any{"typ": "refresh"})
	add([]byte(`{"alg":"none"}`), nil)
	add([]byte(`{"alg":"HS512"}`), nil)
	add([]byte(`{"alg":"HS256","kid":"../../dev/null","jku":"http://127.0.0.1:1/"}`), nil)
	add(hs, map[string]any{"exp": fuzzNow.Add(-6 * time.Second).Unix()})
	add(hs, map[string]any{"exp": "1777637100"})
	add(hs, map[string]any{"exp": 1.7776371e9})
	add(hs, map[string]any{"iat": fuzzNow.Add(time.Hour).Unix()})
	add(hs, map[string]any{"nbf": fuzzNow.Add(time.Hour).Unix()})
	add(hs, map[string]any{"aud": []string{fuzzAudience}})
	add(hs, map[string]any{"iss": nil})
	add(hs, map[string]any{"sid": "x\x00y"})
	add(hs, map[string]any{"typ": "refresh", "sid": "x\x00y"})
	add(hs, map[string]any{"typ": "refresh", "sub": "", "jti": "\x00"})
	add(hs, map[string]any{"TYP": "refresh"})
	f.Add(hs, []byte(`{"typ":"access"} trailing`))
	f.Add([]byte("{}"), []byte("[]"))

	const leeway = 5 * time.Second
	f.Fuzz(func(t *testing.T, header, payload []byte) {
		token := signFuzz(header, payload)
		p, err := a.VerifyAccessToken(token)
		if err != nil && !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("VerifyAccessToken = %v, want ErrUnauthenticated", err)
		}
		if err == nil {
			var h map[string]any
			if json.Unmarshal(header, &h) != nil || h["alg"] != "HS256" {
				t.Fatalf("accepted a token whose header %q does not say HS256", header)
			}
			var c fuzzedClaims
			if err := json.NewDecoder(bytes.NewReader(payload)).Decode(&c); err != nil {
				t.Fatalf("accepted claims %q that do not decode: %v", payload, err)
			}
			switch {
			case c.Type != "access":
				t.Fatalf("accepted typ %q: %q", c.Type, payload)
			case c.Issuer != fuzzIssuer || c.Audience != fuzzAudience:
				t.Fatalf("accepted iss %q, aud %q: %q", c.Issuer, c.Audience, payload)
			case c.Subject == "" || c.SessionID == "" || c.ID == "":
				t.Fatalf("accepted claims without sub, sid or jti: %q", payload)
			case c.ExpiresAt == nil || !fuzzNow.Before(c.ExpiresAt.Add(leeway)):
				t.Fatalf("accepted an expired token or one without exp: %q", payload)
			case c.IssuedAt != nil && c.IssuedAt.After(fuzzNow.Add(leeway)):
				t.Fatalf("accepted a token issued in the future: %q", payload)
			case c.NotBefore != nil && c.NotBefore.After(fuzzNow.Add(leeway)):
				t.Fatalf("accepted a token before its nbf: %q", payload)
			case p.UserID != c.Subject || p.SessionID != c.SessionID:
				t.Fatalf("principal %+v is not the claims' %q", p, payload)
			}
		}
		checkRefreshRefused(t, a, token)
	})
}
