// Package httpapi serves authd's REST contract (API.md) over net/http under
// /api/v1, with problem+json errors, JSON bodies of at most 64 KiB and an
// X-Request-Id on every response:
//
//   - the Authentication endpoints (/auth/…: accounts, login, sessions,
//     passwords), always, through [Config].Auth;
//   - the Organisations endpoints (/orgs/…: organisations, members,
//     invites, ownership, an organisation's audit log), when [Config].Orgs
//     is set;
//   - the Internal (global-role) endpoints (/internal/…: dashboard, users,
//     sessions, organisations, audit log, permission mappings), when
//     [Config].Admin is set.
//
// Leaving Orgs or Admin nil leaves their routes out (their paths answer
// 404), for a host application that wants only authentication; the authd
// binary passes both. The organisation and internal endpoints authenticate
// strictly ([auth.Authenticator.Authenticate]: the token's session must
// still be active) and hand the caller to the library, whose services ask
// the [auth.Guard]: this package makes no permission decision. A caller who
// is not a member of an organisation gets 404 on every /orgs/{slug}/…
// path, whatever its global role; a caller whose global role lacks a
// permission gets 403 on /internal/….
//
// Lists answer {"<items>": [...], "next_cursor": "…"|null} and take
// ?limit= (1 to 200, default 50; anything else is 400 validation_failed on
// "limit") and ?cursor=, the next_cursor of the previous page. An Org object
// carries "role", the membership role of the user it is shown for; on
// /internal/orgs/… it is null, since staff read organisations without being
// members (the key is kept so that an Org has the same keys everywhere).
//
// [New] returns a plain [http.Handler] that serves the contract's paths with
// their /api/v1 prefix, so the authd binary mounts it at "/". A host
// application that wants the endpoints somewhere else strips its own prefix
// first: mounted with
//
//	mux.Handle("/identity/", http.StripPrefix("/identity", h))
//
// the login endpoint answers at /identity/api/v1/auth/login/. Every path is
// served with and without its trailing slash, without a redirect; a known
// path with another method is 405 with an Allow header.
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
