package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
	"time"
)

// Guard is the one place every permission decision goes through. It keeps
// the role → permission mappings of the store in memory, so a check does
// no I/O, and reloads them when a [Broadcaster] signals a change on any
// instance. It is safe for concurrent use.
//
// Scopes never bleed: [Guard.RequireUserPermission] grants only global
// (internal.*) permissions from a user's global role, and
// [Guard.RequirePermission] grants only organisation permissions from a
// membership's role.
type Guard struct {
	store       GuardStore
	broadcaster Broadcaster
	log         *slog.Logger
	grants      atomic.Pointer[grants]
	users       *userCache
	stop        context.CancelFunc
}

// GuardStore is what a [Guard] reads: the role → permission mappings and,
// for [Guard.RequirePrincipalPermission], users.
type GuardStore interface {
	PermissionStore
	// UserByID returns the user or ErrNotFound.
	UserByID(ctx context.Context, id string) (User, error)
}

// grants is one immutable snapshot of the mappings.
type grants struct {
	user map[GlobalRole]map[Permission]bool
	org  map[OrgRole]map[Permission]bool
}

// GuardConfig holds the optional collaborators of a [Guard].
type GuardConfig struct {
	// Broadcaster carries "mappings changed" between instances; nil means
	// a LocalBroadcaster, which is right for one process.
	Broadcaster Broadcaster
	// Logger receives reload failures; nil discards.
	Logger *slog.Logger
	// UserCacheTTL is how long [Guard.RequirePrincipalPermission] may use
	// a user's global role and active flag read earlier: 0 means 5 s, a
	// negative value reads the store on every check. [Admin]'s changes
	// drop the user from the cache at once on every instance (through the
	// Broadcaster); the TTL bounds changes made behind its back, such as
	// authd createsuperuser or a direct UPDATE.
	UserCacheTTL time.Duration
	// Now is the clock of the user cache; nil means time.Now.
	Now func() time.Time
}

