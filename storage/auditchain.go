package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/authd/auth"
	"github.com/authd/auth/internal/auditchain"
)

// This file seals the audit log into a hash chain, verifies the chain and
// exports it. The events stay as they were appended: the chain is a table
// of its own, audit_chain, with one link per event in the order of
// sealing. docs/audit.md describes the design.

// sealLockID is the PostgreSQL advisory lock that the instance sealing the
// audit log holds, so that one instance seals at a time.
const sealLockID int64 = 0x61757468645f736c // "authd_sl"

const (
	// sealBatch is how many events one sealing transaction chains at most.
	sealBatch = 1000
	// lateCommitWindow is how far below the highest sealed seq the sealer
	// looks for events that committed after it: on PostgreSQL a
	// transaction can take a seq and commit after one that took a higher
	// seq. An event further below is never sealed; VerifyAudit reports it.
	lateCommitWindow = 10_000
)

// chainRow is one row of audit_chain: a link of the hash chain.
type chainRow struct {
	bun.BaseModel `bun:"table:audit_chain,alias:c"`

	Position int64  `bun:"position"`
	EventSeq int64  `bun:"event_seq"`
	PrevHash string `bun:"prev_hash"`
	Hash     string `bun:"hash"`
	SealedAt dbTime `bun:"sealed_at"`
}

// SealAudit chains the audit events that are not sealed yet, in the order
// of their seq, after the last link, and returns how many it sealed. Each
// batch of up to 1000 events is one transaction that appends to
// audit_chain and never changes an event. Only one caller seals at a
// time: on PostgreSQL a transaction-level advisory lock, and when another
// instance holds it SealAudit returns at once with what it sealed so far;
// on SQLite the single writer, which makes a second caller wait. An event
// that commits late (its seq below one already sealed) is chained by the
// next call at the end of the chain, as long as it is no more than 10,000
// below the highest seq sealed. SealAudit always runs on the database,
// never in a caller's transaction, and is safe for concurrent use.
func (s *Store) SealAudit(ctx context.Context) (int, error) {
	total := 0
	late := true // look for late commits in the first batch
	for {
		n, more, lateFull, err := s.sealBatch(ctx, late)
		total += n
		if err != nil {
			return total, dbError("seal audit events", err)
		}
		if !more {
			return total, nil
		}
		late = lateFull
	}
}

// sealBatch seals up to sealBatch events in one transaction and returns
// how many, whether more may be waiting, and whether the late commits it
// looked for (when late is true) filled the batch. It seals none when
// another instance holds the lock.
//
// The events above the highest sealed seq come from a range of the
// primary key. The late commits, below it, are found by an anti-join over
// the 10,000 seqs below it; that costs more, so it runs once per
// SealAudit, not once per batch of a large backlog.
func (s *Store) sealBatch(ctx context.Context, late bool) (sealed int, more, lateFull bool, err error) {
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if s.dialect == DialectPostgres {
			var locked bool
			if err := tx.QueryRowContext(ctx, "SELECT pg_try_advisory_xact_lock(?)", sealLockID).Scan(&locked); err != nil {
				return fmt.Errorf("take the sealing lock: %w", err)
			}
			if !locked {
				return nil // another instance is sealing
			}
		}
		head := chainRow{Hash: auditchain.Genesis}
		err := tx.NewSelect().Model(&head).OrderExpr("c.position DESC").Limit(1).Scan(ctx)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read the last link: %w", err)
		}
		maxSeq, err := maxSealedSeq(ctx, tx)
		if err != nil {
			return err
		}
		var events []auditRow
		if late {
			err = tx.NewSelect().Model(&events).
				Where("a.seq > ? AND a.seq < ?", maxSeq-lateCommitWindow, maxSeq).
				Where("NOT EXISTS (SELECT 1 FROM audit_chain AS c WHERE c.event_seq = a.seq)").
				OrderExpr("a.seq ASC").
				Limit(sealBatch).
				Scan(ctx)
			if err != nil {
				return fmt.Errorf("read the events that committed late: %w", err)
			}
			lateFull = len(events) == sealBatch
		}
		if len(events) < sealBatch {
			var newer []auditRow
			err = tx.NewSelect().Model(&newer).
				Where("a.seq > ?", maxSeq).
				OrderExpr("a.seq ASC").
				Limit(int64(sealBatch - len(events))).
				Scan(ctx)
			if err != nil {
				return fmt.Errorf("read the events to seal: %w", err)
			}
			more = len(newer) == sealBatch-len(events)
			events = append(events, newer...)
		}
		more = more || lateFull
		if len(events) == 0 {
			return nil
		}
		now := dbTime(time.Now())
		links := make([]chainRow, len(events))
		prev := head.Hash
		for i, row := range events {
			e, err := row.event()
			if err != nil {
				return fmt.Errorf("seq %d: %w", row.Seq, err)
			}
			hash, err := auditchain.Hash(prev, row.Seq, e)
			if err != nil {
				return fmt.Errorf("the link at position %d: %w", head.Position, err)
			}
			links[i] = chainRow{Position: head.Position + 1 + int64(i), EventSeq: row.Seq, PrevHash: prev, Hash: hash, SealedAt: now}
			prev = hash
		}
		if _, err := tx.NewInsert().Model(&links).Exec(ctx); err != nil {
			return fmt.Errorf("append the links: %w", err)
		}
		sealed = len(links)
		return nil
	})
	if err != nil {
		return 0, false, false, err
	}
	return sealed, more, lateFull, nil
}

