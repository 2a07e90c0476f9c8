package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/auth"
)

func TestRegisterVerifyLoginRefreshLogout(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	if err := f.auth.Register(ctx, client, auth.RegisterInput{Email: "  Ada@Example.COM ", Password: goodPassword, Name: "Ada"}); err != nil {
		t.Fatal(err)
	}
	u, err := f.store.UserByEmail(ctx, "ada@example.com")
	if err != nil {
		t.Fatalf("the user is stored under the normalised email: %v", err)
	}
	if u.EmailVerified || u.Role != auth.RoleEndUser || !u.IsActive || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("new user = %+v", u)
	}
	if _, _, err := f.auth.Login(ctx, client, "ada@example.com", goodPassword); !errors.Is(err, auth.ErrEmailNotVerified) {
		t.Fatalf("login before verification = %v, want ErrEmailNotVerified", err)
	}

	msg, token := f.mail.last(t, "ada@example.com")
	if !strings.Contains(msg.Text, "http://localhost:3000/verify-email?token=") || token == "" {
		t.Fatalf("verification mail has no link:\n%s", msg.Text)
	}
	if _, err := f.auth.VerifyEmail(ctx, client, token); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth.VerifyEmail(ctx, client, token); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("second use of the verification token = %v, want ErrInvalidToken", err)
	}

	tok, user, err := f.auth.Login(ctx, client, "ADA@example.com", goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if user.ID != u.ID || !user.EmailVerified || tok.ExpiresIn != 5*time.Minute || tok.RefreshExpiresIn != 7*24*time.Hour {
		t.Fatalf("login = %+v, %+v", tok, user)
	}
	p, err := f.auth.Authenticate(ctx, tok.Access)
	if err != nil || p.UserID != u.ID || p.SessionID != tok.SessionID {
		t.Fatalf("Authenticate = %+v, %v", p, err)
	}
	next, err := f.auth.Refresh(ctx, client, tok.Refresh)
	if err != nil {
		t.Fatal(err)
	}
	if next.SessionID != tok.SessionID || next.Refresh == tok.Refresh {
		t.Fatalf("refresh did not rotate within the session: %+v", next)
	}
	if err := f.auth.Logout(ctx, client, p, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth.Authenticate(ctx, next.Access); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("access token of a logged-out session = %v, want ErrUnauthenticated", err)
	}
	if _, err := f.auth.Refresh(ctx, client, next.Refresh); !errors.Is(err, auth.ErrInvalidRefreshToken) {
		t.Fatalf("refresh of a logged-out session = %v, want ErrInvalidRefreshToken", err)
	}

	for _, name := range []string{auth.EventUserRegistered, auth.EventUserEmailVerified, auth.EventLogin, auth.EventLogout} {
		evs := f.events(t, name)
		if len(evs) != 1 || evs[0].ActorID != u.ID || evs[0].IP != client.IP || evs[0].UserAgent != client.UserAgent {
			t.Errorf("audit %s = %+v, want one event by the user with the client", name, evs)
		}
	}
	if ev := f.events(t, auth.EventLogin)[0]; ev.TargetType != auth.TargetSession || ev.TargetID != tok.SessionID {
		t.Errorf("auth.login targets %s %s, want the session %s", ev.TargetType, ev.TargetID, tok.SessionID)
	}
}

func TestRegisterExistingEmailMailsTheOwnerInstead(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first := f.verifiedUser(t, "bob@example.com")

	err := f.auth.Register(ctx, client, auth.RegisterInput{Email: "BOB@example.com", Password: "another long passphrase here"})
	if err != nil {
		t.Fatalf("registering an existing email = %v, want nil (enumeration-safe)", err)
	}
	msg, token := f.mail.last(t, "bob@example.com")
	if msg.Subject != "You already have an account" || token != "" {
		t.Fatalf("the owner got %q with token %q, want the notice without a token", msg.Subject, token)
	}
	u, err := f.store.UserByEmail(ctx, "bob@example.com")
	if err != nil || u.ID != first.ID || u.PasswordHash != first.PasswordHash {
		t.Fatalf("the existing account changed: %+v, %v", u, err)
	}
	if n := len(f.events(t, auth.EventUserRegistered)); n != 1 {
		t.Fatalf("%d user.registered events, want 1", n)
	}
}

