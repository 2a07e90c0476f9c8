package auth

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Admin runs the internal (global-role) operations: the dashboard, user,
// session and organisation administration, the audit log and the
// permission mappings. Every method loads the acting user's current role
// from the store and asks the [Guard] first. It is safe for concurrent use.
type Admin struct {
	store Store
	guard *Guard
	now   func() time.Time
}

// NewAdmin returns an Admin. now is the clock; nil means time.Now.
func NewAdmin(store Store, guard *Guard, now func() time.Time) (*Admin, error) {
	if store == nil || guard == nil {
		return nil, errors.New("auth: NewAdmin needs a store and a guard")
	}
	if now == nil {
		now = time.Now
	}
	return &Admin{store: store, guard: guard, now: now}, nil
}

func (a *Admin) clock() time.Time { return a.now().UTC().Truncate(time.Microsecond) }

// require loads the actor and checks every permission in perms.
func (a *Admin) require(ctx context.Context, st Store, actor Principal, perms ...Permission) (User, error) {
	u, err := st.UserByID(ctx, actor.UserID)
	if err != nil {
		return User{}, unauthenticatedIfMissing(err)
	}
	for _, p := range perms {
		if err := a.guard.RequireUserPermission(ctx, u, p); err != nil {
			return User{}, err
		}
	}
	return u, nil
}

// Dashboard returns the platform counts (internal.dashboard.view).
func (a *Admin) Dashboard(ctx context.Context, actor Principal) (Stats, error) {
	if _, err := a.require(ctx, a.store, actor, PermDashboardView); err != nil {
		return Stats{}, err
	}
	return a.store.Stats(ctx, a.clock())
}

// Users lists users matching f (internal.users.read). An invalid role in
// f is a *ValidationError on "role".
func (a *Admin) Users(ctx context.Context, actor Principal, f UserFilter, p Page) ([]User, string, error) {
	if _, err := a.require(ctx, a.store, actor, PermUsersRead); err != nil {
		return nil, "", err
	}
	if f.Role != "" && !f.Role.Valid() {
		return nil, "", fieldError("role", "must be END_USER, STAFF, DATA_ADMIN or SYSTEM_ADMIN")
	}
	return a.store.Users(ctx, f, p)
}

// UserDetail is one user with the organisations it belongs to and its
// linked external identities.
type UserDetail struct {
	User       User
	Orgs       []OrgMembership
	Identities []Identity
}

// User returns one user, its first 200 organisations and its identities
// (internal.users.read), or ErrNotFound.
func (a *Admin) User(ctx context.Context, actor Principal, id string) (UserDetail, error) {
	if _, err := a.require(ctx, a.store, actor, PermUsersRead); err != nil {
		return UserDetail{}, err
	}
	u, err := a.store.UserByID(ctx, id)
	if err != nil {
		return UserDetail{}, err
	}
	orgs, _, err := a.store.UserOrgs(ctx, id, Page{Limit: 200})
	if err != nil {
		return UserDetail{}, err
	}
	ids, err := a.store.UserIdentities(ctx, id)
	if err != nil {
		return UserDetail{}, err
	}
	return UserDetail{User: u, Orgs: orgs, Identities: ids}, nil
}

// UserUpdate is a change to a user by an administrator; nil fields stay.
type UserUpdate struct {
	Name     *string
	IsActive *bool
	Role     *GlobalRole
}

