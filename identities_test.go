package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/authd/auth"
)

func TestResolveIdentity(t *testing.T) {
	ctx := context.Background()
	google := func(sub, email string, verified bool) auth.ExternalIdentity {
		return auth.ExternalIdentity{Provider: "google", Subject: sub, Email: email, EmailVerified: verified, Name: "Ada"}
	}

	t.Run("a new verified email creates a verified user without a password", func(t *testing.T) {
		f := newFixture(t)
		u, created, err := f.auth.ResolveIdentity(ctx, client, google("g1", "New@Example.com", true))
		if err != nil || !created || u.Email != "new@example.com" || !u.EmailVerified || u.HasPassword() {
			t.Fatalf("ResolveIdentity = %+v, %v, %v", u, created, err)
		}
		again, created, err := f.auth.ResolveIdentity(ctx, client, google("g1", "new@example.com", true))
		if err != nil || created || again.ID != u.ID {
			t.Fatalf("second sign-in = %+v, %v, %v", again, created, err)
		}
	})
	t.Run("an unverified email never links or creates", func(t *testing.T) {
		f := newFixture(t)
		f.verifiedUser(t, "owner@example.com")
		for _, email := range []string{"owner@example.com", "fresh@example.com"} {
			if _, _, err := f.auth.ResolveIdentity(ctx, client, google("g2", email, false)); !errors.Is(err, auth.ErrEmailNotVerified) {
				t.Fatalf("unverified %s = %v, want ErrEmailNotVerified", email, err)
			}
		}
		if _, err := f.store.UserByEmail(ctx, "fresh@example.com"); !errors.Is(err, auth.ErrNotFound) {
			t.Fatal("an unverified provider email created a user")
		}
	})
	t.Run("a verified email links to the existing user", func(t *testing.T) {
		f := newFixture(t)
		owner := f.verifiedUser(t, "linked@example.com")
		u, created, err := f.auth.ResolveIdentity(ctx, client, google("g3", "linked@example.com", true))
		if err != nil || created || u.ID != owner.ID || !u.HasPassword() {
			t.Fatalf("link = %+v, %v, %v", u, created, err)
		}
		if len(f.events(t, auth.EventSSOLinked)) != 1 {
			t.Fatal("no sso.linked event")
		}
	})
	t.Run("a pre-registered unverified account cannot be taken over", func(t *testing.T) {
		f := newFixture(t)
		// The attacker registers the victim's email and never verifies it.
		if err := f.auth.Register(ctx, client, auth.RegisterInput{Email: "victim@example.com", Password: "the attackers own password"}); err != nil {
			t.Fatal(err)
		}
		_, pending := f.mail.last(t, "victim@example.com")
		// The victim signs in with Google.
		u, _, err := f.auth.ResolveIdentity(ctx, client, google("g4", "victim@example.com", true))
		if err != nil || !u.EmailVerified || u.HasPassword() {
			t.Fatalf("link to the unverified account = %+v, %v; want verified and password cleared", u, err)
		}
		if _, _, err := f.auth.Login(ctx, client, "victim@example.com", "the attackers own password"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("the attacker's password still logs in: %v", err)
		}
		if _, err := f.auth.VerifyEmail(ctx, client, pending); !errors.Is(err, auth.ErrInvalidToken) {
			t.Fatalf("the attacker's pending verification link = %v, want ErrInvalidToken", err)
		}
	})
	t.Run("a disabled user is refused", func(t *testing.T) {
		f := newFixture(t)
		u := f.verifiedUser(t, "off@example.com")
		u.IsActive = false
		if err := f.store.UpdateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.auth.ResolveIdentity(ctx, client, google("g5", "off@example.com", true)); !errors.Is(err, auth.ErrAccountDisabled) {
			t.Fatalf("disabled = %v", err)
		}
	})
	t.Run("the last login method cannot be unlinked", func(t *testing.T) {
		f := newFixture(t)
		u, _, err := f.auth.ResolveIdentity(ctx, client, google("g6", "only@example.com", true))
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := f.auth.LoginWithIdentity(ctx, client, u.ID, "google")
		if err != nil {
			t.Fatal(err)
		}
		p, _ := f.auth.Authenticate(ctx, tok.Access)
		if err := f.auth.UnlinkIdentity(ctx, client, p, "google"); !errors.Is(err, auth.ErrLastLoginMethod) {
			t.Fatalf("unlinking the only method = %v", err)
		}
		if err := f.auth.UnlinkIdentity(ctx, client, p, "github"); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("unlinking an unlinked provider = %v", err)
		}
		if err := f.auth.SetPassword(ctx, client, p, "a brand new passphrase"); err != nil {
			t.Fatal(err)
		}
		if err := f.auth.UnlinkIdentity(ctx, client, p, "google"); err != nil {
			t.Fatalf("unlinking once a password exists = %v", err)
		}
		if len(f.events(t, auth.EventSSOUnlinked)) != 1 || len(f.events(t, auth.EventSSOLogin)) != 1 {
			t.Fatal("sso.unlinked or sso.login not recorded")
		}
	})
}
