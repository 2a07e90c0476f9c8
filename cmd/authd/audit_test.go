package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authd/auth"
	"github.com/authd/auth/internal/testenv"
	"github.com/authd/auth/storage"
)

// auditDatabases names a fresh database of each dialect.
var auditDatabases = []struct {
	name string
	url  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "audit.db") }},
	{"postgres", func(t *testing.T) string { return testenv.PostgresURL(t) }},
}

// runAudit runs `authd audit args…` and returns what it wrote to stdout.
func runAudit(t *testing.T, vars map[string]string, stdin io.Reader, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(t.Context(), append([]string{"audit"}, args...), envOf(vars), stdin, &out, io.Discard)
	return out.String(), err
}

// mustRunAudit is runAudit that fails the test on an error.
func mustRunAudit(t *testing.T, vars map[string]string, args ...string) string {
	t.Helper()
	out, err := runAudit(t, vars, nil, args...)
	if err != nil {
		t.Fatalf("authd audit %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// auditFixture is a migrated database with an organisation "acme" and six
// events, one a minute from at, the even ones of acme.
type auditFixture struct {
	vars   map[string]string
	store  *storage.Store
	org    auth.Org
	at     time.Time
	events []auth.AuditEvent
}

func newAuditFixture(t *testing.T, url string) *auditFixture {
	t.Helper()
	t.Chdir(t.TempDir())
	f := &auditFixture{vars: map[string]string{"DATABASE_URL": url}, at: time.Date(2031, 3, 4, 5, 6, 7, 891234000, time.UTC)}
	mustRunAudit(t, f.vars, "seal") // migrates
	s, err := storage.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f.store = s
	owner := auth.User{ID: newUUID(), Email: "owner@example.com", Role: auth.RoleEndUser, IsActive: true, CreatedAt: f.at, UpdatedAt: f.at}
	f.org = auth.Org{ID: newUUID(), Name: "Acme", Slug: "acme", OwnerID: owner.ID, CreatedAt: f.at, UpdatedAt: f.at}
	if err := s.CreateUser(t.Context(), owner); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateOrg(t.Context(), f.org); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		e := auth.AuditEvent{
			ID: newUUID(), OccurredAt: f.at.Add(time.Duration(i) * time.Minute), Event: auth.EventLogin,
			ActorID: owner.ID, TargetType: auth.TargetSession, TargetID: newUUID(),
			IP: "203.0.113.7", UserAgent: `curl/8.0 "quoted" <tag> & ünïcode`, Metadata: map[string]string{"n": fmt.Sprint(i)},
		}
		if i%2 == 0 {
			e.OrgID = f.org.ID
		}
		if i == 3 {
			e.ActorID, e.TargetType, e.TargetID, e.Metadata = "", "", "", nil
		}
		f.events = append(f.events, e)
		if err := s.AppendAudit(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *auditFixture) minute(i int) string {
	return f.at.Add(time.Duration(i) * time.Minute).Format(time.RFC3339Nano)
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// writeFile writes s to a new file and returns its path.
func writeFile(t *testing.T, s string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "export.jsonl")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// headOf returns the "POSITION:HASH" that verify printed after "head: ".
func headOf(t *testing.T, out string) string {
	t.Helper()
	for line := range strings.Lines(out) {
		if h, ok := strings.CutPrefix(line, "head: "); ok {
			return strings.TrimSpace(h)
		}
	}
	t.Fatalf("no head in %q", out)
	return ""
}

func TestAuditExportRoundTripsThroughVerify(t *testing.T) {
	for _, db := range auditDatabases {
		t.Run(db.name, func(t *testing.T) {
			f := newAuditFixture(t, db.url(t))

			// Not sealed yet: the chain is empty and the events pending.
			out := mustRunAudit(t, f.vars, "verify")
			if !strings.Contains(out, "0 events sealed") || !strings.Contains(out, "pending: 6 events") {
				t.Errorf("verify before sealing:\n%s", out)
			}

			// export seals first.
			export := mustRunAudit(t, f.vars, "export")
			lines := strings.Split(strings.TrimSuffix(export, "\n"), "\n")
			if len(lines) != 6 {
				t.Fatalf("export has %d lines, want 6:\n%s", len(lines), export)
			}
			var first map[string]any
			if err := json.Unmarshal([]byte(lines[3]), &first); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"id": f.events[3].ID, "occurred_at": "2031-03-04T05:09:07.891234Z", "event": "auth.login",
				"actor_id": nil, "org_id": nil, "target_type": nil, "target_id": nil,
				"ip": "203.0.113.7", "user_agent": `curl/8.0 "quoted" <tag> & ünïcode`, "metadata": map[string]any{},
				"seq": 4.0, "position": 4.0,
			}
			for k, v := range want {
				if fmt.Sprint(first[k]) != fmt.Sprint(v) {
					t.Errorf("line 4: %s = %v, want %v", k, first[k], v)
				}
			}
			if len(first) != len(want)+2 || len(fmt.Sprint(first["hash"])) != 64 || len(fmt.Sprint(first["prev_hash"])) != 64 {
				t.Errorf("line 4 = %v, want the event, seq, position, prev_hash and hash", first)
			}

			verified := mustRunAudit(t, f.vars, "verify")
			head := headOf(t, verified)
			if !strings.HasPrefix(head, "6:") || strings.Contains(verified, "pending") {
				t.Errorf("verify after the export:\n%s", verified)
			}
			fromFile := mustRunAudit(t, f.vars, "verify", "--file", writeFile(t, export))
			if headOf(t, fromFile) != head || !strings.Contains(fromFile, "6 lines") {
				t.Errorf("verify --file of the full export:\n%s\nwant the database's head %s", fromFile, head)
			}
			out, err := runAudit(t, f.vars, strings.NewReader(export), "verify", "--file", "-")
			if err != nil || headOf(t, out) != head {
				t.Errorf("verify --file - = %v\n%s", err, out)
			}
			if out := mustRunAudit(t, f.vars, "verify", "--head", head); !strings.Contains(out, "kept head") {
				t.Errorf("verify --head %s:\n%s", head, out)
			}

			// A window is one unbroken stretch of the chain.
			window := mustRunAudit(t, f.vars, "export", "--since", f.minute(1), "--until", f.minute(4))
			if n := strings.Count(window, "\n"); n != 3 {
				t.Errorf("the window has %d lines, want 3:\n%s", n, window)
			}
			out = mustRunAudit(t, f.vars, "verify", "--file", writeFile(t, window))
			if !strings.Contains(out, "positions 2 to 4") || !strings.Contains(out, "every line is linked") {
				t.Errorf("verify --file of the window:\n%s", out)
			}

			// One organisation's events are not consecutive links.
			for _, ref := range []string{"acme", f.org.ID, strings.ToUpper(f.org.ID)} {
				orgExport := mustRunAudit(t, f.vars, "export", "--org", ref)
				if n := strings.Count(orgExport, "\n"); n != 3 {
					t.Fatalf("--org %s: %d lines, want 3:\n%s", ref, n, orgExport)
				}
				path := writeFile(t, orgExport)
				if out, err := runAudit(t, f.vars, nil, "verify", "--file", path); err == nil || !strings.Contains(out, "--subset") {
					t.Errorf("verify --file of an org export without --subset = %v\n%s", err, out)
				}
				out := mustRunAudit(t, f.vars, "verify", "--file", path, "--subset")
				if !strings.Contains(out, "subset: each line's own hash checked; 0 lines linked to the line before, 2 gaps") {
					t.Errorf("verify --file --subset:\n%s", out)
				}
			}
			if _, err := runAudit(t, f.vars, nil, "export", "--org", "nobody"); err == nil {
				t.Error("export --org of an unknown slug succeeded")
			}
		})
	}
}

func TestVerifyFileFindsATamperedExport(t *testing.T) {
	f := newAuditFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "audit.db"))
	export := mustRunAudit(t, f.vars, "export")
	lines := strings.SplitAfter(strings.TrimSuffix(export, "\n"), "\n")
	edit := func(i int, change func(map[string]any)) string {
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &m); err != nil {
			t.Fatal(err)
		}
		change(m)
		b, _ := json.Marshal(m)
		out := append([]string(nil), lines...)
		out[i] = string(b) + "\n"
		return strings.Join(out, "")
	}
	without := func(i int) string {
		return strings.Join(append(append([]string(nil), lines[:i]...), lines[i+1:]...), "")
	}
	tests := []struct {
		name, file string
		subset     bool
		wantLine   int
	}{
		{"an event's ip changed", edit(2, func(m map[string]any) { m["ip"] = "198.51.100.1" }), false, 3},
		{"an event's metadata changed", edit(1, func(m map[string]any) { m["metadata"] = map[string]string{"n": "9"} }), false, 2},
		{"an event's org removed", edit(4, func(m map[string]any) { m["org_id"] = nil }), true, 5},
		{"an event's time moved by a microsecond", edit(0, func(m map[string]any) { m["occurred_at"] = "2031-03-04T05:06:07.891235Z" }), false, 1},
		{"a line's hash changed", edit(3, func(m map[string]any) { m["hash"] = strings.Repeat("0", 64) }), false, 4},
		{"a line's seq changed", edit(5, func(m map[string]any) { m["seq"] = 60 }), false, 6},
		{"a field added", edit(1, func(m map[string]any) { m["note"] = "approved" }), false, 2},
		{"a line removed", without(2), false, 3},
		{"the first link's prev_hash changed", edit(0, func(m map[string]any) { m["prev_hash"] = strings.Repeat("1", 64) }), false, 1},
		{"a line's prev_hash changed", edit(4, func(m map[string]any) { m["prev_hash"] = strings.Repeat("1", 64) }), false, 5},
		{"two lines swapped", lines[0] + lines[2] + lines[1] + strings.Join(lines[3:], ""), false, 2},
		{"two lines swapped in a subset", lines[0] + lines[2] + lines[1] + strings.Join(lines[3:], ""), true, 3},
		{"a line repeated", lines[0] + lines[1] + lines[1] + strings.Join(lines[2:], ""), true, 3},
		{"a line that is not JSON", lines[0] + "{\"id\":\n" + strings.Join(lines[1:], ""), false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"verify", "--file", writeFile(t, tt.file)}
			if tt.subset {
				args = append(args, "--subset")
			}
			out, err := runAudit(t, f.vars, nil, args...)
			if err == nil {
				t.Fatalf("verify --file succeeded:\n%s", out)
			}
			if want := fmt.Sprintf("BROKEN at line %d ", tt.wantLine); !strings.HasPrefix(out, want) {
				t.Errorf("output %q, want it to start with %q", out, want)
			}
		})
	}
}