// UpdateUser changes a user's name, active flag or global role
// (internal.users.write; a role change also needs internal.roles.change).
// Disabling a user revokes all its sessions. Changing one's own role or
// disabling oneself is ErrPermissionDenied. It returns a *ValidationError
// for a bad name or role and ErrNotFound for an unknown id.
func (a *Admin) UpdateUser(ctx context.Context, c Client, actor Principal, id string, up UserUpdate) (User, error) {
	var out User
	err := a.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		me, err := a.require(ctx, tx, actor, PermUsersWrite)
		if err != nil {
			return err
		}
		if err := checkUserUpdate(&up); err != nil {
			return err
		}
		u, err := tx.UserByID(ctx, id)
		if err != nil {
			return err
		}
		now := a.clock()
		var events []AuditEvent
		event := func(name string, meta map[string]string) {
			events = append(events, AuditEvent{Event: name, ActorID: me.ID, TargetType: TargetUser, TargetID: u.ID, Metadata: meta})
		}
		if up.Role != nil && *up.Role != u.Role {
			if err := a.guard.RequireUserPermission(ctx, me, PermRolesChange); err != nil {
				return err
			}
			if u.ID == me.ID {
				return ErrPermissionDenied
			}
			event(EventUserRoleChanged, map[string]string{"from": string(u.Role), "to": string(*up.Role)})
			u.Role = *up.Role
		}
		if up.IsActive != nil && *up.IsActive != u.IsActive {
			if u.ID == me.ID {
				return ErrPermissionDenied
			}
			u.IsActive = *up.IsActive
			if u.IsActive {
				event(EventUserUpdated, map[string]string{"fields": "is_active"})
			} else {
				if _, err := tx.RevokeUserSessions(ctx, u.ID, "", now); err != nil {
					return err
				}
				event(EventUserDisabled, nil)
			}
		}
		if up.Name != nil && *up.Name != u.Name {
			u.Name = *up.Name
			event(EventUserUpdated, map[string]string{"fields": "name"})
		}
		out = u
		if len(events) == 0 {
			return nil
		}
		u.UpdatedAt = now
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		out = u
		for _, e := range events {
			if err := appendAudit(ctx, tx, c, now, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && (up.Role != nil || up.IsActive != nil) {
		a.guard.userChanged(ctx, id)
	}
	return out, err
}

// checkUserUpdate trims the name and validates the fields that are set.
func checkUserUpdate(up *UserUpdate) error {
	fields := map[string]string{}
	if up.Name != nil {
		trimmed := strings.TrimSpace(*up.Name)
		up.Name = &trimmed
		if msg := checkName(trimmed); msg != "" {
			fields["name"] = msg
		}
	}
	if up.Role != nil && !up.Role.Valid() {
		fields["role"] = "must be END_USER, STAFF, DATA_ADMIN or SYSTEM_ADMIN"
	}
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	return nil
}

// UserSessions returns a user's active sessions (internal.sessions.read),
// or ErrNotFound for an unknown user.
func (a *Admin) UserSessions(ctx context.Context, actor Principal, id string) ([]Session, error) {
	if _, err := a.require(ctx, a.store, actor, PermSessionsRead); err != nil {
		return nil, err
	}
	if _, err := a.store.UserByID(ctx, id); err != nil {
		return nil, err
	}
	return a.store.ActiveSessions(ctx, id, a.clock())
}

// RevokeSession revokes any user's session (internal.sessions.revoke), or
// returns ErrNotFound when it does not exist or has ended.
func (a *Admin) RevokeSession(ctx context.Context, c Client, actor Principal, id string) error {
	return a.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		me, err := a.require(ctx, tx, actor, PermSessionsRevoke)
		if err != nil {
			return err
		}
		s, err := tx.SessionByID(ctx, id)
		if err != nil {
			return err
		}
		now := a.clock()
		if !s.Active(now) {
			return ErrNotFound
		}
		if err := tx.RevokeSession(ctx, id, now); err != nil {
			return err
		}
		return appendAudit(ctx, tx, c, now, AuditEvent{Event: EventSessionRevoked, ActorID: me.ID,
			TargetType: TargetSession, TargetID: id, Metadata: map[string]string{"user_id": s.UserID}})
	})
}

// Orgs lists organisations matching f (internal.orgs.read).
func (a *Admin) Orgs(ctx context.Context, actor Principal, f OrgFilter, p Page) ([]Org, string, error) {
	if _, err := a.require(ctx, a.store, actor, PermOrgsRead); err != nil {
		return nil, "", err
	}
	return a.store.Orgs(ctx, f, p)
}

// Org returns one organisation and its first 200 members
// (internal.orgs.read), or ErrNotFound.
func (a *Admin) Org(ctx context.Context, actor Principal, slug string) (Org, []Member, error) {
	if _, err := a.require(ctx, a.store, actor, PermOrgsRead); err != nil {
		return Org{}, nil, err
	}
	o, err := orgBySlug(ctx, a.store, slug)
	if err != nil {
		return Org{}, nil, err
	}
	members, _, err := a.store.Members(ctx, o.ID, Page{Limit: 200})
	return o, members, err
}

// Audit returns audit events matching f, newest first
// (internal.audit.read).
func (a *Admin) Audit(ctx context.Context, actor Principal, f AuditFilter, p Page) ([]AuditEvent, string, error) {
	if _, err := a.require(ctx, a.store, actor, PermAuditRead); err != nil {
		return nil, "", err
	}
	if strings.IndexByte(f.Event, 0) >= 0 { // the store could not take it
		return nil, "", fieldError("event", "must not contain NUL characters")
	}
	return a.store.AuditEvents(ctx, f, p)
}

// Permissions returns the mappings in force (internal.permissions.manage).
func (a *Admin) Permissions(ctx context.Context, actor Principal) (Mappings, error) {
	if _, err := a.require(ctx, a.store, actor, PermPermissionsManage); err != nil {
		return Mappings{}, err
	}
	return a.guard.Mappings(), nil
}

