package main

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/authd/auth"
	"github.com/authd/auth/storage"
)

// sizes is how many rows of each kind a database is seeded with.
type sizes struct {
	users, sessions, orgs int
	audit                 bool // one auth.login audit event per session
}

// population generates the seeded rows. Every row is a function of its
// index alone, so a database seeded with larger sizes holds the rows of a
// smaller one too (the same ids, emails and slugs), and the measured users
// and organisations can be named without reading the database back.
type population struct {
	sizes
	base time.Time // the seeding's "now": every seeded time is before it
	hash string    // the password hash of every user (one password for all)
}

// Kinds of row, mixed into their ids.
const (
	kindUser uint64 = iota + 1
	kindSession
	kindOrg
	kindAudit
	kindHash
)

// splitmix64 is a well-mixed 64-bit hash of x.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// mix hashes a kind and an index.
func mix(kind uint64, i int) uint64 { return splitmix64(kind<<56 ^ uint64(i)) }

// uuid is a version 4 UUID made from a kind and an index.
type uuid [16]byte

func newUUID(kind uint64, i int) uuid {
	var u uuid
	a := mix(kind, i)
	binary.BigEndian.PutUint64(u[:8], a)
	binary.BigEndian.PutUint64(u[8:], splitmix64(a))
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// String is the canonical lower-case form the store expects.
func (u uuid) String() string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// fakeHash is 64 hex digits, the shape of a refresh token's SHA-256.
func fakeHash(kind uint64, i int) string {
	var b [32]byte
	x := mix(kind, i)
	for k := 0; k < 4; k++ {
		x = splitmix64(x)
		binary.BigEndian.PutUint64(b[8*k:], x)
	}
	return hex.EncodeToString(b[:])
}

var (
	firstNames = []string{"olivia", "liam", "emma", "noah", "amelia", "oliver", "ava", "elijah", "sophia", "lucas",
		"mia", "mateo", "isabella", "levi", "evelyn", "asher", "harper", "james", "luna", "leo", "aisha", "yuki",
		"chen", "priya", "omar", "fatima", "ivan", "sofia", "kwame", "ines"}
	lastNames = []string{"smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez",
		"martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor", "moore", "jackson",
		"martin", "lee", "perez", "thompson", "white", "harris", "sanchez", "clark", "ramirez", "lewis", "robinson",
		"walker", "young", "allen", "king", "wright", "scott", "torres", "nguyen", "hill", "flores"}
	domains    = []string{"example.com", "example.org", "example.net", "mail.example.com", "corp.example", "example.io"}
	orgWords   = []string{"acme", "globex", "initech", "umbrella", "hooli", "vandelay", "stark", "wayne", "tyrell", "wonka", "soylent", "cyberdyne"}
	orgNouns   = []string{"labs", "systems", "industries", "partners", "studio", "group", "works", "analytics", "logistics", "health"}
	userAgents = []string{
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
		"okhttp/4.12.0",
	}
)

// User i: its email, role and flags. Users are 95 % verified and 99 %
// active; one in 500 is STAFF, one in 5,000 DATA_ADMIN, one in 50,000
// SYSTEM_ADMIN.
func (p *population) userID(i int) uuid { return newUUID(kindUser, i) }

func (p *population) email(i int) string {
	first := firstNames[i%len(firstNames)]
	last := lastNames[(i/len(firstNames))%len(lastNames)]
	return first + "." + last + strconv.Itoa(i) + "@" + domains[(i/7)%len(domains)]
}

func (p *population) name(i int) string {
	first := firstNames[i%len(firstNames)]
	last := lastNames[(i/len(firstNames))%len(lastNames)]
	return strings.ToUpper(first[:1]) + first[1:] + " " + strings.ToUpper(last[:1]) + last[1:]
}

func (p *population) role(i int) auth.GlobalRole {
	switch {
	case i%50_000 == 3:
		return auth.RoleSystemAdmin
	case i%5_000 == 2:
		return auth.RoleDataAdmin
	case i%500 == 1:
		return auth.RoleStaff
	}
	return auth.RoleEndUser
}

func (p *population) verified(i int) bool { return i%20 != 19 }
func (p *population) active(i int) bool   { return i%100 != 99 }

// spread returns the i-th of n instants evenly spread over span before base.
func (p *population) spread(span time.Duration, i, n int) time.Time {
	return p.base.Add(-span).Add(span / time.Duration(max(n, 1)) * time.Duration(i))
}

// sessionUser is the user of session j: sessions are spread over the users
// at random (about sessions/users each).
func (p *population) sessionUser(j int) int { return int(mix(kindSession+100, j) % uint64(p.users)) }

// orgOwner is the OWNER of organisation k.
func (p *population) orgOwner(k int) int { return int(mix(kindOrg+100, k) % uint64(p.users)) }

// orgSlug is the slug of organisation k.
func (p *population) orgSlug(k int) string {
	return orgWords[k%len(orgWords)] + "-" + orgNouns[(k/len(orgWords))%len(orgNouns)] + "-" + strconv.Itoa(k)
}

// member is one membership of an organisation.
type member struct {
	user int
	role auth.OrgRole
}

// orgMembers returns organisation k's members: its OWNER first, then one
// to five others, the first of them an ADMIN and the rest MEMBERs (fewer
// when the draws collide, as they do among a handful of users).
func (p *population) orgMembers(k int) []member {
	ms := []member{{p.orgOwner(k), auth.OrgOwner}}
	extra := 1 + int(mix(kindOrg+200, k)%5)
	for m := 1; m <= extra; m++ {
		u := int(mix(kindOrg+300, k*8+m) % uint64(p.users))
		dup := false
		for _, x := range ms {
			dup = dup || x.user == u
		}
		if dup {
			continue
		}
		role := auth.OrgMember
		if len(ms) == 1 {
			role = auth.OrgAdmin
		}
		ms = append(ms, member{u, role})
	}
	return ms
}

// seedTable is one table's rows, produced one at a time by next in a neutral
// form: uuid, string, bool, time.Time, or nil for NULL.
type seedTable struct {
	name string
	cols []string
	next func() ([]any, bool)
}

// tables returns the tables to seed, parents before children.
func (p *population) tables() []seedTable {
	const day = 24 * time.Hour
	counter := func(n int, row func(i int) []any) func() ([]any, bool) {
		i := 0
		return func() ([]any, bool) {
			if i >= n {
				return nil, false
			}
			i++
			return row(i - 1), true
		}
	}
	users := seedTable{name: "users",
		cols: []string{"id", "email", "name", "role", "email_verified", "is_active", "password_hash", "created_at", "updated_at"},
		next: counter(p.users, func(i int) []any {
			at := p.spread(730*day, i, p.users)
			return []any{p.userID(i), p.email(i), p.name(i), string(p.role(i)), p.verified(i), p.active(i), p.hash, at, at}
		})}
	orgs := seedTable{name: "orgs",
		cols: []string{"id", "name", "slug", "owner_id", "created_at", "updated_at"},
		next: counter(p.orgs, func(k int) []any {
			at := p.spread(365*day, k, p.orgs)
			name := strings.ToUpper(orgWords[k%len(orgWords)][:1]) + orgWords[k%len(orgWords)][1:] + " " +
				orgNouns[(k/len(orgWords))%len(orgNouns)] + " " + strconv.Itoa(k)
			return []any{newUUID(kindOrg, k), name, p.orgSlug(k), p.userID(p.orgOwner(k)), at, at}
		})}
	// Memberships: a queue refilled one organisation at a time.
	var queue [][]any
	k := 0
	members := seedTable{name: "org_members",
		cols: []string{"org_id", "user_id", "role", "joined_at"},
		next: func() ([]any, bool) {
			for len(queue) == 0 {
				if k >= p.orgs {
					return nil, false
				}
				at := p.spread(365*day, k, p.orgs)
				for n, m := range p.orgMembers(k) {
					queue = append(queue, []any{newUUID(kindOrg, k), p.userID(m.user), string(m.role), at.Add(time.Duration(n) * time.Hour)})
				}
				k++
			}
			row := queue[0]
			queue = queue[1:]
			return row, true
		}}
	// Sessions over the last 30 days, oldest first; used within 7 days of
	// their start; half rotated at least once; one in ten revoked. Most
	// are expired, as in a database that keeps them.
	session := func(j int) (id uuid, user int, created, lastUsed time.Time, ip, ua string) {
		created = p.spread(30*day, j, p.sessions)
		lastUsed = created.Add(time.Duration(mix(kindSession+200, j)%(7*24*3600)) * time.Second)
		if lastUsed.After(p.base) {
			lastUsed = p.base
		}
		return newUUID(kindSession, j), p.sessionUser(j), created, lastUsed,
			"198.51.100." + strconv.Itoa(1+j%254), userAgents[j%len(userAgents)]
	}
	sessions := seedTable{name: "sessions",
		cols: []string{"id", "user_id", "refresh_hash", "previous_hash", "rotated_at", "ip", "user_agent",
			"created_at", "last_used_at", "expires_at", "max_expires_at", "revoked_at"},
		next: counter(p.sessions, func(j int) []any {
			id, user, created, lastUsed, ip, ua := session(j)
			var prev string
			var rotated, revoked any
			if j%2 == 1 {
				prev, rotated = fakeHash(kindHash+1, j), lastUsed
			}
			if j%10 == 0 {
				revoked = lastUsed
			}
			return []any{id, p.userID(user), fakeHash(kindHash, j), prev, rotated, ip, ua,
				created, lastUsed, lastUsed.Add(7 * day), created.Add(30 * day), revoked}
		})}
	out := []seedTable{users, orgs, members, sessions}
	if p.audit {
		out = append(out, seedTable{name: "audit_events",
			cols: []string{"id", "occurred_at", "event", "actor_id", "org_id", "target_type", "target_id", "ip", "user_agent"},
			next: counter(p.sessions, func(j int) []any {
				id, user, created, _, ip, ua := session(j)
				return []any{newUUID(kindAudit, j), created, auth.EventLogin, p.userID(user), nil,
					auth.TargetSession, id.String(), ip, ua}
			})})
	}
	return out
}

// seed inserts the population into st: multi-row INSERTs in large
// transactions on SQLite, COPY on PostgreSQL.
func seed(ctx context.Context, st *storage.Store, p *population, progress io.Writer) error {
	conn, err := st.DB().DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, t := range p.tables() {
		t0 := time.Now()
		var n int
		if st.Dialect() == storage.DialectPostgres {
			n, err = copyPostgres(ctx, conn, t)
		} else {
			n, err = insertSQLite(ctx, conn, t)
		}
		if err != nil {
			return fmt.Errorf("seed %s: %w", t.name, err)
		}
		fmt.Fprintf(progress, "  %s: %d rows in %s\n", t.name, n, time.Since(t0).Round(time.Millisecond))
	}
	return nil
}

// copyPostgres streams t into PostgreSQL with COPY … FROM STDIN (binary).
func copyPostgres(ctx context.Context, conn *sql.Conn, t seedTable) (int, error) {
	var n int64
	err := conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		var err error
		n, err = pc.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromFunc(func() ([]any, error) {
			row, ok := t.next()
			if !ok {
				return nil, nil
			}
			for i, v := range row {
				if u, ok := v.(uuid); ok {
					row[i] = pgtype.UUID{Bytes: u, Valid: true}
				}
			}
			return row, nil
		}))
		return err
	})
	return int(n), err
}

