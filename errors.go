package auth

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Sentinel errors, one per code of the REST contract. Where the contract gives
// one code two statuses (invalid_token is 400 for one-time tokens and 401 for
// refresh tokens) there are two sentinels, so mapping an error to a status
// stays a lookup. Callers test them with [errors.Is]; messages are not API.
var (
	// ErrInvalidRequest is a malformed request (bad JSON, wrong types).
	ErrInvalidRequest = errors.New("auth: invalid request")
	// ErrInvalidToken is an email-verification, reset, invite or SSO exchange
	// token that is unknown, used or expired.
	ErrInvalidToken = errors.New("auth: invalid or expired token")
	// ErrInvalidRefreshToken is a refresh token that is unknown, expired, or
	// belongs to a revoked or expired session.
	ErrInvalidRefreshToken = errors.New("auth: invalid refresh token")
	// ErrUnauthenticated is a missing, malformed, expired or forged access
	// token, or one whose session has ended.
	ErrUnauthenticated = errors.New("auth: unauthenticated")
	// ErrInvalidCredentials is a login with an unknown email, a wrong password,
	// or an account without a password. The three are indistinguishable.
	ErrInvalidCredentials = errors.New("auth: invalid credentials")
	// ErrTokenReused is a refresh token that was already rotated; the session
	// it belonged to has been revoked.
	ErrTokenReused = errors.New("auth: refresh token reused")
	// ErrEmailNotVerified is a correct login to an account whose email is not
	// verified yet.
	ErrEmailNotVerified = errors.New("auth: email not verified")
	// ErrAccountDisabled is a correct login to an account disabled by an admin.
	ErrAccountDisabled = errors.New("auth: account disabled")
	// ErrPermissionDenied is an authenticated caller the guard refuses.
	ErrPermissionDenied = errors.New("auth: permission denied")
	// ErrNotFound is a missing record, or one the caller may not see.
	ErrNotFound = errors.New("auth: not found")
	// ErrPasswordAlreadySet is a password set on an account that has one.
	ErrPasswordAlreadySet = errors.New("auth: password already set")
	// ErrConflict is a state conflict without a more specific code, such as a
	// unique constraint the caller raced against.
	ErrConflict = errors.New("auth: conflict")
	// ErrSlugTaken is an organisation slug already in use.
	ErrSlugTaken = errors.New("auth: slug taken")
	// ErrAlreadyMember is an invite or a membership of a user who is a
	// member already.
	ErrAlreadyMember = errors.New("auth: already a member")
	// ErrOwnerCannotLeave is the owner leaving its organisation; ownership
	// must be transferred first.
	ErrOwnerCannotLeave = errors.New("auth: the owner cannot leave the organisation")
	// ErrInviteEmailMismatch is accepting an invite addressed to another
	// email.
	ErrInviteEmailMismatch = errors.New("auth: invite addressed to another email")
	// ErrLastLoginMethod is unlinking the only way left to sign in.
	ErrLastLoginMethod = errors.New("auth: the last login method cannot be removed")
	// ErrUnknownProvider is an SSO provider that is unknown or not
	// configured.
	ErrUnknownProvider = errors.New("auth: unknown identity provider")
	// ErrThrottled is a rate limit; the error returned is a *ThrottledError
	// that matches it.
	ErrThrottled = errors.New("auth: throttled")
	// ErrOverloaded means too many password hashes are already queued.
	ErrOverloaded = errors.New("auth: overloaded")
	// ErrUnavailable means a service the request needs, the database,
	// cannot be reached now: the connection was refused, broken or timed
	// out, or the server is shutting down or starting up. A transaction
	// that fails with it was rolled back (unless the connection broke
	// during the commit itself, when the outcome is unknown), so the
	// request may be retried. Storage backends wrap their connection
	// errors with it.
	ErrUnavailable = errors.New("auth: service unavailable")
)

// ValidationError reports the fields of an input that break a rule. Fields
// maps the contract's field name to a short human message. It matches
// [ErrValidation] with errors.Is.
type ValidationError struct {
	Fields map[string]string
}

// ErrValidation is matched by every *ValidationError.
var ErrValidation = errors.New("auth: validation failed")

// Error lists the failing fields in a stable order.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("auth: validation failed:")
	for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
		fmt.Fprintf(&b, " %s: %s;", k, e.Fields[k])
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Is reports whether target is ErrValidation.
func (e *ValidationError) Is(target error) bool { return target == ErrValidation }

// fieldError returns a *ValidationError for a single field.
func fieldError(field, msg string) error {
	return &ValidationError{Fields: map[string]string{field: msg}}
}

// ThrottledError is a rate limit that was hit. RetryAfter says when the
// caller may try again; Limit names the policy (such as "login_ip"). It
// matches [ErrThrottled] with errors.Is.
type ThrottledError struct {
	Limit      string
	RetryAfter time.Duration
}

// Error names the limit and the wait.
func (e *ThrottledError) Error() string {
	return fmt.Sprintf("auth: throttled by %s, retry after %s", e.Limit, e.RetryAfter)
}

// Is reports whether target is ErrThrottled.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// OverloadedError is returned when the password-hashing queue is full. It
// matches [ErrOverloaded] and says when to retry.
type OverloadedError struct {
	RetryAfter time.Duration
}

// Error says the service is overloaded.
func (e *OverloadedError) Error() string { return "auth: overloaded: too many password hashes queued" }

// Is reports whether target is ErrOverloaded.
func (e *OverloadedError) Is(target error) bool { return target == ErrOverloaded }
