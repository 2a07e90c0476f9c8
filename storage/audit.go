package storage

import (
	"context"
	"strconv"

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

// AuditEvents returns the events that match f, newest first (in the order
// they were appended), one page at a time, with the cursor of the next page
// ("" on the last). Since is inclusive and Until exclusive. p.Limit is 50
// when zero or negative and at most 200. A cursor that this method did not
// return is a *auth.ValidationError on the field "cursor".
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
		seq, err := strconv.ParseInt(p.Cursor, 10, 64)
		if err != nil || seq <= 0 {
			return nil, "", badCursorError()
		}
		q = q.Where("seq < ?", seq)
	}
	if f.Event != "" {
		q = q.Where("event = ?", f.Event)
	}
	if f.ActorID != "" {
		q = q.Where("actor_id = ?", f.ActorID)
	}
	if f.OrgID != "" {
		q = q.Where("org_id = ?", f.OrgID)
	}
	if !f.Since.IsZero() {
		q = q.Where("occurred_at >= ?", dbTime(f.Since))
	}
	if !f.Until.IsZero() {
		q = q.Where("occurred_at < ?", dbTime(f.Until))
	}
	// One more than the page tells whether there is a next page.
	if err := q.OrderExpr("seq DESC").Limit(int64(limit + 1)).Scan(ctx); err != nil {
		return nil, "", dbError(op, err)
	}

	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = strconv.FormatInt(rows[limit-1].Seq, 10)
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
