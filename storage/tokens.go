package storage

import (
	"context"
	"time"

	"github.com/authd/auth"
)

// CreateToken inserts t; an empty t.UserID (a token that belongs to nobody
// yet) is stored as NULL. It returns auth.ErrConflict when the hash is
// taken or the user does not exist, and an error when a non-empty t.UserID
// is not a lower-case UUID.
func (s *Store) CreateToken(ctx context.Context, t auth.OneTimeToken) error {
	const op = "create one-time token"
	if t.UserID != "" {
		if err := checkID("user id", t.UserID); err != nil {
			return dbError(op, err)
		}
	}
	row := newTokenRow(t)
	_, err := s.idb.NewInsert().Model(&row).Exec(ctx)
	return dbError(op, err)
}

// ConsumeToken marks the token with this purpose and hash used at now and
// returns it, with its Data and its UserID (empty when it belongs to
// nobody), in one conditional UPDATE … RETURNING. It returns
// auth.ErrNotFound when there is no such token, or it is used, or it expired
// at or before now, so of concurrent callers exactly one succeeds.
func (s *Store) ConsumeToken(ctx context.Context, purpose auth.TokenPurpose, hash string, now time.Time) (auth.OneTimeToken, error) {
	const op = "consume one-time token"
	var row tokenRow
	err := s.idb.NewUpdate().Model(&row).
		Set("used_at = ?", dbTime(now)).
		Where("hash = ?", hash).
		Where("purpose = ?", string(purpose)).
		Where("used_at IS NULL").
		Where("expires_at > ?", dbTime(now)).
		Returning("*").
		Scan(ctx)
	if err != nil {
		return auth.OneTimeToken{}, dbError(op, err)
	}
	return row.token(), nil
}

// DeleteUserTokens deletes the user's unused tokens of this purpose; used
// ones stay, so their hashes are never issued again.
func (s *Store) DeleteUserTokens(ctx context.Context, userID string, purpose auth.TokenPurpose) error {
	const op = "delete user's one-time tokens"
	if !isUUID(userID) {
		return nil
	}
	_, err := s.idb.NewDelete().Table("one_time_tokens").
		Where("user_id = ?", userID).
		Where("purpose = ?", string(purpose)).
		Where("used_at IS NULL").
		Exec(ctx)
	return dbError(op, err)
}
