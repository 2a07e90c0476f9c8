package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Lifetimes of the one-time tokens sent by mail.
const (
	verifyTokenTTL = 24 * time.Hour
	resetTokenTTL  = time.Hour
	maxNameLength  = 200
)

// Authenticator runs the account and session flows of the REST contract:
// register, email verification, login, refresh, logout, the current user
// and the password flows. Every method enforces the contract's rate limits
// itself, so in-process callers are protected as HTTP clients are. It is
// safe for concurrent use.
type Authenticator struct {
	store   Store
	mailer  Mailer
	cfg     Config
	limiter Limiter
	hasher  *hasher
	tokens  *signer
	log     *slog.Logger
}

// NewAuthenticator returns an Authenticator over store and mailer, or an
// error when cfg is invalid (a JWTSecret under 32 bytes without
// SigningKeys, invalid SigningKeys, a PasswordMinLength under 8).
func NewAuthenticator(store Store, mailer Mailer, cfg Config) (*Authenticator, error) {
	if store == nil || mailer == nil {
		return nil, errors.New("auth: NewAuthenticator needs a store and a mailer")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	tokens, err := newSigner(cfg)
	if err != nil {
		return nil, err
	}
	h, err := newHasher(cfg.Argon2, cfg.HashConcurrency, cfg.HashQueue, cfg.HashQueueWait, cfg.OnHash)
	if err != nil {
		return nil, fmt.Errorf("auth: password hasher: %w", err)
	}
	lim := cfg.Limiter
	if lim == nil {
		lim = NewMemoryLimiter()
	}
	return &Authenticator{
		store:   store,
		mailer:  mailer,
		cfg:     cfg,
		limiter: lim,
		hasher:  h,
		tokens:  tokens,
		log:     cfg.Logger,
	}, nil
}

// Tokens is the result of a login or a refresh.
type Tokens struct {
	Access           string
	Refresh          string
	ExpiresIn        time.Duration
	RefreshExpiresIn time.Duration
	SessionID        string
}

// RegisterInput is a sign-up request. Name is optional.
type RegisterInput struct {
	Email    string
	Password string
	Name     string
}

// HashQueueDepth returns how many password hashes are running or waiting
// right now, for metrics. Past Config.HashConcurrency + Config.HashQueue,
// hashing fails with ErrOverloaded.
func (a *Authenticator) HashQueueDepth() int { return a.hasher.depth() }

// now returns the current time in UTC, truncated to microseconds (what
// every store keeps).
func (a *Authenticator) now() time.Time { return a.cfg.Now().UTC().Truncate(time.Microsecond) }

// Register creates an unverified account and mails a verification link. It
// answers the same for a new and an existing email: the owner of an
// existing account is mailed a notice instead, so the result never reveals
// whether an account exists. It returns a *ValidationError for a bad email,
// password or name, a *ThrottledError, or ErrOverloaded.
func (a *Authenticator) Register(ctx context.Context, c Client, in RegisterInput) error {
	if err := a.allow(ctx, "register_ip", c.IP, a.cfg.Limits.RegisterIP); err != nil {
		return err
	}
	email, verr := validateEmailField(in.Email)
	fields := map[string]string{}
	if verr != "" {
		fields["email"] = verr
	}
	if msg := checkPassword(in.Password, email, a.cfg.PasswordMinLength); msg != "" {
		fields["password"] = msg
	}
	name := strings.TrimSpace(in.Name)
	if msg := checkName(name); name != "" && msg != "" {
		fields["name"] = msg
	}
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}

	// Hash before looking the email up, so both answers cost the same.
	hash, err := a.hasher.hash(ctx, in.Password)
	if err != nil {
		return err
	}
	now := a.now()
	u := User{ID: newID(), Email: email, Name: name, Role: RoleEndUser, IsActive: true,
		PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	secret := randomToken()
	err = a.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.CreateToken(ctx, OneTimeToken{Hash: hashToken(secret), Purpose: PurposeVerifyEmail,
			UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(verifyTokenTTL)}); err != nil {
			return err
		}
		return a.audit(ctx, tx, c, AuditEvent{Event: EventUserRegistered, ActorID: u.ID,
			TargetType: TargetUser, TargetID: u.ID})
	})
	switch {
	case errors.Is(err, ErrConflict):
		a.send(ctx, accountExistsMail(email, a.cfg.FrontendURL))
		return nil
	case err != nil:
		return fmt.Errorf("auth: register: %w", err)
	}
	a.send(ctx, verificationMail(email, a.link("/verify-email", secret)))
	return nil
}

