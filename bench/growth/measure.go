package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/authd/auth"
	"github.com/authd/auth/httpapi"
	"github.com/authd/auth/storage"
)

// password is every seeded user's password.
const password = "growth-bench-correct-horse-battery"

// cheapArgon2 makes a login cost little besides the database: the point is
// how the database's part grows, not Argon2id's fixed cost.
var cheapArgon2 = auth.Argon2Params{Memory: 8, Iterations: 1, Parallelism: 1}

// passwordHash is the hash of password with the parameters of the
// Authenticator (the same salt and key lengths as auth's hasher), so that
// a login never finds it stale and rehashes.
func passwordHash() (string, error) {
	return argon2id.CreateHash(password, &argon2id.Params{Memory: cheapArgon2.Memory, Iterations: cheapArgon2.Iterations,
		Parallelism: cheapArgon2.Parallelism, SaltLength: 16, KeyLength: 32})
}

// client is where the measured requests come from.
var client = auth.Client{IP: "203.0.113.9", UserAgent: "growth-bench"}

// discard is a Mailer that sends nothing (no measured flow mails).
type discard struct{}

func (discard) Send(context.Context, auth.Message) error { return nil }

// env is one database with everything the operations need, and the users
// and organisation they act on.
type env struct {
	label  string
	st     *storage.Store
	pop    *population
	a      *auth.Authenticator
	guard  *auth.Guard
	orgs   *auth.OrgService
	h      http.Handler
	counts counts

	subject   int    // logs in, refreshes, reads /auth/me/
	staff     int    // a STAFF user, for the global permission check
	org       int    // an organisation, for the organisation check
	member    member // a member of it, not its OWNER
	sessionID string // a seeded session, for the plans
}

// newEnv builds the Authenticator, Guard, OrgService and handler over st
// and picks the measured users and organisation at random among the rows
// of st's own population, outside the handful every database shares: in
// the large database they sit among 100,000 users like any other.
func newEnv(ctx context.Context, label string, st *storage.Store, p *population) (*env, error) {
	cfg := auth.Config{
		JWTSecret:          []byte("growth-bench-secret-growth-bench-secret"),
		Argon2:             cheapArgon2,
		RateLimitDisabled:  true,
		VerifiedTokenCache: -1, // every request verifies its token fully
	}
	a, err := auth.NewAuthenticator(st, discard{}, cfg)
	if err != nil {
		return nil, err
	}
	g, err := auth.NewGuard(ctx, st, auth.GuardConfig{UserCacheTTL: -1}) // every check reads the user
	if err != nil {
		return nil, err
	}
	orgs, err := auth.NewOrgService(st, discard{}, g, cfg)
	if err != nil {
		g.Close()
		return nil, err
	}
	h, err := httpapi.New(httpapi.Config{Auth: a, Orgs: orgs})
	if err != nil {
		g.Close()
		return nil, err
	}
	e := &env{label: label, st: st, pop: p, a: a, guard: g, orgs: orgs, h: h}

	// The small database is the first rows of every population; in the
	// large one the measured rows are drawn from the others (the bulk),
	// or from all when none of the others will do (a tiny population may
	// have no STAFF user past the first rows).
	pick := func(n, small int, good func(int) bool) (int, bool) {
		lo := 0
		if label != "small" && n > small {
			lo = small
		}
		// From a random row on, the first good one of the bulk (wrapping
		// around), else of the first rows.
		start := rand.IntN(n - lo)
		for k := range n - lo {
			if i := lo + (start+k)%(n-lo); good(i) {
				return i, true
			}
		}
		for i := range lo {
			if good(i) {
				return i, true
			}
		}
		return 0, false
	}
	ok := func(i int) bool { return p.verified(i) && p.active(i) }
	var found [4]bool
	e.subject, found[0] = pick(p.users, smallSizes.users, func(i int) bool { return ok(i) && p.role(i) == auth.RoleEndUser })
	e.staff, found[1] = pick(p.users, smallSizes.users, func(i int) bool { return ok(i) && p.role(i) == auth.RoleStaff })
	// An organisation with a verified, active member other than its OWNER
	// (among a handful of users the draws may leave an OWNER alone).
	e.org, found[2] = pick(p.orgs, smallSizes.orgs, func(k int) bool {
		for _, m := range p.orgMembers(k)[1:] {
			if ok(m.user) {
				e.member = m
				return true
			}
		}
		return false
	})
	var session int
	session, found[3] = pick(p.sessions, smallSizes.sessions, func(int) bool { return true })
	if slices.Contains(found[:], false) {
		g.Close()
		return nil, fmt.Errorf("the %s database lacks a verified, active END_USER, STAFF user or organisation member", label)
	}
	e.sessionID = newUUID(kindSession, session).String()
	return e, nil
}

