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

// verificationMail asks the owner of email to confirm it.
func verificationMail(to, link string) Message {
	return Message{To: to, Subject: "Verify your email address", Text: "Welcome!\n\n" +
		"Confirm your email address by opening this link within 24 hours:\n\n" + link + "\n\n" +
		"If you did not create an account, ignore this message.\n"}
}

// accountExistsMail tells an existing owner that someone tried to register
// their email again, instead of revealing to the requester that it exists.
func accountExistsMail(to, frontend string) Message {
	return Message{To: to, Subject: "You already have an account", Text: "Someone, probably you, " +
		"tried to create an account with this email address, but you already have one.\n\n" +
		"Sign in at " + frontend + " or reset your password at " + frontend + "/forgot-password.\n\n" +
		"If it was not you, you can ignore this message: nothing has changed.\n"}
}

// resetMail carries a password-reset link.
func resetMail(to, link string) Message {
	return Message{To: to, Subject: "Reset your password", Text: "Someone asked to reset the password " +
		"of your account. Choose a new one by opening this link within 1 hour:\n\n" + link + "\n\n" +
		"If it was not you, ignore this message: your password has not changed.\n"}
}

// inviteMail invites to to join an organisation.
func inviteMail(to, org, link string) Message {
	return Message{To: to, Subject: "You are invited to join " + org, Text: "You have been invited to join " +
		org + ". Accept the invitation within 7 days by opening this link:\n\n" + link + "\n\n" +
		"If you did not expect this invitation, ignore this message.\n"}
}
