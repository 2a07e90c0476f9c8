package storetest

import (
	"cmp"
	"slices"
	"testing"

	"github.com/authd/auth"
)

func testPermissions(t *testing.T, newStore func(t *testing.T) auth.Store) {
	t.Run("a new store has no grants", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		checkEqual(t, "grants", grants(t, s), []auth.RolePermission(nil))
	})

	t.Run("SetRolePermissions replaces the grants of one role and no other", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		set := func(scope auth.Scope, role string, perms ...auth.Permission) {
			t.Helper()
			checkErr(t, "SetRolePermissions", s.SetRolePermissions(t.Context(), scope, role, perms), nil)
		}
		set(auth.ScopeUser, "STAFF", auth.PermDashboardView, auth.PermUsersRead)
		set(auth.ScopeUser, "DATA_ADMIN", auth.PermAuditRead)
		set(auth.ScopeOrg, "ADMIN", auth.PermOrgView)
		set(auth.ScopeOrg, "STAFF", auth.PermOrgView) // the same name in the other scope

		set(auth.ScopeUser, "STAFF", auth.PermUsersRead, auth.PermOrgsRead)
		checkEqual(t, "grants after a replacement", grants(t, s), []auth.RolePermission{
			{Scope: auth.ScopeOrg, Role: "ADMIN", Permission: string(auth.PermOrgView)},
			{Scope: auth.ScopeOrg, Role: "STAFF", Permission: string(auth.PermOrgView)},
			{Scope: auth.ScopeUser, Role: "DATA_ADMIN", Permission: string(auth.PermAuditRead)},
			{Scope: auth.ScopeUser, Role: "STAFF", Permission: string(auth.PermOrgsRead)},
			{Scope: auth.ScopeUser, Role: "STAFF", Permission: string(auth.PermUsersRead)},
		})

		set(auth.ScopeUser, "STAFF")
		set(auth.ScopeOrg, "ADMIN", auth.PermMemberView, auth.PermMemberView)
		checkEqual(t, "grants after emptying one role and granting one permission twice", grants(t, s), []auth.RolePermission{
			{Scope: auth.ScopeOrg, Role: "ADMIN", Permission: string(auth.PermMemberView)},
			{Scope: auth.ScopeOrg, Role: "STAFF", Permission: string(auth.PermOrgView)},
			{Scope: auth.ScopeUser, Role: "DATA_ADMIN", Permission: string(auth.PermAuditRead)},
		})
	})

	t.Run("names the store does not know are kept as they are", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		perms := []auth.Permission{"internal.future.thing", auth.PermUsersRead}
		checkErr(t, "SetRolePermissions", s.SetRolePermissions(t.Context(), auth.ScopeUser, "AUDITOR", perms), nil)
		checkEqual(t, "grants", grants(t, s), []auth.RolePermission{
			{Scope: auth.ScopeUser, Role: "AUDITOR", Permission: "internal.future.thing"},
			{Scope: auth.ScopeUser, Role: "AUDITOR", Permission: string(auth.PermUsersRead)},
		})
	})

	t.Run("seeding stores the grants of a role that was never configured, once", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		owner := auth.DefaultPermissions().OrgRoles[auth.OrgOwner]
		seeded, err := s.SeedRolePermissions(t.Context(), auth.ScopeOrg, string(auth.OrgOwner), owner)
		checkErr(t, "SeedRolePermissions", err, nil)
		if !seeded {
			t.Fatal("the first seed of a role reports false")
		}
		want := grantsOf(auth.ScopeOrg, string(auth.OrgOwner), owner)
		checkEqual(t, "grants after the seed", grants(t, s), want)

		seeded, err = s.SeedRolePermissions(t.Context(), auth.ScopeOrg, string(auth.OrgOwner), []auth.Permission{auth.PermOrgView})
		checkErr(t, "SeedRolePermissions a second time", err, nil)
		if seeded {
			t.Error("a second seed of a role reports true")
		}
		checkEqual(t, "grants after the second seed", grants(t, s), want)
	})

	t.Run("seeding never undoes an edit, even one that left a role with no permission", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		staff := auth.DefaultPermissions().UserRoles[auth.RoleStaff]
		tests := []struct {
			name string
			edit func() error
		}{
			{"a role edited after its seed", func() error {
				if _, err := s.SeedRolePermissions(t.Context(), auth.ScopeUser, "STAFF", staff); err != nil {
					return err
				}
				return s.SetRolePermissions(t.Context(), auth.ScopeUser, "STAFF", nil)
			}},
			{"a role edited before any seed", func() error {
				return s.SetRolePermissions(t.Context(), auth.ScopeUser, "DATA_ADMIN", []auth.Permission{})
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				checkErr(t, "edit", tt.edit(), nil)
			})
		}
		for _, role := range []string{"STAFF", "DATA_ADMIN"} {
			seeded, err := s.SeedRolePermissions(t.Context(), auth.ScopeUser, role, staff)
			checkErr(t, "SeedRolePermissions", err, nil)
			if seeded {
				t.Errorf("seeding %s, configured to have no permission, reports true", role)
			}
		}
		checkEqual(t, "grants", grants(t, s), []auth.RolePermission(nil))
	})

	t.Run("seeding an empty role configures it", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		seeded, err := s.SeedRolePermissions(t.Context(), auth.ScopeUser, string(auth.RoleEndUser), nil)
		checkErr(t, "SeedRolePermissions", err, nil)
		if !seeded {
			t.Error("the first seed of a role with no permission reports false")
		}
		seeded, err = s.SeedRolePermissions(t.Context(), auth.ScopeUser, string(auth.RoleEndUser), []auth.Permission{auth.PermUsersRead})
		checkErr(t, "SeedRolePermissions a second time", err, nil)
		if seeded {
			t.Error("a second seed reports true")
		}
		checkEqual(t, "grants", grants(t, s), []auth.RolePermission(nil))
	})

	t.Run("of ten concurrent seeds of one role exactly one stores its grants and none fails", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		admin := auth.DefaultPermissions().OrgRoles[auth.OrgAdmin]
		const seeders = 10
		seeded := make([]bool, seeders)
		errs := race(seeders, func(i int) error {
			var err error
			seeded[i], err = s.SeedRolePermissions(t.Context(), auth.ScopeOrg, string(auth.OrgAdmin), admin)
			return err
		})
		var wins int
		for i, err := range errs {
			checkErr(t, "SeedRolePermissions", err, nil)
			if seeded[i] {
				wins++
			}
		}
		if wins != 1 {
			t.Errorf("%d of %d concurrent seeds report true, want 1", wins, seeders)
		}
		checkEqual(t, "grants", grants(t, s), grantsOf(auth.ScopeOrg, string(auth.OrgAdmin), admin))
	})

	t.Run("concurrent replacements of one role leave the grants of one of them", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		all := auth.UserPermissions()
		const setters = 10
		errs := race(setters, func(i int) error {
			// Overlapping sets: each grants the permissions from i on.
			return s.SetRolePermissions(t.Context(), auth.ScopeUser, "STAFF", all[i%len(all):])
		})
		for _, err := range errs {
			checkErr(t, "SetRolePermissions", err, nil)
		}
		got := grants(t, s)
		for i := range setters {
			if slices.Equal(got, grantsOf(auth.ScopeUser, "STAFF", all[i%len(all):])) {
				return
			}
		}
		t.Errorf("grants after concurrent replacements = %+v, want those of one of them", got)
	})
}

// grants returns every stored grant.
func grants(t *testing.T, s auth.Store) []auth.RolePermission {
	t.Helper()
	got, err := s.RolePermissions(t.Context())
	if err != nil {
		t.Fatalf("RolePermissions: %v", err)
	}
	return sortedGrants(got)
}

// grantsOf returns the grants of perms to role, sorted as [grants] returns
// them.
func grantsOf(scope auth.Scope, role string, perms []auth.Permission) []auth.RolePermission {
	var rps []auth.RolePermission
	for _, p := range perms {
		rps = append(rps, auth.RolePermission{Scope: scope, Role: role, Permission: string(p)})
	}
	return sortedGrants(rps)
}

// sortedGrants sorts rps by scope, role and permission; no grant is nil.
func sortedGrants(rps []auth.RolePermission) []auth.RolePermission {
	if len(rps) == 0 {
		return nil
	}
	slices.SortFunc(rps, func(a, b auth.RolePermission) int {
		return cmp.Or(cmp.Compare(a.Scope, b.Scope), cmp.Compare(a.Role, b.Role), cmp.Compare(a.Permission, b.Permission))
	})
	return rps
}
