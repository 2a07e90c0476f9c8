// Package sso signs users in with an external identity provider (Google,
// GitHub) through the OAuth 2.0 authorization-code flow with PKCE, and
// hands the result to the root package's account rules
// ([auth.Authenticator.ResolveIdentity]: one user per email, only
// provider-verified emails link or create).
//
// A [Provider] knows one provider's endpoints and how to read who signed
// in; [Google] and [GitHub] build the two authd supports. A [Service] runs
// the flow of the REST contract over them:
//
//	browser              authd (Service)                 provider
//	   |  POST /auth/sso/google/  |                            |
//	   |------------------------->| Start: throttle per IP;    |
//	   |                          | state = signed(provider,   |
//	   |                          |   nonce, expiry +10 min);  |
//	   |                          | store sha256(state) →      |
//	   |                          |   provider, PKCE verifier  |
//	   |<-------------------------| {authorization_url, state} |
//	   |  GET authorization_url (state, S256 challenge)        |
//	   |------------------------------------------------------>|
//	   |<------------------------------------------------------|
//	   |  302 redirect_uri?code=…&state=…                      |
//	   |  GET /auth/sso/callback/ |                            |
//	   |------------------------->| Callback: check the MAC,   |
//	   |                          |   expiry, provider (no I/O)|
//	   |                          | consume the state row      |
//	   |                          |   (once; gives verifier)   |
//	   |                          | Identify: code + verifier  |
//	   |                          |--------------------------->|
//	   |                          |<---------------------------|
//	   |                          |   access token; userinfo   |
//	   |                          | ResolveIdentity            |
//	   |                          | store sha256(code|state) → |
//	   |                          |   user, created (60 s)     |
//	   |<-------------------------|                            |
//	   |  302 FRONTEND_URL/auth/sso/complete?code=…&state=…    |
//	   |     (or ?error=invalid_state, access_denied,          |
//	   |      email_not_verified, account_disabled,            |
//	   |      provider_error)                                  |
//	   |  POST /auth/sso/exchange/ {code, state}               |
//	   |------------------------->| Exchange: consume the code |
//	   |                          |   bound to its state;      |
//	   |                          | LoginWithIdentity          |
//	   |<-------------------------| tokens + user + created    |
//
// What the design guards against:
//
//   - The state is an HMAC-SHA256 over the provider, a random nonce and an
//     expiry, with a key derived from SECRET_KEY; the callback checks it
//     before any I/O, so a forged or expired state never reaches the
//     provider. Its stored row is consumed in one conditional statement,
//     so a state is accepted once.
//   - The PKCE verifier stays on the server, next to the state's hash: it
//     never travels through the browser.
//   - Access and refresh tokens never appear in a URL. The callback leaves
//     a one-time code (32 random bytes, stored as a hash, 60 seconds) that
//     is useless without the state it is bound to.
//   - Provider errors are logged without the provider's body or any token.
//
// The package ssotest is a fake provider (an httptest.Server) for tests of
// this package and of those that mount it.
package sso