func TestRegisterValidation(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name  string
		in    auth.RegisterInput
		field string
	}{
		{"an empty email is required", auth.RegisterInput{Password: goodPassword}, "email"},
		{"a display name is not a bare address", auth.RegisterInput{Email: "Ada <ada@example.com>", Password: goodPassword}, "email"},
		{"two addresses are not one", auth.RegisterInput{Email: "a@example.com, b@example.com", Password: goodPassword}, "email"},
		{"a homoglyph email is rejected", auth.RegisterInput{Email: "аda@example.com", Password: goodPassword}, "email"},
		{"an empty password is required", auth.RegisterInput{Email: "ada@example.com"}, "password"},
		{"a short password is refused", auth.RegisterInput{Email: "ada@example.com", Password: "fourteen chars"}, "password"},
		{"a common password is refused", auth.RegisterInput{Email: "ada@example.com", Password: "1qaz2wsx3edc4rfv"}, "password"},
		{"a password containing the local part is refused", auth.RegisterInput{Email: "adalovelace@example.com", Password: "my name is AdaLovelace ok"}, "password"},
		{"a password over 256 characters is refused", auth.RegisterInput{Email: "ada@example.com", Password: strings.Repeat("x", 257)}, "password"},
		{"a name over 200 characters is refused", auth.RegisterInput{Email: "ada@example.com", Password: goodPassword, Name: strings.Repeat("n", 201)}, "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.auth.Register(context.Background(), client, tt.in)
			var ve *auth.ValidationError
			if !errors.As(err, &ve) || ve.Fields[tt.field] == "" {
				t.Fatalf("Register = %v, want a validation error on %s", err, tt.field)
			}
		})
	}
	if len(f.mail.all()) != 0 {
		t.Fatal("invalid registrations sent mail")
	}
}

func TestLoginChecksInTheContractOrder(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	active := f.verifiedUser(t, "active@example.com")
	_ = active
	if err := f.auth.Register(ctx, client, auth.RegisterInput{Email: "unverified@example.com", Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	disabled := f.verifiedUser(t, "disabled@example.com")
	disabled.IsActive = false
	if err := f.store.UpdateUser(ctx, disabled); err != nil {
		t.Fatal(err)
	}
	// Disabled and unverified: disabled is checked first.
	if err := f.auth.Register(ctx, client, auth.RegisterInput{Email: "both@example.com", Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	both, _ := f.store.UserByEmail(ctx, "both@example.com")
	both.IsActive = false
	if err := f.store.UpdateUser(ctx, both); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, email, password string
		want                  error
	}{
		{"an unknown email is invalid credentials", "nobody@example.com", goodPassword, auth.ErrInvalidCredentials},
		{"a malformed email is invalid credentials", "not-an-email", goodPassword, auth.ErrInvalidCredentials},
		{"a wrong password is invalid credentials", "active@example.com", "wrong but long password", auth.ErrInvalidCredentials},
		{"a wrong password on a disabled account is invalid credentials", "disabled@example.com", "wrong but long password", auth.ErrInvalidCredentials},
		{"a disabled account is refused after the password", "disabled@example.com", goodPassword, auth.ErrAccountDisabled},
		{"a disabled unverified account is disabled first", "both@example.com", goodPassword, auth.ErrAccountDisabled},
		{"an unverified account is refused after the password", "unverified@example.com", goodPassword, auth.ErrEmailNotVerified},
		{"a correct login succeeds", "active@example.com", goodPassword, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := f.auth.Login(ctx, client, tt.email, tt.password)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Login = %v, want %v", err, tt.want)
			}
		})
	}

	failed := f.events(t, auth.EventLoginFailed)
	var anonymous int
	for _, e := range failed {
		if e.ActorID == "" {
			anonymous++
			if e.Metadata["email"] == "" {
				t.Errorf("a failed login of an unknown email records no email: %+v", e)
			}
		}
	}
	if len(failed) != 4 || anonymous != 2 {
		t.Fatalf("auth.login_failed events = %d (%d anonymous), want 4 (2)", len(failed), anonymous)
	}
}

func TestLoginThrottles(t *testing.T) {
	t.Run("the failed-login limit of an email locks out even the right password", func(t *testing.T) {
		f := newFixture(t, func(c *auth.Config) { c.Limits.LoginFailures = auth.Limit{Burst: 3, Period: time.Hour} })
		f.verifiedUser(t, "carol@example.com")
		for i := range 3 {
			ip := auth.Client{IP: "198.51.100." + string(rune('1'+i))}
			if _, _, err := f.auth.Login(context.Background(), ip, "carol@example.com", "wrong but long password"); !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Fatalf("failure %d = %v", i, err)
			}
		}
		_, _, err := f.auth.Login(context.Background(), client, "carol@example.com", goodPassword)
		var te *auth.ThrottledError
		if !errors.As(err, &te) || te.RetryAfter <= 0 {
			t.Fatalf("login after the failures = %v, want a *ThrottledError", err)
		}
		f.clock.Advance(time.Hour / 3)
		if _, _, err := f.auth.Login(context.Background(), client, "carol@example.com", goodPassword); err != nil {
			t.Fatalf("login once the limiter admits the email again = %v", err)
		}
	})
	t.Run("the per IP and email limit counts every attempt", func(t *testing.T) {
		f := newFixture(t, func(c *auth.Config) { c.Limits.Login = auth.Limit{Burst: 2, Period: time.Minute} })
		f.verifiedUser(t, "dan@example.com")
		f.login(t, "dan@example.com")
		f.login(t, "dan@example.com")
		if _, _, err := f.auth.Login(context.Background(), client, "dan@example.com", goodPassword); !errors.Is(err, auth.ErrThrottled) {
			t.Fatalf("third login = %v, want ErrThrottled", err)
		}
		other := auth.Client{IP: "203.0.113.7"}
		if _, _, err := f.auth.Login(context.Background(), other, "dan@example.com", goodPassword); err != nil {
			t.Fatalf("login from another IP = %v", err)
		}
	})
	t.Run("RateLimitDisabled turns limits off", func(t *testing.T) {
		f := newFixture(t, func(c *auth.Config) {
			c.Limits.Login = auth.Limit{Burst: 1, Period: time.Hour}
			c.RateLimitDisabled = true
		})
		f.verifiedUser(t, "erin@example.com")
		for range 3 {
			f.login(t, "erin@example.com")
		}
	})
}

