package storage

import (
	"context"
	"time"

	"github.com/authd/auth"
)

// CreateInvite inserts i after deleting every unaccepted invite of the same
// organisation and email (pending or expired), in the caller's transaction
// or one of its own, so re-inviting replaces the pending invite. Of two
// concurrent re-invites of one email, one may fail with auth.ErrConflict:
// the database keeps one unaccepted invite per organisation and email. It
// also returns auth.ErrConflict when the ID or the token hash is taken or
// the organisation or the inviter does not exist, and an error when i.ID,
// i.OrgID or a non-empty i.InvitedBy is not a lower-case UUID, or i.Role is
// neither ADMIN nor MEMBER (OWNER is reached only by transfer).
func (s *Store) CreateInvite(ctx context.Context, i auth.Invite) error {
	const op = "create invite"
	if err := checkID("invite id", i.ID); err != nil {
		return dbError(op, err)
	}
	if err := checkID("org id", i.OrgID); err != nil {
		return dbError(op, err)
	}
	if i.InvitedBy != "" {
		if err := checkID("inviter id", i.InvitedBy); err != nil {
			return dbError(op, err)
		}
	}
	row := newInviteRow(i)
	return s.inTransaction(ctx, func(ctx context.Context, tx *Store) error {
		_, err := tx.idb.NewDelete().Model((*inviteRow)(nil)).
			Where("org_id = ?", i.OrgID).
			Where("email = ?", i.Email).
			Where("accepted_at IS NULL").
			Exec(ctx)
		if err != nil {
			return dbError(op, err)
		}
		_, err = tx.idb.NewInsert().Model(&row).Exec(ctx)
		return dbError(op, err)
	})
}

// PendingInvites returns the organisation's invites that are neither
// accepted nor expired at now, oldest first, paged as [Store.Orgs]. An
// organisation ID that is not a UUID has none.
func (s *Store) PendingInvites(ctx context.Context, orgID string, now time.Time, p auth.Page) ([]auth.Invite, string, error) {
	const op = "list pending invites"
	pg, err := newKeysetPage(p)
	if err != nil {
		return nil, "", err
	}
	if !isUUID(orgID) {
		return nil, "", nil
	}
	var rows []inviteRow
	q := s.idb.NewSelect().Model(&rows).
		Where("i.org_id = ?", orgID).
		Where("i.accepted_at IS NULL").
		Where("i.expires_at > ?", dbTime(now))
	if err := pg.apply(q, "i.created_at", "i.id").Scan(ctx); err != nil {
		return nil, "", dbError(op, err)
	}
	rows, next := nextKeysetPage(pg, rows, func(r inviteRow) (dbTime, string) { return r.CreatedAt, r.ID })
	return convert(rows, inviteRow.invite), next, nil
}

// InviteByHash returns the invite with this token hash, accepted and
// expired ones too, or auth.ErrNotFound.
func (s *Store) InviteByHash(ctx context.Context, hash string) (auth.Invite, error) {
	const op = "invite by hash"
	var row inviteRow
	if err := s.idb.NewSelect().Model(&row).Where("token_hash = ?", hash).Scan(ctx); err != nil {
		return auth.Invite{}, dbError(op, err)
	}
	return row.invite(), nil
}

// AcceptInvite marks the invite with this hash accepted at now and returns
// it, in one conditional UPDATE … RETURNING. It returns auth.ErrNotFound
// when there is no such invite, or it was accepted, or it expired at or
// before now, so of concurrent callers exactly one succeeds.
func (s *Store) AcceptInvite(ctx context.Context, hash string, now time.Time) (auth.Invite, error) {
	const op = "accept invite"
	var row inviteRow
	err := s.idb.NewUpdate().Model(&row).
		Set("accepted_at = ?", dbTime(now)).
		Where("token_hash = ?", hash).
		Where("accepted_at IS NULL").
		Where("expires_at > ?", dbTime(now)).
		Returning("*").
		Scan(ctx)
	if err != nil {
		return auth.Invite{}, dbError(op, err)
	}
	return row.invite(), nil
}

// DeleteInvite deletes the unaccepted invite with this ID of the
// organisation. It returns auth.ErrNotFound when there is none: also for
// an accepted invite, and for an invite of another organisation.
func (s *Store) DeleteInvite(ctx context.Context, orgID, id string) error {
	const op = "delete invite"
	if !isUUID(orgID) || !isUUID(id) {
		return notFound(op)
	}
	res, err := s.idb.NewDelete().Model((*inviteRow)(nil)).
		Where("id = ?", id).
		Where("org_id = ?", orgID).
		Where("accepted_at IS NULL").
		Exec(ctx)
	return affectedOne(op, res, err)
}
