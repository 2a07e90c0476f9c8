package mailer

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	auth "github.com/authd/auth"
)

// ErrInvalidMessage is returned (wrapped) for a message that cannot be sent
// as it is: a recipient that is not exactly one bare address, or a recipient
// or subject with a line break in it.
var ErrInvalidMessage = errors.New("mailer: invalid message")

// parseFrom checks a sender address, which may carry a display name
// ("authd <no-reply@example.com>").
func parseFrom(from string) (*mail.Address, error) {
	if from == "" {
		return nil, errors.New("mailer: no sender address")
	}
	addr, err := mail.ParseAddress(from)
	if err != nil || strings.ContainsAny(from, "\r\n") {
		return nil, fmt.Errorf("mailer: sender address %q is not valid", from)
	}
	return addr, nil
}

// compose builds m as a MIME message from from, dated now, its body in
// encoding enc. It refuses a message that could smuggle headers in.
func compose(from *mail.Address, m auth.Message, now time.Time, enc gomail.Encoding) (*gomail.Msg, error) {
	if strings.ContainsAny(m.To, "\r\n") {
		return nil, fmt.Errorf("%w: line break in recipient", ErrInvalidMessage)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, fmt.Errorf("%w: line break in subject", ErrInvalidMessage)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil || to.Name != "" || to.Address != m.To {
		return nil, fmt.Errorf("%w: recipient %q is not one bare address", ErrInvalidMessage, m.To)
	}

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent(), gomail.WithEncoding(enc))
	msg.FromMailAddress(from)
	msg.ToMailAddress(to)
	msg.Subject(m.Subject)
	msg.SetDateWithValue(now)
	msg.SetMessageIDWithValue(messageID(from.Address))
	// RFC 5322 lines end in CRLF; the 8bit body is written as it is.
	text := strings.ReplaceAll(strings.ReplaceAll(m.Text, "\r\n", "\n"), "\n", "\r\n")
	msg.SetBodyString(gomail.TypeTextPlain, text)
	return msg, nil
}

// messageID returns a new globally unique Message-ID (without the angle
// brackets) in the sender's domain, so it reveals nothing of the host.
func messageID(from string) string {
	domain := from[strings.LastIndexByte(from, '@')+1:]
	return rand.Text() + "@" + domain
}
