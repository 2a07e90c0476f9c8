package storage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/auth"
	"github.com/authd/auth/internal/auditchain"
	"github.com/authd/auth/storage"
)

// chainStart is when the events of these tests occur.
var chainStart = time.Date(2031, time.March, 4, 5, 6, 7, 891234000, time.UTC)

// auditEvent returns an event i minutes after chainStart with every field
// set, so that a change to any of them shows.
func auditEvent(i int) auth.AuditEvent {
	return auth.AuditEvent{
		ID: newID(), OccurredAt: chainStart.Add(time.Duration(i) * time.Minute), Event: auth.EventLogin,
		ActorID: newID(), OrgID: newID(), TargetType: auth.TargetSession, TargetID: newID(),
		IP: "203.0.113.7", UserAgent: "chaintest/1.0", Metadata: map[string]string{"n": fmt.Sprint(i), "via": "password"},
	}
}

// appendAudit appends the events in order.
func appendAudit(t *testing.T, s *storage.Store, events ...auth.AuditEvent) {
	t.Helper()
	for _, e := range events {
		if err := s.AppendAudit(t.Context(), e); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
	}
}

// seal seals every pending event and checks that there were want.
func seal(t *testing.T, s *storage.Store, want int) {
	t.Helper()
	n, err := s.SealAudit(t.Context())
	if err != nil {
		t.Fatalf("SealAudit: %v", err)
	}
	if n != want {
		t.Fatalf("SealAudit sealed %d events, want %d", n, want)
	}
}

func verify(t *testing.T, s *storage.Store) storage.AuditReport {
	t.Helper()
	r, err := s.VerifyAudit(t.Context())
	if err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
	return r
}

// chainOf returns the hashes of the links of events, sealed in this order
// with these seqs.
func chainOf(t *testing.T, seqs []int64, events []auth.AuditEvent) []string {
	t.Helper()
	prev := auditchain.Genesis
	var hashes []string
	for i, e := range events {
		h, err := auditchain.Hash(prev, seqs[i], e)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, h)
		prev = h
	}
	return hashes
}

func TestSealingChainsEveryEventOnceAndVerifies(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := openMigrated(t, d.url(t))
			if r := verify(t, s); !r.OK() || r.Sealed != 0 || r.Head != auditchain.Genesis || r.Pending != 0 {
				t.Fatalf("an empty log: %+v, want OK with the genesis head", r)
			}

			var events []auth.AuditEvent
			for i := range 5 {
				events = append(events, auditEvent(i))
			}
			// Nanoseconds, another zone and no metadata: the chain hashes
			// what the database keeps.
			events[1].OccurredAt = events[1].OccurredAt.Add(789 * time.Nanosecond).In(time.FixedZone("UTC-8", -8*60*60))
			events[2].ActorID, events[2].OrgID, events[2].Metadata = "", "", nil
			appendAudit(t, s, events...)
			if r := verify(t, s); !r.OK() || r.Sealed != 0 || r.Pending != 5 {
				t.Fatalf("before sealing: %+v, want OK with 5 pending", r)
			}

			seal(t, s, 5)
			seal(t, s, 0)
			want := chainOf(t, []int64{1, 2, 3, 4, 5}, events)
			r := verify(t, s)
			if !r.OK() || r.Sealed != 5 || r.Head != want[4] || r.Pending != 0 || r.Unsealed != 0 || r.SealedLate != 0 {
				t.Fatalf("after sealing: %+v, want OK, 5 sealed, head %s", r, want[4])
			}
			for i, h := range want {
				if got, err := s.AuditLinkHash(t.Context(), int64(i+1)); err != nil || got != h {
					t.Errorf("AuditLinkHash(%d) = %s, %v; want %s", i+1, got, err, h)
				}
			}
			if _, err := s.AuditLinkHash(t.Context(), 6); !errors.Is(err, auth.ErrNotFound) {
				t.Errorf("AuditLinkHash past the head: %v, want ErrNotFound", err)
			}

			more := []auth.AuditEvent{auditEvent(5), auditEvent(6)}
			appendAudit(t, s, more...)
			if r := verify(t, s); !r.OK() || r.Sealed != 5 || r.Pending != 2 {
				t.Fatalf("with two more appended: %+v, want OK, 5 sealed, 2 pending", r)
			}
			seal(t, s, 2)
			want = chainOf(t, []int64{1, 2, 3, 4, 5, 6, 7}, append(events, more...))
			if r := verify(t, s); !r.OK() || r.Sealed != 7 || r.Head != want[6] {
				t.Fatalf("after sealing again: %+v, want OK, 7 sealed, head %s", r, want[6])
			}
		})
	}
}

