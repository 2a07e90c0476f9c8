package auth_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/alexedwards/argon2id"
	"github.com/golang-jwt/jwt/v5"

	"github.com/authd/auth"
	"github.com/authd/auth/internal/testenv"
	"github.com/authd/auth/storage"
)

// The benchmarks of the hot path of a host application (verify an access
// token, check a permission), of issuing tokens, of password hashing and
// of email normalisation, with golang-jwt's own parser as the baseline:
//
//	go test -run '^$' -bench . -benchmem -benchtime 2s .
//
// BenchmarkVerifyAccessToken (tokens_test.go) is the verification alone.
// Login and refresh with a database are in storage/ (BenchmarkLogin,
// BenchmarkRefresh), the Bearer middleware in httpapi/.

// benchSecret keys the HS256 tokens of the benchmarks and of the
// golang-jwt baseline.
var benchSecret = []byte("test-secret-test-secret-test-secret!")

// benchEmail is the one account of a benchmark.
const benchEmail = "bench@example.com"

// openBenchStore opens and migrates url; it is closed when b ends.
func openBenchStore(b *testing.B, url string) *storage.Store {
	b.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	return st
}

// sqliteBenchURL names a fresh SQLite file of b.
func sqliteBenchURL(b *testing.B) string {
	return "sqlite:" + filepath.Join(b.TempDir(), "authd.db")
}

// benchConfig signs with alg (a new key for EdDSA and RS256), hashes with
// argon (zero: the defaults) and has no rate limit.
func benchConfig(b *testing.B, alg string, argon auth.Argon2Params) auth.Config {
	b.Helper()
	// The verified-token cache is off: each verification does the full
	// work, as a token's first use does. "remembered" benchmarks turn it on.
	cfg := auth.Config{JWTSecret: benchSecret, Argon2: argon, RateLimitDisabled: true, VerifiedTokenCache: -1}
	if alg != auth.AlgHS256 {
		k, err := auth.GenerateSigningKey(alg)
		if err != nil {
			b.Fatal(err)
		}
		cfg.SigningKeys = []auth.SigningKey{k}
	}
	return cfg
}

// signedIn returns an Authenticator on st with cfg and benchEmail, a
// SYSTEM_ADMIN, logged in.
func signedIn(b *testing.B, st auth.Store, cfg auth.Config) (*auth.Authenticator, auth.User, auth.Tokens) {
	b.Helper()
	ctx := context.Background()
	a, err := auth.NewAuthenticator(st, &mailbox{}, cfg)
	if err != nil {
		b.Fatal(err)
	}
	u, err := a.CreateSuperuser(ctx, benchEmail, goodPassword)
	if err != nil {
		b.Fatal(err)
	}
	tok, _, err := a.Login(ctx, client, benchEmail, goodPassword)
	if err != nil {
		b.Fatal(err)
	}
	return a, u, tok
}

