package storetest

import (
	"testing"
	"time"

	"github.com/authd/auth"
)

func testIdentities(t *testing.T, newStore func(t *testing.T) auth.Store) {
	t.Run("an identity reads back by its provider and subject", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		i := newIdentity(u.ID, "google")
		i.CreatedAt = base.In(eastern)
		createIdentity(t, s, i)
		got, err := s.IdentityBySubject(t.Context(), i.Provider, i.Subject)
		checkErr(t, "IdentityBySubject", err, nil)
		checkEqual(t, "identity", got, storedIdentity(i))
	})

	t.Run("creating an identity that cannot be linked is a conflict", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u, other := createUser(t, s), createUser(t, s)
		linked := createIdentity(t, s, newIdentity(u.ID, "google"))
		tests := []struct {
			name     string
			identity auth.Identity
		}{
			{"a subject linked to another user", auth.Identity{UserID: other.ID, Provider: "google", Subject: linked.Subject, CreatedAt: base}},
			{"a subject linked to the same user", auth.Identity{UserID: u.ID, Provider: "google", Subject: linked.Subject, CreatedAt: base}},
			{"a second identity of one provider for one user", newIdentity(u.ID, "google")},
			{"a user who does not exist", newIdentity(newID(), "github")},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				checkErr(t, "CreateIdentity", s.CreateIdentity(t.Context(), tt.identity), auth.ErrConflict)
			})
		}
		checkEqual(t, "the identities after the conflicts", userIdentities(t, s, u.ID), []auth.Identity{storedIdentity(linked)})
		checkEqual(t, "the other user's identities", userIdentities(t, s, other.ID), []auth.Identity{})
	})

	t.Run("one subject may be linked at each provider", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u, other := createUser(t, s), createUser(t, s)
		google := createIdentity(t, s, newIdentity(u.ID, "google"))
		github := newIdentity(other.ID, "github")
		github.Subject = google.Subject
		createIdentity(t, s, github)
		for _, want := range []auth.Identity{google, github} {
			got, err := s.IdentityBySubject(t.Context(), want.Provider, want.Subject)
			checkErr(t, "IdentityBySubject", err, nil)
			checkEqual(t, "identity at "+want.Provider, got, storedIdentity(want))
		}
	})

	t.Run("looking up an identity that is not there is not found", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		i := createIdentity(t, s, newIdentity(u.ID, "google"))
		tests := []struct {
			name, provider, subject string
		}{
			{"an unknown subject", "google", newHash()},
			{"the subject at another provider", "github", i.Subject},
			{"the user's id as the subject", "google", u.ID},
			{"the provider in other case", "Google", i.Subject},
			{"empty strings", "", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.IdentityBySubject(t.Context(), tt.provider, tt.subject)
				checkErr(t, "IdentityBySubject", err, auth.ErrNotFound)
			})
		}
	})

	t.Run("a user's identities come oldest first", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u, other := createUser(t, s), createUser(t, s)
		// Made out of order, with a tie broken by the provider's name.
		newer := newIdentity(u.ID, "google")
		newer.CreatedAt = base.Add(time.Minute)
		oldest := newIdentity(u.ID, "gitlab")
		oldest.CreatedAt = base.Add(-time.Minute).In(western)
		tieB := newIdentity(u.ID, "github")
		tieA := newIdentity(u.ID, "apple")
		for _, i := range []auth.Identity{newer, tieB, oldest, tieA, newIdentity(other.ID, "google")} {
			createIdentity(t, s, i)
		}
		want := []auth.Identity{storedIdentity(oldest), storedIdentity(tieA), storedIdentity(tieB), storedIdentity(newer)}
		checkEqual(t, "UserIdentities", userIdentities(t, s, u.ID), want)
	})

	t.Run("a user without identities has an empty list", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		for _, userID := range []string{u.ID, newID(), "not-a-uuid", ""} {
			checkEqual(t, "UserIdentities of "+userID, userIdentities(t, s, userID), []auth.Identity{})
		}
	})

	t.Run("an identity is deleted once", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		google := createIdentity(t, s, newIdentity(u.ID, "google"))
		github := createIdentity(t, s, newIdentity(u.ID, "github"))

		checkErr(t, "DeleteIdentity", s.DeleteIdentity(t.Context(), u.ID, "google"), nil)
		checkErr(t, "DeleteIdentity a second time", s.DeleteIdentity(t.Context(), u.ID, "google"), auth.ErrNotFound)
		_, err := s.IdentityBySubject(t.Context(), google.Provider, google.Subject)
		checkErr(t, "IdentityBySubject of the deleted identity", err, auth.ErrNotFound)
		checkEqual(t, "the identities left", userIdentities(t, s, u.ID), []auth.Identity{storedIdentity(github)})

		// The subject, free again, may be linked anew.
		createIdentity(t, s, google)
	})

	t.Run("deleting an identity that is not the user's is not found", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u, other := createUser(t, s), createUser(t, s)
		i := createIdentity(t, s, newIdentity(u.ID, "google"))
		tests := []struct {
			name, userID, provider string
		}{
			{"another user's identity", other.ID, "google"},
			{"a provider the user has no identity of", u.ID, "github"},
			{"an unknown user", newID(), "google"},
			{"a user id that is not a UUID", "not-a-uuid", "google"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				checkErr(t, "DeleteIdentity", s.DeleteIdentity(t.Context(), tt.userID, tt.provider), auth.ErrNotFound)
			})
		}
		checkEqual(t, "the identities after the refused deletions", userIdentities(t, s, u.ID), []auth.Identity{storedIdentity(i)})
	})
}

// newIdentity returns an identity of the user at provider with a random
// subject, linked at base.
func newIdentity(userID, provider string) auth.Identity {
	subject := newHash()[:21]
	return auth.Identity{
		UserID:    userID,
		Provider:  provider,
		Subject:   subject,
		Email:     "sso-" + subject[:8] + "@example.com",
		CreatedAt: base,
	}
}

// createIdentity stores i and returns it.
func createIdentity(t *testing.T, s auth.Store, i auth.Identity) auth.Identity {
	t.Helper()
	if err := s.CreateIdentity(t.Context(), i); err != nil {
		t.Fatalf("CreateIdentity: %v", err)
	}
	return i
}

// userIdentities returns the user's identities or fails the test.
func userIdentities(t *testing.T, s auth.Store, userID string) []auth.Identity {
	t.Helper()
	ids, err := s.UserIdentities(t.Context(), userID)
	if err != nil {
		t.Fatalf("UserIdentities: %v", err)
	}
	return ids
}

func storedIdentity(i auth.Identity) auth.Identity {
	i.CreatedAt = stored(i.CreatedAt)
	return i
}
