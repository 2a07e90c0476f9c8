package storetest

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/authd/auth"
)

// pagedList is one of the store's lists ordered oldest first, reduced to
// the IDs of its items.
type pagedList struct {
	name string
	// fill stores seven items of the list in a fresh store, two at each
	// instant so that the ID must break ties, and in another order than
	// the list's. It returns the list and the IDs in the order it must
	// give them.
	fill func(t *testing.T, s auth.Store) (list func(auth.Page) ([]string, string, error), want []string)
}

// pagedItems is how many items pagedList.fill stores.
const pagedItems = 7

func pagedLists() []pagedList {
	// at is the time of the ith item; the items are stored last first.
	at := func(i int) time.Time { return base.Add(time.Duration(i/2) * time.Second) }
	order := func(yield func(int) bool) {
		for i := pagedItems - 1; i >= 0; i-- {
			if !yield(i) {
				return
			}
		}
	}
	return []pagedList{
		{"users", func(t *testing.T, s auth.Store) (func(auth.Page) ([]string, string, error), []string) {
			var want []keyed
			for i := range order {
				u := newUser()
				u.CreatedAt = at(i)
				if err := s.CreateUser(t.Context(), u); err != nil {
					t.Fatalf("CreateUser: %v", err)
				}
				want = append(want, keyed{u.CreatedAt, u.ID})
			}
			return idsOf(func(p auth.Page) ([]auth.User, string, error) {
				return s.Users(t.Context(), auth.UserFilter{}, p)
			}, func(u auth.User) string { return u.ID }), oldestFirst(want)
		}},
		{"organisations", func(t *testing.T, s auth.Store) (func(auth.Page) ([]string, string, error), []string) {
			owner := createUser(t, s)
			var want []keyed
			for i := range order {
				o := newOrg(owner.ID)
				o.CreatedAt = at(i)
				if err := s.CreateOrg(t.Context(), o); err != nil {
					t.Fatalf("CreateOrg: %v", err)
				}
				want = append(want, keyed{o.CreatedAt, o.ID})
			}
			return idsOf(func(p auth.Page) ([]auth.Org, string, error) {
				return s.Orgs(t.Context(), auth.OrgFilter{}, p)
			}, func(o auth.Org) string { return o.ID }), oldestFirst(want)
		}},
		{"a user's organisations", func(t *testing.T, s auth.Store) (func(auth.Page) ([]string, string, error), []string) {
			u := createUser(t, s)
			var want []keyed
			for i := range order {
				o := createOrg(t, s, u.ID)
				m := auth.Member{OrgID: o.ID, UserID: u.ID, Role: auth.OrgMember, JoinedAt: at(i)}
				checkErr(t, "AddMember", s.AddMember(t.Context(), m), nil)
				want = append(want, keyed{m.JoinedAt, o.ID})
			}
			return idsOf(func(p auth.Page) ([]auth.OrgMembership, string, error) {
				return s.UserOrgs(t.Context(), u.ID, p)
			}, func(m auth.OrgMembership) string { return m.Org.ID }), oldestFirst(want)
		}},
		{"an organisation's members", func(t *testing.T, s auth.Store) (func(auth.Page) ([]string, string, error), []string) {
			o := createOrg(t, s, createUser(t, s).ID)
			var want []keyed
			for i := range order {
				u := createUser(t, s)
				m := auth.Member{OrgID: o.ID, UserID: u.ID, Role: auth.OrgMember, JoinedAt: at(i)}
				checkErr(t, "AddMember", s.AddMember(t.Context(), m), nil)
				want = append(want, keyed{m.JoinedAt, u.ID})
			}
			return idsOf(func(p auth.Page) ([]auth.Member, string, error) {
				return s.Members(t.Context(), o.ID, p)
			}, func(m auth.Member) string { return m.UserID }), oldestFirst(want)
		}},
		{"an organisation's pending invites", func(t *testing.T, s auth.Store) (func(auth.Page) ([]string, string, error), []string) {
			o := createOrg(t, s, createUser(t, s).ID)
			var want []keyed
			for i := range order {
				inv := newInvite(o.ID, "invitee-"+newID()[:8]+"@example.com")
				inv.CreatedAt = at(i)
				createInvite(t, s, inv)
				want = append(want, keyed{inv.CreatedAt, inv.ID})
			}
			return idsOf(func(p auth.Page) ([]auth.Invite, string, error) {
				return s.PendingInvites(t.Context(), o.ID, base, p)
			}, func(i auth.Invite) string { return i.ID }), oldestFirst(want)
		}},
	}
}

