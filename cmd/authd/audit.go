package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/authd/auth"
	"github.com/authd/auth/internal/auditchain"
	"github.com/authd/auth/storage"
)

// sealInterval is how often runSealer seals the audit log.
const sealInterval = time.Second

// runSealer seals the audit log about once a second until ctx ends,
// logging the errors it meets. Every instance of authd runs one; on
// PostgreSQL an advisory lock lets one instance seal at a time and the
// others skip the round, and on SQLite the single writer serialises them.
func runSealer(ctx context.Context, a *app) {
	ticker := time.NewTicker(sealInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		n, err := a.store.SealAudit(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.ErrorContext(ctx, "seal the audit log", "err", err)
		case n > 0:
			a.log.DebugContext(ctx, "sealed audit events", "count", n)
		}
	}
}

const auditUsage = `usage:
  authd audit verify [--head POSITION:HASH]   verify the audit log's hash chain in the database
  authd audit verify --file F [--subset]      verify an export on its own (F "-" is stdin)
  authd audit export [--since T] [--until T] [--org SLUG|ID]
                                              seal, then write the sealed events as JSON Lines
  authd audit seal                            seal the events not sealed yet
Times are RFC 3339, such as 2026-03-14T15:09:26Z.
`

// auditCommand runs `authd audit verify|export|seal`.
func auditCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("audit needs a command\n" + auditUsage)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "verify":
		return auditVerify(ctx, rest, getenv, stdin, stdout, stderr)
	case "export":
		return auditExport(ctx, rest, getenv, stdout, stderr)
	case "seal":
		return auditSeal(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, auditUsage)
		return nil
	}
	return fmt.Errorf("unknown audit command %q\n%s", cmd, auditUsage)
}

