package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	auth "github.com/authd/auth"
)

// Errors of the HTTP layer itself. They have no sentinel in package auth
// because the library never sees a request body or a route.
var (
	errPayloadTooLarge      = errors.New("httpapi: request body too large")
	errUnsupportedMediaType = errors.New("httpapi: request body is not JSON")
	// errMethodNotAllowed answers a known path with another method. Its code,
	// method_not_allowed, is not in API.md's table; it is the only code this
	// package adds, and the OpenAPI document must list it.
	errMethodNotAllowed = errors.New("httpapi: method not allowed")
)

// problem is one row of API.md's error table: the status, the stable code,
// a short title and the default detail shown to the client.
type problem struct {
	status int
	code   string
	title  string
	detail string
}

// problems is the only table from an error to its HTTP answer. It is walked
// in order with errors.Is, so an error matches the first row whose sentinel
// is in its chain.
var problems = []struct {
	err error
	problem
}{
	{auth.ErrInvalidRequest, problem{http.StatusBadRequest, "invalid_request", "Invalid request",
		"The request is malformed."}},
	{auth.ErrValidation, problem{http.StatusBadRequest, "validation_failed", "Validation failed",
		"One or more fields are invalid."}},
	{auth.ErrInvalidToken, problem{http.StatusBadRequest, "invalid_token", "Invalid token",
		"The token is unknown, already used or expired."}},

	{auth.ErrUnauthenticated, problem{http.StatusUnauthorized, "unauthenticated", "Unauthenticated",
		"A valid access token is required."}},
	{auth.ErrInvalidCredentials, problem{http.StatusUnauthorized, "invalid_credentials", "Invalid credentials",
		"The email address or the password is incorrect."}},
	{auth.ErrInvalidRefreshToken, problem{http.StatusUnauthorized, "invalid_token", "Invalid token",
		"The refresh token is unknown, expired or belongs to a session that has ended."}},
	{auth.ErrTokenReused, problem{http.StatusUnauthorized, "token_reused", "Token reused",
		"The refresh token was already used; its session has been revoked."}},

	{auth.ErrEmailNotVerified, problem{http.StatusForbidden, "email_not_verified", "Email not verified",
		"The email address of this account is not verified yet."}},
	{auth.ErrAccountDisabled, problem{http.StatusForbidden, "account_disabled", "Account disabled",
		"This account has been disabled."}},
	{auth.ErrPermissionDenied, problem{http.StatusForbidden, "permission_denied", "Permission denied",
		"You are not allowed to do this."}},
	{auth.ErrInviteEmailMismatch, problem{http.StatusForbidden, "invite_email_mismatch", "Invite email mismatch",
		"This invitation is addressed to another email address."}},

	{auth.ErrNotFound, problem{http.StatusNotFound, "not_found", "Not found",
		"The resource does not exist."}},
	{auth.ErrUnknownProvider, problem{http.StatusNotFound, "unknown_provider", "Unknown provider",
		"This sign-in provider is unknown or not configured."}},

	{errMethodNotAllowed, problem{http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed",
		"This path does not support this method."}},

	{auth.ErrPasswordAlreadySet, problem{http.StatusConflict, "password_already_set", "Password already set",
		"This account already has a password; change it instead."}},
	{auth.ErrSlugTaken, problem{http.StatusConflict, "slug_taken", "Slug taken",
		"Another organisation already uses this slug."}},
	{auth.ErrAlreadyMember, problem{http.StatusConflict, "already_member", "Already a member",
		"This user is already a member of the organisation."}},
	{auth.ErrOwnerCannotLeave, problem{http.StatusConflict, "owner_cannot_leave", "Owner cannot leave",
		"The owner cannot leave the organisation; transfer the ownership first."}},
	{auth.ErrLastLoginMethod, problem{http.StatusConflict, "last_login_method", "Last login method",
		"This is the only way left to sign in; set a password or link another provider first."}},
	{auth.ErrConflict, problem{http.StatusConflict, "conflict", "Conflict",
		"The request conflicts with the current state."}},

	{errPayloadTooLarge, problem{http.StatusRequestEntityTooLarge, "payload_too_large", "Payload too large",
		"The request body is larger than 64 KiB."}},
	{errUnsupportedMediaType, problem{http.StatusUnsupportedMediaType, "unsupported_media_type",
		"Unsupported media type", "The request body must be JSON (Content-Type: application/json)."}},
	{auth.ErrThrottled, problem{http.StatusTooManyRequests, "throttled", "Too many requests",
		"Too many requests; retry later."}},
	{auth.ErrOverloaded, problem{http.StatusServiceUnavailable, "overloaded", "Overloaded",
		"The service is busy; retry later."}},
	// unavailable is not in API.md's table yet: the database cannot be
	// reached (restarting, down, cut off). The request failed without
	// effect and may be retried after Retry-After (1 s).
	{auth.ErrUnavailable, problem{http.StatusServiceUnavailable, "unavailable", "Service unavailable",
		"The service cannot reach its database right now; retry later."}},
}

