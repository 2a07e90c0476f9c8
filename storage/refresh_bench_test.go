package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/authd/auth"
)

// BenchmarkRefresh is refresh-token rotation on each database: one client
// calls Authenticator.Refresh on a storage.Store, each iteration
// presenting the refresh token the one before returned (a chain, as a
// client does), rate limits off. An iteration verifies the token, reads
// the session and the user, rotates the session (one conditional UPDATE)
// and signs new tokens. Login end to end is BenchmarkLogin.
//
//	go test -run '^$' -bench Refresh -benchmem -benchtime 2s ./storage/
func BenchmarkRefresh(b *testing.B) {
	for _, d := range benchDatabases {
		b.Run(d.name, func(b *testing.B) {
			ctx := context.Background()
			s := openBenchStore(b, d.url(b))
			authn, err := auth.NewAuthenticator(s, discardMailer{}, auth.Config{
				JWTSecret:         []byte("0123456789abcdef0123456789abcdef"),
				Argon2:            auth.Argon2Params{Memory: 8, Iterations: 1, Parallelism: 1},
				RateLimitDisabled: true,
			})
			if err != nil {
				b.Fatal(err)
			}
			const email, password = "refresh@example.com", "correct horse battery staple"
			u, err := authn.CreateSuperuser(ctx, email, password)
			if err != nil {
				b.Fatal(err)
			}
			c := auth.Client{IP: "203.0.113.7", UserAgent: "bench/1.0"}
			tok, _, err := authn.Login(ctx, c, email, password)
			if err != nil {
				b.Fatal(err)
			}
			first := tok
			b.ReportAllocs()
			for b.Loop() {
				next, err := authn.Refresh(ctx, c, tok.Refresh)
				if err != nil {
					b.Fatal(err)
				}
				tok = next
			}
			b.StopTimer()
			if tok.SessionID != first.SessionID {
				b.Fatalf("refresh moved to session %s, want %s", tok.SessionID, first.SessionID)
			}
			if p, err := authn.VerifyAccessToken(tok.Access); err != nil || p.UserID != u.ID {
				b.Fatalf("the last access token: %+v, %v", p, err)
			}
			// The first refresh token was rotated away: presenting it again
			// is reuse, which revokes the session.
			if _, err := authn.Refresh(ctx, c, first.Refresh); !errors.Is(err, auth.ErrTokenReused) {
				b.Fatalf("the first refresh token again: %v, want ErrTokenReused", err)
			}
		})
	}
}