func TestLoginOverloadedWhenTheHashQueueIsFull(t *testing.T) {
	f := newFixture(t, func(c *auth.Config) { c.HashConcurrency, c.HashQueue, c.HashQueueWait = 1, 1, -1 })
	f.verifiedUser(t, "frank@example.com")
	release := auth.FillHashQueue(f.auth)
	_, _, err := f.auth.Login(context.Background(), client, "frank@example.com", goodPassword)
	release()
	var oe *auth.OverloadedError
	if !errors.As(err, &oe) || !errors.Is(err, auth.ErrOverloaded) || oe.RetryAfter <= 0 {
		t.Fatalf("login with a full queue = %v, want *OverloadedError", err)
	}
	f.login(t, "frank@example.com")
}

func TestLoginWaitsForAPlaceInTheHashQueueBeforeItIsOverloaded(t *testing.T) {
	t.Run("a login that finds no place within the wait is overloaded after it", func(t *testing.T) {
		const wait = 150 * time.Millisecond
		f := newFixture(t, func(c *auth.Config) { c.HashConcurrency, c.HashQueue, c.HashQueueWait = 1, 1, wait })
		f.verifiedUser(t, "gus@example.com")
		release := auth.FillHashQueue(f.auth)
		defer release()
		start := time.Now()
		_, _, err := f.auth.Login(context.Background(), client, "gus@example.com", goodPassword)
		if !errors.Is(err, auth.ErrOverloaded) {
			t.Fatalf("login = %v, want ErrOverloaded", err)
		}
		if waited := time.Since(start); waited < wait {
			t.Errorf("overloaded after %v, before the %v wait", waited, wait)
		}
	})
	t.Run("a login that gets a place within the wait goes through", func(t *testing.T) {
		f := newFixture(t, func(c *auth.Config) { c.HashConcurrency, c.HashQueue, c.HashQueueWait = 1, 1, time.Minute })
		f.verifiedUser(t, "gil@example.com")
		release := auth.FillHashQueue(f.auth)
		done := make(chan error, 1)
		go func() {
			_, _, err := f.auth.Login(context.Background(), client, "gil@example.com", goodPassword)
			done <- err
		}()
		release() // the login can only get a place from here on
		if err := <-done; err != nil {
			t.Fatalf("login = %v, want it to wait for the place and succeed", err)
		}
	})
	t.Run("a negative wait refuses at once", func(t *testing.T) {
		f := newFixture(t, func(c *auth.Config) { c.HashConcurrency, c.HashQueue, c.HashQueueWait = 1, 1, -1 })
		f.verifiedUser(t, "gwen@example.com")
		release := auth.FillHashQueue(f.auth)
		defer release()
		if _, _, err := f.auth.Login(context.Background(), client, "gwen@example.com", goodPassword); !errors.Is(err, auth.ErrOverloaded) {
			t.Fatalf("login = %v, want ErrOverloaded", err)
		}
	})
}

