package httpapi

import (
	"log/slog"
	"net/http"

	auth "github.com/authd/auth"
)

// JWKS returns the handler of GET /.well-known/jwks.json: the JWK Set of
// a's public keys ([auth.Authenticator.JWKS]) as application/json, with
// Cache-Control: public, max-age=300, for other services to verify access
// tokens with (see package verify). With HS256 there are no public keys and
// it answers 404 not_found; another method than GET or HEAD is 405
// method_not_allowed. Like the API's responses, each carries an
// X-Request-Id. Mount it at the root of the issuer's URL:
//
//	mux.Handle("GET /.well-known/jwks.json", httpapi.JWKS(a))
//
// The key set is read once, here: after a rotation build a new
// Authenticator and a new handler. The handler is safe for concurrent use.
func JWKS(a *auth.Authenticator) http.Handler {
	body, ok := a.JWKS()
	body = append(body, '\n')
	discard := slog.New(slog.DiscardHandler) // its errors are never 500s
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, r, discard, withDetail(errMethodNotAllowed, "Allowed: GET, HEAD."))
			return
		}
		if !ok {
			writeError(w, r, discard, withDetail(auth.ErrNotFound, "This server signs tokens with HS256 and publishes no keys."))
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age=300")
		w.Write(body)
	})
	return requestID(securityHeaders(h))
}
