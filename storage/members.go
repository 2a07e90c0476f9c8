package storage

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/authd/auth"
)

// AddMember inserts m; its Email and Name are not stored. It returns
// auth.ErrAlreadyMember when the user is a member already,
// auth.ErrConflict when the organisation or the user does not exist, and an
// error when m.OrgID or m.UserID is not a lower-case UUID or m.Role is not
// an organisation role.
func (s *Store) AddMember(ctx context.Context, m auth.Member) error {
	const op = "add member"
	if err := checkID("org id", m.OrgID); err != nil {
		return dbError(op, err)
	}
	if err := checkID("user id", m.UserID); err != nil {
		return dbError(op, err)
	}
	row := newMemberRow(m)
	_, err := s.idb.NewInsert().Model(&row).Exec(ctx)
	return dbError(op, err)
}

// Member returns the user's membership of the organisation, with the
// user's email and name, or auth.ErrNotFound.
func (s *Store) Member(ctx context.Context, orgID, userID string) (auth.Member, error) {
	const op = "member"
	if !isUUID(orgID) || !isUUID(userID) {
		return auth.Member{}, notFound(op)
	}
	var row memberRow
	err := s.selectMembers(&row).
		Where("m.org_id = ?", orgID).
		Where("m.user_id = ?", userID).
		Scan(ctx)
	if err != nil {
		return auth.Member{}, dbError(op, err)
	}
	return row.member(), nil
}

// Members returns the organisation's memberships, with emails and names,
// oldest first, paged as [Store.Orgs]. An organisation ID that is not a
// UUID has none.
func (s *Store) Members(ctx context.Context, orgID string, p auth.Page) ([]auth.Member, string, error) {
	const op = "list members"
	pg, err := newKeysetPage(p)
	if err != nil {
		return nil, "", err
	}
	if !isUUID(orgID) {
		return nil, "", nil
	}
	var rows []memberRow
	q := s.selectMembers(&rows).Where("m.org_id = ?", orgID)
	if err := pg.apply(q, "m.joined_at", "m.user_id").Scan(ctx); err != nil {
		return nil, "", dbError(op, err)
	}
	rows, next := nextKeysetPage(pg, rows, func(r memberRow) (dbTime, string) { return r.JoinedAt, r.UserID })
	return convert(rows, memberRow.member), next, nil
}

// selectMembers selects memberships into dest, a *memberRow or a
// *[]memberRow, with the email and name of each user.
func (s *Store) selectMembers(dest any) *bun.SelectQuery {
	return s.idb.NewSelect().Model(dest).
		ColumnExpr("m.*").
		ColumnExpr("u.email, u.name").
		Join("JOIN users AS u ON u.id = m.user_id")
}

// SetMemberRole changes the role of the user's membership of the
// organisation, or returns auth.ErrNotFound. It returns an error when role
// is not an organisation role.
func (s *Store) SetMemberRole(ctx context.Context, orgID, userID string, role auth.OrgRole) error {
	const op = "set member role"
	if !isUUID(orgID) || !isUUID(userID) {
		return notFound(op)
	}
	res, err := s.idb.NewUpdate().Model((*memberRow)(nil)).
		Set("role = ?", string(role)).
		Where("org_id = ?", orgID).
		Where("user_id = ?", userID).
		Exec(ctx)
	return affectedOne(op, res, err)
}

// RemoveMember deletes the user's membership of the organisation, or
// returns auth.ErrNotFound.
func (s *Store) RemoveMember(ctx context.Context, orgID, userID string) error {
	const op = "remove member"
	if !isUUID(orgID) || !isUUID(userID) {
		return notFound(op)
	}
	res, err := s.idb.NewDelete().Model((*memberRow)(nil)).
		Where("org_id = ?", orgID).
		Where("user_id = ?", userID).
		Exec(ctx)
	return affectedOne(op, res, err)
}
