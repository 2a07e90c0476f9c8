package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// openSession creates a session for u with a fresh refresh token, runs
// record in the same transaction (to write its audit event) and returns the
// tokens.
func (a *Authenticator) openSession(ctx context.Context, c Client, u User, record func(context.Context, Store, Session) error) (Tokens, error) {
	now := a.now()
	jti := randomToken()
	s := Session{
		ID: newID(), UserID: u.ID, RefreshHash: hashToken(jti),
		IP: c.IP, UserAgent: truncate(c.UserAgent, 512),
		CreatedAt: now, LastUsedAt: now, MaxExpiresAt: now.Add(a.cfg.SessionMaxAge),
	}
	s.ExpiresAt = minTime(now.Add(a.cfg.RefreshTokenTTL), s.MaxExpiresAt)
	err := a.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.CreateSession(ctx, s); err != nil {
			return err
		}
		return record(ctx, tx, s)
	})
	if err != nil {
		return Tokens{}, err
	}
	return a.issue(u.ID, u.Role, s.ID, jti, now, s.ExpiresAt)
}

// issue signs an access token and the refresh token with this jti.
func (a *Authenticator) issue(userID string, role GlobalRole, sessionID, jti string, now, refreshExpires time.Time) (Tokens, error) {
	accessExpires := now.Add(a.cfg.AccessTokenTTL)
	access, err := a.tokens.sign(claims{Subject: userID, ID: newID(), SessionID: sessionID, Role: role,
		Type: typAccess, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(accessExpires)})
	if err != nil {
		return Tokens{}, err
	}
	refresh, err := a.tokens.sign(claims{Subject: userID, ID: jti, SessionID: sessionID,
		Type: typRefresh, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(refreshExpires)})
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{Access: access, Refresh: refresh, SessionID: sessionID,
		ExpiresIn: a.cfg.AccessTokenTTL, RefreshExpiresIn: refreshExpires.Sub(now)}, nil
}

// Refresh rotates a refresh token: it returns new tokens for the same
// session and makes the presented one unusable. Of concurrent refreshes
// with one token exactly one succeeds. Presenting a token that was already
// rotated revokes the session and returns ErrTokenReused (unless
// RefreshReuseGrace admits the immediately previous token once, shortly
// after its rotation). A malformed, forged or expired token, or one of a
// revoked or expired session, returns ErrInvalidRefreshToken; a
// *ValidationError when the token is empty; a *ThrottledError past
// RATE_LIMIT_REFRESH.
func (a *Authenticator) Refresh(ctx context.Context, c Client, refreshToken string) (Tokens, error) {
	if refreshToken == "" {
		return Tokens{}, fieldError("refresh", "required")
	}
	cl, err := a.tokens.parse(refreshToken, typRefresh)
	if err != nil {
		return Tokens{}, ErrInvalidRefreshToken
	}
	if err := a.allow(ctx, "refresh", cl.SessionID, a.cfg.Limits.Refresh); err != nil {
		return Tokens{}, err
	}
	s, u, err := a.store.SessionUser(ctx, cl.SessionID)
	if errors.Is(err, ErrNotFound) {
		return Tokens{}, ErrInvalidRefreshToken
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("auth: refresh: %w", err)
	}
	now := a.now()
	if s.UserID != cl.Subject || !s.Active(now) || !u.IsActive {
		return Tokens{}, ErrInvalidRefreshToken
	}

	jti := randomToken()
	r := Rotation{SessionID: s.ID, Presented: hashToken(cl.ID), Next: hashToken(jti), Now: now,
		ExpiresAt: minTime(now.Add(a.cfg.RefreshTokenTTL), s.MaxExpiresAt)}
	if a.cfg.RefreshReuseGrace > 0 {
		r.GraceSince = now.Add(-a.cfg.RefreshReuseGrace)
	}
	err = a.store.RotateSession(ctx, r)
	if errors.Is(err, ErrNotFound) {
		return Tokens{}, a.refreshRejected(ctx, c, s, now)
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("auth: refresh: %w", err)
	}
	return a.issue(u.ID, u.Role, s.ID, jti, now, r.ExpiresAt)
}

// refreshRejected decides why a rotation matched no row. A session still
// active means the token was not its current one: it was rotated already,
// so the session is revoked as compromised. Otherwise the session ended
// meanwhile.
func (a *Authenticator) refreshRejected(ctx context.Context, c Client, s Session, now time.Time) error {
	err := a.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.RevokeSession(ctx, s.ID, now); err != nil {
			return err
		}
		return a.audit(ctx, tx, c, AuditEvent{Event: EventTokenReused, ActorID: s.UserID,
			TargetType: TargetSession, TargetID: s.ID})
	})
	switch {
	case errors.Is(err, ErrNotFound):
		// Revoked by someone else (another reuse, a logout) meanwhile.
		return ErrTokenReused
	case err != nil:
		return fmt.Errorf("auth: refresh: %w", err)
	}
	a.log.WarnContext(ctx, "refresh token reused; session revoked", "session_id", s.ID, "user_id", s.UserID)
	return ErrTokenReused
}

