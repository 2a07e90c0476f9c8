package main

import (
	"context"
	"fmt"
	"io"
)

// migrate applies the database migrations and exits.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("migrate takes no arguments, got %q", args)
	}
	a, err := openApp(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.store.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}
