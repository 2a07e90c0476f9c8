package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// createSuperuser creates a verified SYSTEM_ADMIN, or promotes the existing
// user with that email, with the password read as one line from stdin.
func createSuperuser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("createsuperuser", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "email address of the superuser (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *email == "" || fs.NArg() > 0 {
		return errors.New("usage: authd createsuperuser --email E  (password as one line on stdin)")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password from stdin: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return errors.New("no password on stdin")
	}

	a, err := openApp(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := a.prepare(ctx); err != nil {
		return err
	}
	authn, err := a.authenticator()
	if err != nil {
		return err
	}
	u, err := authn.CreateSuperuser(ctx, *email, password)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "superuser %s (%s) is a verified SYSTEM_ADMIN\n", u.Email, u.ID)
	return nil
}
