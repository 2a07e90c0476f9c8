package storage_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/auth"
	"github.com/authd/auth/internal/testenv"
	"github.com/authd/auth/storage"
	"github.com/authd/auth/storage/storetest"
)

// postgresMaxConns bounds each test store's pool, so that parallel tests,
// each racing fifty goroutines, stay under the server's max_connections.
const postgresMaxConns = 8

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) auth.Store {
		return openMigrated(t, sqliteURL(t))
	})
}

func TestSQLiteInMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) auth.Store {
		return openMigrated(t, "sqlite::memory:")
	})
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) auth.Store {
		return openMigrated(t, testenv.PostgresURL(t))
	})
}

// dialects names a fresh database of each dialect.
var dialects = []struct {
	name string
	url  func(t *testing.T) string
}{
	{storage.DialectSQLite, sqliteURL},
	{storage.DialectPostgres, func(t *testing.T) string { return testenv.PostgresURL(t) }},
}

func sqliteURL(t *testing.T) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "authd.db")
}

// openMigrated opens url, migrates it and closes it when the test ends.
func openMigrated(t *testing.T, url string) *storage.Store {
	t.Helper()
	s := openStore(t, url)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// openStore opens url, without migrating, and closes it when the test ends.
func openStore(t *testing.T, url string) *storage.Store {
	t.Helper()
	s, err := storage.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if s.Dialect() == storage.DialectPostgres {
		s.DB().SetMaxOpenConns(postgresMaxConns)
	}
	return s
}

func TestOpenRefusesURLsItCannotUse(t *testing.T) {
	tests := []struct {
		name, url string
	}{
		{"an empty URL", ""},
		{"another database", "mysql://root:s3cret@localhost/authd"},
		{"a bare path", "./data/authd.db"},
		{"a file: URI", "file:authd.db"},
		{"sqlite without a path", "sqlite:"},
		{"a sqlite path with options", "sqlite:authd.db?mode=ro"},
		{"a scheme in capitals", "POSTGRES://postgres:s3cret@localhost/authd"},
		{"a postgres URL with a bad port", "postgres://postgres:s3cret@localhost:port/authd"},
		{"a postgres URL with a bad sslmode", "postgresql://postgres:s3cret@localhost/authd?sslmode=sometimes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := storage.Open(t.Context(), tt.url)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", tt.url)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error repeats the password: %v", err)
			}
		})
	}
}

func TestOpenReportsAnUnreachablePostgresWithoutThePassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s, err := storage.Open(ctx, "postgres://postgres:s3cret@127.0.0.1:1/authd?sslmode=disable&connect_timeout=2")
	if err == nil {
		s.Close()
		t.Fatal("Open of a port where nothing listens succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("the error repeats the password: %v", err)
	}
}

func TestOpenAcceptsBothPostgresSchemes(t *testing.T) {
	url := testenv.PostgresURL(t)
	for _, u := range []string{url, strings.Replace(url, "postgres://", "postgresql://", 1)} {
		s := openMigrated(t, u)
		if s.Dialect() != storage.DialectPostgres {
			t.Errorf("Dialect() = %q, want %q", s.Dialect(), storage.DialectPostgres)
		}
		if err := s.Ping(t.Context()); err != nil {
			t.Errorf("Ping: %v", err)
		}
	}
}

func TestOpenSQLiteCreatesTheDirectoryAndSetsPragmas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "dir", "authd.db")
	s := openMigrated(t, "sqlite:"+path)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database file: %v", err)
	}
	if s.Dialect() != storage.DialectSQLite {
		t.Errorf("Dialect() = %q, want %q", s.Dialect(), storage.DialectSQLite)
	}
	tests := []struct {
		pragma, want string
	}{
		{"journal_mode", "wal"},
		{"busy_timeout", "5000"},
		{"foreign_keys", "1"},
		{"synchronous", "1"}, // NORMAL
	}
	for _, tt := range tests {
		var got string
		if err := s.DB().QueryRowContext(t.Context(), "PRAGMA "+tt.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tt.pragma, err)
		}
		if got != tt.want {
			t.Errorf("PRAGMA %s = %s, want %s", tt.pragma, got, tt.want)
		}
	}
}

func TestNewRefusesANilHandle(t *testing.T) {
	if _, err := storage.New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
}

