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