func (e *env) close() { e.guard.Close() }

// operation is one measured call; prepare returns the function to time on
// an env, after checking that it succeeds.
type operation struct {
	key        string // for -ops
	name, what string
	prepare    func(ctx context.Context, e *env) (func() error, error)
}

// operations are in the order of the report. Each is measured in
// measureOrder, so that the logins, which add a session and an audit
// event each, come last and the small database stays small for the rest.
var operations = []operation{
	{"login", "login", "Authenticator.Login of a verified user (Argon2id 8 KiB, 1 iteration): user by email, INSERT session + audit event in one transaction",
		func(ctx context.Context, e *env) (func() error, error) {
			email := e.pop.email(e.subject)
			return func() error {
				_, _, err := e.a.Login(ctx, client, email, password)
				return err
			}, nil
		}},
	{"refresh", "refresh", "Authenticator.Refresh, chained (the newest refresh token each time): session + user by session id, conditional UPDATE",
		func(ctx context.Context, e *env) (func() error, error) {
			tok, _, err := e.a.Login(ctx, client, e.pop.email(e.subject), password)
			if err != nil {
				return nil, err
			}
			return func() error {
				next, err := e.a.Refresh(ctx, client, tok.Refresh)
				if err == nil {
					tok = next
				}
				return err
			}, nil
		}},
	{"me", "/auth/me/", "GET /api/v1/auth/me/ through httpapi in process (httptest recorder), Bearer token verified fully: session + user by session id",
		func(ctx context.Context, e *env) (func() error, error) {
			tok, _, err := e.a.Login(ctx, client, e.pop.email(e.subject), password)
			if err != nil {
				return nil, err
			}
			r := httptest.NewRequest(http.MethodGet, "/api/v1/auth/me/", nil)
			r.Header.Set("Authorization", "Bearer "+tok.Access)
			return func() error {
				rec := httptest.NewRecorder()
				e.h.ServeHTTP(rec, r)
				if rec.Code != http.StatusOK {
					return fmt.Errorf("GET /api/v1/auth/me/: %d %s", rec.Code, rec.Body)
				}
				return nil
			}, nil
		}},
	{"guard-global", "guard: global", "Guard.RequirePrincipalPermission(internal.dashboard.view) of a STAFF user, user cache off: user by id",
		func(ctx context.Context, e *env) (func() error, error) {
			pr := auth.Principal{UserID: e.pop.userID(e.staff).String()}
			return func() error { return e.guard.RequirePrincipalPermission(ctx, pr, auth.PermDashboardView) }, nil
		}},
	{"guard-org", "guard: org", "OrgService.Membership + Guard.RequirePermission(org.view) of a member: org by slug, member by (org, user)",
		func(ctx context.Context, e *env) (func() error, error) {
			pr := auth.Principal{UserID: e.pop.userID(e.member.user).String()}
			slug := e.pop.orgSlug(e.org)
			return func() error {
				m, err := e.orgs.Membership(ctx, pr, slug)
				if err != nil {
					return err
				}
				if m.Role != e.member.role {
					return fmt.Errorf("membership of %s: role %q, want %q", slug, m.Role, e.member.role)
				}
				return e.guard.RequirePermission(ctx, m, auth.PermOrgView)
			}, nil
		}},
}

var measureOrder = []string{"me", "guard-global", "guard-org", "refresh", "login"}

// result is one operation's rounds on each database, in ns/op.
type result struct {
	op           operation
	small, large []float64
}

func (r result) smallNs() float64 { return median(r.small) }
func (r result) largeNs() float64 { return median(r.large) }
func (r result) ratio() float64   { return r.largeNs() / r.smallNs() }