// VerifyEmail consumes a verification token and marks its user's email
// verified. It returns the user, or ErrInvalidToken for a token that is
// unknown, used or expired.
func (a *Authenticator) VerifyEmail(ctx context.Context, c Client, token string) (User, error) {
	if strings.TrimSpace(token) == "" {
		return User{}, fieldError("token", "required")
	}
	var u User
	err := a.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		t, err := tx.ConsumeToken(ctx, PurposeVerifyEmail, hashToken(token), a.now())
		if err != nil {
			return err
		}
		if u, err = tx.UserByID(ctx, t.UserID); err != nil {
			return err
		}
		if u.EmailVerified {
			return nil
		}
		u.EmailVerified = true
		u.UpdatedAt = a.now()
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		return a.audit(ctx, tx, c, AuditEvent{Event: EventUserEmailVerified, ActorID: u.ID,
			TargetType: TargetUser, TargetID: u.ID})
	})
	if errors.Is(err, ErrNotFound) {
		return User{}, ErrInvalidToken
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: verify email: %w", err)
	}
	return u, nil
}

// ResendVerification mails a new verification link when email belongs to an
// unverified account; otherwise it does nothing. Either way it returns nil,
// so the answer never reveals whether an account exists. It returns a
// *ValidationError for a malformed email and a *ThrottledError past
// RATE_LIMIT_VERIFY_RESEND.
func (a *Authenticator) ResendVerification(ctx context.Context, c Client, email string) error {
	email, msg := validateEmailField(email)
	if msg != "" {
		return fieldError("email", msg)
	}
	if err := a.allow(ctx, "verify_resend", email, a.cfg.Limits.VerifyResend); err != nil {
		return err
	}
	u, err := a.store.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) || (err == nil && (u.EmailVerified || !u.IsActive)) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("auth: resend verification: %w", err)
	}
	secret, err := a.replaceToken(ctx, u.ID, PurposeVerifyEmail, verifyTokenTTL)
	if err != nil {
		return fmt.Errorf("auth: resend verification: %w", err)
	}
	a.send(ctx, verificationMail(email, a.link("/verify-email", secret)))
	return nil
}

// Login checks email and password and opens a session. The order of checks
// is the contract's: rate limits, then credentials (an unknown email, a
// wrong password and an account without a password all return
// ErrInvalidCredentials after the same work), then ErrAccountDisabled, then
// ErrEmailNotVerified. It may also return a *ValidationError for a missing
// field, a *ThrottledError or ErrOverloaded.
func (a *Authenticator) Login(ctx context.Context, c Client, email, password string) (Tokens, User, error) {
	fields := map[string]string{}
	if strings.TrimSpace(email) == "" {
		fields["email"] = "required"
	}
	if password == "" {
		fields["password"] = "required"
	}
	if len(fields) > 0 {
		return Tokens{}, User{}, &ValidationError{Fields: fields}
	}
	// A malformed email cannot belong to an account: it is an unknown
	// email, checked against the dummy hash like any other.
	key, malformed := NormalizeEmail(email)
	if malformed != nil {
		key = strings.ToLower(strings.TrimSpace(email))
	}
	if err := a.allow(ctx, "login", c.IP+"|"+key, a.cfg.Limits.Login); err != nil {
		return Tokens{}, User{}, err
	}
	if err := a.allow(ctx, "login_ip", c.IP, a.cfg.Limits.LoginIP); err != nil {
		return Tokens{}, User{}, err
	}
	if err := a.peek(ctx, "login_failures", key, a.cfg.Limits.LoginFailures); err != nil {
		return Tokens{}, User{}, err
	}

	// A place in the hashing queue first: when it is full, a flood of
	// logins is refused before it costs a database read.
	release, err := a.hasher.admit(ctx)
	if err != nil {
		return Tokens{}, User{}, err
	}
	var u User
	if malformed == nil { // no account has a malformed email: not looked up (it may hold a NUL the store cannot take)
		if u, err = a.store.UserByEmail(ctx, key); err != nil && !errors.Is(err, ErrNotFound) {
			release()
			return Tokens{}, User{}, fmt.Errorf("auth: login: %w", err)
		}
	}
	match, stale, err := a.hasher.verifyAdmitted(ctx, password, u.PasswordHash)
	release()
	if err != nil {
		return Tokens{}, User{}, err
	}
	if !match {
		a.loginFailed(ctx, c, key, u.ID)
		return Tokens{}, User{}, ErrInvalidCredentials
	}
	if !u.IsActive {
		return Tokens{}, User{}, ErrAccountDisabled
	}
	if !u.EmailVerified {
		return Tokens{}, User{}, ErrEmailNotVerified
	}
	if stale {
		a.rehash(ctx, u.ID, password)
	}
	t, err := a.openSession(ctx, c, u, func(ctx context.Context, tx Store, s Session) error {
		return a.audit(ctx, tx, c, AuditEvent{Event: EventLogin, ActorID: u.ID,
			TargetType: TargetSession, TargetID: s.ID})
	})
	if err != nil {
		return Tokens{}, User{}, fmt.Errorf("auth: login: %w", err)
	}
	return t, u, nil
}