func TestSealingCoversALogLargerThanOneBatch(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := openMigrated(t, d.url(t))
			const n = 2500
			err := s.WithinTx(t.Context(), func(ctx context.Context, tx auth.Store) error {
				for i := range n {
					if err := tx.AppendAudit(ctx, auditEvent(i)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			seal(t, s, n)
			if r := verify(t, s); !r.OK() || r.Sealed != n {
				t.Fatalf("%+v, want OK with %d sealed", r, n)
			}
		})
	}
}

func TestTheChainTableRefusesUpdateAndDelete(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := openMigrated(t, d.url(t))
			appendAudit(t, s, auditEvent(0))
			seal(t, s, 1)
			statements := []string{
				"UPDATE audit_chain SET hash = prev_hash",
				"UPDATE audit_chain SET sealed_at = sealed_at WHERE position = 1",
				"DELETE FROM audit_chain",
				"DELETE FROM audit_chain WHERE position = 1",
			}
			if s.Dialect() == storage.DialectPostgres {
				statements = append(statements, "TRUNCATE audit_chain", "TRUNCATE audit_chain CASCADE", "TRUNCATE audit_events CASCADE")
			}
			for _, stmt := range statements {
				if _, err := s.DB().ExecContext(t.Context(), stmt); err == nil {
					t.Errorf("%s: succeeded", stmt)
				} else if !strings.Contains(err.Error(), "append-only") {
					t.Errorf("%s: %v, want the append-only error", stmt, err)
				}
			}
			if r := verify(t, s); !r.OK() || r.Sealed != 1 {
				t.Errorf("after the refused statements: %+v, want the one link intact", r)
			}
		})
	}
}

// tamperedLog is a sealed log of six events, with seqs 1, 2, 3, 5, 6, 7
// (4 was skipped, as a rolled-back insert leaves it on PostgreSQL) at
// positions 1 to 6, whose protecting triggers and foreign key are gone.
type tamperedLog struct {
	s      *storage.Store
	events []auth.AuditEvent // in seq order
	seqs   []int64
	hashes []string // of positions 1 to 6
}

func newTamperedLog(t *testing.T, url string) *tamperedLog {
	t.Helper()
	l := &tamperedLog{s: openMigrated(t, url), seqs: []int64{1, 2, 3, 5, 6, 7}}
	for i := range 6 {
		l.events = append(l.events, auditEvent(i))
	}
	appendAudit(t, l.s, l.events[:3]...)
	l.skipSeq(t)
	appendAudit(t, l.s, l.events[3:]...)
	seal(t, l.s, 6)
	l.hashes = chainOf(t, l.seqs, l.events)
	if r := verify(t, l.s); !r.OK() || r.Head != l.hashes[5] {
		t.Fatalf("the untouched log: %+v", r)
	}

	// What an intruder with the owner's rights does first.
	drop := []string{
		"DROP TRIGGER audit_events_no_update", "DROP TRIGGER audit_events_no_delete",
		"DROP TRIGGER audit_chain_no_update", "DROP TRIGGER audit_chain_no_delete",
	}
	if l.s.Dialect() == storage.DialectPostgres {
		drop = []string{
			"DROP TRIGGER audit_events_no_update_or_delete ON audit_events",
			"DROP TRIGGER audit_chain_no_update_or_delete ON audit_chain",
			"ALTER TABLE audit_chain DROP CONSTRAINT audit_chain_event_seq_fkey",
		}
	}
	for _, stmt := range drop {
		l.exec(t, stmt)
	}
	return l
}

// skipSeq makes the next event's seq one higher than it would be.
func (l *tamperedLog) skipSeq(t *testing.T) {
	t.Helper()
	if l.s.Dialect() == storage.DialectPostgres {
		l.exec(t, "SELECT nextval(pg_get_serial_sequence('audit_events', 'seq'))")
		return
	}
	l.exec(t, "UPDATE sqlite_sequence SET seq = seq + 1 WHERE name = 'audit_events'")
}

