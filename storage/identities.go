package storage

import (
	"context"

	"github.com/authd/auth"
)

// CreateIdentity inserts i. It returns auth.ErrConflict when the provider's
// subject is linked already, the user has an identity of that provider, or
// the user does not exist, and an error when i.UserID is not a lower-case
// UUID or i.Provider or i.Subject is empty.
func (s *Store) CreateIdentity(ctx context.Context, i auth.Identity) error {
	const op = "create identity"
	if err := checkID("user id", i.UserID); err != nil {
		return dbError(op, err)
	}
	row := newIdentityRow(i)
	_, err := s.idb.NewInsert().Model(&row).Exec(ctx)
	return dbError(op, err)
}

// IdentityBySubject returns the identity with this provider and subject, or
// auth.ErrNotFound.
func (s *Store) IdentityBySubject(ctx context.Context, provider, subject string) (auth.Identity, error) {
	const op = "identity by subject"
	var row identityRow
	err := s.idb.NewSelect().Model(&row).
		Where("provider = ?", provider).
		Where("subject = ?", subject).
		Scan(ctx)
	if err != nil {
		return auth.Identity{}, dbError(op, err)
	}
	return row.identity(), nil
}

// UserIdentities returns the user's identities, oldest first: an empty
// slice, never nil, when there is none, also for a user ID that is not a
// UUID.
func (s *Store) UserIdentities(ctx context.Context, userID string) ([]auth.Identity, error) {
	const op = "list user's identities"
	if !isUUID(userID) {
		return []auth.Identity{}, nil
	}
	var rows []identityRow
	err := s.idb.NewSelect().Model(&rows).
		Where("user_id = ?", userID).
		OrderExpr("created_at ASC, provider ASC").
		Scan(ctx)
	if err != nil {
		return nil, dbError(op, err)
	}
	return convert(rows, identityRow.identity), nil
}

// DeleteIdentity deletes the user's identity of provider, or returns
// auth.ErrNotFound.
func (s *Store) DeleteIdentity(ctx context.Context, userID, provider string) error {
	const op = "delete identity"
	if !isUUID(userID) {
		return notFound(op)
	}
	res, err := s.idb.NewDelete().Model((*identityRow)(nil)).
		Where("user_id = ?", userID).
		Where("provider = ?", provider).
		Exec(ctx)
	return affectedOne(op, res, err)
}
