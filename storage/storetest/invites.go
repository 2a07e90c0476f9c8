package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/authd/auth"
)

func testInvites(t *testing.T, newStore func(t *testing.T) auth.Store) {
	t.Run("a created invite reads back by its hash", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		inviter := createUser(t, s)
		o := createOrg(t, s, inviter.ID)
		full := newInvite(o.ID, "ada@example.com")
		full.Role = auth.OrgAdmin
		full.InvitedBy = inviter.ID
		full.CreatedAt = base.In(eastern)
		anonymous := newInvite(o.ID, "bob@example.com")
		for _, i := range []auth.Invite{full, anonymous} {
			createInvite(t, s, i)
			got, err := s.InviteByHash(t.Context(), i.TokenHash)
			checkErr(t, "InviteByHash", err, nil)
			checkEqual(t, "invite", got, storedInvite(i))
		}
	})

	t.Run("looking up an invite that is not there is not found", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		o := createOrg(t, s, createUser(t, s).ID)
		i := createInvite(t, s, newInvite(o.ID, "ada@example.com"))
		for _, hash := range []string{newHash(), "", i.ID} {
			_, err := s.InviteByHash(t.Context(), hash)
			checkErr(t, "InviteByHash("+hash+")", err, auth.ErrNotFound)
		}
	})

	t.Run("re-inviting an email replaces its pending invite to that organisation only", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		owner := createUser(t, s)
		o, other := createOrg(t, s, owner.ID), createOrg(t, s, owner.ID)
		old := createInvite(t, s, newInvite(o.ID, "ada@example.com"))
		otherOrg := createInvite(t, s, newInvite(other.ID, "ada@example.com"))
		otherEmail := createInvite(t, s, newInvite(o.ID, "bob@example.com"))
		accepted := createInvite(t, s, newInvite(o.ID, "carol@example.com"))
		acceptInvite(t, s, accepted)

		replacement := newInvite(o.ID, "ada@example.com")
		replacement.Role = auth.OrgAdmin
		createInvite(t, s, replacement)
		createInvite(t, s, newInvite(o.ID, "carol@example.com"))

		_, err := s.InviteByHash(t.Context(), old.TokenHash)
		checkErr(t, "InviteByHash of the replaced invite", err, auth.ErrNotFound)
		_, err = s.AcceptInvite(t.Context(), old.TokenHash, base)
		checkErr(t, "AcceptInvite of the replaced invite", err, auth.ErrNotFound)
		for _, i := range []auth.Invite{replacement, otherOrg, otherEmail, accepted} {
			_, err := s.InviteByHash(t.Context(), i.TokenHash)
			checkErr(t, "InviteByHash of an invite that stays", err, nil)
		}
		pending := allPendingInvites(t, s, o.ID, base)
		var adas []auth.Invite
		for _, i := range pending {
			if i.Email == "ada@example.com" {
				adas = append(adas, i)
			}
		}
		checkEqual(t, "ada's pending invites", adas, []auth.Invite{storedInvite(replacement)})
	})

	t.Run("re-inviting also replaces an invite that expired unaccepted", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		o := createOrg(t, s, createUser(t, s).ID)
		expired := newInvite(o.ID, "ada@example.com")
		expired.ExpiresAt = base.Add(-time.Hour)
		createInvite(t, s, expired)
		createInvite(t, s, newInvite(o.ID, "ada@example.com"))
		_, err := s.InviteByHash(t.Context(), expired.TokenHash)
		checkErr(t, "InviteByHash of the expired invite", err, auth.ErrNotFound)
	})

	t.Run("creating an invite that clashes is a conflict", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		o := createOrg(t, s, createUser(t, s).ID)
		first := createInvite(t, s, newInvite(o.ID, "ada@example.com"))
		tests := []struct {
			name   string
			change func(i *auth.Invite)
		}{
			{"a taken token hash", func(i *auth.Invite) { i.TokenHash = first.TokenHash }},
			{"a taken id", func(i *auth.Invite) { i.ID = first.ID }},
			{"an organisation that does not exist", func(i *auth.Invite) { i.OrgID = newID() }},
			{"an inviter who does not exist", func(i *auth.Invite) { i.InvitedBy = newID() }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				i := newInvite(o.ID, "bob@example.com")
				tt.change(&i)
				checkErr(t, "CreateInvite", s.CreateInvite(t.Context(), i), auth.ErrConflict)
			})
		}
		_, err := s.InviteByHash(t.Context(), first.TokenHash)
		checkErr(t, "InviteByHash of the first invite", err, nil)
	})

	t.Run("pending invites exclude accepted and expired ones and come oldest first", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		owner := createUser(t, s)
		o, other := createOrg(t, s, owner.ID), createOrg(t, s, owner.ID)
		now := base
		newer := newInvite(o.ID, "newer@example.com")
		newer.CreatedAt = now.Add(-time.Minute)
		older := newInvite(o.ID, "older@example.com")
		older.CreatedAt = now.Add(-time.Hour)
		lastMicrosecond := newInvite(o.ID, "last@example.com")
		lastMicrosecond.CreatedAt = now.Add(-30 * time.Minute)
		lastMicrosecond.ExpiresAt = now.Add(time.Microsecond)
		expiresNow := newInvite(o.ID, "expires-now@example.com")
		expiresNow.ExpiresAt = now
		expired := newInvite(o.ID, "expired@example.com")
		expired.ExpiresAt = now.Add(-time.Hour)
		accepted := newInvite(o.ID, "accepted@example.com")
		accepted.AcceptedAt = now.Add(-time.Minute)
		otherOrg := newInvite(other.ID, "older@example.com")
		for _, i := range []auth.Invite{newer, expiresNow, older, expired, lastMicrosecond, accepted, otherOrg} {
			createInvite(t, s, i)
		}
		got := allPendingInvites(t, s, o.ID, now.In(western))
		checkEqual(t, "pending invites", got, []auth.Invite{storedInvite(older), storedInvite(lastMicrosecond), storedInvite(newer)})
		for _, orgID := range []string{newID(), "not-a-uuid"} {
			if got := allPendingInvites(t, s, orgID, now); len(got) != 0 {
				t.Errorf("PendingInvites(%s) = %+v, want none", orgID, got)
			}
		}
	})

	t.Run("an invite is accepted once", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		o := createOrg(t, s, createUser(t, s).ID)
		i := createInvite(t, s, newInvite(o.ID, "ada@example.com"))
		got, err := s.AcceptInvite(t.Context(), i.TokenHash, base)
		checkErr(t, "AcceptInvite", err, nil)
		want := i
		want.AcceptedAt = base
		checkEqual(t, "accepted invite", got, storedInvite(want))
		_, err = s.AcceptInvite(t.Context(), i.TokenHash, base.Add(time.Second))
		checkErr(t, "AcceptInvite a second time", err, auth.ErrNotFound)
		stillThere, err := s.InviteByHash(t.Context(), i.TokenHash)
		checkErr(t, "InviteByHash of the accepted invite", err, nil)
		checkEqual(t, "accepted invite read back", stillThere, storedInvite(want))
		if pending := allPendingInvites(t, s, o.ID, base); len(pending) != 0 {
			t.Errorf("%d pending invites after the only one was accepted", len(pending))
		}
	})

	t.Run("accepting an invite follows its conditions", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		o := createOrg(t, s, createUser(t, s).ID)
		tests := []struct {
			name    string
			prepare func(i *auth.Invite)
			hash    func(i auth.Invite) string
			now     time.Time
			wantErr error
		}{
			{name: "an invite a microsecond before its expiry is accepted", prepare: func(i *auth.Invite) { i.ExpiresAt = base.Add(time.Microsecond) }, now: base},
			{name: "an invite is refused at the instant it expires", prepare: func(i *auth.Invite) { i.ExpiresAt = base }, now: base, wantErr: auth.ErrNotFound},
			{name: "an expired invite is refused", prepare: func(i *auth.Invite) { i.ExpiresAt = base.Add(-time.Hour) }, now: base, wantErr: auth.ErrNotFound},
			{name: "expiry compares instants, whatever the time zones", prepare: func(i *auth.Invite) { i.ExpiresAt = base.Add(time.Second).In(eastern) }, now: base.In(western)},
			{name: "an accepted invite is refused", prepare: func(i *auth.Invite) { i.AcceptedAt = base.Add(-time.Minute) }, now: base, wantErr: auth.ErrNotFound},
			{name: "an unknown hash is refused", hash: func(auth.Invite) string { return newHash() }, now: base, wantErr: auth.ErrNotFound},
			{name: "an empty hash is refused", hash: func(auth.Invite) string { return "" }, now: base, wantErr: auth.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				i := newInvite(o.ID, "invitee-"+newID()[:8]+"@example.com")
				if tt.prepare != nil {
					tt.prepare(&i)
				}
				createInvite(t, s, i)
				hash := i.TokenHash
				if tt.hash != nil {
					hash = tt.hash(i)
				}
				got, err := s.AcceptInvite(t.Context(), hash, tt.now)
				checkErr(t, "AcceptInvite", err, tt.wantErr)
				if tt.wantErr == nil && (got.ID != i.ID || !got.AcceptedAt.Equal(stored(tt.now))) {
					t.Errorf("AcceptInvite = %+v, want invite %s accepted at %v", got, i.ID, tt.now)
				}
			})
		}
	})

	t.Run("of fifty concurrent acceptances exactly one wins", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		o := createOrg(t, s, createUser(t, s).ID)
		i := createInvite(t, s, newInvite(o.ID, "ada@example.com"))
		errs := race(concurrency, func(int) error {
			_, err := s.AcceptInvite(t.Context(), i.TokenHash, base)
			return err
		})
		checkWinners(t, errs, 1)
	})

	t.Run("concurrent re-invites of one email leave one pending invite", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		o := createOrg(t, s, createUser(t, s).ID)
		errs := race(10, func(int) error {
			return s.CreateInvite(t.Context(), newInvite(o.ID, "ada@example.com"))
		})
		var created int
		for _, err := range errs {
			switch {
			case err == nil:
				created++
			case !errors.Is(err, auth.ErrConflict):
				t.Errorf("a concurrent re-invite failed with something other than ErrConflict: %v", err)
			}
		}
		if created == 0 {
			t.Error("no concurrent re-invite succeeded")
		}
		if pending := allPendingInvites(t, s, o.ID, base); len(pending) != 1 {
			t.Errorf("%d pending invites after concurrent re-invites, want 1", len(pending))
		}
	})

	t.Run("DeleteInvite deletes a pending invite of the organisation only", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		owner := createUser(t, s)
		o, other := createOrg(t, s, owner.ID), createOrg(t, s, owner.ID)
		mine := createInvite(t, s, newInvite(o.ID, "ada@example.com"))
		theirs := createInvite(t, s, newInvite(other.ID, "ada@example.com"))
		accepted := createInvite(t, s, newInvite(o.ID, "bob@example.com"))
		acceptInvite(t, s, accepted)

		tests := []struct {
			name, orgID, id string
		}{
			{"another organisation's invite", o.ID, theirs.ID},
			{"an invite named with another organisation", other.ID, mine.ID},
			{"an accepted invite", o.ID, accepted.ID},
			{"an unknown invite", o.ID, newID()},
			{"ids that are not UUIDs", "acme", "invite"},
		}
		for _, tt := range tests {
			t.Run(tt.name+" is not found", func(t *testing.T) {
				checkErr(t, "DeleteInvite", s.DeleteInvite(t.Context(), tt.orgID, tt.id), auth.ErrNotFound)
			})
		}
		for _, i := range []auth.Invite{mine, theirs, accepted} {
			_, err := s.InviteByHash(t.Context(), i.TokenHash)
			checkErr(t, "InviteByHash after the refused deletions", err, nil)
		}

		checkErr(t, "DeleteInvite", s.DeleteInvite(t.Context(), o.ID, mine.ID), nil)
		_, err := s.InviteByHash(t.Context(), mine.TokenHash)
		checkErr(t, "InviteByHash of the deleted invite", err, auth.ErrNotFound)
		checkErr(t, "DeleteInvite a second time", s.DeleteInvite(t.Context(), o.ID, mine.ID), auth.ErrNotFound)
		_, err = s.InviteByHash(t.Context(), theirs.TokenHash)
		checkErr(t, "InviteByHash of the other organisation's invite", err, nil)
	})
}