// benchGuard seeds the default permissions into st and returns a Guard on
// them, its mappings loaded (the cache every check reads).
func benchGuard(b *testing.B, st *storage.Store) *auth.Guard {
	b.Helper()
	ctx := context.Background()
	if _, err := auth.SeedPermissions(ctx, st); err != nil {
		b.Fatal(err)
	}
	g, err := auth.NewGuard(ctx, st, auth.GuardConfig{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(g.Close)
	return g
}

// memSessions is a Store that answers the reads and the rotation of
// Authenticator.Refresh (SessionByID, UserByID, SessionUser,
// RotateSession) from memory, so that a refresh costs authd's own work
// only: no database. Until load it passes everything to the Store it
// wraps (for the login that opens the session); load drops that Store, so
// any other call panics rather than quietly reaching the database.
type memSessions struct {
	auth.Store
	mu      sync.Mutex
	user    auth.User
	session auth.Session
}

// load copies the user and the session from the wrapped store.
func (m *memSessions) load(b *testing.B, userID, sessionID string) {
	b.Helper()
	ctx := context.Background()
	u, err := m.Store.UserByID(ctx, userID)
	if err != nil {
		b.Fatal(err)
	}
	s, err := m.Store.SessionByID(ctx, sessionID)
	if err != nil {
		b.Fatal(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.user, m.session = u, s
	m.Store = nil
}

func (m *memSessions) UserByID(_ context.Context, id string) (auth.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id != m.user.ID {
		return auth.User{}, auth.ErrNotFound
	}
	return m.user, nil
}

func (m *memSessions) SessionByID(_ context.Context, id string) (auth.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id != m.session.ID {
		return auth.Session{}, auth.ErrNotFound
	}
	return m.session, nil
}

func (m *memSessions) SessionUser(_ context.Context, id string) (auth.Session, auth.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id != m.session.ID || m.session.UserID != m.user.ID {
		return auth.Session{}, auth.User{}, auth.ErrNotFound
	}
	return m.session, m.user, nil
}

// RotateSession rotates as storage.Store does: only the current refresh
// hash matches (there is no grace window in these benchmarks).
func (m *memSessions) RotateSession(_ context.Context, r auth.Rotation) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := &m.session
	if r.SessionID != s.ID || r.Presented != s.RefreshHash || !s.Active(r.Now) {
		return auth.ErrNotFound
	}
	s.PreviousHash, s.RefreshHash = s.RefreshHash, r.Next
	s.RotatedAt, s.LastUsedAt, s.ExpiresAt = r.Now, r.Now, r.ExpiresAt
	return nil
}

// BenchmarkIssueTokens is issuing: Authenticator.Refresh on a store that
// answers from memory (memSessions), each iteration presenting the refresh
// token of the one before. An iteration verifies one refresh token and
// signs a new access token and a new refresh token; with a database, see
// BenchmarkRefresh in storage/.
func BenchmarkIssueTokens(b *testing.B) {
	for _, alg := range []string{auth.AlgHS256, auth.AlgEdDSA} {
		b.Run(alg, func(b *testing.B) {
			ctx := context.Background()
			mem := &memSessions{Store: openBenchStore(b, sqliteBenchURL(b))}
			a, u, tok := signedIn(b, mem, benchConfig(b, alg, cheapArgon2))
			mem.load(b, u.ID, tok.SessionID)
			b.ReportAllocs()
			for b.Loop() {
				next, err := a.Refresh(ctx, client, tok.Refresh)
				if err != nil {
					b.Fatal(err)
				}
				tok = next
			}
			b.StopTimer()
			if p, err := a.VerifyAccessToken(tok.Access); err != nil || p.UserID != u.ID {
				b.Fatalf("the last access token: %+v, %v", p, err)
			}
		})
	}
}

// BenchmarkGolangJWT is the baseline: golang-jwt v5 on its own, with the
// claims of an authd HS256 access token (iss, aud, sub, sid, role, iat,
// exp, jti, typ) in a jwt.MapClaims. "parse" is jwt.Parse with a keyfunc
// and WithValidMethods (signature, alg and exp checked; authd also checks
// iss, aud, iat, typ and the presence of sub, sid and jti); "sign" signs
// those claims again.
func BenchmarkGolangJWT(b *testing.B) {
	_, _, tok := signedIn(b, openBenchStore(b, sqliteBenchURL(b)), benchConfig(b, auth.AlgHS256, cheapArgon2))
	keyfunc := func(*jwt.Token) (any, error) { return benchSecret, nil }
	parsed, err := jwt.Parse(tok.Access, keyfunc, jwt.WithValidMethods([]string{"HS256"}))
	if err != nil {
		b.Fatal(err)
	}
	mc := parsed.Claims.(jwt.MapClaims)
	if len(mc) != 9 || mc["typ"] != "access" { // role included: a superuser
		b.Fatalf("claims of an access token: %v", mc)
	}
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			t, err := jwt.Parse(tok.Access, keyfunc, jwt.WithValidMethods([]string{"HS256"}))
			if err != nil || !t.Valid {
				b.Fatal(err)
			}
		}
	})
	b.Run("sign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jwt.NewWithClaims(jwt.SigningMethodHS256, mc).SignedString(benchSecret); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerifyAndRequireUserPermission is the in-process hot path of a
// host application: VerifyAccessToken, then Guard.RequireUserPermission of
// a global permission. "user-at-hand" has the User already; "role-from-cache"
// is Guard.RequirePrincipalPermission, which reads the current role through
// the Guard's user cache (what examples/mount's handlers do);
// "role-from-store" reads the user with UserByID on every request.
// "remembered" has the verified-token cache on, as a token's second and
// later uses find it; the others verify in full every time.
func BenchmarkVerifyAndRequireUserPermission(b *testing.B) {
	// role says where the user's global role comes from: a User the
	// caller already holds, the Guard's user cache
	// (RequirePrincipalPermission, as a host application's handler calls
	// it), or a store read on every request.
	run := func(b *testing.B, url func(*testing.B) string, alg, role string, remembered bool) {
		ctx := context.Background()
		st := openBenchStore(b, url(b))
		cfg := benchConfig(b, alg, cheapArgon2)
		if remembered {
			cfg.VerifiedTokenCache = 0 // the default cache
		}
		a, u, tok := signedIn(b, st, cfg)
		g := benchGuard(b, st)
		b.ReportAllocs()
		for b.Loop() {
			p, err := a.VerifyAccessToken(tok.Access)
			if err != nil || p.UserID != u.ID {
				b.Fatalf("VerifyAccessToken = %+v, %v", p, err)
			}
			switch role {
			case "user-at-hand":
				err = g.RequireUserPermission(ctx, u, auth.PermUsersRead)
			case "role-from-cache":
				err = g.RequirePrincipalPermission(ctx, p, auth.PermUsersRead)
			case "role-from-store":
				var user auth.User
				if user, err = st.UserByID(ctx, p.UserID); err == nil {
					err = g.RequireUserPermission(ctx, user, auth.PermUsersRead)
				}
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, alg := range []string{auth.AlgHS256, auth.AlgEdDSA} {
		b.Run(alg+"/user-at-hand", func(b *testing.B) { run(b, sqliteBenchURL, alg, "user-at-hand", false) })
	}
	b.Run("HS256/role-from-cache", func(b *testing.B) { run(b, sqliteBenchURL, auth.AlgHS256, "role-from-cache", false) })
	b.Run("HS256/role-from-cache/remembered", func(b *testing.B) {
		run(b, sqliteBenchURL, auth.AlgHS256, "role-from-cache", true)
	})
	b.Run("HS256/role-from-store/sqlite", func(b *testing.B) { run(b, sqliteBenchURL, auth.AlgHS256, "role-from-store", false) })
	b.Run("HS256/role-from-store/postgres", func(b *testing.B) {
		run(b, func(b *testing.B) string { return testenv.PostgresURL(b) }, auth.AlgHS256, "role-from-store", false)
	})
}

// BenchmarkGuard is a permission check with the mappings loaded: a global
// permission of a user's role and an organisation permission of a
// membership's role, granted and denied.
func BenchmarkGuard(b *testing.B) {
	ctx := context.Background()
	g := benchGuard(b, openBenchStore(b, sqliteBenchURL(b)))
	staff := auth.User{ID: "0b5c2c52-47d4-4b4e-9d37-6b2f3f0b2a11", Role: auth.RoleStaff, IsActive: true}
	admin := auth.Member{OrgID: "6f1d1c6e-3f7a-4c2b-9a55-0e8d2b7c4a10", UserID: staff.ID, Role: auth.OrgAdmin}
	checks := []struct {
		name  string
		check func() error
		want  error
	}{
		{"RequireUserPermission/granted", func() error { return g.RequireUserPermission(ctx, staff, auth.PermUsersRead) }, nil},
		{"RequireUserPermission/denied", func() error { return g.RequireUserPermission(ctx, staff, auth.PermUsersWrite) }, auth.ErrPermissionDenied},
		{"RequirePermission/granted", func() error { return g.RequirePermission(ctx, admin, auth.PermMemberInvite) }, nil},
		{"RequirePermission/denied", func() error { return g.RequirePermission(ctx, admin, auth.PermOrgDelete) }, auth.ErrPermissionDenied},
	}
	for _, c := range checks {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.check(); err != c.want {
					b.Fatalf("got %v, want %v", err, c.want)
				}
			}
		})
	}
}

// BenchmarkPassword is password hashing at the default Argon2id parameters
// (19 MiB, 2 iterations, parallelism 1), through the public API on SQLite:
// "hash" is CreateSuperuser of an existing account (the password rules,
// the hash, and a short transaction that updates the user and appends an
// audit event); "verify" is Login (the check against the stored hash,
// then a session row, an audit event and the tokens). Hashing dominates
// both; the database's share is measured by BenchmarkLogin/*/argon2-cheap
// in storage/.
func BenchmarkPassword(b *testing.B) {
	ctx := context.Background()
	a, u, _ := signedIn(b, openBenchStore(b, sqliteBenchURL(b)), benchConfig(b, auth.AlgHS256, auth.Argon2Params{}))
	b.Run("hash", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if got, err := a.CreateSuperuser(ctx, benchEmail, goodPassword); err != nil || got.ID != u.ID {
				b.Fatalf("CreateSuperuser = %v, %v", got.ID, err)
			}
		}
	})
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, got, err := a.Login(ctx, client, benchEmail, goodPassword); err != nil || got.ID != u.ID {
				b.Fatalf("Login = %v, %v", got.ID, err)
			}
		}
	})
}

