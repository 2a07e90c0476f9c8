package storage

import (
	"context"

	"github.com/authd/auth"
)

// CreateOrg inserts o. It returns auth.ErrSlugTaken when the slug exists,
// auth.ErrConflict when the ID is taken or the owner does not exist, and an
// error when o.ID or o.OwnerID is not a lower-case UUID.
func (s *Store) CreateOrg(ctx context.Context, o auth.Org) error {
	const op = "create org"
	if err := checkID("org id", o.ID); err != nil {
		return dbError(op, err)
	}
	if err := checkID("owner id", o.OwnerID); err != nil {
		return dbError(op, err)
	}
	row := newOrgRow(o)
	_, err := s.idb.NewInsert().Model(&row).Exec(ctx)
	return dbError(op, err)
}

// OrgBySlug returns the organisation with this slug or auth.ErrNotFound.
func (s *Store) OrgBySlug(ctx context.Context, slug string) (auth.Org, error) {
	const op = "org by slug"
	var row orgRow
	if err := s.idb.NewSelect().Model(&row).Where("slug = ?", slug).Scan(ctx); err != nil {
		return auth.Org{}, dbError(op, err)
	}
	return row.org(), nil
}

// OrgByID returns the organisation with this id, or auth.ErrNotFound (also
// for an id that is not a lower-case UUID).
func (s *Store) OrgByID(ctx context.Context, id string) (auth.Org, error) {
	const op = "org by id"
	if !isUUID(id) {
		return auth.Org{}, notFound(op)
	}
	var row orgRow
	if err := s.idb.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return auth.Org{}, dbError(op, err)
	}
	return row.org(), nil
}

// UpdateOrg writes Name, OwnerID and UpdatedAt of the organisation with
// o.ID. It returns auth.ErrNotFound when there is no such organisation,
// auth.ErrConflict when the new owner does not exist, and an error when
// o.OwnerID is not a lower-case UUID.
func (s *Store) UpdateOrg(ctx context.Context, o auth.Org) error {
	const op = "update org"
	if !isUUID(o.ID) {
		return notFound(op)
	}
	if err := checkID("owner id", o.OwnerID); err != nil {
		return dbError(op, err)
	}
	row := newOrgRow(o)
	res, err := s.idb.NewUpdate().Model(&row).
		Column("name", "owner_id", "updated_at").
		Where("id = ?", o.ID).
		Exec(ctx)
	return affectedOne(op, res, err)
}

// DeleteOrg deletes the organisation with its memberships and invites
// (the database cascades), or returns auth.ErrNotFound.
func (s *Store) DeleteOrg(ctx context.Context, id string) error {
	const op = "delete org"
	if !isUUID(id) {
		return notFound(op)
	}
	res, err := s.idb.NewDelete().Model((*orgRow)(nil)).Where("id = ?", id).Exec(ctx)
	return affectedOne(op, res, err)
}

// Orgs returns the organisations whose name or slug contains f.Query,
// case-insensitively (every one when it is empty), oldest first, one page
// at a time, with the cursor of the next page ("" on the last). p.Limit is
// 50 when zero or negative and at most 200. A cursor that this method did
// not return is a *auth.ValidationError on "cursor".
func (s *Store) Orgs(ctx context.Context, f auth.OrgFilter, p auth.Page) ([]auth.Org, string, error) {
	const op = "list orgs"
	pg, err := newKeysetPage(p)
	if err != nil {
		return nil, "", err
	}
	var rows []orgRow
	q := s.idb.NewSelect().Model(&rows)
	q = whereContains(q, f.Query, "o.name", "o.slug")
	if err := pg.apply(q, "o.created_at", "o.id").Scan(ctx); err != nil {
		return nil, "", dbError(op, err)
	}
	rows, next := nextKeysetPage(pg, rows, func(r orgRow) (dbTime, string) { return r.CreatedAt, r.ID })
	return convert(rows, orgRow.org), next, nil
}

// UserOrgs returns the organisations that userID belongs to with its role
// in each, oldest membership first, paged as [Store.Orgs]. A user ID that
// is not a UUID belongs to none.
func (s *Store) UserOrgs(ctx context.Context, userID string, p auth.Page) ([]auth.OrgMembership, string, error) {
	const op = "list user's orgs"
	pg, err := newKeysetPage(p)
	if err != nil {
		return nil, "", err
	}
	if !isUUID(userID) {
		return nil, "", nil
	}
	var rows []membershipRow
	q := s.idb.NewSelect().Model(&rows).
		ColumnExpr("o.*").
		ColumnExpr("m.role, m.joined_at").
		Join("JOIN org_members AS m ON m.org_id = o.id").
		Where("m.user_id = ?", userID)
	if err := pg.apply(q, "m.joined_at", "m.org_id").Scan(ctx); err != nil {
		return nil, "", dbError(op, err)
	}
	rows, next := nextKeysetPage(pg, rows, func(r membershipRow) (dbTime, string) { return r.JoinedAt, r.ID })
	return convert(rows, membershipRow.membership), next, nil
}
