package auth_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/authd/auth"
)

func ptr[T any](v T) *T { return &v }

// staffFixture returns a fixture with a SYSTEM_ADMIN, a STAFF and an
// END_USER, logged in.
func staffFixture(t *testing.T) (*fixture, map[string]auth.Principal) {
	f := newFixture(t)
	who := map[string]auth.Principal{}
	for email, role := range map[string]auth.GlobalRole{
		"sys@example.com": auth.RoleSystemAdmin, "staff@example.com": auth.RoleStaff,
		"data@example.com": auth.RoleDataAdmin, "user@example.com": auth.RoleEndUser,
	} {
		u := f.verifiedUser(t, email)
		f.setRole(t, u, role)
		who[string(role)] = f.principal(t, email)
	}
	return f, who
}

func TestAdminUpdateUser(t *testing.T) {
	f, who := staffFixture(t)
	ctx := context.Background()
	sys, staff, user := who["SYSTEM_ADMIN"], who["STAFF"], who["END_USER"]

	if _, err := f.admin.UpdateUser(ctx, client, staff, user.UserID, auth.UserUpdate{Name: ptr("x")}); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Fatalf("STAFF writing a user = %v, want ErrPermissionDenied", err)
	}
	if _, err := f.admin.UpdateUser(ctx, client, sys, sys.UserID, auth.UserUpdate{Role: ptr(auth.RoleStaff)}); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Fatalf("changing one's own role = %v, want ErrPermissionDenied", err)
	}
	if _, err := f.admin.UpdateUser(ctx, client, sys, sys.UserID, auth.UserUpdate{IsActive: ptr(false)}); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Fatalf("disabling oneself = %v, want ErrPermissionDenied", err)
	}
	var ve *auth.ValidationError
	if _, err := f.admin.UpdateUser(ctx, client, sys, user.UserID, auth.UserUpdate{Role: ptr(auth.GlobalRole("KING"))}); !errors.As(err, &ve) {
		t.Fatalf("an unknown role = %v, want a validation error", err)
	}
	if _, err := f.admin.UpdateUser(ctx, client, sys, "00000000-0000-4000-8000-000000000000", auth.UserUpdate{Name: ptr("x")}); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("an unknown user = %v, want ErrNotFound", err)
	}

	u, err := f.admin.UpdateUser(ctx, client, sys, user.UserID, auth.UserUpdate{Role: ptr(auth.RoleStaff), Name: ptr("Promoted")})
	if err != nil || u.Role != auth.RoleStaff || u.Name != "Promoted" {
		t.Fatalf("promotion = %+v, %v", u, err)
	}
	// The guard reads the current role: the old token's END_USER claim
	// does not matter.
	if _, err := f.admin.Dashboard(ctx, user); err != nil {
		t.Fatalf("the promoted user on the dashboard = %v", err)
	}

	u, err = f.admin.UpdateUser(ctx, client, sys, user.UserID, auth.UserUpdate{IsActive: ptr(false)})
	if err != nil || u.IsActive {
		t.Fatalf("disable = %+v, %v", u, err)
	}
	if sessions, _ := f.store.ActiveSessions(ctx, user.UserID, f.clock.Now()); len(sessions) != 0 {
		t.Fatalf("%d sessions survive disabling", len(sessions))
	}
	if _, _, err := f.auth.Login(ctx, client, "user@example.com", goodPassword); !errors.Is(err, auth.ErrAccountDisabled) {
		t.Fatalf("login of a disabled user = %v, want ErrAccountDisabled", err)
	}
	for _, name := range []string{auth.EventUserRoleChanged, auth.EventUserDisabled, auth.EventUserUpdated} {
		evs := f.events(t, name)
		if len(evs) == 0 || evs[0].ActorID != sys.UserID || evs[0].TargetID != user.UserID {
			t.Errorf("%s events = %+v", name, evs)
		}
	}
	if _, err := f.admin.UpdateUser(ctx, client, sys, user.UserID, auth.UserUpdate{IsActive: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.auth.Login(ctx, client, "user@example.com", goodPassword); err != nil {
		t.Fatalf("login after re-enabling = %v", err)
	}
}

func TestAdminPermissions(t *testing.T) {
	f, who := staffFixture(t)
	ctx := context.Background()
	sys, staff := who["SYSTEM_ADMIN"], who["STAFF"]

	m, err := f.admin.Permissions(ctx, sys)
	if err != nil || !slices.Equal(m.UserRoles[auth.RoleStaff], auth.DefaultPermissions().UserRoles[auth.RoleStaff]) {
		t.Fatalf("mappings = %+v, %v", m, err)
	}
	if _, err := f.admin.Permissions(ctx, staff); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Fatalf("STAFF reading mappings = %v", err)
	}
	if _, err := f.admin.SetPermissions(ctx, client, sys, auth.ScopeUser, "SYSTEM_ADMIN", []string{"internal.users.read"}); !errors.Is(err, auth.ErrConflict) {
		t.Fatalf("removing manage from SYSTEM_ADMIN = %v, want ErrConflict", err)
	}
	var ve *auth.ValidationError
	for _, tc := range []struct {
		scope auth.Scope
		role  string
		perms []string
	}{
		{auth.ScopeUser, "STAFF", []string{"internal.nope"}},
		{auth.ScopeUser, "STAFF", []string{"org.view"}},
		{auth.ScopeUser, "KING", nil},
		{auth.ScopeOrg, "STAFF", nil},
	} {
		if _, err := f.admin.SetPermissions(ctx, client, sys, tc.scope, tc.role, tc.perms); !errors.As(err, &ve) {
			t.Errorf("SetPermissions(%v) = %v, want a validation error", tc, err)
		}
	}
	if _, err := f.admin.SetPermissions(ctx, client, sys, "galaxy", "STAFF", nil); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("an unknown scope = %v, want ErrNotFound", err)
	}

	if _, _, err := f.admin.Audit(ctx, staff, auth.AuditFilter{}, auth.Page{}); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Fatalf("STAFF reading the audit log = %v", err)
	}
	got, err := f.admin.SetPermissions(ctx, client, sys, auth.ScopeUser, "STAFF",
		[]string{"internal.audit.read", "internal.dashboard.view", "internal.audit.read"})
	if err != nil || !slices.Equal(got, []auth.Permission{auth.PermDashboardView, auth.PermAuditRead}) {
		t.Fatalf("SetPermissions = %v, %v", got, err)
	}
	if _, _, err := f.admin.Audit(ctx, staff, auth.AuditFilter{}, auth.Page{}); err != nil {
		t.Fatalf("STAFF reading the audit log right after the grant = %v", err)
	}
	if _, _, err := f.admin.Users(ctx, staff, auth.UserFilter{}, auth.Page{}); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Fatalf("STAFF listing users after the revocation = %v", err)
	}
	ev := f.events(t, auth.EventPermissionsChanged)
	if len(ev) != 1 || ev[0].TargetType != auth.TargetRole || ev[0].TargetID != "STAFF" {
		t.Fatalf("permissions.changed = %+v", ev)
	}

	// Seeding again never undoes the edit.
	if seeded, err := auth.SeedPermissions(ctx, f.store); err != nil || len(seeded) != 0 {
		t.Fatalf("re-seeding = %v, %v", seeded, err)
	}
	if err := f.guard.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if m := f.guard.Mappings(); len(m.UserRoles[auth.RoleStaff]) != 2 {
		t.Fatalf("STAFF after re-seeding = %v", m.UserRoles[auth.RoleStaff])
	}
}