// exec runs a statement as the intruder: on SQLite with foreign keys off,
// on PostgreSQL after the foreign key was dropped.
func (l *tamperedLog) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	ctx := t.Context()
	conn, err := l.s.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if l.s.Dialect() == storage.DialectSQLite {
		if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
			t.Fatal(err)
		}
		defer conn.ExecContext(context.Background(), "PRAGMA foreign_keys = ON")
	}
	if _, err := conn.ExecContext(ctx, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// renumber moves the links from position `from` on by delta, as an
// intruder who hides a deleted or inserted link would.
func (l *tamperedLog) renumber(t *testing.T, from, delta int64) {
	t.Helper()
	const aside = 1_000_000
	l.exec(t, "UPDATE audit_chain SET position = position + ? WHERE position >= ?", aside, from)
	l.exec(t, "UPDATE audit_chain SET position = position - ? WHERE position >= ?", aside-delta, aside)
}

// at returns the time in the form the database keeps.
func at(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

func TestVerifyFindsEveryKindOfTampering(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			tests := []struct {
				name   string
				tamper func(t *testing.T, l *tamperedLog)
				want   func(l *tamperedLog) storage.AuditBreak
				// sealed is how many links verify before the break:
				// those before its position when zero.
				sealed int64
			}{
				{
					name: "an event's ip was changed",
					tamper: func(t *testing.T, l *tamperedLog) {
						l.exec(t, "UPDATE audit_events SET ip = '198.51.100.1' WHERE seq = 3")
					},
					want: func(l *tamperedLog) storage.AuditBreak {
						e := l.events[2]
						e.IP = "198.51.100.1"
						return storage.AuditBreak{Position: 3, Seq: 3, EventID: e.ID,
							Expected: mustHash(l.hashes[1], 3, e), Found: l.hashes[2]}
					},
				},
				{
					name: "an event's time was moved",
					tamper: func(t *testing.T, l *tamperedLog) {
						l.exec(t, "UPDATE audit_events SET occurred_at = ? WHERE seq = 5", at(chainStart.Add(-time.Hour)))
					},
					want: func(l *tamperedLog) storage.AuditBreak {
						e := l.events[3]
						e.OccurredAt = chainStart.Add(-time.Hour)
						return storage.AuditBreak{Position: 4, Seq: 5, EventID: e.ID,
							Expected: mustHash(l.hashes[2], 5, e), Found: l.hashes[3]}
					},
				},
				{
					name: "an event's metadata was changed",
					tamper: func(t *testing.T, l *tamperedLog) {
						l.exec(t, `UPDATE audit_events SET metadata = '{"n": "0", "via": "sso"}' WHERE seq = 1`)
					},
					want: func(l *tamperedLog) storage.AuditBreak {
						e := l.events[0]
						e.Metadata = map[string]string{"n": "0", "via": "sso"}
						return storage.AuditBreak{Position: 1, Seq: 1, EventID: e.ID,
							Expected: mustHash(auditchain.Genesis, 1, e), Found: l.hashes[0]}
					},
				},
				{
					name: "an event's actor was removed",
					tamper: func(t *testing.T, l *tamperedLog) {
						l.exec(t, "UPDATE audit_events SET actor_id = NULL WHERE seq = 7")
					},
					want: func(l *tamperedLog) storage.AuditBreak {
						e := l.events[5]
						e.ActorID = ""
						return storage.AuditBreak{Position: 6, Seq: 7, EventID: e.ID,
							Expected: mustHash(l.hashes[4], 7, e), Found: l.hashes[5]}
					},
				},
				{
					name: "a link's hash was changed",
					tamper: func(t *testing.T, l *tamperedLog) {
						l.exec(t, "UPDATE audit_chain SET hash = ? WHERE position = 2", strings.Repeat("ab", 32))
					},
					want: func(l *tamperedLog) storage.AuditBreak {
						return storage.AuditBreak{Position: 2, Seq: 2, EventID: l.events[1].ID,
							Expected: l.hashes[1], Found: strings.Repeat("ab", 32)}
					},
				},
				{
					name: "a link's hash and the next link's prev_hash were changed",
					tamper: func(t *testing.T, l *tamperedLog) {
						l.exec(t, "UPDATE audit_chain SET hash = ? WHERE position = 2", strings.Repeat("ab", 32))
						l.exec(t, "UPDATE audit_chain SET prev_hash = ? WHERE position = 3", strings.Repeat("ab", 32))
					},
					want: func(l *tamperedLog) storage.AuditBreak {
						return storage.AuditBreak{Position: 2, Seq: 2, EventID: l.events[1].ID,
							Expected: l.hashes[1], Found: strings.Repeat("ab", 32)}
					},
				},
				{
					name:   "an event was deleted",
					tamper: func(t *testing.T, l *tamperedLog) { l.exec(t, "DELETE FROM audit_events WHERE seq = 2") },
					want: func(l *tamperedLog) storage.AuditBreak {
						return storage.AuditBreak{Position: 2, Seq: 2, Expected: "the event with seq 2", Found: "no such event"}
					},
				},
				{
					name:   "a link was deleted",
					tamper: func(t *testing.T, l *tamperedLog) { l.exec(t, "DELETE FROM audit_chain WHERE position = 3") },
					want: func(l *tamperedLog) storage.AuditBreak {
						return storage.AuditBreak{Position: 4, Seq: 5, EventID: l.events[3].ID, Expected: "position 3", Found: "position 4"}
					},
					sealed: 2,
				},
				{
					name: "a link was deleted and the rest renumbered",
					tamper: func(t *testing.T, l *tamperedLog) {
						l.exec(t, "DELETE FROM audit_chain WHERE position = 3")
						l.renumber(t, 4, -1)
					},
					want: func(l *tamperedLog) storage.AuditBreak {
						return storage.AuditBreak{Position: 3, Seq: 5, EventID: l.events[3].ID, Expected: l.hashes[1], Found: l.hashes[2]}
					},
				},
				{
					name: "an event and its link were deleted and the rest renumbered",
					tamper: func(t *testing.T, l *tamperedLog) {
						l.exec(t, "DELETE FROM audit_chain WHERE position = 2")
						l.exec(t, "DELETE FROM audit_events WHERE seq = 2")
						l.renumber(t, 3, -1)
					},
					want: func(l *tamperedLog) storage.AuditBreak {
						return storage.AuditBreak{Position: 2, Seq: 3, EventID: l.events[2].ID, Expected: l.hashes[0], Found: l.hashes[1]}
					},
				},
				{
					name: "a well-formed link was inserted in the middle",
					tamper: func(t *testing.T, l *tamperedLog) {
						fake := auditEvent(10)
						appendAudit(t, l.s, fake) // seq 8
						l.renumber(t, 4, 1)
						l.exec(t, "INSERT INTO audit_chain (position, event_seq, prev_hash, hash, sealed_at) VALUES (4, 8, ?, ?, ?)",
							l.hashes[2], mustHash(l.hashes[2], 8, fake), at(time.Now()))
						l.hashes = append(l.hashes, mustHash(l.hashes[2], 8, fake)) // [6]: the fake link's hash
					},
					want: func(l *tamperedLog) storage.AuditBreak {
						return storage.AuditBreak{Position: 5, Seq: 5, EventID: l.events[3].ID, Expected: l.hashes[6], Found: l.hashes[2]}
					},
				},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					l := newTamperedLog(t, d.url(t))
					tt.tamper(t, l)
					r := verify(t, l.s)
					if r.OK() || r.Break == nil {
						t.Fatalf("VerifyAudit = %+v, want a break", r)
					}
					got, want := *r.Break, tt.want(l)
					want.Problem = got.Problem
					if got != want {
						t.Errorf("break\n got  %+v\n want %+v", got, want)
					}
					if got.Problem == "" {
						t.Error("the break does not say what is wrong")
					}
					sealed := tt.sealed
					if sealed == 0 {
						sealed = want.Position - 1
					}
					if r.Sealed != sealed {
						t.Errorf("Sealed = %d, want the %d links before the break", r.Sealed, sealed)
					}
				})
			}
		})
	}
}

