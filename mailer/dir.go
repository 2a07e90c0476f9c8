package mailer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"time"

	gomail "github.com/wneessen/go-mail"

	auth "github.com/authd/auth"
)

// Dir is an [auth.Mailer] that writes each message into a directory as an
// RFC 5322 .eml file, for development and tests: open the file in a mail
// client, or read the link out of it (the body is 8bit UTF-8, so links are
// whole). It is safe for concurrent use.
type Dir struct {
	dir    string
	from   *mail.Address
	logger *slog.Logger
}

var _ auth.Mailer = (*Dir)(nil)

// NewDir returns a Dir that writes into dir, creating it (mode 0700) if it
// does not exist, with from as the sender; from may carry a display name.
// A nil logger logs nothing. It returns an error when from is not an email
// address or dir cannot be created.
func NewDir(dir, from string, logger *slog.Logger) (*Dir, error) {
	addr, err := parseFrom(from)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mailer: create mail directory: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Dir{dir: dir, from: addr, logger: logger}, nil
}

// Send writes m to a new file (mode 0600) named after the time and a random
// suffix, such as 20261129T235959.123456Z-1f2e3d4c5b6a7988.eml, so names
// sort by time. The file appears complete or not at all. Send then logs the
// recipient and the file at Info, never the body. It returns an error
// wrapping [ErrInvalidMessage] for a message it refuses, or the error of
// writing the file.
func (d *Dir) Send(ctx context.Context, m auth.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now().UTC()
	// 8bit keeps the body readable in the file, links unbroken.
	msg, err := compose(d.from, m, now, gomail.NoEncoding)
	if err != nil {
		return err
	}
	path := filepath.Join(d.dir, now.Format("20060102T150405.000000Z")+"-"+randomHex(8)+".eml")

	tmp, err := os.CreateTemp(d.dir, ".writing-*")
	if err != nil {
		return fmt.Errorf("mailer: write mail: %w", err)
	}
	_, err = msg.WriteTo(tmp)
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("mailer: write mail: %w", err)
	}
	d.logger.InfoContext(ctx, "mail written", "to", m.To, "subject", m.Subject, "file", path)
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
