package auth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/auth"
)

// team is an organisation with one member of each role, plus spares.
type team struct {
	slug string
	by   map[string]auth.Principal // "owner", "admin", "admin2", "member", "member2", "outsider"
	ids  map[string]string
}

// newTeam makes a fresh organisation named name whose people come from
// crew: the same crew in two teams is the same six users, registered once
// per fixture.
func (f *fixture) newTeam(t *testing.T, name, crew string) team {
	t.Helper()
	ctx := context.Background()
	if f.crews == nil {
		f.crews = map[string]team{}
	}
	tm, ok := f.crews[crew]
	if !ok {
		tm = team{by: map[string]auth.Principal{}, ids: map[string]string{}}
		for _, who := range []string{"owner", "admin", "admin2", "member", "member2", "outsider"} {
			email := who + "@" + crew + ".example.com"
			u := f.verifiedUser(t, email)
			tm.by[who] = f.principal(t, email)
			tm.ids[who] = u.ID
		}
		f.crews[crew] = tm
	}
	om, err := f.orgs.Create(ctx, client, tm.by["owner"], name, "")
	if err != nil {
		t.Fatal(err)
	}
	tm.slug = om.Org.Slug
	roles := map[string]auth.OrgRole{"admin": auth.OrgAdmin, "admin2": auth.OrgAdmin, "member": auth.OrgMember, "member2": auth.OrgMember}
	for who, role := range roles {
		if err := f.store.AddMember(ctx, auth.Member{OrgID: om.Org.ID, UserID: tm.ids[who], Role: role, JoinedAt: f.clock.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	return tm
}

func TestCreateOrg(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.verifiedUser(t, "founder@example.com")
	p := f.principal(t, "founder@example.com")

	om, err := f.orgs.Create(ctx, client, p, "Acme Inc.", "")
	if err != nil {
		t.Fatal(err)
	}
	if om.Org.Slug != "acme-inc" || om.Role != auth.OrgOwner || om.Org.OwnerID != p.UserID {
		t.Fatalf("created %+v", om)
	}
	again, err := f.orgs.Create(ctx, client, p, "ACME inc", "")
	if err != nil || again.Org.Slug != "acme-inc-2" {
		t.Fatalf("a derived slug collision gives %q, %v; want acme-inc-2", again.Org.Slug, err)
	}
	if _, err := f.orgs.Create(ctx, client, p, "Other", "acme-inc"); !errors.Is(err, auth.ErrSlugTaken) {
		t.Fatalf("a given taken slug = %v, want ErrSlugTaken", err)
	}
	for _, bad := range []string{"Acme", "ab", "-acme", "create", "a_b"} {
		var ve *auth.ValidationError
		if _, err := f.orgs.Create(ctx, client, p, "Other", bad); !errors.As(err, &ve) || ve.Fields["slug"] == "" {
			t.Errorf("slug %q = %v, want a validation error on slug", bad, err)
		}
	}
	var ve *auth.ValidationError
	if _, err := f.orgs.Create(ctx, client, p, "  ", ""); !errors.As(err, &ve) || ve.Fields["name"] == "" {
		t.Errorf("an empty name = %v", err)
	}
	mine, _, err := f.orgs.Mine(ctx, p, auth.Page{})
	if err != nil || len(mine) != 2 {
		t.Fatalf("Mine = %d orgs, %v", len(mine), err)
	}
	ev := f.events(t, auth.EventOrgCreated)
	if len(ev) != 2 || ev[0].OrgID == "" || ev[0].ActorID != p.UserID {
		t.Fatalf("org.created events = %+v", ev)
	}
}

// The whole role × action × target-role matrix of the hierarchy rules.
func TestHierarchyMatrix(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	actors := []string{"owner", "admin", "member"}
	targets := []string{"owner", "admin2", "member2", "self"}
	roles := []auth.OrgRole{auth.OrgOwner, auth.OrgAdmin, auth.OrgMember}

	// allowed lists every permitted combination; everything else must be
	// ErrPermissionDenied.
	allowedChange := map[string]bool{
		"owner:admin2->ADMIN": true, "owner:admin2->MEMBER": true,
		"owner:member2->ADMIN": true, "owner:member2->MEMBER": true,
		"admin:member2->MEMBER": true,
	}
	allowedRemove := map[string]bool{"owner:admin2": true, "owner:member2": true, "admin:member2": true}
	allowedInvite := map[string]bool{"owner:ADMIN": true, "owner:MEMBER": true, "admin:MEMBER": true}

	n := 0
	for _, actor := range actors {
		for _, target := range targets {
			for _, role := range roles {
				key := fmt.Sprintf("%s:%s->%s", actor, target, role)
				t.Run("change role "+key, func(t *testing.T) {
					n++
					tm := f.newTeam(t, fmt.Sprintf("Change %d", n), "matrix")
					id := tm.ids[target]
					if target == "self" {
						id = tm.by[actor].UserID
					}
					m, err := f.orgs.ChangeRole(ctx, client, tm.by[actor], tm.slug, id, role)
					if allowedChange[key] {
						if err != nil || m.Role != role {
							t.Fatalf("ChangeRole = %+v, %v; want allowed", m, err)
						}
						return
					}
					if !errors.Is(err, auth.ErrPermissionDenied) {
						t.Fatalf("ChangeRole = %v, want ErrPermissionDenied", err)
					}
				})
			}
			key := actor + ":" + target
			t.Run("remove "+key, func(t *testing.T) {
				n++
				tm := f.newTeam(t, fmt.Sprintf("Remove %d", n), "matrix")
				id := tm.ids[target]
				if target == "self" {
					id = tm.by[actor].UserID
				}
				err := f.orgs.RemoveMember(ctx, client, tm.by[actor], tm.slug, id)
				if allowedRemove[key] {
					if err != nil {
						t.Fatalf("RemoveMember = %v; want allowed", err)
					}
					members, _, _ := f.orgs.Members(ctx, tm.by["owner"], tm.slug, auth.Page{})
					if len(members) != 4 {
						t.Fatalf("%d members after removal, want 4", len(members))
					}
					return
				}
				if !errors.Is(err, auth.ErrPermissionDenied) {
					t.Fatalf("RemoveMember = %v, want ErrPermissionDenied", err)
				}
			})
		}
		for _, role := range roles {
			key := fmt.Sprintf("%s:%s", actor, role)
			t.Run("invite "+key, func(t *testing.T) {
				n++
				tm := f.newTeam(t, fmt.Sprintf("Invite %d", n), "matrix")
				_, err := f.orgs.Invite(ctx, client, tm.by[actor], tm.slug, fmt.Sprintf("guest%d@example.com", n), role)
				if allowedInvite[key] != (err == nil) || (err != nil && !errors.Is(err, auth.ErrPermissionDenied)) {
					t.Fatalf("Invite = %v, allowed %v", err, allowedInvite[key])
				}
			})
		}
	}
}

func TestOwnershipAndLeaving(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tm := f.newTeam(t, "Transfer Co", "transferco")

	if err := f.orgs.Leave(ctx, client, tm.by["owner"], tm.slug); !errors.Is(err, auth.ErrOwnerCannotLeave) {
		t.Fatalf("owner leaving = %v, want ErrOwnerCannotLeave", err)
	}
	if _, err := f.orgs.TransferOwnership(ctx, client, tm.by["admin"], tm.slug, tm.ids["member"]); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Fatalf("an ADMIN transferring = %v, want ErrPermissionDenied", err)
	}
	if _, err := f.orgs.TransferOwnership(ctx, client, tm.by["owner"], tm.slug, tm.ids["outsider"]); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("transfer to a non-member = %v, want ErrNotFound", err)
	}
	om, err := f.orgs.TransferOwnership(ctx, client, tm.by["owner"], tm.slug, tm.ids["member"])
	if err != nil || om.Role != auth.OrgAdmin || om.Org.OwnerID != tm.ids["member"] {
		t.Fatalf("transfer = %+v, %v", om, err)
	}
	members, _, _ := f.orgs.Members(ctx, tm.by["member"], tm.slug, auth.Page{})
	owners := 0
	for _, m := range members {
		if m.Role == auth.OrgOwner {
			owners++
		}
	}
	if owners != 1 {
		t.Fatalf("%d owners after the transfer, want exactly 1", owners)
	}
	if err := f.orgs.Leave(ctx, client, tm.by["owner"], tm.slug); err != nil {
		t.Fatalf("the former owner, now ADMIN, leaving = %v", err)
	}
	if err := f.orgs.Leave(ctx, client, tm.by["outsider"], tm.slug); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a non-member leaving = %v, want ErrNotFound", err)
	}
	if n := len(f.events(t, auth.EventOwnershipTransferred)); n != 1 {
		t.Fatalf("%d transfer events", n)
	}
}

