package storetest

import (
	"testing"
	"time"

	"github.com/authd/auth"
)

func testUsers(t *testing.T, newStore func(t *testing.T) auth.Store) {
	t.Run("a created user reads back by id and by email", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := newUser()
		u.Role = auth.RoleDataAdmin
		if err := s.CreateUser(t.Context(), u); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		byID, err := s.UserByID(t.Context(), u.ID)
		checkErr(t, "UserByID", err, nil)
		checkEqual(t, "UserByID", byID, storedUser(u))
		byEmail, err := s.UserByEmail(t.Context(), u.Email)
		checkErr(t, "UserByEmail", err, nil)
		checkEqual(t, "UserByEmail", byEmail, storedUser(u))
	})

	t.Run("false flags and an empty password hash read back as they were written", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := newUser()
		u.EmailVerified = false
		u.IsActive = false
		u.PasswordHash = ""
		u.Name = ""
		if err := s.CreateUser(t.Context(), u); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		got, err := s.UserByID(t.Context(), u.ID)
		checkErr(t, "UserByID", err, nil)
		checkEqual(t, "user", got, storedUser(u))
		if got.HasPassword() {
			t.Error("a user stored without a password hash has one")
		}
	})

	t.Run("times come back in UTC truncated to microseconds", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := newUser()
		u.CreatedAt = time.Date(2031, 1, 2, 3, 4, 5, 999_999_999, eastern)
		u.UpdatedAt = time.Date(2031, 1, 2, 3, 4, 5, 1_999, western)
		if err := s.CreateUser(t.Context(), u); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		got, err := s.UserByID(t.Context(), u.ID)
		checkErr(t, "UserByID", err, nil)
		wantCreated := time.Date(2031, 1, 1, 22, 4, 5, 999_999_000, time.UTC)
		wantUpdated := time.Date(2031, 1, 2, 11, 4, 5, 1_000, time.UTC)
		if !got.CreatedAt.Equal(wantCreated) || got.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, wantCreated)
		}
		if !got.UpdatedAt.Equal(wantUpdated) || got.UpdatedAt.Location() != time.UTC {
			t.Errorf("UpdatedAt = %v, want %v", got.UpdatedAt, wantUpdated)
		}
	})

	t.Run("creating a user with a taken email or id is a conflict", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		first := createUser(t, s)
		sameEmail := newUser()
		sameEmail.Email = first.Email
		checkErr(t, "CreateUser with a taken email", s.CreateUser(t.Context(), sameEmail), auth.ErrConflict)
		sameID := newUser()
		sameID.ID = first.ID
		checkErr(t, "CreateUser with a taken id", s.CreateUser(t.Context(), sameID), auth.ErrConflict)
		got, err := s.UserByID(t.Context(), first.ID)
		checkErr(t, "UserByID", err, nil)
		checkEqual(t, "the first user after the conflicts", got, storedUser(first))
	})

	t.Run("looking up a user that is not there is not found", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		tests := []struct {
			name   string
			lookup func() (auth.User, error)
		}{
			{"an unknown id", func() (auth.User, error) { return s.UserByID(t.Context(), newID()) }},
			{"an id that is not a UUID", func() (auth.User, error) { return s.UserByID(t.Context(), "not-a-uuid") }},
			{"an empty id", func() (auth.User, error) { return s.UserByID(t.Context(), "") }},
			{"an unknown email", func() (auth.User, error) { return s.UserByEmail(t.Context(), "nobody@example.com") }},
			{"an empty email", func() (auth.User, error) { return s.UserByEmail(t.Context(), "") }},
			{"an email that differs in case", func() (auth.User, error) {
				return s.UserByEmail(t.Context(), "USER-"+u.Email[len("user-"):])
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := tt.lookup()
				checkErr(t, "lookup", err, auth.ErrNotFound)
			})
		}
	})

	t.Run("UpdateUser writes the fields it owns and no other", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		changed := u
		changed.Name = "Grace Hopper"
		changed.Role = auth.RoleSystemAdmin
		changed.EmailVerified = false
		changed.IsActive = false
		changed.PasswordHash = ""
		changed.UpdatedAt = base.Add(time.Minute)
		changed.Email = "changed@example.com"   // not UpdateUser's to write
		changed.CreatedAt = base.Add(time.Hour) // nor this
		if err := s.UpdateUser(t.Context(), changed); err != nil {
			t.Fatalf("UpdateUser: %v", err)
		}
		want := changed
		want.Email = u.Email
		want.CreatedAt = u.CreatedAt
		got, err := s.UserByID(t.Context(), u.ID)
		checkErr(t, "UserByID", err, nil)
		checkEqual(t, "updated user", got, storedUser(want))
	})

	t.Run("updating a user that is not there is not found", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		checkErr(t, "UpdateUser", s.UpdateUser(t.Context(), newUser()), auth.ErrNotFound)
		notUUID := newUser()
		notUUID.ID = "42"
		checkErr(t, "UpdateUser with an id that is not a UUID", s.UpdateUser(t.Context(), notUUID), auth.ErrNotFound)
	})
}
