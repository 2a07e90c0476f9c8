package sso_test

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/authd/auth"
	"github.com/authd/auth/sso"
	"github.com/authd/auth/storage"
)

// discardMailer drops every mail.
type discardMailer struct{}

func (discardMailer) Send(context.Context, auth.Message) error { return nil }

// Wiring the flow: providers built from the environment's credentials, a
// Service over the Authenticator and its store, and the first step of a
// sign-in. An HTTP layer then sends the browser to the authorization URL,
// hands the provider's redirect to Service.Callback and the frontend's
// code and state to Service.Exchange.
func ExampleNewService() {
	ctx := context.Background()
	st, err := storage.Open(ctx, "sqlite::memory:")
	if err != nil {
		panic(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		panic(err)
	}
	a, err := auth.NewAuthenticator(st, discardMailer{}, auth.Config{JWTSecret: []byte("an example secret of at least 32 bytes")})
	if err != nil {
		panic(err)
	}

	callback := "https://auth.example.com/api/v1/auth/sso/callback/"
	google, err := sso.Google(sso.ProviderConfig{ClientID: "GOOGLE_CLIENT_ID", ClientSecret: "GOOGLE_CLIENT_SECRET", RedirectURL: callback})
	if err != nil {
		panic(err)
	}
	github, err := sso.GitHub(sso.ProviderConfig{ClientID: "GITHUB_CLIENT_ID", ClientSecret: "GITHUB_CLIENT_SECRET", RedirectURL: callback})
	if err != nil {
		panic(err)
	}
	svc, err := sso.NewService(a, st, map[string]sso.Provider{"google": google, "github": github}, sso.Config{
		SecretKey:   []byte("another example secret, 32 bytes or more"),
		FrontendURL: "https://app.example.com",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("providers:", svc.Providers())

	authorizationURL, _, err := svc.Start(ctx, auth.Client{IP: "203.0.113.9"}, "github")
	if err != nil {
		panic(err)
	}
	u, _ := url.Parse(authorizationURL)
	params := slices.Sorted(maps.Keys(u.Query()))
	fmt.Println(u.Host+u.Path, strings.Join(params, " "))
	// Output:
	// providers: [github google]
	// github.com/login/oauth/authorize client_id code_challenge code_challenge_method redirect_uri response_type scope state
}