// maxSealedSeq returns the highest seq in the chain, or 0 when it is empty.
func maxSealedSeq(ctx context.Context, db bun.IDB) (int64, error) {
	var seq int64
	err := db.NewSelect().Model((*chainRow)(nil)).ColumnExpr("COALESCE(MAX(c.event_seq), 0)").Scan(ctx, &seq)
	if err != nil {
		return 0, fmt.Errorf("read the highest sealed seq: %w", err)
	}
	return seq, nil
}

// AuditReport is what [Store.VerifyAudit] found. The log verifies when
// [AuditReport.OK] is true.
type AuditReport struct {
	// Sealed is how many links verified, from position 1; with no Break it
	// is the length of the chain.
	Sealed int64
	// Head is the hash of the last link that verified (Genesis, 64 zeros,
	// when none did). Kept elsewhere with its position (Sealed), it lets a
	// later verification prove that the chain still holds that link, which
	// is how a truncated tail shows.
	Head string
	// Break is the first link that does not verify, or nil.
	Break *AuditBreak
	// Pending is how many events have a seq above every sealed one: they
	// are simply not sealed yet.
	Pending int64
	// Unsealed is how many events without a link have a seq below the
	// highest sealed one: inserted behind the sealer's back, or (on
	// PostgreSQL only, for about a second) a transaction that committed
	// after a later one was sealed. FirstUnsealed is the lowest of them.
	Unsealed      int64
	FirstUnsealed AuditEventRef
	// SealedLate is how many links, on PostgreSQL, chain an event whose
	// seq is below one sealed before it: a transaction that committed
	// late, which is normal there, or an event inserted with a past seq
	// before the sealer saw it. FirstSealedLate is the first of them. On
	// SQLite, where events commit in seq order, such a link is a Break.
	SealedLate      int64
	FirstSealedLate AuditEventRef
}

// OK reports whether the log verifies: every link holds and no event below
// the highest sealed one lacks a link.
func (r AuditReport) OK() bool {
	return r.Break == nil && r.Unsealed == 0
}

// AuditEventRef names an audit event and, when it is sealed, its link.
type AuditEventRef struct {
	Position int64 // 0 when the event has no link
	Seq      int64
	EventID  string
}

// AuditBreak is a link of the chain that does not verify.
type AuditBreak struct {
	// Position, Seq and EventID name the link and the event it chains;
	// EventID is empty when the event is missing.
	Position int64
	Seq      int64
	EventID  string
	// Problem says what is wrong, in words.
	Problem string
	// Expected is what the chain should hold there and Found what it
	// holds: for a changed event or hash, the hash computed from the
	// event and the previous link, and the hash stored in the link; for a
	// broken linkage, the previous link's hash and this link's prev_hash;
	// for a missing link, the position that should come next and the one
	// that does.
	Expected string
	Found    string
}