// loginFailed spends one of the email's failed-login allowance and records
// the failure. Errors are logged, not returned: the caller's answer is
// ErrInvalidCredentials either way.
func (a *Authenticator) loginFailed(ctx context.Context, c Client, email, userID string) {
	if !a.cfg.RateLimitDisabled {
		if _, err := a.limiter.Allow(ctx, "login_failures:"+email, a.cfg.Limits.LoginFailures); err != nil {
			a.log.WarnContext(ctx, "rate limiter unavailable", "limit", "login_failures", "err", err)
		}
	}
	e := AuditEvent{Event: EventLoginFailed, ActorID: userID}
	if userID == "" {
		e.Metadata = map[string]string{"email": email}
	} else {
		e.TargetType, e.TargetID = TargetUser, userID
	}
	if err := a.audit(ctx, a.store, c, e); err != nil {
		a.log.ErrorContext(ctx, "audit failed login", "err", err)
	}
}

// rehash stores a new hash made with the current parameters after a login
// proved the password. A failure only costs another try at the next login.
func (a *Authenticator) rehash(ctx context.Context, userID, password string) {
	hash, err := a.hasher.hash(ctx, password)
	if err == nil {
		err = a.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
			u, err := tx.UserByID(ctx, userID)
			if err != nil {
				return err
			}
			u.PasswordHash = hash
			return tx.UpdateUser(ctx, u)
		})
	}
	if err != nil {
		a.log.WarnContext(ctx, "rehash password", "user_id", userID, "err", err)
	}
}

// Me returns the principal's user, or ErrUnauthenticated when it no longer
// exists.
func (a *Authenticator) Me(ctx context.Context, p Principal) (User, error) {
	u, err := a.store.UserByID(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) {
		return User{}, ErrUnauthenticated
	}
	return u, err
}

// UpdateMe changes the principal's own name (1 to 200 characters) and
// returns the updated user. It returns a *ValidationError for a bad name.
func (a *Authenticator) UpdateMe(ctx context.Context, c Client, p Principal, name string) (User, error) {
	name = strings.TrimSpace(name)
	if msg := checkName(name); msg != "" {
		return User{}, fieldError("name", msg)
	}
	var u User
	err := a.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		var err error
		if u, err = tx.UserByID(ctx, p.UserID); err != nil {
			return err
		}
		if u.Name == name {
			return nil
		}
		u.Name, u.UpdatedAt = name, a.now()
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		return a.audit(ctx, tx, c, AuditEvent{Event: EventUserUpdated, ActorID: u.ID,
			TargetType: TargetUser, TargetID: u.ID, Metadata: map[string]string{"fields": "name"}})
	})
	if errors.Is(err, ErrNotFound) {
		return User{}, ErrUnauthenticated
	}
	return u, err
}

// ChangePassword replaces the principal's password after checking the
// current one, and revokes every other session. A wrong current password is
// a *ValidationError on current_password; a weak new one on new_password.
func (a *Authenticator) ChangePassword(ctx context.Context, c Client, p Principal, current, next string) error {
	u, err := a.Me(ctx, p)
	if err != nil {
		return err
	}
	fields := map[string]string{}
	if current == "" {
		fields["current_password"] = "required"
	}
	if msg := checkPassword(next, u.Email, a.cfg.PasswordMinLength); msg != "" {
		fields["new_password"] = msg
	}
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	match, _, err := a.hasher.verify(ctx, current, u.PasswordHash)
	if err != nil {
		return err
	}
	if !match {
		return fieldError("current_password", "is incorrect")
	}
	return a.storePassword(ctx, c, p, next, EventPasswordChanged, func(u User) error {
		if u.PasswordHash == "" {
			return fieldError("current_password", "is incorrect")
		}
		return nil
	})
}