func mustHash(prev string, seq int64, e auth.AuditEvent) string {
	h, err := auditchain.Hash(prev, seq, e)
	if err != nil {
		panic(err)
	}
	return h
}

func TestVerifyFindsAnEventInsertedWithAPastSeq(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			l := newTamperedLog(t, d.url(t))
			backdated := auditEvent(-60)
			l.exec(t, `INSERT INTO audit_events (seq, id, occurred_at, event, actor_id, ip, metadata) VALUES (4, ?, ?, ?, ?, '', '{}')`,
				backdated.ID, at(backdated.OccurredAt), backdated.Event, backdated.ActorID)

			// Before the sealer sees it, it is an unsealed event below the
			// highest sealed seq.
			r := verify(t, l.s)
			if r.OK() || r.Break != nil || r.Unsealed != 1 || r.FirstUnsealed != (storage.AuditEventRef{Seq: 4, EventID: backdated.ID}) {
				t.Fatalf("before sealing: %+v, want not OK with the one unsealed event", r)
			}

			// Once sealed, it is chained at the end, after higher seqs.
			seal(t, l.s, 1)
			r = verify(t, l.s)
			late := storage.AuditEventRef{Position: 7, Seq: 4, EventID: backdated.ID}
			switch l.s.Dialect() {
			case storage.DialectSQLite:
				want := storage.AuditBreak{Position: 7, Seq: 4, EventID: backdated.ID, Expected: "a seq above 7", Found: "seq 4"}
				if r.OK() || r.Break == nil {
					t.Fatalf("after sealing: %+v, want a break", r)
				}
				want.Problem = r.Break.Problem
				if *r.Break != want {
					t.Errorf("break\n got  %+v\n want %+v", *r.Break, want)
				}
			case storage.DialectPostgres:
				// A transaction that commits late looks the same: reported,
				// not failed.
				if !r.OK() || r.SealedLate != 1 || r.FirstSealedLate != late {
					t.Errorf("after sealing: %+v, want OK with %+v sealed late", r, late)
				}
			}
		})
	}
}

