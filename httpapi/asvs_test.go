package httpapi_test

// Tests of OWASP ASVS 5.0 requirements that docs/security.md claims and
// that no other test states on its own.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	auth "github.com/authd/auth"
)

// TestPasswordsAreTakenAsTyped: any composition (ASVS 6.2.5), long
// passwords (6.2.9), verified exactly as received, without truncation or
// case folding (6.2.8). NFKC normalisation, which NIST SP 800-63B asks
// for, is the one transformation: a full-width password is its ASCII form.
func TestPasswordsAreTakenAsTyped(t *testing.T) {
	s := newStack(t)
	long := strings.Repeat("correct horse battery staple ", 9)[:256] // 256 characters, the maximum
	for _, tt := range []struct{ name, email, password string }{
		{"lower-case letters and spaces only", "spaces@example.com", "the quiet river runs deep and slow"},
		{"digits only", "digits@example.com", "8302917465019283746"},
		{"emoji and other scripts", "emoji@example.com", "🦊🦉🐙 пароль 密码 كلمة"},
		{"64 characters", "sixtyfour@example.com", strings.Repeat("abcdefgh", 8)},
		{"256 characters", "long@example.com", long},
	} {
		t.Run(tt.name+" is accepted", func(t *testing.T) {
			wantStatus(t, s.do(t, "POST", "/api/v1/auth/register/", map[string]string{"email": tt.email, "password": tt.password}),
				http.StatusAccepted)
			token := linkToken(t, s.takeMail(t, tt.email), "/verify-email")
			decode[userBody](t, s.do(t, "POST", "/api/v1/auth/verify-email/", map[string]string{"token": token}), http.StatusOK)
			s.loginWith(t, tt.email, tt.password)
		})
	}

	refused := func(t *testing.T, email, password string) {
		t.Helper()
		wantProblem(t, s.do(t, "POST", "/api/v1/auth/login/", map[string]string{"email": email, "password": password}),
			http.StatusUnauthorized, "invalid_credentials")
	}
	t.Run("the last of 256 characters counts: nothing is truncated", func(t *testing.T) {
		refused(t, "long@example.com", long[:255]+"X")
		refused(t, "long@example.com", long[:255])
		refused(t, "long@example.com", long+"x") // over the maximum: never matches
	})
	t.Run("case is kept", func(t *testing.T) {
		refused(t, "spaces@example.com", "The quiet river runs deep and slow")
		refused(t, "spaces@example.com", strings.ToUpper("the quiet river runs deep and slow"))
	})
	t.Run("white space is kept", func(t *testing.T) {
		refused(t, "spaces@example.com", "the quiet river runs deep and slow ")
		refused(t, "spaces@example.com", "the quiet  river runs deep and slow")
	})
	t.Run("compatibility forms are the same password (NFKC)", func(t *testing.T) {
		s.loginWith(t, "digits@example.com", "８３０２９１７４６５０１９２８３７４６") // full-width digits
	})
}

// TestNoDefaultAccounts: a new deployment has no user at all (ASVS
// 6.3.2); the first administrator is made by `authd createsuperuser`.
func TestNoDefaultAccounts(t *testing.T) {
	s := newStack(t)
	if n := s.countUsers(t); n != 0 {
		t.Fatalf("a new deployment has %d users", n)
	}
	for _, addr := range []string{"admin", "root", "admin@localhost", "admin@example.com", "root@localhost"} {
		wantProblem(t, s.do(t, "POST", "/api/v1/auth/login/", map[string]string{"email": addr, "password": "admin"}),
			http.StatusUnauthorized, "invalid_credentials")
	}
}

// TestSecretsCarryAtLeast128Bits: the one-time tokens mailed and the
// refresh token's jti are 32 random bytes (ASVS 7.2.3, 6.4.1), and no two
// are alike.
func TestSecretsCarryAtLeast128Bits(t *testing.T) {
	s := newStack(t)
	seen := map[string]bool{}
	check := func(t *testing.T, what, secret string) {
		t.Helper()
		b, err := base64.RawURLEncoding.DecodeString(secret)
		if err != nil || len(b) < 32 {
			t.Errorf("%s %q is not 32 bytes of base64url: %v", what, secret, err)
		}
		if seen[secret] {
			t.Errorf("%s %q was issued twice", what, secret)
		}
		seen[secret] = true
	}
	owner := s.newActor(t, "owner@example.com", auth.RoleEndUser)
	s.createOrg(t, owner, "acme")
	for i := range 5 {
		check(t, "a verification token", s.register(t, fmt.Sprintf("new%d@example.com", i)))
		wantStatus(t, s.do(t, "POST", "/api/v1/auth/password/forgot/", map[string]string{"email": "owner@example.com"}), http.StatusAccepted)
		check(t, "a reset token", linkToken(t, s.takeMail(t, "owner@example.com"), "/reset-password"))
		_, invite := s.invite(t, owner, "acme", fmt.Sprintf("guest%d@example.com", i), "MEMBER")
		check(t, "an invite token", invite)
		raw, err := base64.RawURLEncoding.DecodeString(strings.Split(s.login(t, "owner@example.com").Refresh, ".")[1])
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			JTI string `json:"jti"`
		}
		json.Unmarshal(raw, &c)
		check(t, "a refresh token's jti", c.JTI)
	}
}
