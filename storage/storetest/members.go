package storetest

import (
	"testing"
	"time"

	"github.com/authd/auth"
)

func testMembers(t *testing.T, newStore func(t *testing.T) auth.Store) {
	t.Run("a member reads back with the user's email and name", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		o := createOrg(t, s, u.ID)
		m := auth.Member{
			OrgID: o.ID, UserID: u.ID, Role: auth.OrgAdmin, JoinedAt: base.In(western),
			Email: "ignored@example.com", Name: "Ignored", // the user's are read back
		}
		checkErr(t, "AddMember", s.AddMember(t.Context(), m), nil)
		got, err := s.Member(t.Context(), o.ID, u.ID)
		checkErr(t, "Member", err, nil)
		want := auth.Member{OrgID: o.ID, UserID: u.ID, Role: auth.OrgAdmin, JoinedAt: stored(base), Email: u.Email, Name: u.Name}
		checkEqual(t, "member", got, want)
	})

	t.Run("adding a member that cannot be added is refused with the error of the reason", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		o := createOrg(t, s, u.ID)
		addMember(t, s, o.ID, u, auth.OrgMember)
		tests := []struct {
			name    string
			member  auth.Member
			wantErr error
		}{
			{"a user who is a member already", auth.Member{OrgID: o.ID, UserID: u.ID, Role: auth.OrgMember, JoinedAt: base}, auth.ErrAlreadyMember},
			{"a user who is a member already, with another role", auth.Member{OrgID: o.ID, UserID: u.ID, Role: auth.OrgOwner, JoinedAt: base}, auth.ErrAlreadyMember},
			{"a user who does not exist", auth.Member{OrgID: o.ID, UserID: newID(), Role: auth.OrgMember, JoinedAt: base}, auth.ErrConflict},
			{"an organisation that does not exist", auth.Member{OrgID: newID(), UserID: u.ID, Role: auth.OrgMember, JoinedAt: base}, auth.ErrConflict},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				checkErr(t, "AddMember", s.AddMember(t.Context(), tt.member), tt.wantErr)
			})
		}
		got, err := s.Member(t.Context(), o.ID, u.ID)
		checkErr(t, "Member", err, nil)
		if got.Role != auth.OrgMember {
			t.Errorf("the role after the refused additions is %s, want %s", got.Role, auth.OrgMember)
		}
	})

	t.Run("looking up a membership that is not there is not found", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u, outsider := createUser(t, s), createUser(t, s)
		o := createOrg(t, s, u.ID)
		addMember(t, s, o.ID, u, auth.OrgOwner)
		other := createOrg(t, s, outsider.ID)
		tests := []struct {
			name, orgID, userID string
		}{
			{"a user who is not a member", o.ID, outsider.ID},
			{"a member of another organisation", other.ID, u.ID},
			{"an unknown user", o.ID, newID()},
			{"an unknown organisation", newID(), u.ID},
			{"ids that are not UUIDs", "acme", "ada"},
			{"empty ids", "", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.Member(t.Context(), tt.orgID, tt.userID)
				checkErr(t, "Member", err, auth.ErrNotFound)
			})
		}
	})

	t.Run("an organisation's members come with emails and names, oldest first", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		owner, admin, member, outsider := createUser(t, s), createUser(t, s), createUser(t, s), createUser(t, s)
		o, other := createOrg(t, s, owner.ID), createOrg(t, s, outsider.ID)
		join := func(orgID string, u auth.User, role auth.OrgRole, at time.Time) auth.Member {
			m := auth.Member{OrgID: orgID, UserID: u.ID, Role: role, JoinedAt: at}
			checkErr(t, "AddMember", s.AddMember(t.Context(), m), nil)
			m.JoinedAt, m.Email, m.Name = stored(at), u.Email, u.Name
			return m
		}
		m3 := join(o.ID, member, auth.OrgMember, base.Add(time.Hour))
		m1 := join(o.ID, owner, auth.OrgOwner, base)
		m2 := join(o.ID, admin, auth.OrgAdmin, base.Add(time.Minute))
		join(other.ID, outsider, auth.OrgOwner, base)
		checkEqual(t, "members", allMembers(t, s, o.ID), []auth.Member{m1, m2, m3})
		for _, orgID := range []string{newID(), "not-a-uuid"} {
			if got := allMembers(t, s, orgID); len(got) != 0 {
				t.Errorf("Members(%s) = %+v, want none", orgID, got)
			}
		}
	})

	t.Run("SetMemberRole changes the role of one membership", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u, v := createUser(t, s), createUser(t, s)
		o, other := createOrg(t, s, u.ID), createOrg(t, s, u.ID)
		addMember(t, s, o.ID, u, auth.OrgMember)
		addMember(t, s, o.ID, v, auth.OrgMember)
		addMember(t, s, other.ID, u, auth.OrgMember)
		checkErr(t, "SetMemberRole", s.SetMemberRole(t.Context(), o.ID, u.ID, auth.OrgAdmin), nil)
		for _, tt := range []struct {
			orgID, userID string
			want          auth.OrgRole
		}{
			{o.ID, u.ID, auth.OrgAdmin},
			{o.ID, v.ID, auth.OrgMember},
			{other.ID, u.ID, auth.OrgMember},
		} {
			got, err := s.Member(t.Context(), tt.orgID, tt.userID)
			checkErr(t, "Member", err, nil)
			if got.Role != tt.want {
				t.Errorf("role of %s in %s = %s, want %s", tt.userID, tt.orgID, got.Role, tt.want)
			}
		}
	})

	t.Run("RemoveMember deletes one membership", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u, v := createUser(t, s), createUser(t, s)
		o := createOrg(t, s, u.ID)
		addMember(t, s, o.ID, u, auth.OrgOwner)
		addMember(t, s, o.ID, v, auth.OrgMember)
		checkErr(t, "RemoveMember", s.RemoveMember(t.Context(), o.ID, v.ID), nil)
		_, err := s.Member(t.Context(), o.ID, v.ID)
		checkErr(t, "Member after RemoveMember", err, auth.ErrNotFound)
		_, err = s.Member(t.Context(), o.ID, u.ID)
		checkErr(t, "Member of the one who stays", err, nil)
		// A removed member can join again.
		addMember(t, s, o.ID, v, auth.OrgAdmin)
	})

	t.Run("changing or removing a membership that is not there is not found", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u, outsider := createUser(t, s), createUser(t, s)
		o := createOrg(t, s, u.ID)
		addMember(t, s, o.ID, u, auth.OrgOwner)
		tests := []struct {
			name, orgID, userID string
		}{
			{"a user who is not a member", o.ID, outsider.ID},
			{"an unknown user", o.ID, newID()},
			{"an unknown organisation", newID(), u.ID},
			{"ids that are not UUIDs", "acme", "ada"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				checkErr(t, "SetMemberRole", s.SetMemberRole(t.Context(), tt.orgID, tt.userID, auth.OrgAdmin), auth.ErrNotFound)
				checkErr(t, "RemoveMember", s.RemoveMember(t.Context(), tt.orgID, tt.userID), auth.ErrNotFound)
			})
		}
		got, err := s.Member(t.Context(), o.ID, u.ID)
		checkErr(t, "Member", err, nil)
		if got.Role != auth.OrgOwner {
			t.Errorf("the owner's role became %s", got.Role)
		}
	})
}

// addMember makes u a member of the organisation with role, joined at
// base, and returns the membership as the store reads it back.
func addMember(t *testing.T, s auth.Store, orgID string, u auth.User, role auth.OrgRole) auth.Member {
	t.Helper()
	m := auth.Member{OrgID: orgID, UserID: u.ID, Role: role, JoinedAt: base}
	if err := s.AddMember(t.Context(), m); err != nil {
		t.Fatalf("AddMember: %v", err)
	}
	m.JoinedAt, m.Email, m.Name = stored(base), u.Email, u.Name
	return m
}

// allMembers returns every member of the organisation, following the
// cursor.
func allMembers(t *testing.T, s auth.Store, orgID string) []auth.Member {
	t.Helper()
	return allPages(t, 200, func(p auth.Page) ([]auth.Member, string, error) {
		return s.Members(t.Context(), orgID, p)
	})
}