func TestLoginRehashesWhenParametersChange(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u := f.verifiedUser(t, "gina@example.com")
	stronger, err := auth.NewAuthenticator(f.store, f.mail, auth.Config{
		JWTSecret: []byte("test-secret-test-secret-test-secret!"),
		Argon2:    auth.Argon2Params{Memory: 128, Iterations: 2, Parallelism: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := stronger.Login(ctx, client, "gina@example.com", goodPassword); err != nil {
		t.Fatal(err)
	}
	after, _ := f.store.UserByID(ctx, u.ID)
	if after.PasswordHash == u.PasswordHash || !strings.HasPrefix(after.PasswordHash, "$argon2id$v=19$m=128,t=2,p=1$") {
		t.Fatalf("hash after login = %q, want one with the new parameters", after.PasswordHash)
	}
	if _, _, err := stronger.Login(ctx, client, "gina@example.com", goodPassword); err != nil {
		t.Fatalf("login with the rehashed password = %v", err)
	}
}

func TestRefreshRotation(t *testing.T) {
	ctx := context.Background()
	t.Run("a rotated token replayed revokes the session", func(t *testing.T) {
		f := newFixture(t)
		f.verifiedUser(t, "hal@example.com")
		tok := f.login(t, "hal@example.com")
		next, err := f.auth.Refresh(ctx, client, tok.Refresh)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.auth.Refresh(ctx, client, tok.Refresh); !errors.Is(err, auth.ErrTokenReused) {
			t.Fatalf("replay = %v, want ErrTokenReused", err)
		}
		if _, err := f.auth.Refresh(ctx, client, next.Refresh); !errors.Is(err, auth.ErrInvalidRefreshToken) {
			t.Fatalf("the newest token after reuse = %v, want ErrInvalidRefreshToken", err)
		}
		s, _ := f.store.SessionByID(ctx, tok.SessionID)
		if s.RevokedAt.IsZero() {
			t.Fatal("the session was not revoked")
		}
		if n := len(f.events(t, auth.EventTokenReused)); n != 1 {
			t.Fatalf("%d auth.token_reused events, want 1", n)
		}
	})
	t.Run("of concurrent refreshes with one token exactly one wins", func(t *testing.T) {
		f := newFixture(t)
		f.verifiedUser(t, "ida@example.com")
		tok := f.login(t, "ida@example.com")
		const n = 20
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() { _, errs[i] = f.auth.Refresh(ctx, client, tok.Refresh) })
		}
		wg.Wait()
		var won int
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, auth.ErrTokenReused), errors.Is(err, auth.ErrInvalidRefreshToken):
			default:
				t.Errorf("unexpected error %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d refreshes won, want exactly 1", won)
		}
	})
	t.Run("the grace window lets the previous token refresh once", func(t *testing.T) {
		f := newFixture(t, func(c *auth.Config) { c.RefreshReuseGrace = 10 * time.Second })
		f.verifiedUser(t, "jay@example.com")
		tok := f.login(t, "jay@example.com")
		if _, err := f.auth.Refresh(ctx, client, tok.Refresh); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(5 * time.Second)
		retry, err := f.auth.Refresh(ctx, client, tok.Refresh)
		if err != nil {
			t.Fatalf("previous token within the grace window = %v", err)
		}
		if _, err := f.auth.Refresh(ctx, client, tok.Refresh); !errors.Is(err, auth.ErrTokenReused) {
			t.Fatalf("previous token a second time = %v, want ErrTokenReused", err)
		}
		if _, err := f.auth.Refresh(ctx, client, retry.Refresh); !errors.Is(err, auth.ErrInvalidRefreshToken) {
			t.Fatalf("after reuse the session is revoked; got %v", err)
		}
	})
	t.Run("after the grace window the previous token is reuse", func(t *testing.T) {
		f := newFixture(t, func(c *auth.Config) { c.RefreshReuseGrace = 10 * time.Second })
		f.verifiedUser(t, "kim@example.com")
		tok := f.login(t, "kim@example.com")
		if _, err := f.auth.Refresh(ctx, client, tok.Refresh); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(11 * time.Second)
		if _, err := f.auth.Refresh(ctx, client, tok.Refresh); !errors.Is(err, auth.ErrTokenReused) {
			t.Fatalf("previous token after the window = %v, want ErrTokenReused", err)
		}
	})
	t.Run("an idle session expires after the refresh lifetime", func(t *testing.T) {
		f := newFixture(t)
		f.verifiedUser(t, "lee@example.com")
		tok := f.login(t, "lee@example.com")
		f.clock.Advance(7*24*time.Hour + time.Minute)
		if _, err := f.auth.Refresh(ctx, client, tok.Refresh); !errors.Is(err, auth.ErrInvalidRefreshToken) {
			t.Fatalf("refresh after the idle lifetime = %v, want ErrInvalidRefreshToken", err)
		}
	})
	t.Run("no session outlives the absolute maximum age", func(t *testing.T) {
		f := newFixture(t, func(c *auth.Config) {
			c.RefreshTokenTTL = 2 * time.Hour
			c.SessionMaxAge = 5 * time.Hour
		})
		f.verifiedUser(t, "max@example.com")
		tok := f.login(t, "max@example.com")
		for range 4 {
			f.clock.Advance(time.Hour)
			next, err := f.auth.Refresh(ctx, client, tok.Refresh)
			if err != nil {
				t.Fatal(err)
			}
			tok = next
		}
		if tok.RefreshExpiresIn != time.Hour {
			t.Fatalf("refresh_expires_in near the maximum age = %s, want 1h", tok.RefreshExpiresIn)
		}
		f.clock.Advance(time.Hour + time.Minute)
		if _, err := f.auth.Refresh(ctx, client, tok.Refresh); !errors.Is(err, auth.ErrInvalidRefreshToken) {
			t.Fatalf("refresh past the maximum age = %v, want ErrInvalidRefreshToken", err)
		}
	})
	t.Run("an access token is not a refresh token and the reverse", func(t *testing.T) {
		f := newFixture(t)
		f.verifiedUser(t, "ned@example.com")
		tok := f.login(t, "ned@example.com")
		if _, err := f.auth.Refresh(ctx, client, tok.Access); !errors.Is(err, auth.ErrInvalidRefreshToken) {
			t.Fatalf("refresh with an access token = %v", err)
		}
		if _, err := f.auth.VerifyAccessToken(tok.Refresh); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("access with a refresh token = %v", err)
		}
	})
}

