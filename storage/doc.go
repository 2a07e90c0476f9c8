// Package storage is the [auth.Store] on PostgreSQL and SQLite, built on bun.
//
// [Open] connects to a database URL (postgres://…, postgresql://… or
// sqlite:PATH, where PATH may be :memory:) and [New] wraps a bun handle the
// caller already opened. Neither changes the schema: [Store.Migrate] applies
// the embedded migrations of the dialect (migrations/postgres and
// migrations/sqlite), once each, recorded in the schema_migrations table.
//
// Every query takes a bun.IDB, so the same code runs on the database and
// inside [Store.WithinTx]. Driver errors are translated in one place: a
// missing row is [auth.ErrNotFound]; a taken organisation slug is
// [auth.ErrSlugTaken], a second membership [auth.ErrAlreadyMember], and
// any other unique or foreign-key violation [auth.ErrConflict], wrapped
// with what was being done but never the SQL.
//
// Every list is ordered oldest first by a time and an ID, with an index
// behind the order, and paged by an opaque cursor that names the last item
// of the previous page; the audit log is listed newest first by
// (occurred_at, seq), with an opaque cursor too. A page holds 50 items unless asked for another number,
// and at most 200.
//
// # Schema
//
// IDs are UUIDs chosen by the caller, in canonical lower-case form (uuid
// columns on PostgreSQL, TEXT on SQLite): a lookup by a string that is not
// such a UUID finds nothing, and writing one is an error. Times are stored in UTC at microsecond
// precision: timestamptz on PostgreSQL, and on SQLite TEXT of the fixed-width
// form 2006-01-02T15:04:05.000000Z, so that comparing the text compares the
// instants. A zero time is NULL, and so is an empty actor or org ID of an
// audit event and the empty user ID of a one-time token that belongs to
// nobody yet (an SSO state). The audit_events table is append-only in the
// database itself: triggers refuse UPDATE and DELETE (and TRUNCATE on
// PostgreSQL).
//
// # SQLite
//
// [Open] sets busy_timeout (5 s), foreign_keys, WAL journaling, synchronous
// NORMAL, and begins transactions with BEGIN IMMEDIATE, so concurrent writers
// wait for each other instead of failing with "database is locked". A
// transaction holds the one write lock until it ends, so inside
// [Store.WithinTx] use only the Store passed to fn: a write through another
// Store waits for the transaction, and fails after the busy timeout. An
// in-memory database lives in one connection, so its pool is limited to one,
// and there even a read through another Store waits. A bun handle passed to
// [New] is used as it is; its DSN should set the same options.
package storage