func TestMigrateTwiceChangesNothing(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := openMigrated(t, d.url(t))
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatalf("second Migrate: %v", err)
			}
			checkAppliedVersions(t, s)
		})
	}
}

func TestMigrateFromSeveralProcessesAtOnce(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			url := d.url(t)
			const processes = 4
			stores := make([]*storage.Store, processes)
			for i := range stores {
				s, err := storage.Open(t.Context(), url)
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				defer s.Close()
				stores[i] = s
			}
			var wg sync.WaitGroup
			errs := make([]error, processes)
			for i, s := range stores {
				wg.Go(func() { errs[i] = s.Migrate(t.Context()) })
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("concurrent Migrate: %v", err)
			}
			checkAppliedVersions(t, stores[0])
		})
	}
}

// checkAppliedVersions checks that schema_migrations lists each embedded
// migration of the store's dialect once.
func checkAppliedVersions(t *testing.T, s *storage.Store) {
	t.Helper()
	var applied []string
	if err := s.DB().NewSelect().Table("schema_migrations").Column("version").Order("version").Scan(t.Context(), &applied); err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	if want := migrationVersions(t, s.Dialect()); !slices.Equal(applied, want) {
		t.Errorf("schema_migrations = %v, want %v", applied, want)
	}
}

func migrationVersions(t *testing.T, dialect string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join("migrations", dialect))
	if err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, e := range entries {
		versions = append(versions, strings.TrimSuffix(e.Name(), ".sql"))
	}
	return versions
}

func TestBothDialectsHaveTheSameMigrations(t *testing.T) {
	pg := migrationVersions(t, storage.DialectPostgres)
	lite := migrationVersions(t, storage.DialectSQLite)
	if len(pg) == 0 || !slices.Equal(pg, lite) {
		t.Errorf("migrations: postgres %v, sqlite %v; want the same non-empty list", pg, lite)
	}
}

func TestTheAuditTableRefusesUpdateAndDelete(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := openMigrated(t, d.url(t))
			e := auth.AuditEvent{ID: newID(), OccurredAt: time.Now(), Event: auth.EventLogin, ActorID: newID()}
			if err := s.AppendAudit(t.Context(), e); err != nil {
				t.Fatalf("AppendAudit: %v", err)
			}
			statements := []string{
				"UPDATE audit_events SET event = 'auth.logout'",
				"UPDATE audit_events SET metadata = '{}' WHERE seq = 1",
				"DELETE FROM audit_events",
				"DELETE FROM audit_events WHERE id = '" + e.ID + "'",
			}
			if s.Dialect() == storage.DialectPostgres {
				statements = append(statements, "TRUNCATE audit_events", "TRUNCATE audit_events CASCADE")
			}
			for _, stmt := range statements {
				if _, err := s.DB().ExecContext(t.Context(), stmt); err == nil {
					t.Errorf("%s: succeeded", stmt)
				} else if !strings.Contains(err.Error(), "append-only") && !strings.Contains(err.Error(), "foreign key") {
					// A plain TRUNCATE fails first on the foreign key of audit_chain.
					t.Errorf("%s: %v, want the append-only error", stmt, err)
				}
			}
			events, _, err := s.AuditEvents(t.Context(), auth.AuditFilter{}, auth.Page{})
			if err != nil {
				t.Fatalf("AuditEvents: %v", err)
			}
			if len(events) != 1 || events[0].ID != e.ID || events[0].Event != e.Event {
				t.Errorf("the log after the refused statements = %+v, want the one event", events)
			}
		})
	}
}

func TestSQLiteKeepsTimesAsFixedWidthUTCText(t *testing.T) {
	s := openMigrated(t, sqliteURL(t))
	u := auth.User{
		ID: newID(), Email: "ada@example.com", Role: auth.RoleEndUser, IsActive: true,
		CreatedAt: time.Date(2031, 1, 2, 8, 4, 5, 0, time.FixedZone("UTC+5", 5*60*60)),
		UpdatedAt: time.Date(2031, 1, 2, 3, 4, 5, 120_000_789, time.UTC),
	}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	var created, updated string
	row := s.DB().QueryRowContext(t.Context(), "SELECT created_at, updated_at FROM users WHERE id = ?", u.ID)
	if err := row.Scan(&created, &updated); err != nil {
		t.Fatal(err)
	}
	if created != "2031-01-02T03:04:05.000000Z" || updated != "2031-01-02T03:04:05.120000Z" {
		t.Errorf("stored times %q and %q, want 2031-01-02T03:04:05.000000Z and 2031-01-02T03:04:05.120000Z", created, updated)
	}
}