func TestAccessTokensAreVerifiedStrictly(t *testing.T) {
	f := newFixture(t)
	f.verifiedUser(t, "olga@example.com")
	tok := f.login(t, "olga@example.com")
	parts := strings.Split(tok.Access, ".")
	header, payload, sig := parts[0], parts[1], parts[2]
	other, err := auth.NewAuthenticator(f.store, f.mail, auth.Config{
		JWTSecret: []byte("test-secret-test-secret-test-secret!"), Argon2: cheapArgon2,
		Audience: "another-service", Now: f.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, token string }{
		{"an empty token", ""},
		{"garbage", "not.a.jwt"},
		{"alg none", b64(`{"alg":"none","typ":"JWT"}`) + "." + payload + "."},
		{"a flipped signature byte", header + "." + payload + "." + flip(sig)},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			if _, err := f.auth.VerifyAccessToken(tt.token); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Fatalf("VerifyAccessToken = %v", err)
			}
		})
	}
	t.Run("a token for another audience is refused", func(t *testing.T) {
		if _, err := other.VerifyAccessToken(tok.Access); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("VerifyAccessToken = %v", err)
		}
	})
	t.Run("an expired token is refused", func(t *testing.T) {
		f.clock.Advance(5*time.Minute + 10*time.Second)
		if _, err := f.auth.VerifyAccessToken(tok.Access); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("VerifyAccessToken = %v", err)
		}
	})
}

func TestAccessTokenClaims(t *testing.T) {
	f := newFixture(t)
	u := f.verifiedUser(t, "claims@example.com")
	tok := f.login(t, "claims@example.com")
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok.Access, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"iss": "http://localhost:8080", "aud": "authd", "sub": u.ID, "sid": tok.SessionID,
		"role": "END_USER", "typ": "access"}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("claim %s = %v, want %v", k, c[k], v)
		}
	}
	for _, k := range []string{"iat", "exp", "jti"} {
		if c[k] == nil {
			t.Errorf("claim %s is missing", k)
		}
	}
}

// failingMailer refuses every message.
type failingMailer struct{}

func (failingMailer) Send(context.Context, auth.Message) error { return errors.New("smtp down") }

func TestMailFailuresDoNotRevealAccounts(t *testing.T) {
	f := newFixture(t)
	f.verifiedUser(t, "known@example.com")
	a, err := auth.NewAuthenticator(f.store, failingMailer{}, auth.Config{
		JWTSecret: []byte("test-secret-test-secret-test-secret!"), Argon2: cheapArgon2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, email := range []string{"known@example.com", "unknown@example.com"} {
		if err := a.Register(ctx, client, auth.RegisterInput{Email: email, Password: goodPassword}); err != nil {
			t.Errorf("register %s with mail down = %v, want nil", email, err)
		}
		if err := a.ForgotPassword(ctx, client, email); err != nil {
			t.Errorf("forgot %s with mail down = %v, want nil", email, err)
		}
	}
}
