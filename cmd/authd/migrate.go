package main

import (
	"context"
	"fmt"
	"io"
	"strings"
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

// seedPermissions migrates, then writes the default permission mappings of
// every role never configured. It is idempotent and never undoes an edit.
func seedPermissions(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("seed-permissions takes no arguments, got %q", args)
	}
	a, err := openApp(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	seeded, err := a.prepare(ctx)
	if err != nil {
		return err
	}
	if len(seeded) == 0 {
		fmt.Fprintln(stdout, "every role is configured already; nothing seeded")
		return nil
	}
	fmt.Fprintln(stdout, "seeded default permissions for", strings.Join(seeded, ", "))
	return nil
}
