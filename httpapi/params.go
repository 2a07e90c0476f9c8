package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	auth "github.com/authd/auth"
)

// Page sizes of every list (?limit=).
const (
	defaultPageLimit = 50
	maxPageLimit     = 200
)

// pageFrom reads the page a list request asks for: ?limit= (1 to 200,
// default 50) and ?cursor= (opaque; the library rejects one it did not
// issue as a *auth.ValidationError on "cursor"). A limit that is not an
// integer in range is a *auth.ValidationError on "limit".
func pageFrom(r *http.Request) (auth.Page, error) {
	q := r.URL.Query()
	p := auth.Page{Limit: defaultPageLimit, Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageLimit {
			return auth.Page{}, invalidField("limit", "must be an integer from 1 to "+strconv.Itoa(maxPageLimit))
		}
		p.Limit = n
	}
	return p, nil
}

// auditFilterFrom reads the filters of an audit listing: ?event=,
// ?actor_id=, ?org_id=, and ?since= and ?until= as RFC 3339 times. A time
// that does not parse is a *auth.ValidationError on its parameter.
func auditFilterFrom(r *http.Request) (auth.AuditFilter, error) {
	q := r.URL.Query()
	f := auth.AuditFilter{Event: q.Get("event"), ActorID: canonicalID(q.Get("actor_id")), OrgID: canonicalID(q.Get("org_id"))}
	fields := map[string]string{}
	for _, param := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		v := q.Get(param.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			fields[param.name] = "must be an RFC 3339 time, such as 2026-03-14T15:09:26Z"
			continue
		}
		*param.dst = t
	}
	if len(fields) > 0 {
		return auth.AuditFilter{}, &auth.ValidationError{Fields: fields}
	}
	return f, nil
}

// pathID returns the id in the path wildcard name, in canonical form.
func pathID(r *http.Request, name string) string { return canonicalID(r.PathValue(name)) }

// canonicalID returns id in the lower-case form in which authd issues and
// stores UUIDs, so that an upper-case spelling finds the same record.
func canonicalID(id string) string { return strings.ToLower(id) }

// invalidField returns a *auth.ValidationError on one field.
func invalidField(field, msg string) error {
	return &auth.ValidationError{Fields: map[string]string{field: msg}}
}
