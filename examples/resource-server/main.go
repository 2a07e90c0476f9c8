// Command resource-server is a separate service that accepts authd's
// access tokens without a database or a shared secret: package verify
// checks them with authd's public keys, fetched from its JWK Set URL,
// cached, and fetched again when authd rotates its signing key.
//
// Start authd with an asymmetric algorithm, then this service, log in and
// call the protected route:
//
//	JWT_ALGORITHM=EdDSA go run ./cmd/authd
//	go run ./examples/resource-server -issuer http://localhost:8080 \
//		-jwks http://localhost:8080/.well-known/jwks.json -addr :8081
//	curl -H "Authorization: Bearer $ACCESS" http://localhost:8081/api/profile
//
// GET /api/profile answers the caller's user id, role and session id; a
// missing or bad token is 401 with WWW-Authenticate: Bearer. Like any
// stateless check, a logged-out session's access token is accepted until
// it expires (ACCESS_TOKEN_TTL, 5 minutes by default).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/authd/auth/verify"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr, nil)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "resource-server:", err)
		os.Exit(1)
	}
}

// run serves the protected API until ctx ends, then shuts down gracefully.
// listening, when not nil, is called with the listen address once the
// service accepts connections.
func run(ctx context.Context, args []string, stderr io.Writer, listening func(addr string)) error {
	fs := flag.NewFlagSet("resource-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", ":8081", "listen address")
	issuer := fs.String("issuer", "http://localhost:8080", "authd's PUBLIC_URL: the iss of its tokens")
	audience := fs.String("audience", "authd", "authd's JWT_AUDIENCE: the aud of its tokens")
	jwksURL := fs.String("jwks", "http://localhost:8080/.well-known/jwks.json", "authd's JWK Set URL")
	minRefresh := fs.Duration("jwks-min-refresh", 30*time.Second,
		"least time between two fetches of the JWK Set caused by unknown key ids")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	v, err := verify.New(ctx, *jwksURL, verify.Config{Issuer: *issuer, Audience: *audience,
		MinRefreshInterval: *minRefresh, Logger: log})
	if err != nil {
		return err
	}
	defer v.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /api/profile", requireToken(v)(http.HandlerFunc(profile)))

	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log.Info("resource server listening", "addr", ln.Addr().String(), "jwks", *jwksURL)
	if listening != nil {
		listening(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type claimsKey struct{}

// requireToken admits requests with a valid access token of authd and
// stores its claims in the request context; others get 401.
func requireToken(v *verify.Verifier) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
				unauthenticated(w, "Bearer")
				return
			}
			c, err := v.Verify(r.Context(), strings.TrimSpace(token))
			if err != nil {
				unauthenticated(w, `Bearer error="invalid_token"`)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, c)))
		})
	}
}

// unauthenticated answers 401 as authd does: problem+json with a Bearer
// challenge.
func unauthenticated(w http.ResponseWriter, challenge string) {
	w.Header().Set("WWW-Authenticate", challenge)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusUnauthorized)
	io.WriteString(w, `{"type":"about:blank","title":"Unauthenticated","status":401,"code":"unauthenticated",`+
		`"detail":"A valid access token is required."}`+"\n")
}

// profile answers who the caller is, from the token alone.
func profile(w http.ResponseWriter, r *http.Request) {
	c := r.Context().Value(claimsKey{}).(verify.Claims)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]string{
		"user_id":    c.UserID,
		"role":       c.Role,
		"session_id": c.SessionID,
		"expires_at": c.ExpiresAt.UTC().Format(time.RFC3339),
	})
}
