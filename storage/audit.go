package storage

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/authd/auth"
)

// AppendAudit inserts e. It returns auth.ErrConflict when e.ID is taken, and
// an error when e.ID, or a non-empty e.ActorID or e.OrgID, is not a
// lower-case UUID. Rows are never updated or deleted: the database refuses
// to.
func (s *Store) AppendAudit(ctx context.Context, e auth.AuditEvent) error {
	const op = "append audit event"
	if err := checkID("audit event id", e.ID); err != nil {
		return dbError(op, err)
	}
	if e.ActorID != "" {
		if err := checkID("actor id", e.ActorID); err != nil {
			return dbError(op, err)
		}
	}
	if e.OrgID != "" {
		if err := checkID("org id", e.OrgID); err != nil {
			return dbError(op, err)
		}
	}
	row, err := newAuditRow(e)
	if err != nil {
		return dbError(op, err)
	}
	_, err = s.idb.NewInsert().Model(&row).ExcludeColumn("seq").Exec(ctx)
	return dbError(op, err)
}

// AuditEvents returns the events that match f, newest first (by
// occurred_at, then in the order they were appended), one page at a time,
// with the cursor of the next page ("" on the last). Since is inclusive and
// Until exclusive. p.Limit is 50 when zero or negative and at most 200. A
// cursor that this method did not return is a *auth.ValidationError on the
// field "cursor". Each filter has an index in the order of the pages, so a
// page reads only the rows it returns, with or without a time window.
func (s *Store) AuditEvents(ctx context.Context, f auth.AuditFilter, p auth.Page) ([]auth.AuditEvent, string, error) {
	const op = "list audit events"
	limit := pageLimit(p)

	// An actor or org ID that is not a UUID matches no event.
	if (f.ActorID != "" && !isUUID(f.ActorID)) || (f.OrgID != "" && !isUUID(f.OrgID)) {
		return nil, "", nil
	}

	var rows []auditRow
	q := s.idb.NewSelect().Model(&rows)
	if p.Cursor != "" {
		at, seq, err := parseAuditCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		q = q.Where("(a.occurred_at, a.seq) < (?, ?)", dbTime(at), seq)
	}
	q = whereAudit(q, f)
	// One more than the page tells whether there is a next page.
	if err := q.OrderExpr("a.occurred_at DESC, a.seq DESC").Limit(int64(limit + 1)).Scan(ctx); err != nil {
		return nil, "", dbError(op, err)
	}

	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = auditCursor(rows[limit-1])
	}
	events := make([]auth.AuditEvent, len(rows))
	for i, row := range rows {
		e, err := row.event()
		if err != nil {
			return nil, "", dbError(op, err)
		}
		events[i] = e
	}
	return events, next, nil
}

// whereAudit narrows q, a select from audit_events AS a, to the events
// that match f. f.ActorID and f.OrgID are UUIDs or empty.
func whereAudit(q *bun.SelectQuery, f auth.AuditFilter) *bun.SelectQuery {
	if f.Event != "" {
		q = q.Where("a.event = ?", f.Event)
	}
	if f.ActorID != "" {
		q = q.Where("a.actor_id = ?", f.ActorID)
	}
	if f.OrgID != "" {
		q = q.Where("a.org_id = ?", f.OrgID)
	}
	if !f.Since.IsZero() {
		q = q.Where("a.occurred_at >= ?", dbTime(f.Since))
	}
	if !f.Until.IsZero() {
		q = q.Where("a.occurred_at < ?", dbTime(f.Until))
	}
	return q
}

// auditCursor returns the cursor of the page after row: its occurred_at
// and seq, the keys of the order, base64url-encoded.
func auditCursor(row auditRow) string {
	at := time.Time(row.OccurredAt).UTC().Format(timeLayout)
	return base64.RawURLEncoding.EncodeToString([]byte(at + "|" + strconv.FormatInt(row.Seq, 10)))
}

// parseAuditCursor returns the occurred_at and seq that a cursor made by
// auditCursor names, or a *auth.ValidationError on "cursor".
func parseAuditCursor(cursor string) (time.Time, int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return time.Time{}, 0, badCursorError()
	}
	at, seqText, ok := strings.Cut(string(raw), "|")
	if !ok {
		return time.Time{}, 0, badCursorError()
	}
	t, err := time.Parse(timeLayout, at)
	if err != nil {
		return time.Time{}, 0, badCursorError()
	}
	// A time the database cannot hold, or the zero time (NULL), was not
	// read from a row.
	if v, err := dbTime(t).Value(); err != nil || v == nil {
		return time.Time{}, 0, badCursorError()
	}
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if err != nil || seq <= 0 {
		return time.Time{}, 0, badCursorError()
	}
	return t, seq, nil
}
