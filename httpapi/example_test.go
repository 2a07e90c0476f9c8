package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	auth "github.com/authd/auth"
	"github.com/authd/auth/httpapi"
	"github.com/authd/auth/mailer"
	"github.com/authd/auth/storage"
)

// newExampleAuthenticator wires an Authenticator on SQLite and the .eml
// mailer in dir, as an application does at start-up.
func newExampleAuthenticator(ctx context.Context, dir string) (*auth.Authenticator, *storage.Store, error) {
	st, err := storage.Open(ctx, "sqlite:"+filepath.Join(dir, "authd.db"))
	if err != nil {
		return nil, nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, nil, err
	}
	m, err := mailer.NewDir(filepath.Join(dir, "mail"), "authd <no-reply@example.com>", nil)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	a, err := auth.NewAuthenticator(st, m, auth.Config{
		JWTSecret: []byte("use JWT_SECRET_KEY: at least 32 random bytes"),
	})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return a, st, nil
}

// A host application serves the authentication endpoints under its own
// prefix by stripping it before the handler sees the path.
func ExampleNew() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "authd-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	a, st, err := newExampleAuthenticator(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	api, err := httpapi.New(httpapi.Config{Auth: a})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/identity/", http.StripPrefix("/identity", api))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, err := http.Post(srv.URL+"/identity/api/v1/auth/register/", "application/json",
		strings.NewReader(`{"email": "new@example.com", "password": "a long and uncommon passphrase"}`))
	if err != nil {
		log.Fatal(err)
	}
	res.Body.Close()
	fmt.Println(res.Status)

	res, err = http.Post(srv.URL+"/identity/api/v1/auth/login", "application/json",
		strings.NewReader(`{"email": "new@example.com", "password": "a long and uncommon passphrase"}`))
	if err != nil {
		log.Fatal(err)
	}
	res.Body.Close()
	fmt.Println(res.Status, res.Header.Get("Content-Type"))
	// Output:
	// 202 Accepted
	// 403 Forbidden application/problem+json
}

// A host application accepts authd's access tokens on its own routes with
// RequireAuth, and reads the caller with auth.PrincipalFrom.
func ExampleRequireAuth() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "authd-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	a, st, err := newExampleAuthenticator(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	requireAuth := httpapi.RequireAuth(a)
	mux := http.NewServeMux()
	mux.Handle("GET /reports", requireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Role is the token's claim, for display; permission checks
		// read the current role through the Guard.
		p, _ := auth.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "reports for %s", p.Role)
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// Without a token.
	res, err := http.Get(srv.URL + "/reports")
	if err != nil {
		log.Fatal(err)
	}
	res.Body.Close()
	fmt.Println(res.Status, res.Header.Get("WWW-Authenticate"))

	// With the access token of a login.
	if _, err := a.CreateSuperuser(ctx, "admin@example.com", "a long and uncommon passphrase"); err != nil {
		log.Fatal(err)
	}
	tokens, _, err := a.Login(ctx, auth.Client{IP: "192.0.2.1"}, "admin@example.com", "a long and uncommon passphrase")
	if err != nil {
		log.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/reports", nil)
	req.Header.Set("Authorization", "Bearer "+tokens.Access)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, string(body))
	// Output:
	// 401 Unauthorized Bearer
	// 200 OK reports for SYSTEM_ADMIN
}