func TestInvites(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tm := f.newTeam(t, "Invite Co", "inviteco")
	f.verifiedUser(t, "newbie@example.com")
	newbie := f.principal(t, "newbie@example.com")

	first, err := f.orgs.Invite(ctx, client, tm.by["admin"], tm.slug, "Newbie@Example.com", auth.OrgMember)
	if err != nil {
		t.Fatal(err)
	}
	_, oldToken := f.mail.last(t, "newbie@example.com")
	second, err := f.orgs.Invite(ctx, client, tm.by["owner"], tm.slug, "newbie@example.com", auth.OrgAdmin)
	if err != nil {
		t.Fatal(err)
	}
	msg, token := f.mail.last(t, "newbie@example.com")
	if !strings.Contains(msg.Text, "http://localhost:3000/invites/accept?token=") || token == oldToken {
		t.Fatalf("invite mail = %q", msg.Text)
	}
	pending, _, err := f.orgs.Invites(ctx, tm.by["admin"], tm.slug, auth.Page{})
	if err != nil || len(pending) != 1 || pending[0].ID != second.ID || pending[0].ID == first.ID {
		t.Fatalf("pending invites = %+v, %v; want only the replacement", pending, err)
	}
	if _, _, err := f.orgs.AcceptInvite(ctx, client, newbie, oldToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("the replaced invite's token = %v, want ErrInvalidToken", err)
	}
	if _, _, err := f.orgs.AcceptInvite(ctx, client, tm.by["outsider"], token); !errors.Is(err, auth.ErrInviteEmailMismatch) {
		t.Fatalf("accepting another's invite = %v, want ErrInviteEmailMismatch", err)
	}
	om, m, err := f.orgs.AcceptInvite(ctx, client, newbie, token)
	if err != nil || om.Org.Slug != tm.slug || om.Role != auth.OrgAdmin || m.Role != auth.OrgAdmin {
		t.Fatalf("accept = %+v %+v %v", om, m, err)
	}
	if _, _, err := f.orgs.AcceptInvite(ctx, client, newbie, token); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("a second accept = %v, want ErrInvalidToken", err)
	}
	if _, err := f.orgs.Invite(ctx, client, tm.by["owner"], tm.slug, "newbie@example.com", auth.OrgMember); !errors.Is(err, auth.ErrAlreadyMember) {
		t.Fatalf("inviting a member = %v, want ErrAlreadyMember", err)
	}

	t.Run("an expired invite is invalid", func(t *testing.T) {
		if _, err := f.orgs.Invite(ctx, client, tm.by["owner"], tm.slug, "outsider@inviteco.example.com", auth.OrgMember); err != nil {
			t.Fatal(err)
		}
		_, token := f.mail.last(t, "outsider@inviteco.example.com")
		f.clock.Advance(7*24*time.Hour + time.Second)
		if _, _, err := f.orgs.AcceptInvite(ctx, client, tm.by["outsider"], token); !errors.Is(err, auth.ErrInvalidToken) {
			t.Fatalf("expired invite = %v, want ErrInvalidToken", err)
		}
	})
	t.Run("fifty concurrent accepts have exactly one effect", func(t *testing.T) {
		f.verifiedUser(t, "racer@example.com")
		racer := f.principal(t, "racer@example.com")
		if _, err := f.orgs.Invite(ctx, client, tm.by["owner"], tm.slug, "racer@example.com", auth.OrgMember); err != nil {
			t.Fatal(err)
		}
		_, token := f.mail.last(t, "racer@example.com")
		var wg sync.WaitGroup
		errs := make([]error, 50)
		for i := range errs {
			wg.Go(func() { _, _, errs[i] = f.orgs.AcceptInvite(ctx, client, racer, token) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, auth.ErrInvalidToken), errors.Is(err, auth.ErrAlreadyMember):
			default:
				t.Errorf("unexpected %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d accepts succeeded, want 1", ok)
		}
	})
	t.Run("an invite id of another organisation does not act here", func(t *testing.T) {
		other := f.newTeam(t, "Other Co", "otherco")
		inv, err := f.orgs.Invite(ctx, client, other.by["owner"], other.slug, "stranger@example.com", auth.OrgMember)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.orgs.RevokeInvite(ctx, client, tm.by["owner"], tm.slug, inv.ID); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("revoking another org's invite = %v, want ErrNotFound", err)
		}
		still, _, _ := f.orgs.Invites(ctx, other.by["owner"], other.slug, auth.Page{})
		if len(still) != 1 {
			t.Fatalf("the other org's invite is gone")
		}
		if _, err := f.orgs.ChangeRole(ctx, client, tm.by["owner"], tm.slug, other.ids["member"], auth.OrgAdmin); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("changing another org's member = %v, want ErrNotFound", err)
		}
	})
}