// roundRatios are the large/small ratios of each round's pair.
func (r result) roundRatios() []float64 {
	out := make([]float64, len(r.small))
	for i := range r.small {
		out[i] = r.large[i] / r.small[i]
	}
	return out
}

// measureAll measures every operation on both databases, in alternating
// rounds, and returns the results in the order of operations.
func measureAll(ctx context.Context, cfg config, envs [2]*env, progress io.Writer) ([]result, error) {
	byKey := map[string]result{}
	for _, key := range measureOrder {
		if !slices.Contains(cfg.ops, key) {
			continue
		}
		op := operations[slices.IndexFunc(operations, func(o operation) bool { return o.key == key })]
		var fns [2]func() error
		for k, e := range envs {
			fn, err := op.prepare(ctx, e)
			if err != nil {
				return nil, fmt.Errorf("%s on the %s database: %w", op.name, e.label, err)
			}
			if err := fn(); err != nil {
				return nil, fmt.Errorf("%s on the %s database: %w", op.name, e.label, err)
			}
			if _, _, err := timed(ctx, fn, cfg.warmup); err != nil {
				return nil, fmt.Errorf("%s on the %s database: %w", op.name, e.label, err)
			}
			fns[k] = fn
		}
		res := result{op: op}
		turns, turn := cfg.turns()
		for range cfg.rounds {
			// A round is turns of about cfg.slice on each database, the
			// order swapped every other turn (ABBAABBA…), so that the
			// machine's load, which other programs change, falls on both
			// alike.
			var elapsed [2]time.Duration
			var calls [2]int
			for s := range 2 * turns {
				k := (s + s/2) % 2 // 0 1 1 0 0 1 1 0 …
				if s%2 == 0 {
					runtime.GC()
				}
				if err := freshConnection(envs[k], fns[k]); err != nil {
					return nil, fmt.Errorf("%s on the %s database: %w", op.name, envs[k].label, err)
				}
				d, n, err := timed(ctx, fns[k], turn)
				if err != nil {
					return nil, fmt.Errorf("%s on the %s database: %w", op.name, envs[k].label, err)
				}
				elapsed[k] += d
				calls[k] += n
			}
			res.small = append(res.small, float64(elapsed[0].Nanoseconds())/float64(calls[0]))
			res.large = append(res.large, float64(elapsed[1].Nanoseconds())/float64(calls[1]))
		}
		fmt.Fprintf(progress, "%-14s small %9.0f ns/op  large %9.0f ns/op  ratio %.3f\n", op.name, res.smallNs(), res.largeNs(), res.ratio())
		byKey[key] = res
	}
	var out []result
	for _, op := range operations {
		if res, ok := byKey[op.key]; ok {
			out = append(out, res)
		}
	}
	return out, nil
}

// freshConnection, on PostgreSQL, closes e's idle connections and calls fn
// once, untimed, so that the turn about to be timed runs on a new
// connection, warmed by that call. Each connection is a server process,
// and with the client and the server sharing two cores the way the
// scheduler places the pair changes a round trip by up to a third (SELECT
// 1 measured 35 % slower on one long-lived connection than on another): a
// new connection per turn spreads that over both databases instead of
// pinning it on one. The server's cache (shared_buffers) is shared, so a
// new connection starts warm. On SQLite it does nothing: each connection
// has a page cache of its own, which a server keeps warm by keeping its
// connections, and so does the bench.
func freshConnection(e *env, fn func() error) error {
	if e.st.Dialect() != storage.DialectPostgres {
		return nil
	}
	db := e.st.DB().DB
	db.SetMaxIdleConns(0) // closes the idle ones
	db.SetMaxIdleConns(storage.PoolSize())
	return fn()
}

// timed calls fn until d has passed (at least once) and returns the time
// it took and how many calls.
func timed(ctx context.Context, fn func() error, d time.Duration) (time.Duration, int, error) {
	start := time.Now()
	n := 0
	for {
		if err := fn(); err != nil {
			return 0, 0, err
		}
		n++
		if el := time.Since(start); el >= d {
			return el, n, nil
		}
		if n%64 == 0 && ctx.Err() != nil {
			return 0, 0, ctx.Err()
		}
	}
}

// median of xs (which it does not change).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
