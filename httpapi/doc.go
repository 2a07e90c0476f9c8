// Package httpapi serves authd's REST contract (API.md) over net/http: the
// account, login, session and password endpoints under /api/v1, with
// problem+json errors, JSON bodies of at most 64 KiB and an X-Request-Id on
// every response.
//
// [New] returns a plain [http.Handler] that serves the contract's paths with
// their /api/v1 prefix, so the authd binary mounts it at "/". A host
// application that wants the endpoints somewhere else strips its own prefix
// first: mounted with
//
//	mux.Handle("/identity/", http.StripPrefix("/identity", h))
//
// the login endpoint answers at /identity/api/v1/auth/login/. Every path is
// served with and without its trailing slash, without a redirect.
//
// A host application that only needs to accept authd's access tokens on its
// own routes wraps them in [RequireAuth]: it verifies the Bearer token
// without I/O and stores the caller for [auth.PrincipalFrom]. [ClientIP]
// and [ParseTrustedProxies] decide which address a request came from when
// it passed through reverse proxies.
//
// Errors map to the contract in one table: each sentinel of package auth has
// a status and a code; anything else is a 500 internal_error that is logged
// with the request id and never shown to the client.
package httpapi
