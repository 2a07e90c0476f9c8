-- The audit log's hash chain, and indexes that keep a filtered page of the
-- log fast at any size. Times are TEXT in the fixed-width UTC form of
-- 0001_initial.
--
-- audit_chain holds one link per sealed event, in the order the sealer
-- sealed them: position 1, 2, 3, … with no gaps (the sealer, one at a
-- time, gives each link the position after the last). A link's hash is
-- SHA-256 over prev_hash and the event's canonical encoding (see
-- internal/auditchain); prev_hash is the hash of the link before, or 64
-- zeros for the first. Hashes are 64 lower-case hex digits. The events
-- themselves are never updated: sealing only appends here. Like
-- audit_events, the chain is append-only whoever connects.

CREATE TABLE audit_chain (
    position  INTEGER PRIMARY KEY NOT NULL CHECK (position > 0),
    event_seq INTEGER NOT NULL UNIQUE REFERENCES audit_events (seq),
    prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
    hash      TEXT NOT NULL CHECK (length(hash) = 64),
    sealed_at TEXT NOT NULL
);

CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
BEGIN
    SELECT RAISE(ABORT, 'audit_chain is append-only: UPDATE is not allowed');
END;

CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
BEGIN
    SELECT RAISE(ABORT, 'audit_chain is append-only: DELETE is not allowed');
END;

-- Pages of the log are newest first by (occurred_at, seq), and each filter
-- has an index in that order, so a page with a time window reads only the
-- rows it returns: (occurred_at, seq) for no filter or a window alone, and
-- (column, occurred_at, seq) for an event, an actor or an organisation,
-- with or without a window. They replace the (column, seq) indexes, which
-- could not bound a window, and the plain occurred_at index. Most events
-- (logins) belong to no organisation, so the org index holds only those
-- that do: one index fewer to write on the login path, and org_id = ?
-- implies org_id IS NOT NULL, so the index still serves the filter.
DROP INDEX audit_events_event_seq_idx;
DROP INDEX audit_events_actor_id_seq_idx;
DROP INDEX audit_events_org_id_seq_idx;
DROP INDEX audit_events_occurred_at_idx;

CREATE INDEX audit_events_occurred_at_seq_idx ON audit_events (occurred_at, seq);
CREATE INDEX audit_events_event_occurred_at_seq_idx ON audit_events (event, occurred_at, seq);
CREATE INDEX audit_events_actor_id_occurred_at_seq_idx ON audit_events (actor_id, occurred_at, seq);
CREATE INDEX audit_events_org_id_occurred_at_seq_idx ON audit_events (org_id, occurred_at, seq) WHERE org_id IS NOT NULL;
