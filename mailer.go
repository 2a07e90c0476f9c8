package auth

import "context"

// Message is one outgoing email in plain text.
type Message struct {
	To      string
	Subject string
	Text    string
}

// Mailer sends mail. Implementations are safe for concurrent use; see the
// mailer package for SMTP and .eml-directory mailers.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}