func TestGuardsOfTwoInstancesAgree(t *testing.T) {
	f, who := staffFixture(t)
	ctx := context.Background()
	b := auth.NewLocalBroadcaster()
	g1, err := auth.NewGuard(ctx, f.store, auth.GuardConfig{Broadcaster: b})
	if err != nil {
		t.Fatal(err)
	}
	defer g1.Close()
	g2, err := auth.NewGuard(ctx, f.store, auth.GuardConfig{Broadcaster: b})
	if err != nil {
		t.Fatal(err)
	}
	defer g2.Close()
	admin1, _ := auth.NewAdmin(f.store, g1, nil)
	staff, _ := f.store.UserByID(ctx, who["STAFF"].UserID)
	if err := g2.RequireUserPermission(ctx, staff, auth.PermAuditRead); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Fatal("STAFF has internal.audit.read by default")
	}
	if _, err := admin1.SetPermissions(ctx, client, who["SYSTEM_ADMIN"], auth.ScopeUser, "STAFF", []string{"internal.audit.read"}); err != nil {
		t.Fatal(err)
	}
	// LocalBroadcaster delivers before Publish returns.
	if err := g2.RequireUserPermission(ctx, staff, auth.PermAuditRead); err != nil {
		t.Fatalf("the other instance's guard did not see the change: %v", err)
	}
}