// openAuditApp opens the app and migrates the database, so that the chain
// exists.
func openAuditApp(ctx context.Context, getenv func(string) string, stderr io.Writer) (*app, error) {
	a, err := openApp(ctx, getenv, stderr)
	if err != nil {
		return nil, err
	}
	if err := a.store.Migrate(ctx); err != nil {
		a.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return a, nil
}

// auditSeal seals the pending events once.
func auditSeal(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("audit seal takes no arguments, got %q", args)
	}
	a, err := openAuditApp(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	n, err := a.store.SealAudit(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sealed %d audit events\n", n)
	return nil
}

// auditVerify verifies the chain in the database, or an exported file.
func auditVerify(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("file", "", "verify this JSON Lines export instead of the database (- for stdin)")
	subset := fs.Bool("subset", false, "with --file: the export was filtered (--org), so its lines need not be consecutive links")
	head := fs.String("head", "", "a head printed by an earlier verify, as POSITION:HASH, that the chain must still hold")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("audit verify takes no arguments, got %q\n%s", fs.Args(), auditUsage)
	case *file != "" && *head != "":
		return errors.New("audit verify: --head checks the database; it does not go with --file")
	case *file == "" && *subset:
		return errors.New("audit verify: --subset goes with --file")
	}
	if *file != "" {
		return verifyExportFile(*file, *subset, stdin, stdout)
	}

	var keptPosition int64
	var keptHash string
	if *head != "" {
		var err error
		if keptPosition, keptHash, err = parseHead(*head); err != nil {
			return err
		}
	}
	a, err := openAuditApp(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	r, err := a.store.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	printReport(stdout, r)
	if !r.OK() {
		if r.Break != nil {
			return fmt.Errorf("the audit log does not verify: %s", r.Break.Problem)
		}
		return fmt.Errorf("the audit log does not verify: %d events below the head have no link", r.Unsealed)
	}
	if *head == "" {
		return nil
	}
	if keptPosition > r.Sealed {
		return fmt.Errorf("the kept head at position %d is past the chain's %d links: the chain was truncated", keptPosition, r.Sealed)
	}
	h, err := a.store.AuditLinkHash(ctx, keptPosition)
	if err != nil {
		return err
	}
	if h != keptHash {
		return fmt.Errorf("the link at position %d has hash %s, not the kept %s: the chain was rewritten", keptPosition, h, keptHash)
	}
	fmt.Fprintf(stdout, "the kept head (position %d) is in the chain\n", keptPosition)
	return nil
}

// parseHead reads POSITION:HASH.
func parseHead(s string) (int64, string, error) {
	p, h, ok := strings.Cut(s, ":")
	position, err := strconv.ParseInt(p, 10, 64)
	if !ok || err != nil || position <= 0 || !auditchain.ValidHash(h) {
		return 0, "", fmt.Errorf("--head %q: want POSITION:HASH, as verify prints it", s)
	}
	return position, h, nil
}

// printReport writes what VerifyAudit found.
func printReport(w io.Writer, r storage.AuditReport) {
	if b := r.Break; b != nil {
		fmt.Fprintf(w, "BROKEN at position %d (seq %d, event %s): %s\n", b.Position, b.Seq, orNone(b.EventID), b.Problem)
		fmt.Fprintf(w, "  expected: %s\n  found:    %s\n", b.Expected, b.Found)
		fmt.Fprintf(w, "%d links verified before it; the last good head: %d:%s\n", r.Sealed, r.Sealed, r.Head)
	} else {
		fmt.Fprintf(w, "audit chain verified: %d events sealed\n", r.Sealed)
		fmt.Fprintf(w, "head: %d:%s\n", r.Sealed, r.Head)
	}
	if r.Unsealed > 0 {
		fmt.Fprintf(w, "UNSEALED: %d events below the newest sealed one have no link (first: seq %d, event %s):\n",
			r.Unsealed, r.FirstUnsealed.Seq, r.FirstUnsealed.EventID)
		fmt.Fprintln(w, "  inserted behind the sealer's back, or on PostgreSQL a transaction that committed within the last second; verify again")
	}
	if r.Pending > 0 {
		fmt.Fprintf(w, "pending: %d events not sealed yet (a running authd seals them within a second)\n", r.Pending)
	}
	if r.SealedLate > 0 {
		fmt.Fprintf(w, "note: %d events were sealed after one with a higher seq (first: position %d, seq %d, event %s):\n",
			r.SealedLate, r.FirstSealedLate.Position, r.FirstSealedLate.Seq, r.FirstSealedLate.EventID)
		fmt.Fprintln(w, "  on PostgreSQL a transaction that commits late does this; so would an event inserted with a past seq before the sealer saw it")
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// auditLine is one line of an export: the audit event as API.md's object,
// with its seq and its link of the chain.
type auditLine struct {
	ID         string            `json:"id"`
	OccurredAt string            `json:"occurred_at"`
	Event      string            `json:"event"`
	ActorID    *string           `json:"actor_id"`
	OrgID      *string           `json:"org_id"`
	TargetType *string           `json:"target_type"`
	TargetID   *string           `json:"target_id"`
	IP         string            `json:"ip"`
	UserAgent  string            `json:"user_agent"`
	Metadata   map[string]string `json:"metadata"`
	Seq        int64             `json:"seq"`
	Position   int64             `json:"position"`
	PrevHash   string            `json:"prev_hash"`
	Hash       string            `json:"hash"`
}

func newAuditLine(s storage.SealedAuditEvent) auditLine {
	e := s.Event
	metadata := e.Metadata
	if metadata == nil {
		metadata = map[string]string{}
	}
	return auditLine{
		ID: e.ID, OccurredAt: auditchain.FormatTime(e.OccurredAt), Event: e.Event,
		ActorID: nullable(e.ActorID), OrgID: nullable(e.OrgID),
		TargetType: nullable(e.TargetType), TargetID: nullable(e.TargetID),
		IP: e.IP, UserAgent: e.UserAgent, Metadata: metadata,
		Seq: s.Seq, Position: s.Position, PrevHash: s.PrevHash, Hash: s.Hash,
	}
}

// event returns the audit event the line holds.
func (l auditLine) event() (auth.AuditEvent, error) {
	at, err := time.Parse(time.RFC3339Nano, l.OccurredAt)
	if err != nil {
		return auth.AuditEvent{}, fmt.Errorf("occurred_at: %w", err)
	}
	return auth.AuditEvent{
		ID: l.ID, OccurredAt: at, Event: l.Event,
		ActorID: deref(l.ActorID), OrgID: deref(l.OrgID),
		TargetType: deref(l.TargetType), TargetID: deref(l.TargetID),
		IP: l.IP, UserAgent: l.UserAgent, Metadata: l.Metadata,
	}, nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// auditExport seals the pending events, then writes the sealed events that
// the flags select to stdout as JSON Lines, one row at a time.
func auditExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	since := fs.String("since", "", "export from the first event that occurred at or after this RFC 3339 time")
	until := fs.String("until", "", "export up to the last event that occurred before this RFC 3339 time")
	org := fs.String("org", "", "export only the events of this organisation (slug or id)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("audit export takes no arguments, got %q\n%s", fs.Args(), auditUsage)
	}
	var f auth.AuditFilter
	for _, t := range []struct {
		flag, value string
		dst         *time.Time
	}{{"--since", *since, &f.Since}, {"--until", *until, &f.Until}} {
		if t.value == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, t.value)
		if err != nil {
			return fmt.Errorf("%s %q: want an RFC 3339 time, such as 2026-03-14T15:09:26Z", t.flag, t.value)
		}
		*t.dst = v
	}

	a, err := openAuditApp(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	if *org != "" {
		if f.OrgID, err = orgID(ctx, a.store, *org); err != nil {
			return err
		}
	}
	// What a running authd would seal within a second, sealed now, so that
	// the export holds every event committed before it started.
	if _, err := a.store.SealAudit(ctx); err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	err = a.store.ExportAudit(ctx, f, func(e storage.SealedAuditEvent) error {
		return enc.Encode(newAuditLine(e))
	})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// orgID returns the id of the organisation named by its slug, or the id
// itself when ref is one (an organisation deleted since is still in the
// log).
func orgID(ctx context.Context, s *storage.Store, ref string) (string, error) {
	if id := strings.ToLower(ref); isUUID(id) {
		return id, nil
	}
	o, err := s.OrgBySlug(ctx, ref)
	if errors.Is(err, auth.ErrNotFound) {
		return "", fmt.Errorf("--org %q: no organisation has this slug", ref)
	}
	if err != nil {
		return "", err
	}
	return o.ID, nil
}

// isUUID reports whether s is a UUID in canonical lower-case form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case (c < '0' || c > '9') && (c < 'a' || c > 'f'):
			return false
		}
	}
	return true
}

// maxLine is the longest export line verify --file reads.
const maxLine = 16 << 20

// verifyExportFile verifies an export on its own: each line's hash is
// recomputed from its event and its prev_hash, and each line whose
// position follows the line before must carry that line's hash as its
// prev_hash. Positions must increase; without subset they must also be
// consecutive, so that a missing line shows.
func verifyExportFile(path string, subset bool, stdin io.Reader, stdout io.Writer) error {
	in := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var (
		lines, links, gaps int64
		first, prev        auditLine
	)
	fail := func(n int64, l auditLine, problem, expected, found string) error {
		fmt.Fprintf(stdout, "BROKEN at line %d (position %d, event %s): %s\n", n, l.Position, orNone(l.ID), problem)
		if expected != "" || found != "" {
			fmt.Fprintf(stdout, "  expected: %s\n  found:    %s\n", expected, found)
		}
		return fmt.Errorf("the export %s does not verify: line %d: %s", path, n, problem)
	}
	for sc.Scan() {
		n := lines + 1
		var l auditLine
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			return fail(n, l, "not an export line: "+err.Error(), "", "")
		}
		if dec.More() {
			return fail(n, l, "more than one JSON value on the line", "", "")
		}
		e, err := l.event()
		if err != nil {
			return fail(n, l, err.Error(), "", "")
		}
		switch {
		case l.Position <= 0:
			return fail(n, l, "the position is not positive", "", "")
		case lines > 0 && l.Position <= prev.Position:
			return fail(n, l, "positions must increase", fmt.Sprintf("a position after %d", prev.Position), strconv.FormatInt(l.Position, 10))
		case lines == 0 && l.Position == 1 && l.PrevHash != auditchain.Genesis:
			return fail(n, l, "the first link does not follow the genesis hash", auditchain.Genesis, l.PrevHash)
		case lines > 0 && l.Position == prev.Position+1:
			if l.PrevHash != prev.Hash {
				return fail(n, l, "prev_hash is not the hash of the line before", prev.Hash, l.PrevHash)
			}
			links++
		case lines > 0:
			if !subset {
				return fail(n, l, fmt.Sprintf("lines are missing between positions %d and %d (a filtered export needs --subset)", prev.Position, l.Position),
					fmt.Sprintf("position %d", prev.Position+1), fmt.Sprintf("position %d", l.Position))
			}
			gaps++
		}
		h, err := auditchain.Hash(l.PrevHash, l.Seq, e)
		if err != nil {
			return fail(n, l, "prev_hash: "+err.Error(), "", "")
		}
		if h != l.Hash {
			return fail(n, l, "the hash does not match the line's event and prev_hash (the line was changed)", h, l.Hash)
		}
		if lines == 0 {
			first = l
		}
		prev = l
		lines++
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if lines == 0 {
		fmt.Fprintln(stdout, "the export is empty: nothing to verify")
		return nil
	}
	fmt.Fprintf(stdout, "export verified: %d lines, positions %d to %d\n", lines, first.Position, prev.Position)
	fmt.Fprintf(stdout, "first prev_hash: %d:%s\n", first.Position-1, first.PrevHash)
	fmt.Fprintf(stdout, "head: %d:%s\n", prev.Position, prev.Hash)
	if subset {
		fmt.Fprintf(stdout, "subset: each line's own hash checked; %d lines linked to the line before, %d gaps where the chain's other links were left out\n", links, gaps)
	} else {
		fmt.Fprintln(stdout, "every line is linked to the line before it")
	}
	return nil
}