// internalError answers every error that is not in the table.
var internalError = problem{http.StatusInternalServerError, "internal_error", "Internal error",
	"An unexpected error occurred. Quote the X-Request-Id header when reporting it."}

// statusClientClosedRequest is recorded (nginx's convention) when the client
// went away before the answer was ready: nobody reads that response.
const statusClientClosedRequest = 499

// problemBody is an RFC 9457 problem details document. Errors is set only
// for validation_failed.
type problemBody struct {
	Type   string            `json:"type"`
	Title  string            `json:"title"`
	Status int               `json:"status"`
	Code   string            `json:"code"`
	Detail string            `json:"detail"`
	Errors map[string]string `json:"errors,omitzero"`
}

// detailedError replaces the default detail of err's problem with a message
// written for the client.
type detailedError struct {
	err    error
	detail string
}

func (e *detailedError) Error() string { return e.err.Error() + ": " + e.detail }
func (e *detailedError) Unwrap() error { return e.err }

// withDetail returns err with detail as the message the client sees.
func withDetail(err error, detail string) error {
	return &detailedError{err: err, detail: detail}
}

// problemFor returns the row of the table that err matches, and whether it
// matched one.
func problemFor(err error) (problem, bool) {
	for _, row := range problems {
		if errors.Is(err, row.err) {
			return row.problem, true
		}
	}
	return internalError, false
}

// writeError answers r with the problem that err maps to. An error outside
// the table is logged with the request id and answered with a bare 500; a
// request whose client went away is not answered at all.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	noteError(r.Context(), err)
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		log.DebugContext(r.Context(), "client closed request", "request_id", requestIDFrom(r.Context()))
		w.WriteHeader(statusClientClosedRequest)
		return
	}
	p, ok := problemFor(err)
	if !ok {
		log.ErrorContext(r.Context(), "internal error", "request_id", requestIDFrom(r.Context()),
			"method", r.Method, "route", r.Pattern, "err", err)
	}
	body := problemBody{Type: "about:blank", Title: p.title, Status: p.status, Code: p.code, Detail: p.detail}
	if d := (*detailedError)(nil); ok && errors.As(err, &d) {
		body.Detail = d.detail
	}
	h := w.Header()
	if ve := (*auth.ValidationError)(nil); errors.As(err, &ve) {
		body.Errors = make(map[string]string, len(ve.Fields))
		for field, msg := range ve.Fields {
			body.Errors[field] = msg
		}
	}
	switch p.status {
	case http.StatusUnauthorized:
		// RFC 9110 requires a challenge on every 401.
		h.Set("WWW-Authenticate", "Bearer")
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		h.Set("Retry-After", retryAfter(err))
	}
	writeProblem(w, body)
}

// writeProblem writes body as application/problem+json.
func writeProblem(w http.ResponseWriter, body problemBody) {
	b, err := json.Marshal(body)
	if err != nil { // a struct of strings and a string map always marshals
		panic(err)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(body.Status)
	w.Write(append(b, '\n'))
}

// retryAfter returns the Retry-After value for a throttled, overloaded or
// unavailable error: whole seconds, rounded up, at least 1 (always 1 for
// unavailable, which carries no wait).
func retryAfter(err error) string {
	var d time.Duration
	if te := (*auth.ThrottledError)(nil); errors.As(err, &te) {
		d = te.RetryAfter
	} else if oe := (*auth.OverloadedError)(nil); errors.As(err, &oe) {
		d = oe.RetryAfter
	}
	secs := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(secs, 1), 10)
}