// VerifyAccessToken checks an access token's signature, algorithm, issuer,
// audience, type and expiry, and returns its principal. It does no I/O:
// a revoked session's access tokens stay valid until they expire (at most
// AccessTokenTTL). It returns ErrUnauthenticated for any bad token.
func (a *Authenticator) VerifyAccessToken(token string) (Principal, error) {
	cl, err := a.tokens.parse(token, typAccess)
	if err != nil {
		return Principal{}, ErrUnauthenticated
	}
	return Principal{UserID: cl.Subject, SessionID: cl.SessionID, Role: cl.Role}, nil
}

// Authenticate is [Authenticator.VerifyAccessToken] plus a store read that
// the token's session is still active, so a logout, a revocation, a
// password reset or a disabled account takes effect at once. authd's own
// endpoints use it. It returns ErrUnauthenticated when the token or its
// session is not valid.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (Principal, error) {
	p, _, err := a.AuthenticateUser(ctx, token)
	return p, err
}

// AuthenticateUser is [Authenticator.Authenticate] that also returns the
// principal's user as stored now, read together with the session in one
// store call. It returns ErrUnauthenticated when the token or its session
// is not valid or the account is disabled.
func (a *Authenticator) AuthenticateUser(ctx context.Context, token string) (Principal, User, error) {
	p, err := a.VerifyAccessToken(token)
	if err != nil {
		return Principal{}, User{}, err
	}
	s, u, err := a.store.SessionUser(ctx, p.SessionID)
	if errors.Is(err, ErrNotFound) {
		return Principal{}, User{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, User{}, fmt.Errorf("auth: authenticate: %w", err)
	}
	if s.UserID != p.UserID || !s.Active(a.now()) || !u.IsActive {
		return Principal{}, User{}, ErrUnauthenticated
	}
	return p, u, nil
}

// Logout revokes the principal's session. When refreshToken is given and
// is a valid refresh token of another session of the same user, that
// session is revoked too; any other refresh token is ignored.
func (a *Authenticator) Logout(ctx context.Context, c Client, p Principal, refreshToken string) error {
	ids := []string{p.SessionID}
	if refreshToken != "" {
		if cl, err := a.tokens.parse(refreshToken, typRefresh); err == nil && cl.Subject == p.UserID && cl.SessionID != p.SessionID {
			ids = append(ids, cl.SessionID)
		}
	}
	return a.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		for _, id := range ids {
			err := tx.RevokeSession(ctx, id, a.now())
			if errors.Is(err, ErrNotFound) {
				continue // already ended: logging out is idempotent
			}
			if err != nil {
				return err
			}
			if err := a.audit(ctx, tx, c, AuditEvent{Event: EventLogout, ActorID: p.UserID,
				TargetType: TargetSession, TargetID: id}); err != nil {
				return err
			}
		}
		return nil
	})
}

// LogoutAll revokes every session of the principal's user, the current one
// included.
func (a *Authenticator) LogoutAll(ctx context.Context, c Client, p Principal) error {
	return a.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		n, err := tx.RevokeUserSessions(ctx, p.UserID, "", a.now())
		if err != nil {
			return err
		}
		return a.audit(ctx, tx, c, AuditEvent{Event: EventLogoutAll, ActorID: p.UserID,
			TargetType: TargetUser, TargetID: p.UserID, Metadata: map[string]string{"sessions": itoa(n)}})
	})
}

// Sessions returns the principal's active sessions, newest first.
func (a *Authenticator) Sessions(ctx context.Context, p Principal) ([]Session, error) {
	return a.store.ActiveSessions(ctx, p.UserID, a.now())
}

// RevokeSession revokes one of the principal's own sessions. Another
// user's session, or one that already ended, is ErrNotFound.
func (a *Authenticator) RevokeSession(ctx context.Context, c Client, p Principal, id string) error {
	return a.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		s, err := tx.SessionByID(ctx, id)
		if err != nil {
			return err
		}
		now := a.now()
		if s.UserID != p.UserID || !s.Active(now) {
			return ErrNotFound
		}
		if err := tx.RevokeSession(ctx, id, now); err != nil {
			return err
		}
		return a.audit(ctx, tx, c, AuditEvent{Event: EventSessionRevoked, ActorID: p.UserID,
			TargetType: TargetSession, TargetID: id})
	})
}

// allow consumes one request of policy name for key, returning a
// *ThrottledError when the limit is spent. A limiter failure is logged and
// lets the request through: an outage of Redis must not lock every user
// out.
func (a *Authenticator) allow(ctx context.Context, name, key string, l Limit) error {
	return a.limit(ctx, name, key, l, a.limiter.Allow)
}

// peek is allow without consuming.
func (a *Authenticator) peek(ctx context.Context, name, key string, l Limit) error {
	return a.limit(ctx, name, key, l, a.limiter.Peek)
}

func (a *Authenticator) limit(ctx context.Context, name, key string, l Limit,
	call func(context.Context, string, Limit) (Result, error)) error {
	if a.cfg.RateLimitDisabled || l.Burst == 0 {
		return nil
	}
	r, err := call(ctx, name+":"+key, l)
	if err != nil {
		a.log.WarnContext(ctx, "rate limiter unavailable", "limit", name, "err", err)
		return nil
	}
	if !r.Allowed {
		return &ThrottledError{Limit: name, RetryAfter: r.RetryAfter}
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