// SetPassword gives a password to the principal's account when it has none
// (an account created through single sign-on). It returns
// ErrPasswordAlreadySet otherwise, or a *ValidationError for a weak
// password.
func (a *Authenticator) SetPassword(ctx context.Context, c Client, p Principal, next string) error {
	u, err := a.Me(ctx, p)
	if err != nil {
		return err
	}
	if u.HasPassword() {
		return ErrPasswordAlreadySet
	}
	if msg := checkPassword(next, u.Email, a.cfg.PasswordMinLength); msg != "" {
		return fieldError("new_password", msg)
	}
	return a.storePassword(ctx, c, p, next, EventPasswordSet, func(u User) error {
		if u.HasPassword() {
			return ErrPasswordAlreadySet
		}
		return nil
	})
}

// storePassword hashes next and, in one transaction that first re-checks the
// user with precondition, stores it, revokes every session but the
// principal's and records event.
func (a *Authenticator) storePassword(ctx context.Context, c Client, p Principal, next, event string, precondition func(User) error) error {
	hash, err := a.hasher.hash(ctx, next)
	if err != nil {
		return err
	}
	err = a.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		u, err := tx.UserByID(ctx, p.UserID)
		if err != nil {
			return err
		}
		if err := precondition(u); err != nil {
			return err
		}
		now := a.now()
		u.PasswordHash, u.UpdatedAt = hash, now
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if _, err := tx.RevokeUserSessions(ctx, u.ID, p.SessionID, now); err != nil {
			return err
		}
		return a.audit(ctx, tx, c, AuditEvent{Event: event, ActorID: u.ID, TargetType: TargetUser, TargetID: u.ID})
	})
	if errors.Is(err, ErrNotFound) {
		return ErrUnauthenticated // the user was deleted meanwhile
	}
	return err
}

// ForgotPassword mails a reset link when email belongs to an active
// account, and does nothing otherwise; either way it returns nil, so the
// answer never reveals whether an account exists. It returns a
// *ValidationError for a malformed email and a *ThrottledError past the
// forgot-password limits.
func (a *Authenticator) ForgotPassword(ctx context.Context, c Client, email string) error {
	email, msg := validateEmailField(email)
	if msg != "" {
		return fieldError("email", msg)
	}
	if err := a.allow(ctx, "forgot_password_ip", c.IP, a.cfg.Limits.ForgotPasswordIP); err != nil {
		return err
	}
	if err := a.allow(ctx, "forgot_password", email, a.cfg.Limits.ForgotPassword); err != nil {
		return err
	}
	u, err := a.store.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) || (err == nil && !u.IsActive) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("auth: forgot password: %w", err)
	}
	secret, err := a.replaceToken(ctx, u.ID, PurposePasswordReset, resetTokenTTL, AuditEvent{
		Event: EventPasswordResetRequest, ActorID: u.ID, TargetType: TargetUser, TargetID: u.ID,
		IP: c.IP, UserAgent: c.UserAgent})
	if err != nil {
		return fmt.Errorf("auth: forgot password: %w", err)
	}
	a.send(ctx, resetMail(email, a.link("/reset-password", secret)))
	return nil
}

// ResetPassword consumes a reset token and sets a new password, marks the
// email verified (the mail proved it) and revokes every session. It returns
// ErrInvalidToken for a token that is unknown, used or expired, and a
// *ValidationError for a weak password (the token stays usable then).
func (a *Authenticator) ResetPassword(ctx context.Context, c Client, token, next string) error {
	fields := map[string]string{}
	if strings.TrimSpace(token) == "" {
		fields["token"] = "required"
	}
	if msg := checkPassword(next, "", a.cfg.PasswordMinLength); msg != "" {
		fields["new_password"] = msg
	}
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	hash, err := a.hasher.hash(ctx, next)
	if err != nil {
		return err
	}
	err = a.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		now := a.now()
		t, err := tx.ConsumeToken(ctx, PurposePasswordReset, hashToken(token), now)
		if err != nil {
			return err
		}
		u, err := tx.UserByID(ctx, t.UserID)
		if err != nil {
			return err
		}
		// The local-part rule needs the email, known only now; failing it
		// rolls the consumption back.
		if msg := checkPassword(next, u.Email, a.cfg.PasswordMinLength); msg != "" {
			return fieldError("new_password", msg)
		}
		u.PasswordHash, u.EmailVerified, u.UpdatedAt = hash, true, now
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if _, err := tx.RevokeUserSessions(ctx, u.ID, "", now); err != nil {
			return err
		}
		if err := tx.DeleteUserTokens(ctx, u.ID, PurposePasswordReset); err != nil {
			return err
		}
		return a.audit(ctx, tx, c, AuditEvent{Event: EventPasswordReset, ActorID: u.ID,
			TargetType: TargetUser, TargetID: u.ID})
	})
	if errors.Is(err, ErrNotFound) {
		return ErrInvalidToken
	}
	return err
}

