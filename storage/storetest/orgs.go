package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authd/auth"
)

func testOrgs(t *testing.T, newStore func(t *testing.T) auth.Store) {
	t.Run("a created organisation reads back by slug", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		owner := createUser(t, s)
		o := newOrg(owner.ID)
		o.CreatedAt = base.In(eastern)
		o.UpdatedAt = base.Add(time.Second)
		if err := s.CreateOrg(t.Context(), o); err != nil {
			t.Fatalf("CreateOrg: %v", err)
		}
		got, err := s.OrgBySlug(t.Context(), o.Slug)
		checkErr(t, "OrgBySlug", err, nil)
		checkEqual(t, "org", got, storedOrg(o))
		got, err = s.OrgByID(t.Context(), o.ID)
		checkErr(t, "OrgByID", err, nil)
		checkEqual(t, "org by id", got, storedOrg(o))
	})

	t.Run("creating an organisation that clashes is refused with the error of the clash", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		owner := createUser(t, s)
		first := createOrg(t, s, owner.ID)
		tests := []struct {
			name    string
			change  func(o *auth.Org)
			wantErr error
		}{
			{"a taken slug is ErrSlugTaken", func(o *auth.Org) { o.Slug = first.Slug }, auth.ErrSlugTaken},
			{"a taken slug with another name and owner is ErrSlugTaken", func(o *auth.Org) {
				o.Slug = first.Slug
				o.Name = "Another name"
				o.OwnerID = createUser(t, s).ID
			}, auth.ErrSlugTaken},
			{"a taken id is a conflict", func(o *auth.Org) { o.ID = first.ID }, auth.ErrConflict},
			{"an owner that does not exist is a conflict", func(o *auth.Org) { o.OwnerID = newID() }, auth.ErrConflict},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				o := newOrg(owner.ID)
				tt.change(&o)
				err := s.CreateOrg(t.Context(), o)
				checkErr(t, "CreateOrg", err, tt.wantErr)
				if tt.wantErr == auth.ErrConflict && errors.Is(err, auth.ErrSlugTaken) {
					t.Errorf("CreateOrg: %v, which is not about the slug", err)
				}
			})
		}
		got, err := s.OrgBySlug(t.Context(), first.Slug)
		checkErr(t, "OrgBySlug", err, nil)
		checkEqual(t, "the first org after the clashes", got, storedOrg(first))
	})

	t.Run("looking up an organisation that is not there is not found", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		o := createOrg(t, s, createUser(t, s).ID)
		for _, slug := range []string{"no-such-org", "", "ORG-" + o.Slug[len("org-"):], o.ID} {
			_, err := s.OrgBySlug(t.Context(), slug)
			checkErr(t, "OrgBySlug("+slug+")", err, auth.ErrNotFound)
		}
		for _, id := range []string{newID(), "", "not-a-uuid", strings.ToUpper(o.ID), o.Slug} {
			_, err := s.OrgByID(t.Context(), id)
			checkErr(t, "OrgByID("+id+")", err, auth.ErrNotFound)
		}
	})

	t.Run("UpdateOrg writes the name, the owner and the update time and nothing else", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		o := createOrg(t, s, createUser(t, s).ID)
		changed := o
		changed.Name = "Renamed Ltd"
		changed.OwnerID = createUser(t, s).ID
		changed.UpdatedAt = base.Add(time.Hour)
		changed.Slug = "changed-slug"           // immutable
		changed.CreatedAt = base.Add(time.Hour) // not UpdateOrg's to write
		checkErr(t, "UpdateOrg", s.UpdateOrg(t.Context(), changed), nil)
		want := changed
		want.Slug = o.Slug
		want.CreatedAt = o.CreatedAt
		got, err := s.OrgBySlug(t.Context(), o.Slug)
		checkErr(t, "OrgBySlug", err, nil)
		checkEqual(t, "updated org", got, storedOrg(want))
	})

	t.Run("updating an organisation to an owner that does not exist is a conflict", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		o := createOrg(t, s, createUser(t, s).ID)
		changed := o
		changed.OwnerID = newID()
		checkErr(t, "UpdateOrg", s.UpdateOrg(t.Context(), changed), auth.ErrConflict)
	})

	t.Run("updating or deleting an organisation that is not there is not found", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		owner := createUser(t, s)
		for _, id := range []string{newID(), "not-a-uuid", ""} {
			o := newOrg(owner.ID)
			o.ID = id
			checkErr(t, "UpdateOrg("+id+")", s.UpdateOrg(t.Context(), o), auth.ErrNotFound)
			checkErr(t, "DeleteOrg("+id+")", s.DeleteOrg(t.Context(), id), auth.ErrNotFound)
		}
	})

	t.Run("deleting an organisation deletes its memberships and invites and nothing else", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		owner, member := createUser(t, s), createUser(t, s)
		doomed, kept := createOrg(t, s, owner.ID), createOrg(t, s, owner.ID)
		for _, o := range []auth.Org{doomed, kept} {
			addMember(t, s, o.ID, owner, auth.OrgOwner)
			addMember(t, s, o.ID, member, auth.OrgMember)
		}
		doomedInvite := createInvite(t, s, newInvite(doomed.ID, "invitee@example.com"))
		keptInvite := createInvite(t, s, newInvite(kept.ID, "invitee@example.com"))

		checkErr(t, "DeleteOrg", s.DeleteOrg(t.Context(), doomed.ID), nil)
		checkErr(t, "DeleteOrg a second time", s.DeleteOrg(t.Context(), doomed.ID), auth.ErrNotFound)

		_, err := s.OrgBySlug(t.Context(), doomed.Slug)
		checkErr(t, "OrgBySlug of the deleted org", err, auth.ErrNotFound)
		for _, u := range []auth.User{owner, member} {
			_, err := s.Member(t.Context(), doomed.ID, u.ID)
			checkErr(t, "Member of the deleted org", err, auth.ErrNotFound)
			_, err = s.Member(t.Context(), kept.ID, u.ID)
			checkErr(t, "Member of the other org", err, nil)
			_, err = s.UserByID(t.Context(), u.ID)
			checkErr(t, "UserByID of a member", err, nil)
			checkEqual(t, "the member's orgs", membershipOrgIDs(allUserOrgs(t, s, u.ID)), []string{kept.ID})
		}
		if members := allMembers(t, s, doomed.ID); len(members) != 0 {
			t.Errorf("the deleted org has %d members", len(members))
		}
		_, err = s.InviteByHash(t.Context(), doomedInvite.TokenHash)
		checkErr(t, "InviteByHash of the deleted org's invite", err, auth.ErrNotFound)
		_, err = s.InviteByHash(t.Context(), keptInvite.TokenHash)
		checkErr(t, "InviteByHash of the other org's invite", err, nil)
		// The slug is free again.
		again := newOrg(owner.ID)
		again.Slug = doomed.Slug
		checkErr(t, "CreateOrg with the deleted org's slug", s.CreateOrg(t.Context(), again), nil)
	})

	t.Run("the organisation filter matches a substring of the name or the slug in any case", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		owner := createUser(t, s)
		org := func(name, slug string) auth.Org {
			o := newOrg(owner.ID)
			o.Name, o.Slug = name, slug
			return o
		}
		acme := org("Acme Corporation", "acme")
		globex := org("Globex", "globex-corp")
		percent := org("100% Organic", "organic")
		underscore := org("snake_case Inc", "snake")
		for i, o := range []auth.Org{acme, globex, percent, underscore} {
			o.CreatedAt = base.Add(time.Duration(i) * time.Second)
			if err := s.CreateOrg(t.Context(), o); err != nil {
				t.Fatalf("CreateOrg: %v", err)
			}
		}
		tests := []struct {
			name  string
			query string
			want  []auth.Org
		}{
			{"no query matches every organisation", "", []auth.Org{acme, globex, percent, underscore}},
			{"a substring of a name matches", "corporation", []auth.Org{acme}},
			{"a substring of a slug matches", "corp", []auth.Org{acme, globex}},
			{"a query in capitals matches in lower case", "GLOBEX", []auth.Org{globex}},
			{"a percent sign matches only itself", "%", []auth.Org{percent}},
			{"an underscore matches only itself", "_", []auth.Org{underscore}},
			{"a query that matches nothing selects nothing", "initech", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := allPages(t, 200, func(p auth.Page) ([]auth.Org, string, error) {
					return s.Orgs(t.Context(), auth.OrgFilter{Query: tt.query}, p)
				})
				checkEqual(t, "orgs", orgIDs(got), orgIDs(tt.want))
			})
		}
	})

	t.Run("a user's organisations come with its role in each, oldest membership first", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u, other := createUser(t, s), createUser(t, s)
		first, second, third, notMine := createOrg(t, s, u.ID), createOrg(t, s, other.ID), createOrg(t, s, other.ID), createOrg(t, s, other.ID)
		join := func(o auth.Org, role auth.OrgRole, at time.Time) {
			m := auth.Member{OrgID: o.ID, UserID: u.ID, Role: role, JoinedAt: at}
			checkErr(t, "AddMember", s.AddMember(t.Context(), m), nil)
		}
		join(second, auth.OrgMember, base.Add(2*time.Minute))
		join(first, auth.OrgOwner, base)
		join(third, auth.OrgAdmin, base.Add(time.Minute))
		addMember(t, s, notMine.ID, other, auth.OrgOwner)

		got := allUserOrgs(t, s, u.ID)
		want := []auth.OrgMembership{
			{Org: storedOrg(first), Role: auth.OrgOwner},
			{Org: storedOrg(third), Role: auth.OrgAdmin},
			{Org: storedOrg(second), Role: auth.OrgMember},
		}
		checkEqual(t, "user's orgs", got, want)
		for _, userID := range []string{newID(), "not-a-uuid"} {
			if got := allUserOrgs(t, s, userID); len(got) != 0 {
				t.Errorf("UserOrgs(%s) = %+v, want none", userID, got)
			}
		}
	})
}

