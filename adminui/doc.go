// Package adminui is authd's admin panel: server-rendered pages for the
// platform's staff, mounted at /admin/ by `authd serve` and mountable in
// any host router.
//
// The panel calls the library's [auth.Admin] with the signed-in user as
// the acting principal, so the same [auth.Guard] permissions as the
// internal REST API decide every page and every action; it never reads or
// writes the store itself. Its pages are:
//
//   - the dashboard (internal.dashboard.view, needed to sign in at all):
//     the platform counts and the logins of the last seven days as an
//     inline SVG chart;
//   - users (internal.users.read): search by email or name, role filter,
//     and a detail page with the user's organisations, SSO identities and,
//     with internal.sessions.read, active sessions; changing the role
//     (internal.users.write and internal.roles.change), disabling and
//     enabling (internal.users.write) and revoking a session
//     (internal.sessions.revoke);
//   - organisations (internal.orgs.read): search, and a detail page with
//     members and pending invites;
//   - the audit log (internal.audit.read): read-only, filtered by event,
//     actor, organisation and time, newest first; no page or route offers
//     a way to change or delete an event;
//   - SSO identities (internal.users.read): the identities of the users a
//     search matches;
//   - permission mappings (internal.permissions.manage): every role of
//     both scopes, edited with checkboxes under the API's safety rules.
//
// Controls a user may not use are not shown; a request made anyway gets
// the Guard's answer, a 403 page.
//
// # Sessions and security
//
// Staff sign in with email and password through [auth.Authenticator.Login],
// so the API's rate limits and checks apply; a user without
// internal.dashboard.view is refused and its new session revoked at once.
// The panel's session is a separate cookie holding an opaque 32-byte random
// id; the authd access and refresh tokens stay on the server, in memory,
// and are refreshed as needed, so revoking the underlying authd session (or
// disabling the user) ends the panel session at its next request. The
// cookie is HttpOnly, SameSite=Strict, scoped to the panel's path and
// Secure when the request came over HTTPS (directly, or per
// X-Forwarded-Proto from a trusted proxy). A session idle for
// Config.IdleTimeout ends; signing out revokes the authd session.
//
// Because sessions live in the process's memory, several instances behind
// a load balancer need sticky sessions for /admin/ (or staff sign in again
// when they land on another instance); a restart signs everyone out.
//
// Every state-changing request is a POST whose form carries a CSRF token
// bound to the panel session (compared in constant time); a missing or
// forged token is a 403 page. Cross-origin POSTs are refused as well
// ([http.CrossOriginProtection]). Every response carries a Content
// Security Policy without script (the panel uses no JavaScript),
// X-Content-Type-Options nosniff, Referrer-Policy no-referrer,
// X-Frame-Options DENY and Cache-Control no-store.
package adminui
