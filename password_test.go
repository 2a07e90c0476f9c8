package auth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/authd/auth"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a@x.io", "a@x.io"},
		{"  A@X.io ", "a@x.io"},
		{"ａ@ｘ.io", "a@x.io"}, // full-width folds under NFKC
		{"first.last+tag@sub.example.com", "first.last+tag@sub.example.com"},
	}
	for _, tt := range tests {
		got, err := auth.NormalizeEmail(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "a", "a@", "@x.io", "a@x", "a@@x.io", "a b@x.io", "Ada <a@x.io>",
		"a@x.io, b@x.io", "а@x.io", "a@x..io", "a@.x.io", "a@x.io.", "a\n@x.io", string(make([]byte, 255)) + "@x.io"} {
		if got, err := auth.NormalizeEmail(bad); err == nil {
			t.Errorf("NormalizeEmail(%q) = %q, want an error", bad, got)
		}
	}
}

func TestFullWidthEmailIsTheSameAccount(t *testing.T) {
	f := newFixture(t)
	u := f.verifiedUser(t, "pat@example.com")
	_, user, err := f.auth.Login(context.Background(), client, "ＰＡＴ@example.com", goodPassword)
	if err != nil || user.ID != u.ID {
		t.Fatalf("login with the full-width form = %v, %v", user.ID, err)
	}
}