// SetPermissions replaces the permissions of one role
// (internal.permissions.manage) and makes every instance reload them. scope
// is "user" (global roles) or "org"; another scope is ErrNotFound. An
// unknown role is a *ValidationError on "role"; a permission that is
// unknown or of the other scope one on "permissions". Taking
// internal.permissions.manage from SYSTEM_ADMIN is ErrConflict. It returns
// the role's new permissions in canonical order.
func (a *Admin) SetPermissions(ctx context.Context, c Client, actor Principal, scope Scope, role string, names []string) ([]Permission, error) {
	me, err := a.require(ctx, a.store, actor, PermPermissionsManage)
	if err != nil {
		return nil, err
	}
	if scope != ScopeUser && scope != ScopeOrg {
		return nil, ErrNotFound
	}
	if (scope == ScopeUser && !GlobalRole(role).Valid()) || (scope == ScopeOrg && !OrgRole(role).Valid()) {
		return nil, fieldError("role", "is not a "+string(scope)+" role")
	}
	set := map[Permission]bool{}
	for _, n := range names {
		p, err := ParsePermission(n)
		if err != nil || p.Scope() != scope {
			return nil, fieldError("permissions", "must name only known "+string(scope)+" permissions")
		}
		set[p] = true
	}
	perms := sortedGrants(set)
	if scope == ScopeUser && GlobalRole(role) == RoleSystemAdmin && !set[PermPermissionsManage] {
		return nil, ErrConflict
	}
	err = a.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.SetRolePermissions(ctx, scope, role, perms); err != nil {
			return err
		}
		list := make([]string, len(perms))
		for i, p := range perms {
			list[i] = string(p)
		}
		return appendAudit(ctx, tx, c, a.clock(), AuditEvent{Event: EventPermissionsChanged, ActorID: me.ID,
			TargetType: TargetRole, TargetID: role,
			Metadata: map[string]string{"scope": string(scope), "permissions": strings.Join(list, ",")}})
	})
	if err != nil {
		return nil, err
	}
	if err := a.guard.changed(ctx); err != nil {
		return perms, err
	}
	return perms, nil
}

// appendAudit fills in e's id, time and client and appends it through st.
func appendAudit(ctx context.Context, st Store, c Client, now time.Time, e AuditEvent) error {
	e.ID, e.OccurredAt, e.IP, e.UserAgent = newID(), now, c.IP, c.UserAgent
	return st.AppendAudit(ctx, e)
}

// Grants returns the actor as just read from the store and the global
// permissions its current role grants, in the order of [UserPermissions]
// (internal.dashboard.view: without it the actor may see nothing). A user
// interface uses it to decide which pages and controls to offer; every
// action still asks the [Guard] again. It returns ErrPermissionDenied for
// an actor without internal.dashboard.view (or disabled) and
// ErrUnauthenticated when the actor no longer exists.
func (a *Admin) Grants(ctx context.Context, actor Principal) (User, []Permission, error) {
	u, err := a.require(ctx, a.store, actor, PermDashboardView)
	if err != nil {
		return User{}, nil, err
	}
	var out []Permission
	for _, p := range UserPermissions() {
		if a.guard.RequireUserPermission(ctx, u, p) == nil {
			out = append(out, p)
		}
	}
	return u, out, nil
}

// OrgInvites returns the pending invites of the organisation with this
// slug, oldest first, one page at a time (internal.orgs.read), or
// ErrNotFound for an unknown slug.
func (a *Admin) OrgInvites(ctx context.Context, actor Principal, slug string, p Page) ([]Invite, string, error) {
	if _, err := a.require(ctx, a.store, actor, PermOrgsRead); err != nil {
		return nil, "", err
	}
	o, err := orgBySlug(ctx, a.store, slug)
	if err != nil {
		return nil, "", err
	}
	return a.store.PendingInvites(ctx, o.ID, a.clock(), p)
}

// DayCount is the number of logins on one UTC calendar day.
type DayCount struct {
	Day    time.Time // midnight UTC
	Logins int
}

// maxCountedLogins bounds the events [Admin.DailyLogins] reads per event
// name, so that a busy platform's dashboard stays fast.
const maxCountedLogins = 20000

// DailyLogins returns the successful logins (auth.login and sso.login
// events) of each of the last days UTC calendar days, today last
// (internal.dashboard.view); days is clamped to 1 through 31. It counts by
// reading those audit events, at most 20,000 of each name: when there were
// more, partial is true and the oldest days are undercounted.
func (a *Admin) DailyLogins(ctx context.Context, actor Principal, days int) (counts []DayCount, partial bool, err error) {
	if _, err := a.require(ctx, a.store, actor, PermDashboardView); err != nil {
		return nil, false, err
	}
	days = min(max(days, 1), 31)
	now := a.clock()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	since := today.AddDate(0, 0, -(days - 1))
	counts = make([]DayCount, days)
	for i := range counts {
		counts[i].Day = since.AddDate(0, 0, i)
	}
	for _, name := range []string{EventLogin, EventSSOLogin} {
		f := AuditFilter{Event: name, Since: since, Until: today.AddDate(0, 0, 1)}
		page, seen := Page{Limit: 200}, 0
		for {
			events, next, err := a.store.AuditEvents(ctx, f, page)
			if err != nil {
				return nil, false, err
			}
			for _, e := range events {
				if i := int(e.OccurredAt.UTC().Sub(since) / (24 * time.Hour)); i >= 0 && i < days {
					counts[i].Logins++
				}
			}
			seen += len(events)
			if next == "" {
				break
			}
			if seen >= maxCountedLogins {
				partial = true
				break
			}
			page.Cursor = next
		}
	}
	return counts, partial, nil
}