func TestAuditVerifyFailsOnATamperedDatabase(t *testing.T) {
	for _, db := range auditDatabases {
		t.Run(db.name, func(t *testing.T) {
			f := newAuditFixture(t, db.url(t))
			mustRunAudit(t, f.vars, "seal")
			head := headOf(t, mustRunAudit(t, f.vars, "verify"))

			drop := "DROP TRIGGER audit_events_no_update"
			if f.store.Dialect() == storage.DialectPostgres {
				drop = "DROP TRIGGER audit_events_no_update_or_delete ON audit_events"
			}
			for _, stmt := range []string{drop, "UPDATE audit_events SET event = 'auth.logout' WHERE seq = 2"} {
				if _, err := f.store.DB().ExecContext(t.Context(), stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			out, err := runAudit(t, f.vars, nil, "verify")
			if err == nil || !strings.Contains(err.Error(), "does not verify") {
				t.Errorf("verify of a changed event = %v, want it to fail", err)
			}
			if !strings.HasPrefix(out, "BROKEN at position 2 (seq 2, event "+f.events[1].ID+")") ||
				!strings.Contains(out, "expected: ") || !strings.Contains(out, "found:    ") {
				t.Errorf("verify printed:\n%s", out)
			}
			if _, err := runAudit(t, f.vars, nil, "verify", "--head", head); err == nil {
				t.Error("verify --head of a broken chain succeeded")
			}
		})
	}
}

func TestAuditVerifyChecksAKeptHead(t *testing.T) {
	f := newAuditFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "audit.db"))
	mustRunAudit(t, f.vars, "seal")
	head := headOf(t, mustRunAudit(t, f.vars, "verify"))
	position, hash, _ := strings.Cut(head, ":")
	other := strings.Repeat("a", 64)
	tests := []struct {
		name, head string
		ok         bool
	}{
		{"the head itself", head, true},
		{"an earlier link", "3:" + mustHashAt(t, f.store, 3), true},
		{"a head past the chain (a truncated chain)", "7:" + hash, false},
		{"another hash at the position (a rewritten chain)", position + ":" + other, false},
		{"no position", hash, false},
		{"a hash that is not one", position + ":xyz", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runAudit(t, f.vars, nil, "verify", "--head", tt.head)
			if (err == nil) != tt.ok {
				t.Errorf("verify --head %s = %v, want ok %t\n%s", tt.head, err, tt.ok, out)
			}
		})
	}
}

