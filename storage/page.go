package storage

import (
	"encoding/base64"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/authd/auth"
)

// Page sizes of every list.
const (
	defaultPageLimit = 50
	maxPageLimit     = 200
)

// pageLimit returns how many items a page of p holds: p.Limit, or 50 when
// it is zero or negative, and never more than 200.
func pageLimit(p auth.Page) int {
	if p.Limit <= 0 {
		return defaultPageLimit
	}
	return min(p.Limit, maxPageLimit)
}

// badCursorError returns the error of a cursor that the list did not return.
func badCursorError() error {
	return &auth.ValidationError{Fields: map[string]string{"cursor": "is not a cursor of this list"}}
}

// keysetPage is one page of a list ordered oldest first by a time and then
// an ID, which breaks ties. Its cursor is the time and ID of the last item
// of the previous page, the page starts after them, and an index on the two
// columns finds that place without reading the pages before it.
type keysetPage struct {
	limit     int
	afterTime time.Time
	afterID   string // "" on the first page
}

// newKeysetPage returns the page that p selects, or a *auth.ValidationError
// on "cursor" when p.Cursor was not made by [nextKeysetPage].
func newKeysetPage(p auth.Page) (keysetPage, error) {
	pg := keysetPage{limit: pageLimit(p)}
	if p.Cursor == "" {
		return pg, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(p.Cursor)
	if err != nil {
		return keysetPage{}, badCursorError()
	}
	at, id, ok := strings.Cut(string(raw), "|")
	if !ok || !isUUID(id) {
		return keysetPage{}, badCursorError()
	}
	pg.afterTime, err = time.Parse(timeLayout, at)
	if err != nil {
		return keysetPage{}, badCursorError()
	}
	// A time the database cannot hold, or the zero time (NULL), was not
	// read from a row.
	if v, err := dbTime(pg.afterTime).Value(); err != nil || v == nil {
		return keysetPage{}, badCursorError()
	}
	pg.afterID = id
	return pg, nil
}

// apply narrows q to the page: rows after the cursor in the order of
// timeColumn then idColumn (qualified names, such as "u.created_at"), and
// one row more than the page holds, which tells whether another follows.
func (pg keysetPage) apply(q *bun.SelectQuery, timeColumn, idColumn string) *bun.SelectQuery {
	if pg.afterID != "" {
		q = q.Where("(?, ?) > (?, ?)", bun.Ident(timeColumn), bun.Ident(idColumn), dbTime(pg.afterTime), pg.afterID)
	}
	return q.OrderExpr("? ASC, ? ASC", bun.Ident(timeColumn), bun.Ident(idColumn)).
		Limit(int64(pg.limit + 1))
}

// nextKeysetPage cuts rows, read by a query that pg was applied to, to the
// page, and returns them with the cursor of the next page ("" on the last).
// key returns the time and the ID that a row is ordered by.
func nextKeysetPage[R any](pg keysetPage, rows []R, key func(R) (dbTime, string)) ([]R, string) {
	if len(rows) <= pg.limit {
		return rows, ""
	}
	rows = rows[:pg.limit]
	at, id := key(rows[pg.limit-1])
	cursor := time.Time(at).UTC().Format(timeLayout) + "|" + id
	return rows, base64.RawURLEncoding.EncodeToString([]byte(cursor))
}

// whereContains narrows q to the rows in which any of columns holds query
// as a substring, compared case-insensitively. LIKE's wildcards in query
// are escaped, so every character of it matches only itself. An empty query
// narrows nothing; a query with a NUL byte, which no stored text holds,
// matches nothing. Case folding is the database's LOWER: Unicode-aware on
// PostgreSQL, ASCII-only on SQLite.
func whereContains(q *bun.SelectQuery, query string, columns ...string) *bun.SelectQuery {
	switch {
	case query == "":
		return q
	case strings.IndexByte(query, 0) >= 0:
		return q.Where("1 = 0")
	}
	pattern := "%" + escapeLike(query) + "%"
	return q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
		for _, column := range columns {
			q = q.WhereOr(`LOWER(?) LIKE LOWER(?) ESCAPE '\'`, bun.Ident(column), pattern)
		}
		return q
	})
}

// escapeLike returns s with a backslash before each %, _ and backslash, the
// characters that LIKE … ESCAPE '\' would otherwise read as wildcards or
// escapes.
func escapeLike(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '%', '_', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// convert returns f of each row, in order.
func convert[R, T any](rows []R, f func(R) T) []T {
	items := make([]T, len(rows))
	for i, row := range rows {
		items[i] = f(row)
	}
	return items
}