func testPaging(t *testing.T, newStore func(t *testing.T) auth.Store) {
	for _, l := range pagedLists() {
		t.Run("pages of "+l.name+" follow the cursor with no item twice and none missed", func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			list, want := l.fill(t, s)
			tests := []struct {
				limit     int
				wantSizes []int
			}{
				{1, []int{1, 1, 1, 1, 1, 1, 1}},
				{2, []int{2, 2, 2, 1}},
				{3, []int{3, 3, 1}},
				{pagedItems, []int{pagedItems}},
				{pagedItems + 1, []int{pagedItems}},
			}
			for _, tt := range tests {
				pages := allPagesOf(t, tt.limit, list)
				var sizes []int
				for _, p := range pages {
					sizes = append(sizes, len(p))
				}
				checkEqual(t, "page sizes", sizes, tt.wantSizes)
				checkEqual(t, "ids of every page, in order", slices.Concat(pages...), want)
			}
		})

		t.Run("a cursor that "+l.name+" did not return is a validation error", func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			list, _ := l.fill(t, s)
			_, next, err := list(auth.Page{Limit: 1})
			if err != nil || next == "" {
				t.Fatalf("the first page: cursor %q, error %v; want a cursor", next, err)
			}
			for _, cursor := range []string{"not a cursor", "!!!", next[:len(next)/2], next + "!"} {
				_, _, err := list(auth.Page{Cursor: cursor})
				if verr, ok := errors.AsType[*auth.ValidationError](err); !ok || verr.Fields["cursor"] == "" {
					t.Errorf("cursor %q: error %v, want a *auth.ValidationError on cursor", cursor, err)
				}
			}
		})
	}

	t.Run("an item stored older than the cursor does not shift the pages after it", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		var want []string
		for i := range 4 {
			u := newUser()
			u.CreatedAt = base.Add(time.Duration(i) * time.Minute)
			if err := s.CreateUser(t.Context(), u); err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
			want = append(want, u.ID)
		}
		list := func(p auth.Page) ([]auth.User, string, error) { return s.Users(t.Context(), auth.UserFilter{}, p) }
		first, next, err := list(auth.Page{Limit: 2})
		checkErr(t, "Users", err, nil)
		older := newUser()
		older.CreatedAt = base.Add(-time.Hour)
		if err := s.CreateUser(t.Context(), older); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		rest, last, err := list(auth.Page{Limit: 2, Cursor: next})
		checkErr(t, "Users", err, nil)
		checkEqual(t, "ids of both pages", userIDs(slices.Concat(first, rest)), want)
		if last != "" {
			// The next page, if the store says there is one, is empty.
			tail, _, err := list(auth.Page{Limit: 2, Cursor: last})
			checkErr(t, "Users", err, nil)
			if len(tail) != 0 {
				t.Errorf("a page after the last user holds %d users", len(tail))
			}
		}
	})

	t.Run("the limit defaults to 50 and is at most 200", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		err := s.WithinTx(t.Context(), func(ctx context.Context, tx auth.Store) error {
			for range 201 {
				if err := tx.CreateUser(ctx, newUser()); err != nil {
					return err
				}
			}
			return nil
		})
		checkErr(t, "CreateUser", err, nil)
		tests := []struct {
			limit, want int
		}{
			{0, 50}, {-1, 50}, {1, 1}, {200, 200}, {201, 200}, {1000, 200},
		}
		for _, tt := range tests {
			page, next, err := s.Users(t.Context(), auth.UserFilter{}, auth.Page{Limit: tt.limit})
			checkErr(t, "Users", err, nil)
			if len(page) != tt.want || next == "" {
				t.Errorf("limit %d: %d users and cursor %q, want %d and a cursor", tt.limit, len(page), next, tt.want)
			}
		}
	})

	t.Run("an empty list has one empty page", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		page, next, err := s.Orgs(t.Context(), auth.OrgFilter{}, auth.Page{})
		checkErr(t, "Orgs", err, nil)
		if len(page) != 0 || next != "" {
			t.Errorf("Orgs = %d orgs and cursor %q, want none and no cursor", len(page), next)
		}
	})
}

// keyed is an item of a list with the time it is ordered by.
type keyed struct {
	at time.Time
	id string
}

// oldestFirst returns the IDs of items in the order of the store's lists:
// by time as stored, then by ID.
func oldestFirst(items []keyed) []string {
	items = slices.Clone(items)
	slices.SortFunc(items, func(a, b keyed) int {
		return cmp.Or(stored(a.at).Compare(stored(b.at)), cmp.Compare(a.id, b.id))
	})
	ids := make([]string, len(items))
	for i, item := range items {
		ids[i] = item.id
	}
	return ids
}

// idsOf turns a list of items into a list of their IDs.
func idsOf[T any](list func(auth.Page) ([]T, string, error), id func(T) string) func(auth.Page) ([]string, string, error) {
	return func(p auth.Page) ([]string, string, error) {
		items, next, err := list(p)
		ids := make([]string, len(items))
		for i, item := range items {
			ids[i] = id(item)
		}
		return ids, next, err
	}
}

// allPagesOf follows the cursor of list from the first page to the last,
// limit items at a time, and returns the pages.
func allPagesOf[T any](t *testing.T, limit int, list func(auth.Page) ([]T, string, error)) [][]T {
	t.Helper()
	var pages [][]T
	cursor := ""
	for {
		page, next, err := list(auth.Page{Limit: limit, Cursor: cursor})
		if err != nil {
			t.Fatalf("page %d: %v", len(pages)+1, err)
		}
		pages = append(pages, page)
		if next == "" {
			return pages
		}
		if len(pages) > 1000 {
			t.Fatal("the cursor never reaches the last page")
		}
		cursor = next
	}
}

// allPages returns every item of list, following its cursor limit items
// at a time.
func allPages[T any](t *testing.T, limit int, list func(auth.Page) ([]T, string, error)) []T {
	t.Helper()
	return slices.Concat(allPagesOf(t, limit, list)...)
}

func userIDs(users []auth.User) []string {
	var ids []string
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	return ids
}