func mustHashAt(t *testing.T, s *storage.Store, position int64) string {
	t.Helper()
	h, err := s.AuditLinkHash(t.Context(), position)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestAuditCommandsRefuseBadArguments(t *testing.T) {
	t.Chdir(t.TempDir())
	vars := map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "audit.db")}
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"verify", "extra"},
		{"verify", "--subset"},
		{"verify", "--file", "x.jsonl", "--head", "1:" + strings.Repeat("0", 64)},
		{"verify", "--file", filepath.Join(t.TempDir(), "missing.jsonl")},
		{"export", "--since", "yesterday"},
		{"export", "--until", "2031-03-04"},
		{"export", "extra"},
		{"seal", "extra"},
	} {
		if out, err := runAudit(t, vars, nil, args...); err == nil {
			t.Errorf("authd audit %q succeeded:\n%s", args, out)
		}
	}
	if out := mustRunAudit(t, vars, "verify", "--file", writeFile(t, "")); !strings.Contains(out, "empty") {
		t.Errorf("verify --file of an empty export: %q", out)
	}
}

func TestRunSealerSealsUntilItsContextEnds(t *testing.T) {
	f := newAuditFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "audit.db"))
	a, err := openApp(t.Context(), envOf(f.vars), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		runSealer(ctx, a)
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := f.store.VerifyAudit(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if r.Sealed == 6 && r.OK() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sealer did not seal the six events within 10s: %+v", r)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("runSealer did not return after its context ended")
	}
}
