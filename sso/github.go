package sso

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/oauth2/endpoints"

	"github.com/authd/auth"
)

// gitHubAPIURL is the base of GitHub's REST API.
const gitHubAPIURL = "https://api.github.com"

// gitHubHeader asks GitHub's REST API for its JSON media type at a fixed
// version.
func gitHubHeader() http.Header {
	return http.Header{"Accept": {"application/vnd.github+json"}, "X-Github-Api-Version": {"2022-11-28"}}
}

// GitHub returns the "github" provider: scopes read:user and user:email,
// the subject (the numeric user id, in decimal) and name (or login) from
// /user, and the email from /user/emails, where only the primary address,
// and only when GitHub verified it, counts: without one EmailVerified is
// false. It returns an error when cfg lacks the client's credentials or the
// redirect URL, or holds a malformed URL.
func GitHub(cfg ProviderConfig) (Provider, error) {
	p, err := newOAuthProvider("github", cfg, endpoints.GitHub, []string{"read:user", "user:email"})
	if err != nil {
		return nil, err
	}
	api := gitHubAPIURL
	if cfg.APIURL != "" {
		if err := checkURL(cfg.APIURL); err != nil {
			return nil, fmt.Errorf("sso: github: APIURL: %w", err)
		}
		api = strings.TrimSuffix(cfg.APIURL, "/")
	}
	p.identify = func(ctx context.Context, client *http.Client, accessToken string) (auth.ExternalIdentity, error) {
		var user struct {
			ID    int64  `json:"id"`
			Login string `json:"login"`
			Name  string `json:"name"`
		}
		if err := getJSON(ctx, client, api+"/user", accessToken, gitHubHeader(), &user); err != nil {
			return auth.ExternalIdentity{}, fmt.Errorf("user: %w", err)
		}
		if user.ID <= 0 {
			return auth.ExternalIdentity{}, errors.New("user: no id")
		}
		var emails []struct {
			Email    string `json:"email"`
			Primary  bool   `json:"primary"`
			Verified bool   `json:"verified"`
		}
		if err := getJSON(ctx, client, api+"/user/emails", accessToken, gitHubHeader(), &emails); err != nil {
			return auth.ExternalIdentity{}, fmt.Errorf("emails: %w", err)
		}
		id := auth.ExternalIdentity{Subject: strconv.FormatInt(user.ID, 10), Name: user.Name}
		if id.Name == "" {
			id.Name = user.Login
		}
		for _, e := range emails {
			if e.Primary { // GitHub marks exactly one address primary
				id.Email, id.EmailVerified = e.Email, e.Verified
				break
			}
		}
		return id, nil
	}
	return p, nil
}