func TestRowsThatReferToMissingRowsAreConflicts(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := openMigrated(t, d.url(t))
			now := time.Now()
			sess := auth.Session{
				ID: newID(), UserID: newID(), RefreshHash: "h",
				CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour), MaxExpiresAt: now.Add(time.Hour),
			}
			if err := s.CreateSession(t.Context(), sess); !errors.Is(err, auth.ErrConflict) {
				t.Errorf("CreateSession of an unknown user: %v, want ErrConflict", err)
			}
			tok := auth.OneTimeToken{
				Hash: "h", Purpose: auth.PurposeVerifyEmail, UserID: newID(),
				CreatedAt: now, ExpiresAt: now.Add(time.Hour),
			}
			if err := s.CreateToken(t.Context(), tok); !errors.Is(err, auth.ErrConflict) {
				t.Errorf("CreateToken of an unknown user: %v, want ErrConflict", err)
			}
		})
	}
}

func TestIDsThatAreNotUUIDsAreRefused(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := openMigrated(t, d.url(t))
			now := time.Now()
			for _, id := range []string{"", "42", "6F9619FF-8B86-D011-B42D-00C04FC964FF", "{6f9619ff-8b86-d011-b42d-00c04fc964ff}"} {
				u := auth.User{ID: id, Email: fmt.Sprintf("u%d@example.com", len(id)), CreatedAt: now, UpdatedAt: now}
				err := s.CreateUser(t.Context(), u)
				if err == nil || errors.Is(err, auth.ErrConflict) || errors.Is(err, auth.ErrNotFound) {
					t.Errorf("CreateUser with id %q: %v, want a plain error", id, err)
				}
				e := auth.AuditEvent{ID: newID(), OccurredAt: now, Event: auth.EventLogin, ActorID: id}
				if err := s.AppendAudit(t.Context(), e); id != "" && err == nil {
					t.Errorf("AppendAudit with actor id %q succeeded", id)
				}
				// An empty user ID is a token of nobody.
				tok := auth.OneTimeToken{Hash: "h" + id, Purpose: auth.PurposeVerifyEmail, UserID: id, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
				if err := s.CreateToken(t.Context(), tok); id != "" && (err == nil || errors.Is(err, auth.ErrConflict)) {
					t.Errorf("CreateToken with user id %q: %v, want a plain error", id, err)
				}
				i := auth.Identity{UserID: id, Provider: "google", Subject: "s" + id, CreatedAt: now}
				if err := s.CreateIdentity(t.Context(), i); err == nil || errors.Is(err, auth.ErrConflict) {
					t.Errorf("CreateIdentity with user id %q: %v, want a plain error", id, err)
				}
			}
		})
	}
}

func TestConcurrentTransactionsThatReadThenWriteAllCommit(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := openMigrated(t, d.url(t))
			const writers = 20
			var wg sync.WaitGroup
			errs := make([]error, writers)
			for i := range writers {
				wg.Go(func() {
					errs[i] = s.WithinTx(t.Context(), func(ctx context.Context, tx auth.Store) error {
						email := fmt.Sprintf("writer%d@example.com", i)
						if _, err := tx.UserByEmail(ctx, email); !errors.Is(err, auth.ErrNotFound) {
							return fmt.Errorf("UserByEmail before creating: %v", err)
						}
						now := time.Now()
						u := auth.User{ID: newID(), Email: email, Role: auth.RoleEndUser, IsActive: true, CreatedAt: now, UpdatedAt: now}
						if err := tx.CreateUser(ctx, u); err != nil {
							return err
						}
						return tx.AppendAudit(ctx, auth.AuditEvent{ID: newID(), OccurredAt: now, Event: auth.EventUserRegistered, ActorID: u.ID})
					})
				})
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("concurrent transactions: %v", err)
			}
			events, _, err := s.AuditEvents(t.Context(), auth.AuditFilter{}, auth.Page{Limit: 100})
			if err != nil || len(events) != writers {
				t.Fatalf("AuditEvents: %d events, %v; want %d", len(events), err, writers)
			}
		})
	}
}