// BenchmarkArgon2id is the hashing bound of logins: Argon2id's own
// CheckHash at the default cost (19 MiB, t=2, p=1), one at a time
// ("serial", the time of one hash) and on every P at once ("parallel",
// ns/op is then the time per hash of the whole machine: on 2 cores two
// 19 MiB hashes share the memory bandwidth, so it is more than half the
// serial time). Login throughput is judged against 1 s / parallel ns/op.
func BenchmarkArgon2id(b *testing.B) {
	params := &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	hash, err := argon2id.CreateHash(goodPassword, params)
	if err != nil {
		b.Fatal(err)
	}
	check := func(b *testing.B) {
		if ok, err := argon2id.ComparePasswordAndHash(goodPassword, hash); err != nil || !ok {
			b.Fatalf("ComparePasswordAndHash = %v, %v", ok, err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			check(b)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				check(b)
			}
		})
	})
}

// BenchmarkNormalizeEmail is NormalizeEmail of an address that needs work
// (spaces, capitals, a full-width character), of one already canonical and
// of one it refuses.
func BenchmarkNormalizeEmail(b *testing.B) {
	for _, c := range []struct{ name, in, want string }{
		{"messy", "  Jane.Doe+News@Ｅxample.COM ", "jane.doe+news@example.com"},
		{"canonical", "jane.doe@example.com", "jane.doe@example.com"},
		{"invalid", "jane doe@example", ""},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				got, err := auth.NormalizeEmail(c.in)
				if got != c.want || (err == nil) != (c.want != "") {
					b.Fatalf("NormalizeEmail(%q) = %q, %v; want %q", c.in, got, err, c.want)
				}
			}
		})
	}
}
