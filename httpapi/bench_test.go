package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	auth "github.com/authd/auth"
	"github.com/authd/auth/httpapi"
	"github.com/authd/auth/mailer"
	"github.com/authd/auth/storage"
)

// BenchmarkRequireAuth is the Bearer middleware of a host application's
// routes, in process (httptest.NewRecorder, no network): RequireAuth
// around a handler that reads the principal and answers 204. "handler"
// is that handler alone, the baseline; "valid-token" passes the
// middleware; "no-token" and "forged-token" are answered 401 by it.
//
//	go test -run '^$' -bench RequireAuth -benchmem -benchtime 2s ./httpapi/
func BenchmarkRequireAuth(b *testing.B) {
	ctx := context.Background()
	st, err := storage.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "authd.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	m, err := mailer.NewDir(filepath.Join(b.TempDir(), "mail"), "authd <no-reply@authd.test>", nil)
	if err != nil {
		b.Fatal(err)
	}
	a, err := auth.NewAuthenticator(st, m, testAuthConfig(newTestClock()))
	if err != nil {
		b.Fatal(err)
	}
	u, err := a.CreateSuperuser(ctx, "host@example.com", testPassword)
	if err != nil {
		b.Fatal(err)
	}
	tok, _, err := a.Login(ctx, auth.Client{IP: "192.0.2.1"}, "host@example.com", testPassword)
	if err != nil {
		b.Fatal(err)
	}

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := auth.PrincipalFrom(r.Context()); ok && p.UserID != u.ID {
			b.Errorf("principal %+v, want user %s", p, u.ID)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	protected := httpapi.RequireAuth(a)(handler)
	forged := tok.Access[:len(tok.Access)-2] + "AA"
	if forged == tok.Access {
		forged = tok.Access[:len(tok.Access)-2] + "BB"
	}
	for _, c := range []struct {
		name          string
		h             http.Handler
		authorization string
		want          int
	}{
		{"handler", handler, "", http.StatusNoContent},
		{"valid-token", protected, "Bearer " + tok.Access, http.StatusNoContent},
		{"no-token", protected, "", http.StatusUnauthorized},
		{"forged-token", protected, "Bearer " + forged, http.StatusUnauthorized},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/reports", nil)
			if c.authorization != "" {
				r.Header.Set("Authorization", c.authorization)
			}
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				c.h.ServeHTTP(rec, r)
				if rec.Code != c.want {
					b.Fatalf("got %d, want %d", rec.Code, c.want)
				}
			}
		})
	}
}
