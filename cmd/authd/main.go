// Command authd is the authd server and its admin commands.
//
// Usage:
//
//	authd [serve]                       migrate, then serve the REST API (the default)
//	authd migrate                       apply database migrations and exit
//	authd seed-permissions              write the default permission mappings of unconfigured roles
//	authd createsuperuser --email E     create or promote a SYSTEM_ADMIN; password on stdin
//	authd audit verify|export|seal      verify the audit log's hash chain, export it, seal it
//	authd version                       print the version
//
// Every command reads the environment described in the README; with none
// set, authd serves on :8080 from ./data (SQLite, generated secrets, mail
// files).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "authd:", err)
		os.Exit(1)
	}
}

// run executes the command named by args. It returns when the command is
// done or, for serve, when ctx is cancelled and the server has shut down.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd, rest := "serve", args
	if len(args) > 0 {
		cmd, rest = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stderr)
	case "migrate":
		return migrate(ctx, rest, getenv, stdout, stderr)
	case "seed-permissions":
		return seedPermissions(ctx, rest, getenv, stdout, stderr)
	case "createsuperuser":
		return createSuperuser(ctx, rest, getenv, stdin, stdout, stderr)
	case "audit":
		return auditCommand(ctx, rest, getenv, stdin, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "authd", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

const usage = `usage:
  authd [serve]                     migrate, then serve the REST API (default)
  authd migrate                     apply database migrations and exit
  authd seed-permissions            write the default permission mappings of unconfigured roles
  authd createsuperuser --email E   create or promote a SYSTEM_ADMIN (password on stdin)
  authd audit verify|export|seal    verify the audit log's hash chain, export it, seal it
                                    (authd audit help for the flags)
  authd version                     print the version
`
