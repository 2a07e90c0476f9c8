package storetest

import (
	"slices"
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

	t.Run("the user filter matches a substring of the email or the name in any case, literally", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		user := func(email, name string, role auth.GlobalRole) auth.User {
			u := newUser()
			u.Email, u.Name, u.Role = email, name, role
			return u
		}
		ada := user("ada@example.com", "Ada Lovelace", auth.RoleEndUser)
		grace := user("grace@navy.example", "Grace Hopper", auth.RoleStaff)
		percent := user("percent@example.com", "100% Real", auth.RoleEndUser)
		underscore := user("snake_case@example.com", "Snake", auth.RoleSystemAdmin)
		backslash := user("backslash@example.com", `Back\Slash`, auth.RoleEndUser)
		injection := user("bobby@example.com", "'; DROP TABLE users; --", auth.RoleStaff)
		all := []auth.User{ada, grace, percent, underscore, backslash, injection}
		for i, u := range all {
			u.CreatedAt = base.Add(time.Duration(i) * time.Second)
			if err := s.CreateUser(t.Context(), u); err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
		}
		tests := []struct {
			name   string
			filter auth.UserFilter
			want   []auth.User
		}{
			{"no filter matches every user", auth.UserFilter{}, all},
			{"a substring of an email matches", auth.UserFilter{Query: "navy"}, []auth.User{grace}},
			{"a substring of a name matches", auth.UserFilter{Query: "lovelace"}, []auth.User{ada}},
			{"a query in capitals matches in lower case", auth.UserFilter{Query: "GRACE HOP"}, []auth.User{grace}},
			{"a query in mixed case matches an email", auth.UserFilter{Query: "Example.COM"}, []auth.User{ada, percent, underscore, backslash, injection}},
			{"a percent sign matches only itself", auth.UserFilter{Query: "%"}, []auth.User{percent}},
			{"a percent sign between letters is no wildcard", auth.UserFilter{Query: "a%e"}, nil},
			{"an underscore matches only itself", auth.UserFilter{Query: "_"}, []auth.User{underscore}},
			{"an underscore between letters is no wildcard", auth.UserFilter{Query: "gr_ce"}, nil},
			{"a backslash matches only itself", auth.UserFilter{Query: `k\s`}, []auth.User{backslash}},
			{"SQL in the query matches as text", auth.UserFilter{Query: "'; DROP TABLE users; --"}, []auth.User{injection}},
			{"a quote matches as text", auth.UserFilter{Query: "'"}, []auth.User{injection}},
			{"a NUL byte matches nothing", auth.UserFilter{Query: "ada\x00"}, nil},
			{"a role matches exactly", auth.UserFilter{Role: auth.RoleStaff}, []auth.User{grace, injection}},
			{"a role nobody has matches nothing", auth.UserFilter{Role: auth.RoleDataAdmin}, nil},
			{"a query and a role match both", auth.UserFilter{Query: "example.com", Role: auth.RoleEndUser}, []auth.User{ada, percent, backslash}},
			{"a query that matches nothing selects nothing", auth.UserFilter{Query: "nobody"}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := allPages(t, 200, func(p auth.Page) ([]auth.User, string, error) {
					return s.Users(t.Context(), tt.filter, p)
				})
				checkEqual(t, "users", userIDs(got), userIDs(tt.want))
			})
		}
		// The users table is still there, with every user.
		got := allPages(t, 200, func(p auth.Page) ([]auth.User, string, error) {
			return s.Users(t.Context(), auth.UserFilter{}, p)
		})
		want := make([]auth.User, len(all))
		for i, u := range all {
			u.CreatedAt = base.Add(time.Duration(i) * time.Second)
			want[i] = storedUser(u)
		}
		checkEqual(t, "every user", got, want)
	})

	t.Run("a filtered list pages like the whole list", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		var staff []keyed
		for i := range 9 {
			u := newUser()
			u.CreatedAt = base.Add(time.Duration(i/3) * time.Second)
			if i%3 != 0 {
				u.Role = auth.RoleStaff
				u.Name = "Staff " + u.Name
				staff = append(staff, keyed{u.CreatedAt, u.ID})
			}
			if err := s.CreateUser(t.Context(), u); err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
		}
		for _, filter := range []auth.UserFilter{{Role: auth.RoleStaff}, {Query: "STAFF"}} {
			pages := allPagesOf(t, 4, func(p auth.Page) ([]auth.User, string, error) {
				return s.Users(t.Context(), filter, p)
			})
			if len(pages) != 2 {
				t.Errorf("filter %+v: %d pages of 4, want 2", filter, len(pages))
			}
			checkEqual(t, "ids", userIDs(slices.Concat(pages...)), oldestFirst(staff))
		}
	})
}