// newID returns a random version 4 UUID.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func TestDeletingAUserDeletesItsMembershipsAndForgetsItsInvites(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := openMigrated(t, d.url(t))
			ctx := t.Context()
			now := time.Now()
			owner, leaver := newUser(now), newUser(now)
			org := auth.Org{ID: newID(), Name: "Acme", Slug: "acme", OwnerID: owner.ID, CreatedAt: now, UpdatedAt: now}
			invite := auth.Invite{
				ID: newID(), OrgID: org.ID, Email: "ada@example.com", Role: auth.OrgMember, TokenHash: "h",
				InvitedBy: leaver.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour),
			}
			for _, err := range []error{
				s.CreateUser(ctx, owner),
				s.CreateUser(ctx, leaver),
				s.CreateOrg(ctx, org),
				s.AddMember(ctx, auth.Member{OrgID: org.ID, UserID: owner.ID, Role: auth.OrgOwner, JoinedAt: now}),
				s.AddMember(ctx, auth.Member{OrgID: org.ID, UserID: leaver.ID, Role: auth.OrgAdmin, JoinedAt: now}),
				s.CreateInvite(ctx, invite),
			} {
				if err != nil {
					t.Fatal(err)
				}
			}

			if _, err := s.DB().ExecContext(ctx, "DELETE FROM users WHERE id = ?", leaver.ID); err != nil {
				t.Fatalf("delete the user: %v", err)
			}
			if _, err := s.Member(ctx, org.ID, leaver.ID); !errors.Is(err, auth.ErrNotFound) {
				t.Errorf("Member of the deleted user: %v, want ErrNotFound", err)
			}
			got, err := s.InviteByHash(ctx, invite.TokenHash)
			if err != nil || got.InvitedBy != "" {
				t.Errorf("the invite of the deleted user: %+v, %v; want it without an inviter", got, err)
			}

			// An organisation's owner cannot be deleted: ownership must be
			// transferred first.
			if _, err := s.DB().ExecContext(ctx, "DELETE FROM users WHERE id = ?", owner.ID); err == nil {
				t.Error("deleting the owner of an organisation succeeded")
			}
		})
	}
}

func TestRolesOutsideTheirSetAreRefused(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := openMigrated(t, d.url(t))
			ctx := t.Context()
			now := time.Now()
			u := newUser(now)
			org := auth.Org{ID: newID(), Name: "Acme", Slug: "acme", OwnerID: u.ID, CreatedAt: now, UpdatedAt: now}
			if err := errors.Join(s.CreateUser(ctx, u), s.CreateOrg(ctx, org)); err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name string
				err  error
			}{
				{"a member with an unknown role", s.AddMember(ctx, auth.Member{OrgID: org.ID, UserID: u.ID, Role: "GOD", JoinedAt: now})},
				{"an invite to become OWNER", s.CreateInvite(ctx, auth.Invite{
					ID: newID(), OrgID: org.ID, Email: "ada@example.com", Role: auth.OrgOwner, TokenHash: "h",
					CreatedAt: now, ExpiresAt: now.Add(time.Hour),
				})},
				{"permissions of another scope", s.SetRolePermissions(ctx, "tenant", "ADMIN", nil)},
				{"permissions of an empty role", s.SetRolePermissions(ctx, auth.ScopeOrg, "", nil)},
			}
			for _, tt := range tests {
				if tt.err == nil || errors.Is(tt.err, auth.ErrConflict) || errors.Is(tt.err, auth.ErrNotFound) {
					t.Errorf("%s: %v, want a plain error", tt.name, tt.err)
				}
			}
			if _, err := s.SeedRolePermissions(ctx, "tenant", "ADMIN", nil); err == nil {
				t.Error("seeding permissions of another scope succeeded")
			}
		})
	}
}

