package storage

import (
	"context"

	"github.com/authd/auth"
)

// CreateUser inserts u. It returns auth.ErrConflict when the email or the ID
// is taken, and an error when u.ID is not a lower-case UUID.
func (s *Store) CreateUser(ctx context.Context, u auth.User) error {
	const op = "create user"
	if err := checkID("user id", u.ID); err != nil {
		return dbError(op, err)
	}
	row := newUserRow(u)
	_, err := s.idb.NewInsert().Model(&row).Exec(ctx)
	return dbError(op, err)
}

// UserByID returns the user with this ID or auth.ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id string) (auth.User, error) {
	const op = "user by id"
	if !isUUID(id) {
		return auth.User{}, notFound(op)
	}
	var row userRow
	if err := s.idb.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return auth.User{}, dbError(op, err)
	}
	return row.user(), nil
}

// UserByEmail returns the user with this normalised email or
// auth.ErrNotFound. The email is compared as it is: normalising it is the
// caller's job.
func (s *Store) UserByEmail(ctx context.Context, email string) (auth.User, error) {
	const op = "user by email"
	var row userRow
	if err := s.idb.NewSelect().Model(&row).Where("email = ?", email).Scan(ctx); err != nil {
		return auth.User{}, dbError(op, err)
	}
	return row.user(), nil
}

// UpdateUser writes Name, Role, EmailVerified, IsActive, PasswordHash and
// UpdatedAt of the user with u.ID. It returns auth.ErrNotFound when there is
// no such user.
func (s *Store) UpdateUser(ctx context.Context, u auth.User) error {
	const op = "update user"
	if !isUUID(u.ID) {
		return notFound(op)
	}
	row := newUserRow(u)
	res, err := s.idb.NewUpdate().Model(&row).
		Column("name", "role", "email_verified", "is_active", "password_hash", "updated_at").
		Where("id = ?", u.ID).
		Exec(ctx)
	return affectedOne(op, res, err)
}

// Users returns the users whose email or name contains f.Query,
// case-insensitively, and whose role is f.Role (an empty field does not
// filter), oldest first, paged as [Store.Orgs].
func (s *Store) Users(ctx context.Context, f auth.UserFilter, p auth.Page) ([]auth.User, string, error) {
	const op = "list users"
	pg, err := newKeysetPage(p)
	if err != nil {
		return nil, "", err
	}
	var rows []userRow
	q := s.idb.NewSelect().Model(&rows)
	q = whereContains(q, f.Query, "u.email", "u.name")
	if f.Role != "" {
		q = q.Where("u.role = ?", string(f.Role))
	}
	if err := pg.apply(q, "u.created_at", "u.id").Scan(ctx); err != nil {
		return nil, "", dbError(op, err)
	}
	rows, next := nextKeysetPage(pg, rows, func(r userRow) (dbTime, string) { return r.CreatedAt, r.ID })
	return convert(rows, userRow.user), next, nil
}
