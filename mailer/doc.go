// Package mailer sends authd's mail: [SMTP] delivers it to a mail server
// with github.com/wneessen/go-mail, and [Dir] writes each message as an
// RFC 5322 .eml file for development, where no mail server is at hand.
//
// Both implement [auth.Mailer] and compose messages the same way: plain text
// in UTF-8 (quoted-printable over SMTP, 8bit in files), with Date, From, To,
// Subject and Message-ID headers. A message whose recipient is not exactly one bare address, or
// whose recipient or subject holds a line break, is refused with
// [ErrInvalidMessage] before anything is written or sent, so no input can
// add headers. The bodies carry one-time tokens: neither mailer logs them.
package mailer