func TestCursorsThatDoNotNameARowAreValidationErrors(t *testing.T) {
	s := openMigrated(t, sqliteURL(t))
	encode := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	id := newID()
	for _, cursor := range []string{
		encode("2031-03-04T05:06:07.891234Z"),                                          // no ID
		encode("2031-03-04T05:06:07.891234Z|not-a-uuid"),                               // not a UUID
		encode("2031-03-04T05:06:07.891234Z|" + strings.ToUpper(id)),                   // not canonical
		encode("2031-03-04T05:06:07Z|" + id),                                           // not the stored form
		encode("yesterday|" + id),                                                      // not a time
		encode("0001-01-01T00:00:00.000000Z|" + id),                                    // the zero time
		encode("0000-01-01T00:00:00.000000Z|" + id),                                    // out of range
		base64.StdEncoding.EncodeToString([]byte("2031-03-04T05:06:07.891234Z|" + id)), // padded
	} {
		_, _, err := s.Users(t.Context(), auth.UserFilter{}, auth.Page{Cursor: cursor})
		if verr, ok := errors.AsType[*auth.ValidationError](err); !ok || verr.Fields["cursor"] == "" {
			t.Errorf("cursor %q: %v, want a *auth.ValidationError on cursor", cursor, err)
		}
	}
	if _, _, err := s.Users(t.Context(), auth.UserFilter{}, auth.Page{Cursor: encode("2031-03-04T05:06:07.891234Z|" + id)}); err != nil {
		t.Errorf("a well-formed cursor: %v", err)
	}
}

// newUser returns an active user with a unique email, created at now.
func newUser(now time.Time) auth.User {
	id := newID()
	return auth.User{ID: id, Email: id[:8] + "@example.com", Role: auth.RoleEndUser, IsActive: true, CreatedAt: now, UpdatedAt: now}
}

func TestIdentitiesWithoutAProviderOrASubjectAreRefused(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := openMigrated(t, d.url(t))
			u := newUser(time.Now())
			if err := s.CreateUser(t.Context(), u); err != nil {
				t.Fatal(err)
			}
			for _, i := range []auth.Identity{
				{UserID: u.ID, Provider: "", Subject: "1234", CreatedAt: time.Now()},
				{UserID: u.ID, Provider: "google", Subject: "", CreatedAt: time.Now()},
			} {
				err := s.CreateIdentity(t.Context(), i)
				if err == nil || errors.Is(err, auth.ErrConflict) {
					t.Errorf("CreateIdentity(%+v): %v, want a plain error", i, err)
				}
			}
		})
	}
}

func TestDeletingAUserDeletesItsIdentitiesAndTokens(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := openMigrated(t, d.url(t))
			ctx := t.Context()
			now := time.Now()
			leaver, stayer := newUser(now), newUser(now)
			for _, err := range []error{
				s.CreateUser(ctx, leaver),
				s.CreateUser(ctx, stayer),
				s.CreateIdentity(ctx, auth.Identity{UserID: leaver.ID, Provider: "google", Subject: "1", CreatedAt: now}),
				s.CreateIdentity(ctx, auth.Identity{UserID: leaver.ID, Provider: "github", Subject: "2", CreatedAt: now}),
				s.CreateIdentity(ctx, auth.Identity{UserID: stayer.ID, Provider: "google", Subject: "3", CreatedAt: now}),
				s.CreateToken(ctx, newToken("leaver's", leaver.ID, now)),
				s.CreateToken(ctx, newToken("stayer's", stayer.ID, now)),
				s.CreateToken(ctx, newToken("nobody's", "", now)),
			} {
				if err != nil {
					t.Fatal(err)
				}
			}

			deleteUser(t, s, leaver.ID)
			if ids, err := s.UserIdentities(ctx, leaver.ID); err != nil || len(ids) != 0 {
				t.Errorf("UserIdentities of the deleted user = %+v, %v; want none", ids, err)
			}
			if _, err := s.IdentityBySubject(ctx, "google", "1"); !errors.Is(err, auth.ErrNotFound) {
				t.Errorf("IdentityBySubject of the deleted user's identity: %v, want ErrNotFound", err)
			}
			if ids, err := s.UserIdentities(ctx, stayer.ID); err != nil || len(ids) != 1 {
				t.Errorf("UserIdentities of the other user = %+v, %v; want its one identity", ids, err)
			}
			checkTokens(t, s, map[string]bool{"leaver's": false, "stayer's": true, "nobody's": true})
		})
	}
}

