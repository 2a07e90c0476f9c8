package sso

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/oauth2/endpoints"

	"github.com/authd/auth"
)

// googleUserInfoURL is Google's OpenID Connect userinfo endpoint.
const googleUserInfoURL = "https://openidconnect.googleapis.com/v1/userinfo"

// Google returns the "google" provider: OpenID Connect scopes openid, email
// and profile, and the identity read from the userinfo endpoint (sub,
// email, email_verified, name). It returns an error when cfg lacks the
// client's credentials or the redirect URL, or holds a malformed URL.
func Google(cfg ProviderConfig) (Provider, error) {
	p, err := newOAuthProvider("google", cfg, endpoints.Google, []string{"openid", "email", "profile"})
	if err != nil {
		return nil, err
	}
	userInfoURL := googleUserInfoURL
	if cfg.UserInfoURL != "" {
		if err := checkURL(cfg.UserInfoURL); err != nil {
			return nil, fmt.Errorf("sso: google: UserInfoURL: %w", err)
		}
		userInfoURL = cfg.UserInfoURL
	}
	p.identify = func(ctx context.Context, client *http.Client, accessToken string) (auth.ExternalIdentity, error) {
		var info struct {
			Subject       string    `json:"sub"`
			Email         string    `json:"email"`
			EmailVerified looseBool `json:"email_verified"`
			Name          string    `json:"name"`
		}
		if err := getJSON(ctx, client, userInfoURL, accessToken, nil, &info); err != nil {
			return auth.ExternalIdentity{}, fmt.Errorf("userinfo: %w", err)
		}
		if info.Subject == "" {
			return auth.ExternalIdentity{}, errors.New("userinfo: no sub")
		}
		return auth.ExternalIdentity{Subject: info.Subject, Email: info.Email,
			EmailVerified: bool(info.EmailVerified), Name: info.Name}, nil
	}
	return p, nil
}

// looseBool reads a JSON boolean, or a string that is "true" (as some
// proxies send email_verified); any other string, and null, is false.
type looseBool bool

// UnmarshalJSON reads true, false, null or a string.
func (b *looseBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case bool:
		*b = looseBool(v)
	case string:
		*b = v == "true"
	case nil:
		*b = false
	default:
		return fmt.Errorf("email_verified is a JSON %T, not a boolean", v)
	}
	return nil
}
