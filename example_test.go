package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/authd/auth"
	"github.com/authd/auth/storage"
)

// printMailer prints the subject of every mail and keeps the last token.
type printMailer struct{ token string }

func (m *printMailer) Send(_ context.Context, msg auth.Message) error {
	fmt.Println("mail:", msg.Subject)
	for _, f := range strings.Fields(msg.Text) {
		if u, err := url.Parse(f); err == nil && u.Query().Has("token") {
			m.token = u.Query().Get("token")
		}
	}
	return nil
}

// The whole account life cycle in-process: register, verify the email
// from the mailed link, log in, check the access token, refresh, log out.
func Example() {
	ctx := context.Background()
	st, err := storage.Open(ctx, "sqlite::memory:")
	if err != nil {
		panic(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		panic(err)
	}
	mail := &printMailer{}
	a, err := auth.NewAuthenticator(st, mail, auth.Config{
		JWTSecret: []byte("an example secret of at least 32 bytes"),
		Argon2:    auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1}, // cheap, for the example only
	})
	if err != nil {
		panic(err)
	}
	client := auth.Client{IP: "203.0.113.9", UserAgent: "example"}

	err = a.Register(ctx, client, auth.RegisterInput{Email: "Ada@Example.com", Password: "correct horse battery staple"})
	fmt.Println("register:", err)
	_, _, err = a.Login(ctx, client, "ada@example.com", "correct horse battery staple")
	fmt.Println("login before verifying:", errors.Is(err, auth.ErrEmailNotVerified))

	u, err := a.VerifyEmail(ctx, client, mail.token)
	fmt.Println("verified:", u.Email, u.EmailVerified, err)

	tokens, _, err := a.Login(ctx, client, "ada@example.com", "correct horse battery staple")
	if err != nil {
		panic(err)
	}
	p, err := a.VerifyAccessToken(tokens.Access)
	fmt.Println("access token of the user:", p.UserID == u.ID, err)

	next, err := a.Refresh(ctx, client, tokens.Refresh)
	fmt.Println("refreshed:", err)
	_, err = a.Refresh(ctx, client, tokens.Refresh)
	fmt.Println("old refresh token reused:", errors.Is(err, auth.ErrTokenReused))
	_, err = a.Refresh(ctx, client, next.Refresh)
	fmt.Println("session revoked by the reuse:", errors.Is(err, auth.ErrInvalidRefreshToken))

	// Output:
	// mail: Verify your email address
	// register: <nil>
	// login before verifying: true
	// verified: ada@example.com true <nil>
	// access token of the user: true <nil>
	// refreshed: <nil>
	// old refresh token reused: true
	// session revoked by the reuse: true
}

// Failed logins answer alike whether the email exists or not.
func ExampleAuthenticator_Login() {
	ctx := context.Background()
	st, _ := storage.Open(ctx, "sqlite::memory:")
	defer st.Close()
	_ = st.Migrate(ctx)
	a, _ := auth.NewAuthenticator(st, &printMailer{}, auth.Config{
		JWTSecret: []byte("an example secret of at least 32 bytes"),
		Argon2:    auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1},
	})
	_, _, err := a.Login(ctx, auth.Client{IP: "203.0.113.9"}, "nobody@example.com", "some long password")
	fmt.Println(errors.Is(err, auth.ErrInvalidCredentials))

	_, _, err = a.Login(ctx, auth.Client{IP: "203.0.113.9"}, "", "")
	var ve *auth.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(ve.Fields["email"], ve.Fields["password"])
	}
	// Output:
	// true
	// required required
}