// newInvite returns a pending MEMBER invite of email to the organisation,
// with no inviter, created a minute before base and expiring an hour after
// it.
func newInvite(orgID, email string) auth.Invite {
	return auth.Invite{
		ID:        newID(),
		OrgID:     orgID,
		Email:     email,
		Role:      auth.OrgMember,
		TokenHash: newHash(),
		CreatedAt: base.Add(-time.Minute),
		ExpiresAt: base.Add(time.Hour),
	}
}

// createInvite stores i and returns it.
func createInvite(t *testing.T, s auth.Store, i auth.Invite) auth.Invite {
	t.Helper()
	if err := s.CreateInvite(t.Context(), i); err != nil {
		t.Fatalf("CreateInvite: %v", err)
	}
	return i
}

// acceptInvite accepts i at base.
func acceptInvite(t *testing.T, s auth.Store, i auth.Invite) {
	t.Helper()
	if _, err := s.AcceptInvite(t.Context(), i.TokenHash, base); err != nil {
		t.Fatalf("AcceptInvite: %v", err)
	}
}

func storedInvite(i auth.Invite) auth.Invite {
	i.CreatedAt = stored(i.CreatedAt)
	i.ExpiresAt = stored(i.ExpiresAt)
	i.AcceptedAt = stored(i.AcceptedAt)
	return i
}

// allPendingInvites returns every invite of the organisation pending at
// now, following the cursor.
func allPendingInvites(t *testing.T, s auth.Store, orgID string, now time.Time) []auth.Invite {
	t.Helper()
	return allPages(t, 200, func(p auth.Page) ([]auth.Invite, string, error) {
		return s.PendingInvites(t.Context(), orgID, now, p)
	})
}
