package storage

import (
	"context"
	"slices"

	"github.com/authd/auth"
)

// RolePermissions returns every stored grant, ordered by scope, role and
// permission, with names as they are stored, known to this version or not.
func (s *Store) RolePermissions(ctx context.Context) ([]auth.RolePermission, error) {
	const op = "list role permissions"
	var rows []rolePermissionRow
	if err := s.idb.NewSelect().Model(&rows).OrderExpr("rp.scope, rp.role, rp.permission").Scan(ctx); err != nil {
		return nil, dbError(op, err)
	}
	return convert(rows, rolePermissionRow.rolePermission), nil
}

// SetRolePermissions replaces the grants of one role with perms (a
// permission listed twice is granted once) and marks the role as
// configured, in the caller's transaction or one of its own. Replacements
// of one role run one after the other: the first statement locks the
// role's mark. It returns an error when scope is neither "user" nor "org"
// or role is empty.
func (s *Store) SetRolePermissions(ctx context.Context, scope auth.Scope, role string, perms []auth.Permission) error {
	const op = "set role permissions"
	return s.inTransaction(ctx, func(ctx context.Context, tx *Store) error {
		mark := permissionRoleRow{Scope: string(scope), Role: role}
		// A no-op update of an existing mark, so that the row is locked.
		_, err := tx.idb.NewInsert().Model(&mark).
			On("CONFLICT (scope, role) DO UPDATE").
			Set("role = EXCLUDED.role").
			Exec(ctx)
		if err != nil {
			return dbError(op, err)
		}
		_, err = tx.idb.NewDelete().Model((*rolePermissionRow)(nil)).
			Where("scope = ?", string(scope)).
			Where("role = ?", role).
			Exec(ctx)
		if err != nil {
			return dbError(op, err)
		}
		return dbError(op, tx.insertGrants(ctx, scope, role, perms))
	})
}

// SeedRolePermissions stores perms for a role that was never configured,
// marking it configured, and reports whether it did, in the caller's
// transaction or one of its own. A configured role, even one configured to
// have no permission, is left alone, so seeding is idempotent and never
// undoes an edit. Concurrent seeds of one role all succeed and exactly one
// reports true: only the one whose mark was inserted writes the grants.
func (s *Store) SeedRolePermissions(ctx context.Context, scope auth.Scope, role string, perms []auth.Permission) (bool, error) {
	const op = "seed role permissions"
	var seeded bool
	err := s.inTransaction(ctx, func(ctx context.Context, tx *Store) error {
		mark := permissionRoleRow{Scope: string(scope), Role: role}
		res, err := tx.idb.NewInsert().Model(&mark).On("CONFLICT DO NOTHING").Exec(ctx)
		n, err := affectedRows(op, res, err)
		if err != nil || n == 0 {
			return err
		}
		if err := tx.insertGrants(ctx, scope, role, perms); err != nil {
			return dbError(op, err)
		}
		seeded = true
		return nil
	})
	return seeded && err == nil, err
}

// insertGrants inserts a grant of each of perms, once each, to the role.
func (s *Store) insertGrants(ctx context.Context, scope auth.Scope, role string, perms []auth.Permission) error {
	perms = slices.Compact(slices.Sorted(slices.Values(perms)))
	if len(perms) == 0 {
		return nil
	}
	rows := make([]rolePermissionRow, len(perms))
	for i, p := range perms {
		rows[i] = rolePermissionRow{Scope: string(scope), Role: role, Permission: string(p)}
	}
	_, err := s.idb.NewInsert().Model(&rows).Exec(ctx)
	return err
}