func TestPasswordFlows(t *testing.T) {
	ctx := context.Background()
	t.Run("change revokes every other session and keeps the current one", func(t *testing.T) {
		f := newFixture(t)
		f.verifiedUser(t, "quinn@example.com")
		here := f.login(t, "quinn@example.com")
		there := f.login(t, "quinn@example.com")
		p, _ := f.auth.Authenticate(ctx, here.Access)
		err := f.auth.ChangePassword(ctx, client, p, "wrong current password", "a brand new passphrase")
		var ve *auth.ValidationError
		if !errors.As(err, &ve) || ve.Fields["current_password"] == "" {
			t.Fatalf("wrong current password = %v, want a validation error on current_password", err)
		}
		if err := f.auth.ChangePassword(ctx, client, p, goodPassword, "a brand new passphrase"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.auth.Authenticate(ctx, here.Access); err != nil {
			t.Fatalf("the current session after a change = %v", err)
		}
		if _, err := f.auth.Authenticate(ctx, there.Access); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("another session after a change = %v, want ErrUnauthenticated", err)
		}
		if _, _, err := f.auth.Login(ctx, client, "quinn@example.com", "a brand new passphrase"); err != nil {
			t.Fatalf("login with the new password = %v", err)
		}
	})
	t.Run("set is refused when a password exists", func(t *testing.T) {
		f := newFixture(t)
		f.verifiedUser(t, "rose@example.com")
		p, _ := f.auth.Authenticate(ctx, f.login(t, "rose@example.com").Access)
		if err := f.auth.SetPassword(ctx, client, p, "a brand new passphrase"); !errors.Is(err, auth.ErrPasswordAlreadySet) {
			t.Fatalf("SetPassword = %v, want ErrPasswordAlreadySet", err)
		}
	})
	t.Run("reset revokes every session, verifies the email and is single use", func(t *testing.T) {
		f := newFixture(t)
		f.verifiedUser(t, "samwise@example.com")
		tok := f.login(t, "samwise@example.com")
		if err := f.auth.ForgotPassword(ctx, client, "SAMWISE@example.com"); err != nil {
			t.Fatal(err)
		}
		msg, token := f.mail.last(t, "samwise@example.com")
		if msg.Subject != "Reset your password" || token == "" {
			t.Fatalf("reset mail = %+v", msg)
		}
		err := f.auth.ResetPassword(ctx, client, token, "short")
		var ve *auth.ValidationError
		if !errors.As(err, &ve) || ve.Fields["new_password"] == "" {
			t.Fatalf("weak new password = %v", err)
		}
		if err := f.auth.ResetPassword(ctx, client, token, "i am SamWise the brave"); !errors.As(err, &ve) {
			t.Fatalf("a password containing the local part = %v, want a validation error", err)
		}
		if err := f.auth.ResetPassword(ctx, client, token, "a brand new passphrase"); err != nil {
			t.Fatalf("reset after refused attempts = %v (the token must stay usable)", err)
		}
		if err := f.auth.ResetPassword(ctx, client, token, "yet another passphrase"); !errors.Is(err, auth.ErrInvalidToken) {
			t.Fatalf("second use = %v, want ErrInvalidToken", err)
		}
		if _, err := f.auth.Authenticate(ctx, tok.Access); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("session after reset = %v, want ErrUnauthenticated", err)
		}
	})
	t.Run("forgot answers alike for unknown emails and mails nobody", func(t *testing.T) {
		f := newFixture(t)
		if err := f.auth.ForgotPassword(ctx, client, "ghost@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := f.auth.ResendVerification(ctx, client, "ghost@example.com"); err != nil {
			t.Fatal(err)
		}
		if n := len(f.mail.all()); n != 0 {
			t.Fatalf("%d mails sent for an unknown email", n)
		}
	})
	t.Run("an expired reset token is invalid", func(t *testing.T) {
		f := newFixture(t)
		f.verifiedUser(t, "tess@example.com")
		if err := f.auth.ForgotPassword(ctx, client, "tess@example.com"); err != nil {
			t.Fatal(err)
		}
		_, token := f.mail.last(t, "tess@example.com")
		f.clock.Advance(61 * 60 * 1e9)
		if err := f.auth.ResetPassword(ctx, client, token, "a brand new passphrase"); !errors.Is(err, auth.ErrInvalidToken) {
			t.Fatalf("expired token = %v, want ErrInvalidToken", err)
		}
	})
	t.Run("fifty concurrent resets with one token have exactly one effect", func(t *testing.T) {
		f := newFixture(t, func(c *auth.Config) { c.HashQueue = 64 })
		f.verifiedUser(t, "uma@example.com")
		if err := f.auth.ForgotPassword(ctx, client, "uma@example.com"); err != nil {
			t.Fatal(err)
		}
		_, token := f.mail.last(t, "uma@example.com")
		var wg sync.WaitGroup
		errs := make([]error, 50)
		for i := range errs {
			wg.Go(func() { errs[i] = f.auth.ResetPassword(ctx, client, token, "a brand new passphrase") })
		}
		wg.Wait()
		var ok int
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("unexpected %v", err)
			}
		}
		if ok != 1 || len(f.events(t, auth.EventPasswordReset)) != 1 {
			t.Fatalf("%d resets succeeded, want 1", ok)
		}
	})
}

func TestNoSecretReachesTheAuditLog(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.verifiedUser(t, "vic@example.com")
	tok := f.login(t, "vic@example.com")
	f.auth.Login(ctx, client, "vic@example.com", "the wrong password used here")
	f.auth.Login(ctx, client, "unknown@example.com", "another secret password")
	f.auth.Refresh(ctx, client, tok.Refresh)
	f.auth.Refresh(ctx, client, tok.Refresh) // reuse
	f.auth.ForgotPassword(ctx, client, "vic@example.com")
	_, reset := f.mail.last(t, "vic@example.com")
	f.auth.ResetPassword(ctx, client, reset, "a brand new passphrase")

	secrets := []string{goodPassword, "the wrong password used here", "another secret password", "a brand new passphrase",
		tok.Access, tok.Refresh, reset}
	evs, _, err := f.store.AuditEvents(ctx, auth.AuditFilter{}, auth.Page{Limit: 200})
	if err != nil || len(evs) < 8 {
		t.Fatalf("audit events = %d, %v", len(evs), err)
	}
	for _, e := range evs {
		s := fmt.Sprintf("%+v", e)
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("event %s holds a secret: %s", e.Event, s)
			}
		}
	}
}
