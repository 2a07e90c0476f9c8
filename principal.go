package auth

import "context"

// Principal is an authenticated caller: the user and the session of a
// verified access token. Role is the role claim of the token, for display
// only; permission checks read the current role from the store.
type Principal struct {
	UserID    string
	SessionID string
	Role      GlobalRole
}

// Client describes where a request came from, for rate limits, sessions and
// the audit log.
type Client struct {
	IP        string
	UserAgent string
}

type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal stored by [WithPrincipal], if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