func TestScopesNeverBleed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tm := f.newTeam(t, "Scope Co", "scopeco")
	f.verifiedUser(t, "root@example.com")
	root := f.principal(t, "root@example.com")
	u, _ := f.store.UserByID(ctx, root.UserID)
	f.setRole(t, u, auth.RoleSystemAdmin)

	if _, err := f.orgs.Org(ctx, root, tm.slug); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a SYSTEM_ADMIN non-member viewing an org = %v, want ErrNotFound", err)
	}
	if _, _, err := f.orgs.Members(ctx, root, tm.slug, auth.Page{}); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a SYSTEM_ADMIN non-member listing members = %v, want ErrNotFound", err)
	}
	if _, err := f.admin.Dashboard(ctx, tm.by["owner"]); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Fatalf("an org OWNER on the dashboard = %v, want ErrPermissionDenied", err)
	}
	owner, _ := f.store.UserByID(ctx, tm.ids["owner"])
	if err := f.guard.RequireUserPermission(ctx, owner, auth.PermOrgDelete); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Fatalf("an org permission through a global check = %v", err)
	}
	admin, _ := f.store.UserByID(ctx, root.UserID)
	if err := f.guard.RequireUserPermission(ctx, admin, auth.PermOrgView); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Fatalf("SYSTEM_ADMIN granted an org permission globally: %v", err)
	}
	member, _ := f.store.Member(ctx, mustOrg(t, f, tm.slug).ID, tm.ids["owner"])
	if err := f.guard.RequirePermission(ctx, member, auth.PermUsersRead); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Fatalf("an OWNER membership granted a global permission: %v", err)
	}
}

func mustOrg(t *testing.T, f *fixture, slug string) auth.Org {
	t.Helper()
	o, err := f.store.OrgBySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return o
}
