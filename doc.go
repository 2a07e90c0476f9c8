// Package auth is authentication for Go services: accounts with verified
// emails, password login with Argon2id, JWT access tokens with rotating
// refresh tokens bound to server-side sessions, logout and logout-all, and
// the password change, set, forgot and reset flows, with rate limits and an
// append-only audit log.
//
// The [Authenticator] runs every flow. It depends on three small
// interfaces the caller provides: a [Store] (package storage implements it
// on SQLite and PostgreSQL), a [Mailer] (package mailer writes .eml files or
// speaks SMTP) and, optionally, a [Limiter] (in memory by default; package
// storage/redisstore shares counters between instances through Redis).
//
// Quick start:
//
//	st, _ := storage.Open(ctx, "sqlite:./data/authd.db")
//	_ = st.Migrate(ctx)
//	m, _ := mailer.NewDir("./data/mail", "app <no-reply@example.com>", nil)
//	a, _ := auth.NewAuthenticator(st, m, auth.Config{JWTSecret: secret})
//	tokens, user, err := a.Login(ctx, auth.Client{IP: ip}, email, password)
//	p, err := a.VerifyAccessToken(tokens.Access) // on every request, no I/O
//
// Errors are the sentinels of errors.go, one per code of the REST contract
// (ErrInvalidCredentials, ErrTokenReused, …), plus *ValidationError,
// *ThrottledError and *OverloadedError, which carry data; test them with
// errors.Is and errors.As. Package httpapi maps them to HTTP.
package auth
