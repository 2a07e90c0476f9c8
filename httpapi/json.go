package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"time"

	auth "github.com/authd/auth"
)

// maxBodyBytes is the largest request body accepted (413 beyond).
const maxBodyBytes = 64 << 10

// decodeJSON reads r's body into dst, a pointer to a struct of the fields
// the endpoint reads. An empty body counts as {}; unknown fields are
// ignored. It returns errPayloadTooLarge past 64 KiB,
// errUnsupportedMediaType when a body is not declared as JSON, and
// auth.ErrInvalidRequest (with a detail for the client) when the body is
// not one JSON object with fields of the right types.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if r.ContentLength > 0 && !isJSON(r.Header.Get("Content-Type")) {
		return errUnsupportedMediaType
	}
	if r.ContentLength > maxBodyBytes {
		return errPayloadTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
		return errPayloadTooLarge
	}
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	if len(body) == 0 {
		return nil
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		return errUnsupportedMediaType
	}
	if first := bytes.TrimLeft(body, " \t\r\n"); len(first) == 0 || first[0] != '{' {
		return withDetail(auth.ErrInvalidRequest, "The request body must be a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(dst); err != nil {
		if te := (*json.UnmarshalTypeError)(nil); errors.As(err, &te) && te.Field != "" {
			return withDetail(auth.ErrInvalidRequest,
				fmt.Sprintf("Field %q must be a JSON %s.", te.Field, jsonKind(te.Type)))
		}
		return withDetail(auth.ErrInvalidRequest, "The request body is not valid JSON.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return withDetail(auth.ErrInvalidRequest, "The request body has data after the JSON object.")
	}
	return nil
}

// jsonKind names the JSON type that values of t decode from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	default:
		return "number"
	}
}

// isJSON reports whether contentType is application/json, with any
// parameters (such as charset).
func isJSON(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	return err == nil && mediaType == "application/json"
}

// writeJSON answers with status and v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
	return nil
}

// timestamp formats t as RFC 3339 in UTC.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// seconds returns d in whole seconds, rounded to the nearest.
func seconds(d time.Duration) int64 { return int64(d.Round(time.Second) / time.Second) }

// userJSON is API.md's User object.
type userJSON struct {
	ID            string `json:"id"`
	Email         string `json:"email"`
	Name          string `json:"name"`
	Role          string `json:"role"`
	EmailVerified bool   `json:"email_verified"`
	HasPassword   bool   `json:"has_password"`
	IsActive      bool   `json:"is_active"`
	CreatedAt     string `json:"created_at"`
}

func newUserJSON(u auth.User) userJSON {
	return userJSON{
		ID:            u.ID,
		Email:         u.Email,
		Name:          u.Name,
		Role:          string(u.Role),
		EmailVerified: u.EmailVerified,
		HasPassword:   u.HasPassword(),
		IsActive:      u.IsActive,
		CreatedAt:     timestamp(u.CreatedAt),
	}
}

// userResponse is {"user": User}.
type userResponse struct {
	User userJSON `json:"user"`
}

// tokensJSON is API.md's Tokens object; User is set by login only.
type tokensJSON struct {
	Access           string    `json:"access"`
	Refresh          string    `json:"refresh"`
	TokenType        string    `json:"token_type"`
	ExpiresIn        int64     `json:"expires_in"`
	RefreshExpiresIn int64     `json:"refresh_expires_in"`
	SessionID        string    `json:"session_id"`
	User             *userJSON `json:"user,omitempty"`
}

func newTokensJSON(t auth.Tokens) tokensJSON {
	return tokensJSON{
		Access:           t.Access,
		Refresh:          t.Refresh,
		TokenType:        "Bearer",
		ExpiresIn:        seconds(t.ExpiresIn),
		RefreshExpiresIn: seconds(t.RefreshExpiresIn),
		SessionID:        t.SessionID,
	}
}

// sessionJSON is API.md's Session object. Current marks the caller's own.
type sessionJSON struct {
	ID         string `json:"id"`
	CreatedAt  string `json:"created_at"`
	LastUsedAt string `json:"last_used_at"`
	ExpiresAt  string `json:"expires_at"`
	IP         string `json:"ip"`
	UserAgent  string `json:"user_agent"`
	Current    bool   `json:"current"`
}

func newSessionJSON(s auth.Session, currentID string) sessionJSON {
	return sessionJSON{
		ID:         s.ID,
		CreatedAt:  timestamp(s.CreatedAt),
		LastUsedAt: timestamp(s.LastUsedAt),
		ExpiresAt:  timestamp(s.ExpiresAt),
		IP:         s.IP,
		UserAgent:  s.UserAgent,
		Current:    s.ID == currentID,
	}
}

// sessionsResponse is the list of the caller's sessions. NextCursor is
// always null: the library returns every active session at once.
type sessionsResponse struct {
	Sessions   []sessionJSON `json:"sessions"`
	NextCursor *string       `json:"next_cursor"`
}

// detailResponse is {"detail": "..."}, the body of the 202 answers.
type detailResponse struct {
	Detail string `json:"detail"`
}
