package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	auth "github.com/authd/auth"
)

// RequireAuth returns middleware that admits only requests with a valid
// access token of a (Authorization: Bearer <token>) and stores the caller
// in the request context for [auth.PrincipalFrom]. The check is stateless
// ([auth.Authenticator.VerifyAccessToken]: signature, issuer, audience,
// type and expiry, no I/O), so a revoked session's tokens pass until they
// expire, at most the access-token lifetime. Any other request is answered
// 401 unauthenticated as problem+json with WWW-Authenticate: Bearer. The
// middleware is safe for concurrent use.
func RequireAuth(a *auth.Authenticator) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, ok := bearerToken(r)
			if !ok {
				writeUnauthenticated(w)
				return
			}
			p, err := a.VerifyAccessToken(token)
			if err != nil {
				writeUnauthenticated(w)
				return
			}
			next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
		})
	}
}

// writeUnauthenticated answers 401 unauthenticated, for middleware that has
// no logger (the error is never a 500).
func writeUnauthenticated(w http.ResponseWriter) {
	p, _ := problemFor(auth.ErrUnauthenticated)
	w.Header().Set("WWW-Authenticate", "Bearer")
	writeProblem(w, problemBody{Type: "about:blank", Title: p.title, Status: p.status, Code: p.code, Detail: p.detail})
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header; the scheme is case-insensitive.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}

type requestIDKey struct{}

// requestIDFrom returns the request id set by requestID, or "".
func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// requestID echoes a sane incoming X-Request-Id, or sets a new random one,
// on the response and in the request context.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// validRequestID reports whether id is 1 to 128 characters of
// [A-Za-z0-9._:-], safe to echo and to log.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// addTrailingSlash serves a path without its trailing slash as the same
// path with it. Every route but the OpenAPI document's ends in "/{$}", and
// ServeMux would otherwise answer the bare path with a 301 redirect.
func addTrailingSlash(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/") && r.URL.Path != apiPrefix+openAPIPath {
			r2 := new(http.Request)
			*r2 = *r
			u := *r.URL
			u.Path += "/"
			if u.RawPath != "" {
				u.RawPath += "/"
			}
			r2.URL = &u
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}

// logRequests writes one line per request: method, route pattern, status,
// duration and request id. It never logs bodies, tokens or headers. The
// route is read from r.Pattern, which the ServeMux inside sets on the
// request it is given.
func logRequests(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			level := slog.LevelInfo
			if sw.statusCode() >= 500 {
				level = slog.LevelWarn
			}
			log.LogAttrs(r.Context(), level, "request",
				slog.String("method", r.Method),
				slog.String("route", r.Pattern),
				slog.Int("status", sw.statusCode()),
				slog.Duration("duration", time.Since(start)),
				slog.String("request_id", requestIDFrom(r.Context())))
		})
	}
}

// recoverPanics turns a panic into a logged 500 internal_error (when nothing
// was written yet). http.ErrAbortHandler is passed on, as net/http expects.
func recoverPanics(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sw := &statusWriter{ResponseWriter: w}
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic while serving a request",
					"request_id", requestIDFrom(r.Context()), "method", r.Method, "route", r.Pattern,
					"panic", v, "stack", string(debug.Stack()))
				if sw.status == 0 {
					p := internalError
					writeProblem(sw, problemBody{Type: "about:blank", Title: p.title, Status: p.status,
						Code: p.code, Detail: p.detail})
				}
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

// securityHeaders marks every answer as private and typed: API responses
// carry tokens and personal data, so no cache may keep them.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// statusWriter records the status of the response written through it.
type statusWriter struct {
	http.ResponseWriter
	status int // 0 until the header is written
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusCode is the status sent, 200 when the handler wrote nothing.
func (w *statusWriter) statusCode() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
