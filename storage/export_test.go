package storage

import "context"

// MigrateTo applies the migrations up to and including the version last,
// so that a test can make a database of an older schema and upgrade it.
func (s *Store) MigrateTo(ctx context.Context, last string) error {
	return s.migrateTo(ctx, last)
}