func TestGuardRefusesUnknownStoredNames(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.store.SetRolePermissions(ctx, auth.ScopeUser, "STAFF", []auth.Permission{"internal.typo"}); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.NewGuard(ctx, f.store, auth.GuardConfig{}); err == nil {
		t.Fatal("NewGuard accepted a stored mapping with an unknown permission")
	}
}

func TestAdminListsAndDashboard(t *testing.T) {
	f, who := staffFixture(t)
	ctx := context.Background()
	staff, data := who["STAFF"], who["DATA_ADMIN"]
	st, err := f.admin.Dashboard(ctx, staff)
	if err != nil || st.Users != 4 || st.ActiveSessions != 4 || st.Logins24h != 4 || st.Orgs != 0 {
		t.Fatalf("dashboard = %+v, %v", st, err)
	}
	users, next, err := f.admin.Users(ctx, staff, auth.UserFilter{Query: "STAFF@"}, auth.Page{})
	if err != nil || len(users) != 1 || users[0].Email != "staff@example.com" || next != "" {
		t.Fatalf("Users(q=STAFF@) = %+v, %q, %v", users, next, err)
	}
	if _, err := f.admin.UserSessions(ctx, staff, staff.UserID); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Fatalf("STAFF reading sessions = %v", err)
	}
	sessions, err := f.admin.UserSessions(ctx, data, staff.UserID)
	if err != nil || len(sessions) != 1 {
		t.Fatalf("DATA_ADMIN reading sessions = %d, %v", len(sessions), err)
	}
	if err := f.admin.RevokeSession(ctx, client, data, sessions[0].ID); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Fatalf("DATA_ADMIN revoking = %v", err)
	}
	if err := f.admin.RevokeSession(ctx, client, who["SYSTEM_ADMIN"], sessions[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth.Authenticate(ctx, f.login(t, "staff@example.com").Access); err != nil {
		t.Fatal(err)
	}
	if err := f.admin.RevokeSession(ctx, client, who["SYSTEM_ADMIN"], sessions[0].ID); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("revoking an ended session = %v, want ErrNotFound", err)
	}
}

// A caller without the permission learns nothing from its input: the
// guard answers before any validation.
func TestPermissionIsCheckedBeforeInput(t *testing.T) {
	f, who := staffFixture(t)
	ctx := context.Background()
	user := who["END_USER"]
	if _, err := f.admin.SetPermissions(ctx, client, user, auth.ScopeUser, "SYSTEM_ADMIN", nil); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Errorf("END_USER emptying SYSTEM_ADMIN = %v, want ErrPermissionDenied", err)
	}
	if _, err := f.admin.SetPermissions(ctx, client, user, "galaxy", "KING", []string{"nope"}); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Errorf("END_USER with nonsense = %v, want ErrPermissionDenied", err)
	}
	if _, err := f.admin.UpdateUser(ctx, client, user, who["STAFF"].UserID, auth.UserUpdate{Role: ptr(auth.GlobalRole("KING"))}); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Errorf("END_USER with a bad role = %v, want ErrPermissionDenied", err)
	}
	tm := f.newTeam(t, "Order Co", "orderco")
	outsider := tm.by["outsider"]
	if _, err := f.orgs.Invite(ctx, client, outsider, tm.slug, "", ""); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("a non-member inviting with an empty body = %v, want ErrNotFound", err)
	}
	if _, err := f.orgs.Rename(ctx, client, outsider, tm.slug, ""); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("a non-member renaming with an empty name = %v, want ErrNotFound", err)
	}
	if _, err := f.orgs.ChangeRole(ctx, client, tm.by["member"], tm.slug, tm.ids["member2"], "KING"); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Errorf("a MEMBER changing a role to nonsense = %v, want ErrPermissionDenied", err)
	}
	if _, err := f.orgs.TransferOwnership(ctx, client, tm.by["owner"], tm.slug, ""); !errors.As(err, new(*auth.ValidationError)) {
		t.Errorf("a transfer without user_id = %v, want a validation error", err)
	}
}