// CreateSuperuser creates a verified SYSTEM_ADMIN with this email and
// password, or promotes the existing user with this email to one and sets
// the password. It is meant for the operator's command line and checks the
// same password rules as every other flow.
func (a *Authenticator) CreateSuperuser(ctx context.Context, email, password string) (User, error) {
	email, msg := validateEmailField(email)
	if msg != "" {
		return User{}, fieldError("email", msg)
	}
	if msg := checkPassword(password, email, a.cfg.PasswordMinLength); msg != "" {
		return User{}, fieldError("password", msg)
	}
	hash, err := a.hasher.hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	var u User
	err = a.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		now := a.now()
		existing, err := tx.UserByEmail(ctx, email)
		switch {
		case errors.Is(err, ErrNotFound):
			u = User{ID: newID(), Email: email, Role: RoleSystemAdmin, EmailVerified: true, IsActive: true,
				PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			u = existing
			u.Role, u.EmailVerified, u.IsActive, u.PasswordHash, u.UpdatedAt = RoleSystemAdmin, true, true, hash, now
			if err := tx.UpdateUser(ctx, u); err != nil {
				return err
			}
		}
		return a.audit(ctx, tx, Client{}, AuditEvent{Event: EventUserRoleChanged, ActorID: u.ID,
			TargetType: TargetUser, TargetID: u.ID,
			Metadata: map[string]string{"role": string(RoleSystemAdmin), "via": "createsuperuser"}})
	})
	return u, err
}

// replaceToken deletes the user's unused tokens of purpose, stores a new one
// with lifetime ttl, records the optional events, all in one transaction,
// and returns the new secret.
func (a *Authenticator) replaceToken(ctx context.Context, userID string, purpose TokenPurpose, ttl time.Duration, events ...AuditEvent) (string, error) {
	secret := randomToken()
	err := a.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.DeleteUserTokens(ctx, userID, purpose); err != nil {
			return err
		}
		now := a.now()
		if err := tx.CreateToken(ctx, OneTimeToken{Hash: hashToken(secret), Purpose: purpose, UserID: userID,
			CreatedAt: now, ExpiresAt: now.Add(ttl)}); err != nil {
			return err
		}
		for _, e := range events {
			if err := a.audit(ctx, tx, Client{IP: e.IP, UserAgent: e.UserAgent}, e); err != nil {
				return err
			}
		}
		return nil
	})
	return secret, err
}

// audit appends e through s (usually the caller's transaction).
func (a *Authenticator) audit(ctx context.Context, s Store, c Client, e AuditEvent) error {
	return appendAudit(ctx, s, c, a.now(), e)
}

// send hands m to the mailer and logs a failure. The flows that mail
// (register, resend, forgot) answer alike whether an account exists, so a
// failure is not returned: an error only for existing accounts would
// reveal them. The user can ask again; the operator sees the log.
func (a *Authenticator) send(ctx context.Context, m Message) {
	if err := a.mailer.Send(ctx, m); err != nil {
		a.log.ErrorContext(ctx, "send mail failed", "subject", m.Subject, "err", err)
	}
}

// link returns FRONTEND_URL + path with the token as its query.
func (a *Authenticator) link(path, token string) string {
	return strings.TrimRight(a.cfg.FrontendURL, "/") + path + "?token=" + url.QueryEscape(token)
}

// validateEmailField normalises a required email field and returns it, or a
// message for the field.
func validateEmailField(s string) (string, string) {
	if strings.TrimSpace(s) == "" {
		return "", "required"
	}
	e, err := NormalizeEmail(s)
	if err != nil {
		return "", "must be a valid email address"
	}
	return e, ""
}