// newOrg returns an organisation of the owner with a unique name and slug,
// created at base.
func newOrg(ownerID string) auth.Org {
	id := newID()
	return auth.Org{
		ID:        id,
		Name:      "Org " + id[:8],
		Slug:      "org-" + id[:8],
		OwnerID:   ownerID,
		CreatedAt: base,
		UpdatedAt: base,
	}
}

// createOrg stores a new organisation of the owner and returns it.
func createOrg(t *testing.T, s auth.Store, ownerID string) auth.Org {
	t.Helper()
	o := newOrg(ownerID)
	if err := s.CreateOrg(t.Context(), o); err != nil {
		t.Fatalf("CreateOrg: %v", err)
	}
	return o
}

func storedOrg(o auth.Org) auth.Org {
	o.CreatedAt = stored(o.CreatedAt)
	o.UpdatedAt = stored(o.UpdatedAt)
	return o
}

// allUserOrgs returns every organisation of the user, following the cursor.
func allUserOrgs(t *testing.T, s auth.Store, userID string) []auth.OrgMembership {
	t.Helper()
	return allPages(t, 200, func(p auth.Page) ([]auth.OrgMembership, string, error) {
		return s.UserOrgs(t.Context(), userID, p)
	})
}

func orgIDs(orgs []auth.Org) []string {
	var ids []string
	for _, o := range orgs {
		ids = append(ids, o.ID)
	}
	return ids
}

func membershipOrgIDs(ms []auth.OrgMembership) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.Org.ID)
	}
	return ids
}
