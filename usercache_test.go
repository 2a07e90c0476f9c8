package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authd/auth"
)

// cachingGuards returns two guards on f's store that share a broadcaster,
// as two instances would, with the fixture's clock and a 5 s user cache,
// and an Admin acting through the first.
func cachingGuards(t *testing.T, f *fixture) (*auth.Guard, *auth.Guard, *auth.Admin) {
	t.Helper()
	b := auth.NewLocalBroadcaster()
	cfg := auth.GuardConfig{Broadcaster: b, Now: f.clock.Now, UserCacheTTL: 5 * time.Second}
	g1, err := auth.NewGuard(context.Background(), f.store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g1.Close)
	g2, err := auth.NewGuard(context.Background(), f.store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g2.Close)
	admin, err := auth.NewAdmin(f.store, g1, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return g1, g2, admin
}

func TestRequirePrincipalPermissionReadsTheStoredRole(t *testing.T) {
	f, who := staffFixture(t)
	ctx := context.Background()
	g, _, _ := cachingGuards(t, f)
	for _, c := range []struct {
		role string
		perm auth.Permission
		want error
	}{
		{"STAFF", auth.PermDashboardView, nil},
		{"STAFF", auth.PermAuditRead, auth.ErrPermissionDenied},
		{"END_USER", auth.PermDashboardView, auth.ErrPermissionDenied},
		{"SYSTEM_ADMIN", auth.PermPermissionsManage, nil},
		{"SYSTEM_ADMIN", auth.PermOrgView, auth.ErrPermissionDenied}, // an org permission never comes from a global role
	} {
		if err := g.RequirePrincipalPermission(ctx, who[c.role], c.perm); !errors.Is(err, c.want) {
			t.Errorf("%s asking for %s = %v, want %v", c.role, c.perm, err, c.want)
		}
	}
	// The role comes from the store, not from the principal's token.
	forged := who["END_USER"]
	forged.Role = auth.RoleSystemAdmin
	if err := g.RequirePrincipalPermission(ctx, forged, auth.PermDashboardView); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Errorf("an END_USER principal claiming SYSTEM_ADMIN = %v, want ErrPermissionDenied", err)
	}
	if err := g.RequirePrincipalPermission(ctx, auth.Principal{UserID: "0190f5b4-0000-7000-8000-000000000000"}, auth.PermDashboardView); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("a principal whose user does not exist = %v, want ErrUnauthenticated", err)
	}
}

func TestAdminChangesReachTheUserCacheOfEveryInstanceAtOnce(t *testing.T) {
	f, who := staffFixture(t)
	ctx := context.Background()
	g1, g2, admin := cachingGuards(t, f)
	sys, staff := who["SYSTEM_ADMIN"], who["STAFF"]
	allowed := func(g *auth.Guard) bool {
		return g.RequirePrincipalPermission(ctx, staff, auth.PermDashboardView) == nil
	}
	if !allowed(g1) || !allowed(g2) { // both caches now hold STAFF
		t.Fatal("STAFF cannot view the dashboard")
	}

	t.Run("a demotion takes effect on both instances without waiting for the cache", func(t *testing.T) {
		if _, err := admin.UpdateUser(ctx, client, sys, staff.UserID, auth.UserUpdate{Role: ptr(auth.RoleEndUser)}); err != nil {
			t.Fatal(err)
		}
		if allowed(g1) || allowed(g2) {
			t.Fatalf("after the demotion: instance 1 allows %v, instance 2 allows %v; want neither", allowed(g1), allowed(g2))
		}
	})
	t.Run("a promotion back and a disabling take effect at once too", func(t *testing.T) {
		if _, err := admin.UpdateUser(ctx, client, sys, staff.UserID, auth.UserUpdate{Role: ptr(auth.RoleStaff)}); err != nil {
			t.Fatal(err)
		}
		if !allowed(g1) || !allowed(g2) {
			t.Fatal("the promotion back to STAFF was not seen")
		}
		if _, err := admin.UpdateUser(ctx, client, sys, staff.UserID, auth.UserUpdate{IsActive: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		if allowed(g1) || allowed(g2) {
			t.Fatal("a disabled STAFF user is still allowed")
		}
	})
	t.Run("a change behind the Admin's back is seen once the entry is older than the TTL", func(t *testing.T) {
		if _, err := admin.UpdateUser(ctx, client, sys, staff.UserID, auth.UserUpdate{IsActive: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		if !allowed(g2) {
			t.Fatal("re-enabled STAFF user refused")
		}
		u, err := f.store.UserByID(ctx, staff.UserID)
		if err != nil {
			t.Fatal(err)
		}
		u.Role = auth.RoleEndUser
		if err := f.store.UpdateUser(ctx, u); err != nil { // as a direct UPDATE would
			t.Fatal(err)
		}
		if !allowed(g2) {
			t.Fatal("the cache was not used: the entry is fresh")
		}
		f.clock.Advance(5 * time.Second)
		if allowed(g2) {
			t.Fatal("5 s later the cached STAFF role is still used")
		}
	})
}

func TestAMissedBroadcastDropsEveryCachedUser(t *testing.T) {
	f, who := staffFixture(t)
	ctx := context.Background()
	b := auth.NewLocalBroadcaster()
	g, err := auth.NewGuard(ctx, f.store, auth.GuardConfig{Broadcaster: b, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	staff := who["STAFF"]
	if err := g.RequirePrincipalPermission(ctx, staff, auth.PermDashboardView); err != nil {
		t.Fatal(err)
	}
	u, _ := f.store.UserByID(ctx, staff.UserID)
	u.IsActive = false
	if err := f.store.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	// What a broadcaster sends after it reconnected: "messages may have
	// been missed".
	if err := b.Publish(ctx, auth.ChannelUsers, ""); err != nil {
		t.Fatal(err)
	}
	if err := g.RequirePrincipalPermission(ctx, staff, auth.PermDashboardView); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Fatalf("after a possible loss of messages the cached user was still used: %v", err)
	}
}