// NewGuard loads the mappings from store and subscribes to changes. It
// returns an error when the store holds a permission or role name this
// version does not know, so a bad mapping fails at start-up rather than
// silently at check time. Close stops the subscription.
func NewGuard(ctx context.Context, store GuardStore, cfg GuardConfig) (*Guard, error) {
	if store == nil {
		return nil, errors.New("auth: NewGuard needs a store")
	}
	if cfg.UserCacheTTL == 0 {
		cfg.UserCacheTTL = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	g := &Guard{store: store, broadcaster: cfg.Broadcaster, log: cfg.Logger, users: &userCache{
		users: store.UserByID, ttl: cfg.UserCacheTTL, now: cfg.Now, entries: map[string]cachedUser{},
	}}
	if g.broadcaster == nil {
		g.broadcaster = NewLocalBroadcaster()
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if err := g.Reload(ctx); err != nil {
		return nil, err
	}
	subCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	g.stop = stop
	if err := g.broadcaster.Subscribe(subCtx, ChannelPermissions, func(string) { g.reloadInBackground(subCtx) }); err != nil {
		stop()
		return nil, fmt.Errorf("auth: subscribe to permission changes: %w", err)
	}
	// An empty payload is a drop of every user: a user's id, or the
	// broadcaster's "messages may have been missed".
	if err := g.broadcaster.Subscribe(subCtx, ChannelUsers, g.users.drop); err != nil {
		stop()
		return nil, fmt.Errorf("auth: subscribe to user changes: %w", err)
	}
	return g, nil
}

// Close stops listening for changes. Checks keep working on the last
// mappings loaded.
func (g *Guard) Close() { g.stop() }

func (g *Guard) reloadInBackground(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := g.Reload(ctx); err != nil && ctx.Err() == nil {
		g.log.Error("reload permission mappings", "err", err)
	}
}

// Reload reads the mappings from the store now. On error the previous
// mappings stay in force.
func (g *Guard) Reload(ctx context.Context) error {
	rows, err := g.store.RolePermissions(ctx)
	if err != nil {
		return fmt.Errorf("auth: load permission mappings: %w", err)
	}
	next := &grants{user: map[GlobalRole]map[Permission]bool{}, org: map[OrgRole]map[Permission]bool{}}
	for _, r := range rows {
		p, err := ParsePermission(r.Permission)
		if err != nil || p.Scope() != r.Scope {
			return fmt.Errorf("auth: stored mapping grants unknown %s permission %q to %s", r.Scope, r.Permission, r.Role)
		}
		switch r.Scope {
		case ScopeUser:
			role := GlobalRole(r.Role)
			if !role.Valid() {
				return fmt.Errorf("auth: stored mapping names unknown global role %q", r.Role)
			}
			if next.user[role] == nil {
				next.user[role] = map[Permission]bool{}
			}
			next.user[role][p] = true
		case ScopeOrg:
			role := OrgRole(r.Role)
			if !role.Valid() {
				return fmt.Errorf("auth: stored mapping names unknown organisation role %q", r.Role)
			}
			if next.org[role] == nil {
				next.org[role] = map[Permission]bool{}
			}
			next.org[role][p] = true
		}
	}
	g.grants.Store(next)
	return nil
}

// changed reloads this instance at once and tells every other instance.
func (g *Guard) changed(ctx context.Context) error {
	if err := g.Reload(ctx); err != nil {
		return err
	}
	return g.broadcaster.Publish(ctx, ChannelPermissions, "")
}

// RequireUserPermission returns nil when u's current global role grants
// the global permission p, and ErrPermissionDenied otherwise (also for a
// disabled user and for any organisation permission: a global role grants
// nothing inside an organisation). Pass the user as just read from the
// store, never a role from a token claim. It does no I/O.
func (g *Guard) RequireUserPermission(_ context.Context, u User, p Permission) error {
	if !u.IsActive || p.Scope() != ScopeUser || !g.grants.Load().user[u.Role][p] {
		return ErrPermissionDenied
	}
	return nil
}

// RequirePrincipalPermission is [Guard.RequireUserPermission] for the
// principal of an access token, as a host application's handlers have it
// from [PrincipalFrom]: the principal's global role and active flag are
// read from the store, never from the token, through a cache (see
// [GuardConfig.UserCacheTTL]) so that most checks do no I/O. It returns
// ErrPermissionDenied, ErrUnauthenticated when the user no longer exists,
// or the store's error.
func (g *Guard) RequirePrincipalPermission(ctx context.Context, pr Principal, p Permission) error {
	u, err := g.users.user(ctx, pr.UserID)
	if err != nil {
		return err
	}
	if !u.active || p.Scope() != ScopeUser || !g.grants.Load().user[u.role][p] {
		return ErrPermissionDenied
	}
	return nil
}

// userChanged drops the user from the cache of every instance, this one
// at once. Call it after the change committed.
func (g *Guard) userChanged(ctx context.Context, id string) {
	g.users.drop(id)
	if err := g.broadcaster.Publish(ctx, ChannelUsers, id); err != nil {
		g.log.Error("announce a user change to other instances", "err", err)
	}
}

// RequirePermission returns nil when membership m's role grants the
// organisation permission p. It returns ErrNotFound for the zero Member
// (the caller is not a member: the organisation must look absent) and
// ErrPermissionDenied for a member whose role lacks p, or for any global
// permission. It does no I/O.
func (g *Guard) RequirePermission(_ context.Context, m Member, p Permission) error {
	if m.OrgID == "" || m.UserID == "" {
		return ErrNotFound
	}
	if p.Scope() != ScopeOrg || !g.grants.Load().org[m.Role][p] {
		return ErrPermissionDenied
	}
	return nil
}

// RequireMember returns nil when m is a membership and ErrNotFound for the
// zero Member. It is for actions open to every member whatever their role,
// such as leaving. It does no I/O.
func (g *Guard) RequireMember(_ context.Context, m Member) error {
	if m.OrgID == "" || m.UserID == "" {
		return ErrNotFound
	}
	return nil
}

// Mappings returns a copy of the mappings in force, every role of both
// scopes present (with an empty list when it has no permission), each list
// in the order of [AllPermissions].
func (g *Guard) Mappings() Mappings {
	cur := g.grants.Load()
	m := Mappings{UserRoles: map[GlobalRole][]Permission{}, OrgRoles: map[OrgRole][]Permission{}}
	for _, r := range GlobalRoles() {
		m.UserRoles[r] = sortedGrants(cur.user[r])
	}
	for _, r := range OrgRoles() {
		m.OrgRoles[r] = sortedGrants(cur.org[r])
	}
	return m
}

func sortedGrants(set map[Permission]bool) []Permission {
	out := []Permission{}
	for _, p := range AllPermissions() {
		if set[p] {
			out = append(out, p)
		}
	}
	return out
}

// SeedPermissions writes [DefaultPermissions] for every role that was never
// configured and returns the roles it seeded ("user/STAFF", …). It is
// idempotent and never undoes an edit.
func SeedPermissions(ctx context.Context, store PermissionStore) ([]string, error) {
	def := DefaultPermissions()
	var seeded []string
	seed := func(scope Scope, role string, perms []Permission) error {
		ok, err := store.SeedRolePermissions(ctx, scope, role, perms)
		if ok {
			seeded = append(seeded, string(scope)+"/"+role)
		}
		return err
	}
	for _, r := range slices.Sorted(maps.Keys(def.UserRoles)) {
		if err := seed(ScopeUser, string(r), def.UserRoles[r]); err != nil {
			return seeded, fmt.Errorf("auth: seed permissions: %w", err)
		}
	}
	for _, r := range slices.Sorted(maps.Keys(def.OrgRoles)) {
		if err := seed(ScopeOrg, string(r), def.OrgRoles[r]); err != nil {
			return seeded, fmt.Errorf("auth: seed permissions: %w", err)
		}
	}
	return seeded, nil
}