// SQLite batches: rows per INSERT (within SQLite's 32,766 parameters) and
// rows per transaction.
const (
	sqliteParams    = 8000
	sqliteTxRows    = 100_000
	sqliteSeedCache = -256 * 1024 // KiB: 256 MiB of page cache while seeding
)

// insertSQLite inserts t with multi-row INSERTs, sqliteTxRows per
// transaction, on one connection given a large page cache for the while.
func insertSQLite(ctx context.Context, conn *sql.Conn, t seedTable) (int, error) {
	var cache int
	if err := conn.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&cache); err != nil {
		return 0, err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = %d", sqliteSeedCache)); err != nil {
		return 0, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA cache_size = %d", cache))

	perStmt := max(1, sqliteParams/len(t.cols))
	placeholders := "(" + strings.TrimSuffix(strings.Repeat("?,", len(t.cols)), ",") + ")"
	insert := func(rows int) string {
		return "INSERT INTO " + t.name + " (" + strings.Join(t.cols, ", ") + ") VALUES " +
			strings.TrimSuffix(strings.Repeat(placeholders+",", rows), ",")
	}
	total := 0
	done := false
	for !done {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return total, err
		}
		full, err := tx.PrepareContext(ctx, insert(perStmt))
		if err != nil {
			tx.Rollback()
			return total, err
		}
		args := make([]any, 0, perStmt*len(t.cols))
		inTx := 0
		flush := func() error {
			if len(args) == 0 {
				return nil
			}
			var err error
			if len(args) == cap(args) {
				_, err = full.ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, insert(len(args)/len(t.cols)), args...)
			}
			args = args[:0]
			return err
		}
		for inTx < sqliteTxRows {
			row, ok := t.next()
			if !ok {
				done = true
				break
			}
			for _, v := range row {
				args = append(args, sqliteValue(v))
			}
			inTx++
			if len(args) == cap(args) {
				if err := flush(); err != nil {
					tx.Rollback()
					return total, err
				}
			}
		}
		if err := flush(); err != nil {
			tx.Rollback()
			return total, err
		}
		full.Close()
		if err := tx.Commit(); err != nil {
			return total, err
		}
		total += inTx
	}
	return total, nil
}

// sqliteTimeLayout is storage's: UTC, six fractional digits, fixed width.
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z"

// sqliteValue is v as the SQLite store keeps it.
func sqliteValue(v any) any {
	switch x := v.(type) {
	case uuid:
		return x.String()
	case time.Time:
		return x.UTC().Format(sqliteTimeLayout)
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	}
	return v
}