// String returns the break in one line.
func (b *AuditBreak) String() string {
	return fmt.Sprintf("position %d (seq %d, event %s): %s: expected %s, found %s",
		b.Position, b.Seq, b.EventID, b.Problem, b.Expected, b.Found)
}

// chainQuery selects every link with its event, in the columns that
// scanLinkedEvent reads; an event that is missing reads as NULLs.
const chainQuery = `SELECT c.position, c.event_seq, c.prev_hash, c.hash,
	a.seq, a.id, a.occurred_at, a.event, a.actor_id, a.org_id,
	a.target_type, a.target_id, a.ip, a.user_agent, a.metadata
FROM audit_chain AS c LEFT JOIN audit_events AS a ON a.seq = c.event_seq`

// linkedEvent is a link read by chainQuery with its event.
type linkedEvent struct {
	link  chainRow
	found bool // the event exists
	event auditRow
}

// scanLinkedEvent reads the row of rows, whose columns are chainQuery's.
func scanLinkedEvent(rows *sql.Rows) (linkedEvent, error) {
	var l linkedEvent
	var seq sql.NullInt64
	var id, event, targetType, targetID, ip, userAgent, metadata nullString
	r := &l.event
	err := rows.Scan(&l.link.Position, &l.link.EventSeq, &l.link.PrevHash, &l.link.Hash,
		&seq, &id, &r.OccurredAt, &event, &r.ActorID, &r.OrgID,
		&targetType, &targetID, &ip, &userAgent, &metadata)
	if err != nil {
		return linkedEvent{}, err
	}
	l.found = seq.Valid
	r.Seq, r.ID, r.Event = seq.Int64, string(id), string(event)
	r.TargetType, r.TargetID, r.IP, r.UserAgent, r.Metadata = string(targetType), string(targetID), string(ip), string(userAgent), string(metadata)
	return l, nil
}

// VerifyAudit walks the hash chain from its first link, recomputing each
// hash from the event and the previous link, and reports the first link
// that does not hold: a link missing (positions are 1, 2, 3, … without
// gaps), an event missing, a prev_hash that is not the previous link's
// hash (a link deleted, or inserted), or a hash that the event and the
// previous link do not give (the event or the link changed). On SQLite it
// also breaks at an event chained after one with a higher seq, which
// events committed in seq order cannot be. It then counts the events
// without a link: below the highest sealed seq (Unsealed, a possible
// insertion, which fails the verification) and above it (Pending, not
// sealed yet, which does not). The walk streams: memory does not grow
// with the log. A database error is returned as an error; a broken chain
// is a report whose OK is false. It is safe for concurrent use, also while
// events are appended and sealed.
func (s *Store) VerifyAudit(ctx context.Context) (AuditReport, error) {
	const op = "verify the audit log"
	r := AuditReport{Head: auditchain.Genesis}
	if err := s.walkChain(ctx, &r); err != nil {
		return AuditReport{}, dbError(op, err)
	}
	if err := s.countUnsealed(ctx, &r); err != nil {
		return AuditReport{}, dbError(op, err)
	}
	return r, nil
}

// walkChain fills r.Sealed, r.Head, r.Break and r.SealedLate.
func (s *Store) walkChain(ctx context.Context, r *AuditReport) error {
	rows, err := s.db.QueryContext(ctx, chainQuery+" ORDER BY c.position")
	if err != nil {
		return err
	}
	defer rows.Close()
	var position, highestSeq int64
	for rows.Next() {
		l, err := scanLinkedEvent(rows)
		if err != nil {
			return err
		}
		if b := s.checkLink(l, position, r.Head, highestSeq); b != nil {
			r.Break = b
			break
		}
		if l.link.EventSeq < highestSeq {
			r.SealedLate++
			if r.SealedLate == 1 {
				r.FirstSealedLate = AuditEventRef{Position: l.link.Position, Seq: l.link.EventSeq, EventID: l.event.ID}
			}
		}
		highestSeq = max(highestSeq, l.link.EventSeq)
		position, r.Head = l.link.Position, l.link.Hash
		r.Sealed++
	}
	return rows.Err()
}

