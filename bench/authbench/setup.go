package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/authd/auth"
	"github.com/authd/auth/storage"
)

// benchUser is one account of the bench, with its login bodies made once.
type benchUser struct {
	email     string
	loginBody []byte // the right password
	wrongBody []byte // a wrong one
}

// seeded is what the setup wrote into the database.
type seeded struct {
	users  []benchUser
	argon2 string // the parameters of the shared hash, as in its PHC string ("m=19456,t=2,p=1")
	dbInfo string // the database engine and version
}

// discardMail drops every message: the bench reads no mail.
type discardMail struct{}

func (discardMail) Send(context.Context, auth.Message) error { return nil }

// seedUsers migrates the database at dbURL, seeds the default permissions
// and creates n verified STAFF users sharing one password. The first is
// registered through the library (so its hash has the library's default
// Argon2id parameters, which are authd's); the others get a copy of its
// hash, in one transaction.
func seedUsers(ctx context.Context, dbURL string, n int) (seeded, error) {
	st, err := storage.Open(ctx, dbURL)
	if err != nil {
		return seeded{}, err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return seeded{}, err
	}
	if _, err := auth.SeedPermissions(ctx, st); err != nil {
		return seeded{}, err
	}
	a, err := auth.NewAuthenticator(st, discardMail{}, auth.Config{JWTSecret: []byte(randomString(32)), RateLimitDisabled: true})
	if err != nil {
		return seeded{}, err
	}
	run := randomHex(4)
	password := "bench-pw-" + randomString(12)
	users := make([]benchUser, n)
	for i := range users {
		email := fmt.Sprintf("authbench-%s-%d@example.com", run, i)
		users[i] = benchUser{email: email,
			loginBody: mustJSON(map[string]string{"email": email, "password": password}),
			wrongBody: mustJSON(map[string]string{"email": email, "password": password + "-wrong"})}
	}
	if err := a.Register(ctx, auth.Client{IP: "127.0.0.1", UserAgent: "authbench"},
		auth.RegisterInput{Email: users[0].email, Password: password}); err != nil {
		return seeded{}, fmt.Errorf("register the first bench user: %w", err)
	}
	first, err := st.UserByEmail(ctx, users[0].email)
	if err != nil {
		return seeded{}, err
	}
	first.EmailVerified, first.Role = true, auth.RoleStaff
	if err := st.UpdateUser(ctx, first); err != nil {
		return seeded{}, err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	err = st.WithinTx(ctx, func(ctx context.Context, tx auth.Store) error {
		for _, u := range users[1:] {
			if err := tx.CreateUser(ctx, auth.User{ID: newUUID(), Email: u.email, Role: auth.RoleStaff,
				EmailVerified: true, IsActive: true, PasswordHash: first.PasswordHash,
				CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return seeded{}, fmt.Errorf("create the bench users: %w", err)
	}
	s := seeded{users: users, argon2: "?", dbInfo: st.Dialect()}
	if parts := strings.Split(first.PasswordHash, "$"); len(parts) == 6 {
		s.argon2 = parts[3]
	}
	var version string
	q := "SELECT sqlite_version()"
	if st.Dialect() != "sqlite" {
		q = "SHOW server_version"
	}
	if err := st.DB().QueryRowContext(ctx, q).Scan(&version); err == nil {
		s.dbInfo += " " + strings.Fields(version)[0]
	}
	return s, nil
}

// countSessions returns how many sessions the database at dbURL holds.
func countSessions(ctx context.Context, dbURL string) (int, error) {
	st, err := storage.Open(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	n, err := st.DB().NewSelect().TableExpr("sessions").Count(ctx)
	return int(n), err
}

// newUUID returns a random (version 4) UUID, as authd makes them.
func newUUID() string {
	h := []byte(randomHex(16))
	h[12] = '4'
	h[16] = "89ab"[h[16]%4]
	return string(h[0:8]) + "-" + string(h[8:12]) + "-" + string(h[12:16]) + "-" + string(h[16:20]) + "-" + string(h[20:])
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// session is a signed-in session of a bench user: its newest tokens.
type session struct {
	user    int
	access  string
	refresh string
	issued  time.Time // when access was issued
}

// tokens is the part of a login or refresh answer the bench reads.
type tokens struct {
	Access  string `json:"access"`
	Refresh string `json:"refresh"`
}

// login signs user in over HTTP, retrying on 503 overloaded for up to
// 30 s (setup may follow a flood).
func login(ctx context.Context, client *http.Client, authd string, users []benchUser, user int) (*session, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, body, err := postJSON(ctx, client, authd+loginPath, users[user].loginBody)
		if err != nil {
			return nil, err
		}
		if status == http.StatusServiceUnavailable && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(100 * time.Millisecond):
				continue
			}
		}
		if status != http.StatusOK {
			return nil, fmt.Errorf("login of %s: %d %s", users[user].email, status, body)
		}
		var t tokens
		if err := json.Unmarshal(body, &t); err != nil || t.Access == "" || t.Refresh == "" {
			return nil, fmt.Errorf("login of %s: unexpected answer %s", users[user].email, body)
		}
		return &session{user: user, access: t.Access, refresh: t.Refresh, issued: time.Now()}, nil
	}
}

// renew refreshes s over HTTP.
func (s *session) renew(ctx context.Context, client *http.Client, authd string) error {
	status, body, err := postJSON(ctx, client, authd+refreshPath, refreshBody(s.refresh))
	if err != nil {
		return err
	}
	var t tokens
	if status != http.StatusOK || json.Unmarshal(body, &t) != nil || t.Refresh == "" {
		return fmt.Errorf("refresh: %d %s", status, body)
	}
	s.access, s.refresh, s.issued = t.Access, t.Refresh, time.Now()
	return nil
}

// refreshBody is the body of a refresh request. A JWT needs no escaping.
func refreshBody(token string) []byte { return []byte(`{"refresh":"` + token + `"}`) }

// postJSON sends body and returns the status and the answer.
func postJSON(ctx context.Context, client *http.Client, url string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, b, err
}

// getStatus sends GET url with an optional Bearer token and returns the
// status.
func getStatus(ctx context.Context, client *http.Client, url, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	drain(res)
	return res.StatusCode, nil
}

// drain reads the rest of the answer and closes it, so the connection is
// reused.
func drain(res *http.Response) {
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
}