func TestMigratingFrom0002KeepsTheTokens(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := openStore(t, d.url(t))
			ctx := t.Context()
			if err := s.MigrateTo(ctx, "0002_orgs"); err != nil {
				t.Fatalf("MigrateTo 0002_orgs: %v", err)
			}
			now := time.Date(2031, 3, 4, 5, 6, 7, 891234000, time.UTC)
			u := newUser(now)
			if err := s.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			// Tokens as 0002 keeps them, with no data column.
			const insert = "INSERT INTO one_time_tokens (hash, purpose, user_id, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?)"
			at := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }
			for _, args := range [][]any{
				{"unused", auth.PurposeVerifyEmail, u.ID, at(now), at(now.Add(time.Hour)), nil},
				{"used", auth.PurposePasswordReset, u.ID, at(now), at(now.Add(time.Hour)), at(now)},
			} {
				if _, err := s.DB().ExecContext(ctx, insert, args...); err != nil {
					t.Fatalf("insert a token at 0002: %v", err)
				}
			}

			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate from 0002: %v", err)
			}
			checkAppliedVersions(t, s)

			got, err := s.ConsumeToken(ctx, auth.PurposeVerifyEmail, "unused", now)
			want := auth.OneTimeToken{
				Hash: "unused", Purpose: auth.PurposeVerifyEmail, UserID: u.ID,
				CreatedAt: now, ExpiresAt: now.Add(time.Hour), UsedAt: now,
			}
			if err != nil || got != want {
				t.Errorf("ConsumeToken of the unused token = %+v, %v; want %+v", got, err, want)
			}
			if _, err := s.ConsumeToken(ctx, auth.PurposePasswordReset, "used", now); !errors.Is(err, auth.ErrNotFound) {
				t.Errorf("ConsumeToken of the used token: %v, want ErrNotFound", err)
			}
			// The rebuilt table keeps its key, its foreign key and its index.
			if err := s.CreateToken(ctx, newToken("used", u.ID, now)); !errors.Is(err, auth.ErrConflict) {
				t.Errorf("CreateToken with a kept hash: %v, want ErrConflict", err)
			}
			if err := s.CreateToken(ctx, newToken("unknown user's", newID(), now)); !errors.Is(err, auth.ErrConflict) {
				t.Errorf("CreateToken of an unknown user: %v, want ErrConflict", err)
			}
			if err := s.CreateToken(ctx, newToken("nobody's", "", now)); err != nil {
				t.Errorf("CreateToken of nobody: %v", err)
			}
			checkIndex(t, s, "one_time_tokens_user_id_purpose_idx")
			deleteUser(t, s, u.ID)
			checkTokens(t, s, map[string]bool{"unused": false, "used": false, "nobody's": true})
		})
	}
}

// newToken returns an unused token of the user (of nobody when userID is
// empty) with this hash, created at now and expiring an hour later.
func newToken(hash, userID string, now time.Time) auth.OneTimeToken {
	return auth.OneTimeToken{Hash: hash, Purpose: auth.PurposeVerifyEmail, UserID: userID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
}

// deleteUser deletes the user with raw SQL: the Store deletes no user.
func deleteUser(t *testing.T, s *storage.Store, id string) {
	t.Helper()
	if _, err := s.DB().ExecContext(t.Context(), "DELETE FROM users WHERE id = ?", id); err != nil {
		t.Fatalf("delete the user: %v", err)
	}
}

// checkTokens checks, for each hash, whether a token with it is stored.
func checkTokens(t *testing.T, s *storage.Store, want map[string]bool) {
	t.Helper()
	for hash, kept := range want {
		n, err := s.DB().NewSelect().Table("one_time_tokens").Where("hash = ?", hash).Count(t.Context())
		if err != nil {
			t.Fatalf("count tokens: %v", err)
		}
		if got := n == 1; got != kept {
			t.Errorf("token %q stored: %t, want %t", hash, got, kept)
		}
	}
}

// checkIndex fails the test unless the index exists.
func checkIndex(t *testing.T, s *storage.Store, name string) {
	t.Helper()
	query := "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?"
	if s.Dialect() == storage.DialectPostgres {
		query = "SELECT count(*) FROM pg_indexes WHERE indexname = ?"
	}
	var n int
	if err := s.DB().QueryRowContext(t.Context(), query, name).Scan(&n); err != nil {
		t.Fatalf("look up index %s: %v", name, err)
	}
	if n != 1 {
		t.Errorf("index %s: found %d, want 1", name, n)
	}
}