// checkLink returns how l breaks the chain after the link at position
// whose hash is prev, when highestSeq is the highest seq chained before
// it; nil when it holds.
func (s *Store) checkLink(l linkedEvent, position int64, prev string, highestSeq int64) *AuditBreak {
	b := &AuditBreak{Position: l.link.Position, Seq: l.link.EventSeq, EventID: l.event.ID}
	switch {
	case l.link.Position != position+1:
		b.Problem = "a link is missing before this one"
		b.Expected, b.Found = fmt.Sprintf("position %d", position+1), fmt.Sprintf("position %d", l.link.Position)
		return b
	case !l.found:
		b.Problem = "the event of this link is missing"
		b.Expected, b.Found = fmt.Sprintf("the event with seq %d", l.link.EventSeq), "no such event"
		return b
	case l.link.PrevHash != prev:
		b.Problem = "prev_hash is not the hash of the previous link (a link was deleted or inserted)"
		b.Expected, b.Found = prev, l.link.PrevHash
		return b
	case s.dialect == DialectSQLite && l.link.EventSeq < highestSeq:
		b.Problem = "the event was sealed after one with a higher seq, which on SQLite means it was inserted with a past seq"
		b.Expected, b.Found = fmt.Sprintf("a seq above %d", highestSeq), fmt.Sprintf("seq %d", l.link.EventSeq)
		return b
	}
	e, err := l.event.event()
	if err != nil {
		b.Problem = "the event cannot be read: " + err.Error()
		b.Expected, b.Found = "an event", "an unreadable row"
		return b
	}
	hash, err := auditchain.Hash(prev, l.link.EventSeq, e)
	if err != nil || hash != l.link.Hash {
		b.Problem = "the hash does not match the event (the event or its link was changed)"
		b.Expected, b.Found = hash, l.link.Hash
		return b
	}
	return nil
}

// countUnsealed fills r.Pending, r.Unsealed and r.FirstUnsealed.
func (s *Store) countUnsealed(ctx context.Context, r *AuditReport) error {
	maxSeq, err := maxSealedSeq(ctx, s.db)
	if err != nil {
		return err
	}
	n, err := s.db.NewSelect().Model((*auditRow)(nil)).Where("a.seq > ?", maxSeq).Count(ctx)
	if err != nil {
		return fmt.Errorf("count pending events: %w", err)
	}
	r.Pending = int64(n)
	var unsealed []auditRow
	err = s.db.NewSelect().Model(&unsealed).Column("seq", "id").
		Where("a.seq < ?", maxSeq).
		Where("NOT EXISTS (SELECT 1 FROM audit_chain AS c WHERE c.event_seq = a.seq)").
		OrderExpr("a.seq ASC").Limit(1).Scan(ctx)
	if err != nil {
		return fmt.Errorf("find unsealed events: %w", err)
	}
	if len(unsealed) == 0 {
		return nil
	}
	r.FirstUnsealed = AuditEventRef{Seq: unsealed[0].Seq, EventID: unsealed[0].ID}
	n, err = s.db.NewSelect().Model((*auditRow)(nil)).
		Where("a.seq < ?", maxSeq).
		Where("NOT EXISTS (SELECT 1 FROM audit_chain AS c WHERE c.event_seq = a.seq)").
		Count(ctx)
	if err != nil {
		return fmt.Errorf("count unsealed events: %w", err)
	}
	r.Unsealed = int64(n)
	return nil
}

// AuditLinkHash returns the hash of the link at position, or
// auth.ErrNotFound when the chain is shorter. With [Store.VerifyAudit] it
// proves that a head kept earlier is still in the chain.
func (s *Store) AuditLinkHash(ctx context.Context, position int64) (string, error) {
	var hash string
	err := s.db.NewSelect().Model((*chainRow)(nil)).Column("hash").Where("c.position = ?", position).Scan(ctx, &hash)
	if err != nil {
		return "", dbError("read an audit link", err)
	}
	return hash, nil
}

// SealedAuditEvent is an audit event with its link of the hash chain:
// Hash is SHA-256 over PrevHash and the canonical encoding of Event and
// Seq (see internal/auditchain).
type SealedAuditEvent struct {
	Event    auth.AuditEvent
	Seq      int64
	Position int64
	PrevHash string
	Hash     string
}

