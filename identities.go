package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ExternalIdentity is what an identity provider says about the person who
// signed in. EmailVerified must be the provider's own statement that it
// verified Email; only then may the email link to or create an account.
type ExternalIdentity struct {
	Provider      string
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// ResolveIdentity finds or makes the account of an external identity, one
// user per email: an identity linked already signs its user in; otherwise
// a provider-verified email that matches a user links to that user
// (sso.linked) — when that user had never verified the email, its password,
// sessions and pending links are dropped, since whoever registered it may
// not own it; otherwise a new user is created (verified email, no
// password). It returns the user and whether it was created. An email the
// provider does not vouch for never links or creates: ErrEmailNotVerified.
// A disabled user is ErrAccountDisabled. Nothing is written when it fails.
func (a *Authenticator) ResolveIdentity(ctx context.Context, c Client, id ExternalIdentity) (User, bool, error) {
	if id.Provider == "" || id.Subject == "" {
		return User{}, false, errors.New("auth: external identity without provider or subject")
	}
	var u User
	created := false
	err := a.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		linked, err := tx.IdentityBySubject(ctx, id.Provider, id.Subject)
		if err == nil {
			u, err = tx.UserByID(ctx, linked.UserID)
			return err
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		if !id.EmailVerified {
			return ErrEmailNotVerified
		}
		email, err := NormalizeEmail(id.Email)
		if err != nil {
			return ErrEmailNotVerified
		}
		now := a.now()
		u, err = tx.UserByEmail(ctx, email)
		switch {
		case errors.Is(err, ErrNotFound):
			name := strings.TrimSpace(id.Name)
			if checkName(name) != "" {
				name = ""
			}
			u = User{ID: newID(), Email: email, Name: name, Role: RoleEndUser, EmailVerified: true, IsActive: true,
				CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			created = true
			if err := a.audit(ctx, tx, c, AuditEvent{Event: EventUserRegistered, ActorID: u.ID, TargetType: TargetUser,
				TargetID: u.ID, Metadata: map[string]string{"provider": id.Provider}}); err != nil {
				return err
			}
		case err != nil:
			return err
		case !u.IsActive:
			return ErrAccountDisabled
		}
		if err := tx.CreateIdentity(ctx, Identity{UserID: u.ID, Provider: id.Provider, Subject: id.Subject,
			Email: email, CreatedAt: now}); err != nil {
			return err
		}
		if !u.EmailVerified {
			// Nobody had proved this email; the provider just did. Whoever
			// registered it may not own it (a pre-registered account), so
			// their password, sessions and pending verification links go:
			// the owner signs in through the provider and may set a
			// password later.
			u.EmailVerified, u.PasswordHash, u.UpdatedAt = true, "", now
			if err := tx.UpdateUser(ctx, u); err != nil {
				return err
			}
			if _, err := tx.RevokeUserSessions(ctx, u.ID, "", now); err != nil {
				return err
			}
			if err := tx.DeleteUserTokens(ctx, u.ID, PurposeVerifyEmail); err != nil {
				return err
			}
			if err := tx.DeleteUserTokens(ctx, u.ID, PurposePasswordReset); err != nil {
				return err
			}
		}
		return a.audit(ctx, tx, c, AuditEvent{Event: EventSSOLinked, ActorID: u.ID, TargetType: TargetIdentity,
			TargetID: id.Provider, Metadata: map[string]string{"provider": id.Provider, "email": email}})
	})
	if err != nil {
		return User{}, false, err
	}
	if !u.IsActive {
		return User{}, false, ErrAccountDisabled
	}
	return u, created, nil
}

// LoginWithIdentity opens a session for the user a provider signed in
// (after [Authenticator.ResolveIdentity]) and records sso.login. It returns
// ErrAccountDisabled for a user disabled meanwhile.
func (a *Authenticator) LoginWithIdentity(ctx context.Context, c Client, userID, provider string) (Tokens, User, error) {
	u, err := a.store.UserByID(ctx, userID)
	if err != nil {
		return Tokens{}, User{}, err
	}
	if !u.IsActive {
		return Tokens{}, User{}, ErrAccountDisabled
	}
	t, err := a.openSession(ctx, c, u, func(ctx context.Context, tx Store, s Session) error {
		return a.audit(ctx, tx, c, AuditEvent{Event: EventSSOLogin, ActorID: u.ID, TargetType: TargetSession,
			TargetID: s.ID, Metadata: map[string]string{"provider": provider}})
	})
	if err != nil {
		return Tokens{}, User{}, fmt.Errorf("auth: sso login: %w", err)
	}
	return t, u, nil
}

// Identities returns the principal's linked identities, oldest first.
func (a *Authenticator) Identities(ctx context.Context, p Principal) ([]Identity, error) {
	return a.store.UserIdentities(ctx, p.UserID)
}

// UnlinkIdentity removes the principal's identity of provider. It returns
// ErrNotFound when none is linked and ErrLastLoginMethod when it is the
// only way left to sign in (no password and no other identity).
func (a *Authenticator) UnlinkIdentity(ctx context.Context, c Client, p Principal, provider string) error {
	return a.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		u, err := tx.UserByID(ctx, p.UserID)
		if err != nil {
			return unauthenticatedIfMissing(err)
		}
		ids, err := tx.UserIdentities(ctx, u.ID)
		if err != nil {
			return err
		}
		found := false
		for _, id := range ids {
			found = found || id.Provider == provider
		}
		if !found {
			return ErrNotFound
		}
		if !u.HasPassword() && len(ids) == 1 {
			return ErrLastLoginMethod
		}
		if err := tx.DeleteIdentity(ctx, u.ID, provider); err != nil {
			return err
		}
		return a.audit(ctx, tx, c, AuditEvent{Event: EventSSOUnlinked, ActorID: u.ID, TargetType: TargetIdentity,
			TargetID: provider, Metadata: map[string]string{"provider": provider}})
	})
}
