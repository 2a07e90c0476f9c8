package mailer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	auth "github.com/authd/auth"
	"github.com/authd/auth/mailer"
)

// message is a mail as a test expects to read it back.
var message = auth.Message{
	To:      "ann@example.com",
	Subject: "Vérifiez votre adresse — verify your email",
	Text: "Welcome!\n\nOpen this link within 24 hours:\n\n" +
		"https://app.example.com/verify-email?token=SECRET-TOKEN-0123456789abcdefghijklmnopqrstuvwxyz-long-enough-to-wrap\n\n" +
		"Ünïcödé, tabs\tand = signs stay as they are.\n",
}

func TestDir(t *testing.T) {
	t.Run("a message becomes an .eml file that net/mail reads back", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "mail")
		var logs bytes.Buffer
		d, err := mailer.NewDir(dir, "authd <no-reply@example.com>", slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		before := time.Now().Add(-time.Second)
		if err := d.Send(context.Background(), message); err != nil {
			t.Fatal(err)
		}

		files := listDir(t, dir)
		if len(files) != 1 {
			t.Fatalf("files in the mail directory: %v, want one", files)
		}
		name := files[0]
		if !regexp.MustCompile(`^\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{16}\.eml$`).MatchString(name) {
			t.Errorf("file name %q, want like 20261129T235959.123456Z-1f2e3d4c5b6a7988.eml", name)
		}
		checkMode(t, dir, 0o700)
		path := filepath.Join(dir, name)
		checkMode(t, path, 0o600)

		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		checkMessage(t, raw, "authd", "no-reply@example.com", message)
		if !bytes.Contains(raw, []byte("verify-email?token=SECRET-TOKEN-0123456789abcdefghijklmnopqrstuvwxyz-long-enough-to-wrap\r\n")) {
			t.Errorf("the link is not whole in the file:\n%s", raw)
		}
		msg, _ := mail.ReadMessage(bytes.NewReader(raw))
		if date, err := msg.Header.Date(); err != nil || date.Before(before) || date.After(time.Now().Add(time.Second)) {
			t.Errorf("Date = %q (%v), want now", msg.Header.Get("Date"), err)
		}

		line := logs.String()
		for _, want := range []string{"level=INFO", "to=ann@example.com", name} {
			if !strings.Contains(line, want) {
				t.Errorf("log %q does not name %q", line, want)
			}
		}
		if strings.Contains(line, "SECRET-TOKEN") {
			t.Errorf("log %q carries the body", line)
		}
	})

	t.Run("an existing directory is used as it is", func(t *testing.T) {
		dir := t.TempDir()
		d, err := mailer.NewDir(dir, "no-reply@example.com", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Send(context.Background(), message); err != nil {
			t.Fatal(err)
		}
		if files := listDir(t, dir); len(files) != 1 {
			t.Fatalf("files: %v, want one", files)
		}
	})

	t.Run("concurrent sends write one complete file each", func(t *testing.T) {
		dir := t.TempDir()
		d, err := mailer.NewDir(dir, "no-reply@example.com", nil)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				m := message
				m.Subject = fmt.Sprint("message ", i)
				if err := d.Send(context.Background(), m); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		files := listDir(t, dir)
		if len(files) != 20 {
			t.Fatalf("%d files (%v), want 20 and no temporary file left", len(files), files)
		}
		for _, f := range files {
			if !strings.HasSuffix(f, ".eml") {
				t.Errorf("unexpected file %q", f)
			}
		}
	})

	t.Run("a cancelled context writes nothing", func(t *testing.T) {
		dir := t.TempDir()
		d, err := mailer.NewDir(dir, "no-reply@example.com", nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := d.Send(ctx, message); !errors.Is(err, context.Canceled) {
			t.Fatalf("Send = %v, want context.Canceled", err)
		}
		if files := listDir(t, dir); len(files) != 0 {
			t.Fatalf("files: %v, want none", files)
		}
	})

	t.Run("a message that could add headers is refused and nothing is written", func(t *testing.T) {
		dir := t.TempDir()
		d, err := mailer.NewDir(dir, "no-reply@example.com", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range invalidMessages {
			if err := d.Send(context.Background(), m); !errors.Is(err, mailer.ErrInvalidMessage) {
				t.Errorf("Send(%q, %q) = %v, want ErrInvalidMessage", m.To, m.Subject, err)
			}
		}
		if files := listDir(t, dir); len(files) != 0 {
			t.Fatalf("files: %v, want none", files)
		}
	})

	t.Run("a bad sender address is refused", func(t *testing.T) {
		for _, from := range badSenders {
			if _, err := mailer.NewDir(t.TempDir(), from, nil); err == nil {
				t.Errorf("NewDir with sender %q: no error", from)
			}
		}
	})
}

// invalidMessages are refused by every mailer.
var invalidMessages = []auth.Message{
	{To: "ann@example.com\r\nBcc: eve@evil.example", Subject: "hi", Text: "x"},
	{To: "ann@example.com\nBcc: eve@evil.example", Subject: "hi", Text: "x"},
	{To: "ann@example.com", Subject: "hi\r\nBcc: eve@evil.example", Text: "x"},
	{To: "ann@example.com", Subject: "hi\nBcc: eve@evil.example", Text: "x"},
	{To: "ann@example.com", Subject: "hi\rBcc: eve@evil.example", Text: "x"},
	{To: "Ann <ann@example.com>", Subject: "hi", Text: "x"},
	{To: "ann@example.com, eve@evil.example", Subject: "hi", Text: "x"},
	{To: "", Subject: "hi", Text: "x"},
	{To: "not an address", Subject: "hi", Text: "x"},
}

var badSenders = []string{"", "not an address", "no-reply@example.com\r\nBcc: eve@evil.example", "a@x.io, b@x.io"}

// checkMessage parses raw as an RFC 5322 message and checks that it is m,
// from fromName <fromAddr>, in UTF-8 plain text.
func checkMessage(t *testing.T, raw []byte, fromName, fromAddr string, m auth.Message) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v\n%s", err, raw)
	}
	h := msg.Header
	if from, err := mail.ParseAddress(h.Get("From")); err != nil || from.Name != fromName || from.Address != fromAddr {
		t.Errorf("From = %q (%v), want %s <%s>", h.Get("From"), err, fromName, fromAddr)
	}
	if to, err := h.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != m.To {
		t.Errorf("To = %q (%v), want %s", h.Get("To"), err, m.To)
	}
	if subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); err != nil || subject != m.Subject {
		t.Errorf("Subject = %q, decoded %q (%v), want %q", h.Get("Subject"), subject, err, m.Subject)
	}
	if !regexp.MustCompile(`^<[^<>@\s]+@example\.com>$`).MatchString(h.Get("Message-Id")) {
		t.Errorf("Message-ID = %q, want <random@example.com>", h.Get("Message-Id"))
	}
	if _, err := mail.ParseDate(h.Get("Date")); err != nil {
		t.Errorf("Date = %q: %v", h.Get("Date"), err)
	}
	if v := h.Get("Mime-Version"); v != "1.0" {
		t.Errorf("MIME-Version = %q, want 1.0", v)
	}
	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mediaType != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") {
		t.Errorf("Content-Type = %q, want text/plain; charset=utf-8", h.Get("Content-Type"))
	}
	var body io.Reader = msg.Body
	switch cte := h.Get("Content-Transfer-Encoding"); strings.ToLower(cte) {
	case "quoted-printable":
		body = quotedprintable.NewReader(msg.Body)
	case "8bit":
	default:
		t.Fatalf("Content-Transfer-Encoding = %q, want quoted-printable or 8bit", cte)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	if got := strings.ReplaceAll(string(text), "\r\n", "\n"); got != m.Text {
		t.Errorf("body = %q, want %q", got, m.Text)
	}
	if strings.Count(string(raw), "\nBcc:") > 0 || h.Get("Bcc") != "" {
		t.Errorf("message has a Bcc header:\n%s", raw)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("%s has mode %o, want %o", path, got, want)
	}
}
