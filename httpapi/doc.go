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
//
// # OpenAPI
//
// The handler serves an OpenAPI 3.1 description of every endpoint at GET
// /api/v1/openapi.json (public, the one path without a trailing slash);
// [OpenAPI] returns the same bytes. It has every request body, parameter,
// success response and error response (the problem+json schema with the
// codes each operation can produce), the Bearer security scheme, and
// objects closed with additionalProperties: false. The package's HTTP tests
// validate every request and response they make against it with
// kin-openapi, so an undocumented status, field or content type fails them.
//
// # Cookie delivery
//
// Browser clients can keep the refresh token away from JavaScript: set
// [Config].Cookies (off by default). Login, refresh and the single sign-on
// exchange then set the refresh token as an HttpOnly, Secure, SameSite=Strict
// cookie scoped to /api/v1/auth/ and leave it out of the JSON body; with
// [CookieConfig].IncludeAccess the access token becomes an HttpOnly cookie
// too, which the authenticated endpoints accept when a request has no
// Authorization header. POST /auth/token/refresh/ and /auth/logout/ read the
// refresh cookie when the body has none; logout and logout-all clear the
// cookies, and a refresh cookie that is rejected is cleared.
//
// CSRF protection is a double-submit token. With the tokens comes an
// authd_csrf cookie that scripts can read (Path /, the configured Domain).
// A request that a cookie authenticates, the access cookie on POST, PUT,
// PATCH or DELETE or the refresh cookie on refresh, must repeat its value
// in the X-CSRF-Token header, or it is 403 permission_denied. Another site
// can neither read that cookie nor send a custom header without a CORS
// preflight, which this handler never approves, and SameSite=Strict keeps
// the cookies off cross-site requests in the first place. A logout
// authenticated by a Bearer header may read the refresh cookie without the
// header: a Bearer request cannot be forged by another site, and the
// cookie only names another session of the same user. Requests with an
// Authorization header never use the cookies and never need the header,
// so Bearer clients are unaffected.
package httpapi
