package httpapi

import (
	"net/http"

	auth "github.com/authd/auth"
)

// sessions is GET /auth/sessions/: the caller's active sessions, newest
// first, the caller's own marked current.
func (s *server) sessions(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	list, err := s.auth.Sessions(r.Context(), p)
	if err != nil {
		return err
	}
	return writeSessions(w, list, p)
}

// writeSessions answers with a list of sessions, the caller's own marked
// current. Its next_cursor is always null: the library returns every
// active session at once.
func writeSessions(w http.ResponseWriter, list []auth.Session, p auth.Principal) error {
	return writeList(w, "sessions", mapJSON(list, func(sess auth.Session) sessionJSON {
		return newSessionJSON(sess, p.SessionID)
	}), "")
}

// revokeSession is DELETE /auth/sessions/{id}/: 204; a session that is not
// the caller's, has ended or does not exist is 404.
func (s *server) revokeSession(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id := pathID(r, "id")
	if !isUUID(id) {
		// Not an id at all: no such session, without asking the store.
		return auth.ErrNotFound
	}
	if err := s.auth.RevokeSession(r.Context(), s.client(r), p, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// isUUID reports whether s is a UUID in its canonical textual form
// (8-4-4-4-12 hex digits), the form of every id authd issues.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range []byte(s) {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}