// ExportAudit calls fn with each sealed event that f selects, in chain
// order, reading one row at a time: memory does not grow with the log.
// f.Since and f.Until (inclusive, exclusive) select a stretch of the
// chain, from the first to the last link whose event occurred in the
// window; every link in between is exported, even one whose event's time
// lies just outside (a late commit, or another instance's clock), so that
// the export is one unbroken piece of the chain that verifies on its own.
// f.Event, f.ActorID and f.OrgID then keep only the events that match,
// and the lines are no longer consecutive links. Events not sealed yet are
// not exported: call [Store.SealAudit] first. fn must not use the Store
// (on an in-memory SQLite database the one connection is busy); an error
// from it stops the export and is returned as it is. It is safe for
// concurrent use.
func (s *Store) ExportAudit(ctx context.Context, f auth.AuditFilter, fn func(SealedAuditEvent) error) error {
	const op = "export the audit log"
	if (f.ActorID != "" && !isUUID(f.ActorID)) || (f.OrgID != "" && !isUUID(f.OrgID)) {
		return nil // such an actor or org has no event
	}
	first, last := int64(1), int64(-1) // the whole chain
	if !f.Since.IsZero() || !f.Until.IsZero() {
		var lo, hi sql.NullInt64
		err := s.db.NewSelect().Model((*auditRow)(nil)).
			Join("JOIN audit_chain AS c ON c.event_seq = a.seq").
			ColumnExpr("MIN(c.position), MAX(c.position)").
			Apply(func(q *bun.SelectQuery) *bun.SelectQuery {
				return whereAudit(q, auth.AuditFilter{Since: f.Since, Until: f.Until})
			}).
			Scan(ctx, &lo, &hi)
		if err != nil {
			return dbError(op, err)
		}
		if !lo.Valid {
			return nil // no sealed event in the window
		}
		first, last = lo.Int64, hi.Int64
	}

	// The columns of chainQuery, for scanLinkedEvent.
	q := s.db.NewSelect().Model((*auditRow)(nil)).
		Join("JOIN audit_chain AS c ON c.event_seq = a.seq").
		ColumnExpr("c.position, c.event_seq, c.prev_hash, c.hash").
		ColumnExpr("a.seq, a.id, a.occurred_at, a.event, a.actor_id, a.org_id").
		ColumnExpr("a.target_type, a.target_id, a.ip, a.user_agent, a.metadata").
		Where("c.position >= ?", first).
		Apply(func(q *bun.SelectQuery) *bun.SelectQuery {
			return whereAudit(q, auth.AuditFilter{Event: f.Event, ActorID: f.ActorID, OrgID: f.OrgID})
		}).
		OrderExpr("c.position ASC")
	if last >= 0 {
		q = q.Where("c.position <= ?", last)
	}
	rows, err := q.Rows(ctx)
	if err != nil {
		return dbError(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		l, err := scanLinkedEvent(rows)
		if err != nil {
			return dbError(op, err)
		}
		e, err := l.event.event()
		if err != nil {
			return dbError(op, err)
		}
		err = fn(SealedAuditEvent{Event: e, Seq: l.link.EventSeq, Position: l.link.Position, PrevHash: l.link.PrevHash, Hash: l.link.Hash})
		if err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return dbError(op, err)
	}
	return nil
}

// AuditSealingLag returns how long the oldest event appended after the
// newest sealed one has been waiting to be sealed at now, or 0 when every
// such event is sealed. It is for the authd_audit_sealing_lag_seconds
// metric.
func (s *Store) AuditSealingLag(ctx context.Context, now time.Time) (time.Duration, error) {
	maxSeq, err := maxSealedSeq(ctx, s.db)
	if err != nil {
		return 0, err
	}
	var oldest dbTime
	err = s.db.NewSelect().Model((*auditRow)(nil)).ColumnExpr("MIN(a.occurred_at)").
		Where("a.seq > ?", maxSeq).Scan(ctx, &oldest)
	if err != nil {
		return 0, fmt.Errorf("audit sealing lag: %w", err)
	}
	if time.Time(oldest).IsZero() {
		return 0, nil
	}
	return max(now.Sub(time.Time(oldest)), 0), nil
}
