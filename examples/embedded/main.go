// Command embedded runs authd's library in-process, without HTTP: it opens
// a SQLite database, registers a user, reads the verification link from a
// Mailer that keeps its messages, verifies the email, logs in, verifies the
// access token, creates an organisation and asks the Guard for permissions,
// printing a short transcript.
//
//	go run ./examples/embedded
//
// The database is a file in a temporary directory, removed at exit.
// The same calls are what a Go application makes when it embeds authd
// instead of running the authd server.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"

	"github.com/authd/auth"
	"github.com/authd/auth/storage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "embedded:", err)
		os.Exit(1)
	}
}

// inbox is a Mailer that keeps what it is asked to send, as a test or a
// development setup might; a real application uses package mailer (SMTP or
// .eml files) or its own provider.
type inbox struct {
	mu   sync.Mutex
	sent []auth.Message
}

// Send keeps m. It is safe for concurrent use.
func (b *inbox) Send(_ context.Context, m auth.Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sent = append(b.sent, m)
	return nil
}

// last returns the last message sent to `to`.
func (b *inbox) last(to string) (auth.Message, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(b.sent) - 1; i >= 0; i-- {
		if b.sent[i].To == to {
			return b.sent[i], true
		}
	}
	return auth.Message{}, false
}

// linkToken returns the token=… parameter of the first link in text.
func linkToken(text string) (string, bool) {
	for _, f := range strings.Fields(text) {
		if u, err := url.Parse(f); err == nil && u.Query().Has("token") {
			return u.Query().Get("token"), true
		}
	}
	return "", false
}

// run is the whole example: it writes its transcript to w. The database
// lives in a temporary directory, removed before run returns.
func run(ctx context.Context, w io.Writer) error {
	dir, err := os.MkdirTemp("", "authd-embedded-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// The store: SQLite in a file, migrated, with the default permission
	// mappings of the roles.
	st, err := storage.Open(ctx, "sqlite:"+filepath.Join(dir, "embedded.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	if _, err := auth.SeedPermissions(ctx, st); err != nil {
		return err
	}

	// The services. A real application keeps its JWT key (at least 32
	// random bytes) in its configuration; a new one here means the tokens
	// of this run are worthless after it.
	secret := make([]byte, 32)
	rand.Read(secret)
	mail := &inbox{}
	cfg := auth.Config{JWTSecret: secret, FrontendURL: "https://app.example.com"}
	a, err := auth.NewAuthenticator(st, mail, cfg)
	if err != nil {
		return err
	}
	guard, err := auth.NewGuard(ctx, st, auth.GuardConfig{})
	if err != nil {
		return err
	}
	defer guard.Close()
	orgs, err := auth.NewOrgService(st, mail, guard, cfg)
	if err != nil {
		return err
	}

	// Where a request comes from: the library rate-limits and audits by it.
	client := auth.Client{IP: "203.0.113.7", UserAgent: "examples/embedded"}
	const email, password = "ada@example.com", "correct horse battery staple"

	// 1. Register, then read the link the Mailer was given.
	if err := a.Register(ctx, client, auth.RegisterInput{Email: email, Password: password, Name: "Ada"}); err != nil {
		return fmt.Errorf("register: %w", err)
	}
	fmt.Fprintln(w, "registered", email)
	msg, ok := mail.last(email)
	if !ok {
		return errors.New("no verification mail")
	}
	fmt.Fprintf(w, "mail to %s: %q\n", msg.To, msg.Subject)
	token, ok := linkToken(msg.Text)
	if !ok {
		return errors.New("no link in the verification mail")
	}

	// 2. Logging in before verifying is refused with a sentinel error.
	if _, _, err := a.Login(ctx, client, email, password); errors.Is(err, auth.ErrEmailNotVerified) {
		fmt.Fprintln(w, "login before verifying: email_not_verified")
	} else {
		return fmt.Errorf("login before verifying: %v, want ErrEmailNotVerified", err)
	}

	// 3. Verify the email with the mailed token, then log in.
	u, err := a.VerifyEmail(ctx, client, token)
	if err != nil {
		return fmt.Errorf("verify email: %w", err)
	}
	fmt.Fprintln(w, "email verified:", u.EmailVerified)
	tokens, _, err := a.Login(ctx, client, email, password)
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	fmt.Fprintf(w, "logged in: an access token for %s and a refresh token for %s\n",
		tokens.ExpiresIn, tokens.RefreshExpiresIn)

	// 4. What every request of the application does: verify the access
	// token, without I/O.
	p, err := a.VerifyAccessToken(tokens.Access)
	if err != nil {
		return fmt.Errorf("verify access token: %w", err)
	}
	fmt.Fprintln(w, "access token verified: it is ada's:", p.UserID == u.ID)

	// 5. An organisation: the creator is its OWNER.
	om, err := orgs.Create(ctx, client, p, "Acme Corp", "")
	if err != nil {
		return fmt.Errorf("create organisation: %w", err)
	}
	fmt.Fprintf(w, "created organisation %q with slug %q; ada is %s\n", om.Org.Name, om.Org.Slug, om.Role)

	// 6. Permission checks. The membership is read once; each check after
	// it is a map lookup.
	m, err := orgs.Membership(ctx, p, om.Org.Slug)
	if err != nil {
		return fmt.Errorf("membership: %w", err)
	}
	for _, perm := range []auth.Permission{auth.PermOrgUpdate, auth.PermOrgDelete} {
		fmt.Fprintf(w, "%s in %s: %s\n", perm, om.Org.Slug, decision(guard.RequirePermission(ctx, m, perm)))
	}
	// Global permissions come from the user's global role, as stored
	// (never from a token claim): ada is an END_USER.
	me, err := a.Me(ctx, p)
	if err != nil {
		return fmt.Errorf("me: %w", err)
	}
	fmt.Fprintf(w, "%s globally (%s): %s\n", auth.PermUsersRead, me.Role,
		decision(guard.RequireUserPermission(ctx, me, auth.PermUsersRead)))
	// A non-member gets the zero Member, which the guard answers like a
	// missing organisation.
	fmt.Fprintf(w, "%s in %s for a non-member: %s\n", auth.PermOrgView, om.Org.Slug,
		decision(guard.RequirePermission(ctx, auth.Member{}, auth.PermOrgView)))
	return nil
}

// decision spells the guard's answer.
func decision(err error) string {
	switch {
	case err == nil:
		return "allowed"
	case errors.Is(err, auth.ErrPermissionDenied):
		return "permission_denied"
	case errors.Is(err, auth.ErrNotFound):
		return "not_found"
	}
	return "error: " + err.Error()
}
