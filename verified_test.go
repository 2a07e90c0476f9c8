package auth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/authd/auth"
)

func TestRememberedAccessTokensStillExpireAndAltersStillFail(t *testing.T) {
	for _, c := range []struct {
		name  string
		cache int
	}{{"with the verified-token cache", 0}, {"without it", -1}} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, func(cfg *auth.Config) { cfg.VerifiedTokenCache = c.cache })
			f.verifiedUser(t, "ada@example.com")
			tok := f.login(t, "ada@example.com")
			for i := range 3 { // the first verification fills the cache, the others hit it
				if p, err := f.auth.VerifyAccessToken(tok.Access); err != nil || p.SessionID != tok.SessionID {
					t.Fatalf("verification %d = %+v, %v", i+1, p, err)
				}
			}
			altered := tok.Access[:len(tok.Access)-2] + flip(tok.Access[len(tok.Access)-2:])
			if _, err := f.auth.VerifyAccessToken(altered); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("a token with an altered signature = %v, want ErrUnauthenticated", err)
			}
			if _, err := f.auth.VerifyAccessToken(tok.Access + "x"); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("a token with a byte appended = %v, want ErrUnauthenticated", err)
			}
			// The refresh token is never accepted as an access token, even
			// after the access token was remembered.
			if _, err := f.auth.VerifyAccessToken(tok.Refresh); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("the refresh token as an access token = %v, want ErrUnauthenticated", err)
			}
			f.clock.Advance(tok.ExpiresIn + 5*time.Second) // past exp and the leeway
			if _, err := f.auth.VerifyAccessToken(tok.Access); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("an expired token that verified before = %v, want ErrUnauthenticated", err)
			}
		})
	}
}