func TestAKeptHeadShowsATruncatedTail(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			l := newTamperedLog(t, d.url(t))
			l.exec(t, "DELETE FROM audit_chain WHERE position >= 5")
			l.exec(t, "DELETE FROM audit_events WHERE seq >= 6")
			// The rest of the chain holds …
			r := verify(t, l.s)
			if !r.OK() || r.Sealed != 4 || r.Head != l.hashes[3] {
				t.Fatalf("%+v, want the 4 links left intact", r)
			}
			// … but the head kept before is gone.
			if _, err := l.s.AuditLinkHash(t.Context(), 6); !errors.Is(err, auth.ErrNotFound) {
				t.Errorf("AuditLinkHash of the kept head: %v, want ErrNotFound", err)
			}
			// New events take its place with other hashes.
			appendAudit(t, l.s, auditEvent(20), auditEvent(21))
			seal(t, l.s, 2)
			if h, err := l.s.AuditLinkHash(t.Context(), 6); err != nil || h == l.hashes[5] {
				t.Errorf("AuditLinkHash(6) = %s, %v; want another hash than the kept %s", h, err, l.hashes[5])
			}
		})
	}
}

func TestConcurrentAppendsWhileTwoStoresSeal(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			url := d.url(t)
			a, b := openMigrated(t, url), openStore(t, url)
			const writers, perWriter = 8, 40
			var writing sync.WaitGroup
			errs := make(chan error, writers+2)
			for w := range writers {
				writing.Go(func() {
					for i := range perWriter {
						e := auditEvent(w*perWriter + i)
						if err := a.AppendAudit(t.Context(), e); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			// The server seals once a second. On SQLite, sealers that
			// took turns at the one write lock without a pause would
			// starve the writers, whose busy handler retries at growing
			// intervals (up to 100 ms) and gives up after 5 s.
			pause := time.Millisecond
			if a.Dialect() == storage.DialectSQLite {
				pause = 50 * time.Millisecond
			}
			var done atomic.Bool
			var sealing sync.WaitGroup
			var sealed atomic.Int64
			for _, s := range []*storage.Store{a, b} {
				sealing.Go(func() {
					for !done.Load() {
						n, err := s.SealAudit(t.Context())
						if err != nil {
							errs <- err
							return
						}
						sealed.Add(int64(n))
						time.Sleep(pause)
					}
				})
			}
			writing.Wait()
			done.Store(true)
			sealing.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			n, err := a.SealAudit(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			total := int64(writers * perWriter)
			if got := sealed.Load() + int64(n); got != total {
				t.Errorf("the sealers sealed %d events in all, want %d", got, total)
			}
			r := verify(t, b)
			if !r.OK() || r.Sealed != total || r.Pending != 0 {
				t.Fatalf("%+v, want OK with %d sealed", r, total)
			}
			var distinct int64
			if err := a.DB().QueryRowContext(t.Context(), "SELECT COUNT(DISTINCT event_seq) FROM audit_chain").Scan(&distinct); err != nil {
				t.Fatal(err)
			}
			if distinct != total {
				t.Errorf("%d distinct events in the chain, want %d", distinct, total)
			}
		})
	}
}

func TestExportStreamsAStretchOfTheChain(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := openMigrated(t, d.url(t))
			org := newID()
			var events []auth.AuditEvent
			for i := range 6 {
				e := auditEvent(i)
				if i%2 == 0 {
					e.OrgID = org
				}
				events = append(events, e)
			}
			// The fourth event's clock was an hour behind.
			events[3].OccurredAt = chainStart.Add(-time.Hour)
			appendAudit(t, s, events...)
			seal(t, s, 6)
			appendAudit(t, s, auditEvent(7)) // not sealed: not exported
			hashes := chainOf(t, []int64{1, 2, 3, 4, 5, 6}, events)

			minute := func(i int) time.Time { return chainStart.Add(time.Duration(i) * time.Minute) }
			tests := []struct {
				name      string
				filter    auth.AuditFilter
				positions []int64
			}{
				{"everything", auth.AuditFilter{}, []int64{1, 2, 3, 4, 5, 6}},
				{"a window, with what was sealed inside it", auth.AuditFilter{Since: minute(1), Until: minute(5)}, []int64{2, 3, 4, 5}},
				{"a window from the start", auth.AuditFilter{Until: minute(2)}, []int64{1, 2, 3, 4}},
				{"a window to the end", auth.AuditFilter{Since: minute(5)}, []int64{6}},
				{"an empty window", auth.AuditFilter{Since: minute(60)}, nil},
				{"one organisation", auth.AuditFilter{OrgID: org}, []int64{1, 3, 5}},
				{"one organisation in a window", auth.AuditFilter{OrgID: org, Since: minute(1), Until: minute(5)}, []int64{3, 5}},
				{"an org id that is not a UUID", auth.AuditFilter{OrgID: "acme"}, nil},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					var positions []int64
					err := s.ExportAudit(t.Context(), tt.filter, func(e storage.SealedAuditEvent) error {
						i := e.Position - 1
						prev := auditchain.Genesis
						if i > 0 {
							prev = hashes[i-1]
						}
						if e.Seq != e.Position || e.Event.ID != events[i].ID || e.PrevHash != prev || e.Hash != hashes[i] {
							t.Errorf("position %d: %+v, want event %s with hash %s after %s", e.Position, e, events[i].ID, hashes[i], prev)
						}
						if h := mustHash(e.PrevHash, e.Seq, e.Event); h != e.Hash {
							t.Errorf("position %d: the exported event hashes to %s, not %s", e.Position, h, e.Hash)
						}
						positions = append(positions, e.Position)
						return nil
					})
					if err != nil {
						t.Fatalf("ExportAudit: %v", err)
					}
					if !slices.Equal(positions, tt.positions) {
						t.Errorf("exported positions %v, want %v", positions, tt.positions)
					}
				})
			}

			stop := errors.New("stop")
			calls := 0
			err := s.ExportAudit(t.Context(), auth.AuditFilter{}, func(storage.SealedAuditEvent) error { calls++; return stop })
			if !errors.Is(err, stop) || calls != 1 {
				t.Errorf("ExportAudit with fn failing: %v after %d calls, want fn's error after 1", err, calls)
			}
		})
	}
}

func TestAnEventFarBelowTheHeadIsLeftForVerifyToReport(t *testing.T) {
	// SQLite only: the sealer's code is the same on both, and SQLite
	// appends ten thousand events in a moment.
	l := &tamperedLog{s: openMigrated(t, sqliteURL(t))}
	appendAudit(t, l.s, auditEvent(0))
	l.skipSeq(t)
	err := l.s.WithinTx(t.Context(), func(ctx context.Context, tx auth.Store) error {
		for i := range 10_005 {
			if err := tx.AppendAudit(ctx, auditEvent(i+1)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	seal(t, l.s, 10_006)
	late := auditEvent(-1)
	l.exec(t, `INSERT INTO audit_events (seq, id, occurred_at, event, ip, metadata) VALUES (2, ?, ?, ?, '', '{}')`,
		late.ID, at(late.OccurredAt), late.Event)
	seal(t, l.s, 0)
	r := verify(t, l.s)
	if r.OK() || r.Unsealed != 1 || r.FirstUnsealed.EventID != late.ID || r.Sealed != 10_006 {
		t.Errorf("%+v, want not OK with the one event left unsealed", r)
	}
}
