package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/authd/auth/internal/slug"
)

const inviteTTL = 7 * 24 * time.Hour

// OrgService runs organisations, memberships and invitations. Every method
// takes the acting principal and asks the [Guard] first, so an embedder
// cannot skip a check; a caller who is not a member of an organisation gets
// ErrNotFound for it, whatever their global role. The hierarchy
// OWNER > ADMIN > MEMBER holds here: an actor acts only on roles strictly
// below its own (both the target's current role and the role it would
// get) and never on itself; OWNER is reached only by transfer, so an
// organisation always has exactly one. It is safe for concurrent use.
type OrgService struct {
	store   Store
	mailer  Mailer
	guard   *Guard
	cfg     Config
	limiter Limiter
	log     *slog.Logger
}

// NewOrgService returns an OrgService. From cfg it uses FrontendURL (invite
// links), Limits.Invite, RateLimitDisabled, Limiter, Logger and Now; the
// other fields are ignored.
func NewOrgService(store Store, mailer Mailer, guard *Guard, cfg Config) (*OrgService, error) {
	if store == nil || mailer == nil || guard == nil {
		return nil, errors.New("auth: NewOrgService needs a store, a mailer and a guard")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	lim := cfg.Limiter
	if lim == nil {
		lim = NewMemoryLimiter()
	}
	return &OrgService{store: store, mailer: mailer, guard: guard, cfg: cfg, limiter: lim, log: cfg.Logger}, nil
}

func (s *OrgService) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }

// membership returns the organisation with this slug and the actor's
// membership of it, after the guard allowed perm. A missing organisation
// and a non-member are both ErrNotFound.
func (s *OrgService) membership(ctx context.Context, st Store, actor Principal, orgSlug string, perm Permission) (Org, Member, error) {
	o, m, err := lookupMembership(ctx, st, actor, orgSlug)
	if err != nil {
		return Org{}, Member{}, err
	}
	if err := s.guard.RequirePermission(ctx, m, perm); err != nil {
		return Org{}, Member{}, err
	}
	return o, m, nil
}

// lookupMembership returns the organisation with this slug and the actor's
// membership, the zero Member when it is not a member.
func lookupMembership(ctx context.Context, st Store, actor Principal, orgSlug string) (Org, Member, error) {
	o, err := orgBySlug(ctx, st, orgSlug)
	if err != nil {
		return Org{}, Member{}, err
	}
	m, err := st.Member(ctx, o.ID, actor.UserID)
	if errors.Is(err, ErrNotFound) {
		return o, Member{}, nil
	}
	return o, m, err
}

// orgBySlug returns the organisation with this slug, or ErrNotFound. A
// slug holding a NUL is not looked up: no slug holds one, and the store
// could not take it.
func orgBySlug(ctx context.Context, st OrgStore, orgSlug string) (Org, error) {
	if strings.IndexByte(orgSlug, 0) >= 0 {
		return Org{}, ErrNotFound
	}
	return st.OrgBySlug(ctx, orgSlug)
}

// Membership returns the actor's membership of the organisation with this
// slug for a host application's own checks: pass it to
// [Guard.RequirePermission]. It is the zero Member when the actor is not a
// member (the guard then answers ErrNotFound), and ErrNotFound when there
// is no such organisation.
func (s *OrgService) Membership(ctx context.Context, actor Principal, orgSlug string) (Member, error) {
	_, m, err := lookupMembership(ctx, s.store, actor, orgSlug)
	return m, err
}

// Create makes an organisation with the actor as its OWNER. slug may be
// empty: it is then derived from name, with -2, -3, … appended on a
// collision. A given slug that breaks the rules is a *ValidationError on
// "slug"; a taken one is ErrSlugTaken.
func (s *OrgService) Create(ctx context.Context, c Client, actor Principal, name, orgSlug string) (OrgMembership, error) {
	name = strings.TrimSpace(name)
	fields := map[string]string{}
	if msg := checkName(name); msg != "" {
		fields["name"] = msg
	}
	given := orgSlug != ""
	if given {
		if msg := slug.Check(orgSlug); msg != "" {
			fields["slug"] = msg
		}
	}
	if len(fields) > 0 {
		return OrgMembership{}, &ValidationError{Fields: fields}
	}
	if _, err := s.store.UserByID(ctx, actor.UserID); err != nil {
		return OrgMembership{}, unauthenticatedIfMissing(err)
	}
	base := orgSlug
	if !given {
		base = slug.Derive(name)
	}
	for attempt := 1; ; attempt++ {
		candidate := base
		if attempt > 1 {
			candidate = slug.WithSuffix(base, attempt)
		}
		om, err := s.create(ctx, c, actor, name, candidate)
		if errors.Is(err, ErrSlugTaken) && !given && attempt < 1000 {
			continue
		}
		return om, err
	}
}

func (s *OrgService) create(ctx context.Context, c Client, actor Principal, name, orgSlug string) (OrgMembership, error) {
	now := s.now()
	o := Org{ID: newID(), Name: name, Slug: orgSlug, OwnerID: actor.UserID, CreatedAt: now, UpdatedAt: now}
	err := s.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.CreateOrg(ctx, o); err != nil {
			return err
		}
		if err := tx.AddMember(ctx, Member{OrgID: o.ID, UserID: actor.UserID, Role: OrgOwner, JoinedAt: now}); err != nil {
			return err
		}
		return s.audit(ctx, tx, c, AuditEvent{Event: EventOrgCreated, ActorID: actor.UserID, OrgID: o.ID,
			TargetType: TargetOrg, TargetID: o.ID, Metadata: map[string]string{"slug": o.Slug}})
	})
	if err != nil {
		return OrgMembership{}, err
	}
	return OrgMembership{Org: o, Role: OrgOwner}, nil
}

// Mine returns the organisations the actor belongs to, with its role in
// each, one page at a time.
func (s *OrgService) Mine(ctx context.Context, actor Principal, p Page) ([]OrgMembership, string, error) {
	return s.store.UserOrgs(ctx, actor.UserID, p)
}

// Org returns the organisation with the actor's role (org.view).
func (s *OrgService) Org(ctx context.Context, actor Principal, orgSlug string) (OrgMembership, error) {
	o, m, err := s.membership(ctx, s.store, actor, orgSlug, PermOrgView)
	if err != nil {
		return OrgMembership{}, err
	}
	return OrgMembership{Org: o, Role: m.Role}, nil
}

// Rename changes the organisation's name (org.update).
func (s *OrgService) Rename(ctx context.Context, c Client, actor Principal, orgSlug, name string) (OrgMembership, error) {
	name = strings.TrimSpace(name)
	var out OrgMembership
	err := s.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		o, m, err := s.membership(ctx, tx, actor, orgSlug, PermOrgUpdate)
		if err != nil {
			return err
		}
		if msg := checkName(name); msg != "" {
			return fieldError("name", msg)
		}
		out = OrgMembership{Org: o, Role: m.Role}
		if o.Name == name {
			return nil
		}
		out.Org.Name, out.Org.UpdatedAt = name, s.now()
		if err := tx.UpdateOrg(ctx, out.Org); err != nil {
			return err
		}
		return s.audit(ctx, tx, c, AuditEvent{Event: EventOrgUpdated, ActorID: actor.UserID, OrgID: o.ID,
			TargetType: TargetOrg, TargetID: o.ID, Metadata: map[string]string{"fields": "name"}})
	})
	return out, err
}

// Delete deletes the organisation with its memberships and invites
// (org.delete).
func (s *OrgService) Delete(ctx context.Context, c Client, actor Principal, orgSlug string) error {
	return s.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		o, _, err := s.membership(ctx, tx, actor, orgSlug, PermOrgDelete)
		if err != nil {
			return err
		}
		if err := tx.DeleteOrg(ctx, o.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, c, AuditEvent{Event: EventOrgDeleted, ActorID: actor.UserID, OrgID: o.ID,
			TargetType: TargetOrg, TargetID: o.ID, Metadata: map[string]string{"slug": o.Slug}})
	})
}

// Members returns the organisation's members, one page at a time
// (member.view).
func (s *OrgService) Members(ctx context.Context, actor Principal, orgSlug string, p Page) ([]Member, string, error) {
	o, _, err := s.membership(ctx, s.store, actor, orgSlug, PermMemberView)
	if err != nil {
		return nil, "", err
	}
	return s.store.Members(ctx, o.ID, p)
}

// ChangeRole gives the member userID a new role (member.role.change). The
// actor's role must be strictly above both the member's current role and
// role, and the actor cannot change itself; OWNER is given only by
// [OrgService.TransferOwnership]. Breaking these is ErrPermissionDenied; a
// role that is not ADMIN or MEMBER is a *ValidationError on "role"; a
// userID that is not a member is ErrNotFound.
func (s *OrgService) ChangeRole(ctx context.Context, c Client, actor Principal, orgSlug, userID string, role OrgRole) (Member, error) {
	var target Member
	err := s.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		o, me, err := s.membership(ctx, tx, actor, orgSlug, PermMemberRoleChange)
		if err != nil {
			return err
		}
		if !role.Valid() {
			return fieldError("role", "must be OWNER, ADMIN or MEMBER")
		}
		if target, err = tx.Member(ctx, o.ID, userID); err != nil {
			return err
		}
		if err := actsOn(me, target, role); err != nil {
			return err
		}
		if target.Role == role {
			return nil
		}
		from := target.Role
		target.Role = role
		if err := tx.SetMemberRole(ctx, o.ID, userID, role); err != nil {
			return err
		}
		return s.audit(ctx, tx, c, AuditEvent{Event: EventMemberRoleChanged, ActorID: actor.UserID, OrgID: o.ID,
			TargetType: TargetMember, TargetID: userID, Metadata: map[string]string{"from": string(from), "to": string(role)}})
	})
	return target, err
}

// RemoveMember removes the member userID (member.remove), under the same
// hierarchy rules as ChangeRole.
func (s *OrgService) RemoveMember(ctx context.Context, c Client, actor Principal, orgSlug, userID string) error {
	return s.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		o, me, err := s.membership(ctx, tx, actor, orgSlug, PermMemberRemove)
		if err != nil {
			return err
		}
		target, err := tx.Member(ctx, o.ID, userID)
		if err != nil {
			return err
		}
		if err := actsOn(me, target, target.Role); err != nil {
			return err
		}
		if err := tx.RemoveMember(ctx, o.ID, userID); err != nil {
			return err
		}
		return s.audit(ctx, tx, c, AuditEvent{Event: EventMemberRemoved, ActorID: actor.UserID, OrgID: o.ID,
			TargetType: TargetMember, TargetID: userID, Metadata: map[string]string{"role": string(target.Role)}})
	})
}

// actsOn checks the hierarchy: me acts on target (to give it role) only
// when target is someone else and me is strictly above both target's role
// and role.
func actsOn(me, target Member, role OrgRole) error {
	if target.UserID == me.UserID || !me.Role.Above(target.Role) || !me.Role.Above(role) {
		return ErrPermissionDenied
	}
	return nil
}

// Leave removes the actor's own membership. The OWNER cannot leave
// (ErrOwnerCannotLeave): it transfers ownership first.
func (s *OrgService) Leave(ctx context.Context, c Client, actor Principal, orgSlug string) error {
	return s.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		o, me, err := lookupMembership(ctx, tx, actor, orgSlug)
		if err != nil {
			return err
		}
		if err := s.guard.RequireMember(ctx, me); err != nil {
			return err // leaving needs membership, no permission
		}
		if me.Role == OrgOwner {
			return ErrOwnerCannotLeave
		}
		if err := tx.RemoveMember(ctx, o.ID, actor.UserID); err != nil {
			return err
		}
		return s.audit(ctx, tx, c, AuditEvent{Event: EventMemberLeft, ActorID: actor.UserID, OrgID: o.ID,
			TargetType: TargetMember, TargetID: actor.UserID})
	})
}

// TransferOwnership makes the member userID the OWNER and the actor an
// ADMIN, in one transaction (org.transfer). It returns the organisation
// with the actor's new role. A userID that is not a member is ErrNotFound;
// the actor itself is ErrPermissionDenied.
func (s *OrgService) TransferOwnership(ctx context.Context, c Client, actor Principal, orgSlug, userID string) (OrgMembership, error) {
	var out OrgMembership
	err := s.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		o, me, err := s.membership(ctx, tx, actor, orgSlug, PermOrgTransfer)
		if err != nil {
			return err
		}
		if me.Role != OrgOwner {
			return ErrPermissionDenied
		}
		if strings.TrimSpace(userID) == "" {
			return fieldError("user_id", "required")
		}
		target, err := tx.Member(ctx, o.ID, userID)
		if err != nil {
			return err
		}
		if target.UserID == me.UserID {
			return ErrPermissionDenied
		}
		if err := tx.SetMemberRole(ctx, o.ID, me.UserID, OrgAdmin); err != nil {
			return err
		}
		if err := tx.SetMemberRole(ctx, o.ID, target.UserID, OrgOwner); err != nil {
			return err
		}
		o.OwnerID, o.UpdatedAt = target.UserID, s.now()
		if err := tx.UpdateOrg(ctx, o); err != nil {
			return err
		}
		out = OrgMembership{Org: o, Role: OrgAdmin}
		return s.audit(ctx, tx, c, AuditEvent{Event: EventOwnershipTransferred, ActorID: actor.UserID, OrgID: o.ID,
			TargetType: TargetMember, TargetID: target.UserID, Metadata: map[string]string{"from": me.UserID, "to": target.UserID}})
	})
	return out, err
}

// Invite invites email to the organisation with role (member.invite) and
// mails a link with a single-use token valid for 7 days; inviting the same
// email again replaces the pending invite. role must be strictly below the
// actor's (an OWNER invites ADMINs and MEMBERs, an ADMIN only MEMBERs),
// else ErrPermissionDenied. A current member is ErrAlreadyMember. It
// returns a *ValidationError for a bad email or role and a *ThrottledError
// past RATE_LIMIT_INVITE.
func (s *OrgService) Invite(ctx context.Context, c Client, actor Principal, orgSlug, email string, role OrgRole) (Invite, error) {
	o, me, err := s.membership(ctx, s.store, actor, orgSlug, PermMemberInvite)
	if err != nil {
		return Invite{}, err
	}
	fields := map[string]string{}
	email, msg := validateEmailField(email)
	if msg != "" {
		fields["email"] = msg
	}
	if !role.Valid() {
		fields["role"] = "must be ADMIN or MEMBER"
	}
	if len(fields) > 0 {
		return Invite{}, &ValidationError{Fields: fields}
	}
	if !me.Role.Above(role) {
		return Invite{}, ErrPermissionDenied
	}
	if !s.cfg.RateLimitDisabled && s.cfg.Limits.Invite.Burst > 0 {
		r, err := s.limiter.Allow(ctx, "invite:"+actor.UserID, s.cfg.Limits.Invite)
		if err != nil {
			s.log.WarnContext(ctx, "rate limiter unavailable", "limit", "invite", "err", err)
		} else if !r.Allowed {
			return Invite{}, &ThrottledError{Limit: "invite", RetryAfter: r.RetryAfter}
		}
	}

	secret := randomToken()
	now := s.now()
	inv := Invite{ID: newID(), OrgID: o.ID, Email: email, Role: role, TokenHash: hashToken(secret),
		InvitedBy: actor.UserID, CreatedAt: now, ExpiresAt: now.Add(inviteTTL)}
	err = s.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		if u, err := tx.UserByEmail(ctx, email); err == nil {
			if _, err := tx.Member(ctx, o.ID, u.ID); err == nil {
				return ErrAlreadyMember
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := tx.CreateInvite(ctx, inv); err != nil {
			return err
		}
		return s.audit(ctx, tx, c, AuditEvent{Event: EventMemberInvited, ActorID: actor.UserID, OrgID: o.ID,
			TargetType: TargetInvite, TargetID: inv.ID, Metadata: map[string]string{"email": email, "role": string(role)}})
	})
	if err != nil {
		return Invite{}, err
	}
	link := strings.TrimRight(s.cfg.FrontendURL, "/") + "/invites/accept?token=" + secret
	if err := s.mailer.Send(ctx, inviteMail(email, o.Name, link)); err != nil {
		s.log.ErrorContext(ctx, "send mail failed", "subject", "invite", "err", err)
	}
	return inv, nil
}

// Invites returns the organisation's pending invites (member.invite).
func (s *OrgService) Invites(ctx context.Context, actor Principal, orgSlug string, p Page) ([]Invite, string, error) {
	o, _, err := s.membership(ctx, s.store, actor, orgSlug, PermMemberInvite)
	if err != nil {
		return nil, "", err
	}
	return s.store.PendingInvites(ctx, o.ID, s.now(), p)
}

// RevokeInvite deletes a pending invite of the organisation (member.invite)
// and records member.invite_revoked. An invite of another organisation is
// ErrNotFound.
func (s *OrgService) RevokeInvite(ctx context.Context, c Client, actor Principal, orgSlug, id string) error {
	return s.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		o, _, err := s.membership(ctx, tx, actor, orgSlug, PermMemberInvite)
		if err != nil {
			return err
		}
		if err := tx.DeleteInvite(ctx, o.ID, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, c, AuditEvent{Event: EventInviteRevoked, ActorID: actor.UserID, OrgID: o.ID,
			TargetType: TargetInvite, TargetID: id})
	})
}

// AcceptInvite makes the actor a member through the invite with this
// token, in one transaction. It returns ErrInvalidToken for a token that is
// unknown, used or expired, ErrInviteEmailMismatch when the invite is
// addressed to another email (the invite stays usable), and
// ErrAlreadyMember when the actor is a member already.
func (s *OrgService) AcceptInvite(ctx context.Context, c Client, actor Principal, token string) (OrgMembership, Member, error) {
	if strings.TrimSpace(token) == "" {
		return OrgMembership{}, Member{}, fieldError("token", "required")
	}
	u, err := s.store.UserByID(ctx, actor.UserID)
	if err != nil {
		return OrgMembership{}, Member{}, unauthenticatedIfMissing(err)
	}
	now := s.now()
	hash := hashToken(token)
	inv, err := s.store.InviteByHash(ctx, hash)
	switch {
	case errors.Is(err, ErrNotFound):
		return OrgMembership{}, Member{}, ErrInvalidToken
	case err != nil:
		return OrgMembership{}, Member{}, err
	case !inv.AcceptedAt.IsZero() || !now.Before(inv.ExpiresAt):
		return OrgMembership{}, Member{}, ErrInvalidToken
	case inv.Email != u.Email:
		return OrgMembership{}, Member{}, ErrInviteEmailMismatch
	}
	var om OrgMembership
	var m Member
	err = s.store.WithinTx(ctx, func(ctx context.Context, tx Store) error {
		inv, err := tx.AcceptInvite(ctx, hash, now)
		if errors.Is(err, ErrNotFound) {
			return ErrInvalidToken
		}
		if err != nil {
			return err
		}
		m = Member{OrgID: inv.OrgID, UserID: u.ID, Role: inv.Role, JoinedAt: now, Email: u.Email, Name: u.Name}
		if err := tx.AddMember(ctx, m); err != nil {
			return err
		}
		o, err := tx.OrgByID(ctx, inv.OrgID)
		if err != nil {
			return err
		}
		om = OrgMembership{Org: o, Role: inv.Role}
		return s.audit(ctx, tx, c, AuditEvent{Event: EventMemberJoined, ActorID: u.ID, OrgID: inv.OrgID,
			TargetType: TargetMember, TargetID: u.ID, Metadata: map[string]string{"invite_id": inv.ID, "role": string(inv.Role)}})
	})
	return om, m, err
}

// Audit returns the organisation's audit events, newest first
// (org.audit.read). f.OrgID is replaced by the organisation's id.
func (s *OrgService) Audit(ctx context.Context, actor Principal, orgSlug string, f AuditFilter, p Page) ([]AuditEvent, string, error) {
	o, _, err := s.membership(ctx, s.store, actor, orgSlug, PermOrgAuditRead)
	if err != nil {
		return nil, "", err
	}
	f.OrgID = o.ID
	return s.store.AuditEvents(ctx, f, p)
}

func (s *OrgService) audit(ctx context.Context, st Store, c Client, e AuditEvent) error {
	return appendAudit(ctx, st, c, s.now(), e)
}

// checkName returns a message for an invalid user or organisation name.
func checkName(name string) string {
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return "required"
	case n > maxNameLength:
		return fmt.Sprintf("must be at most %d characters", maxNameLength)
	case strings.IndexByte(name, 0) >= 0:
		return "must not contain NUL characters" // no database text column can hold one
	}
	return ""
}

// unauthenticatedIfMissing turns the actor's missing user into
// ErrUnauthenticated.
func unauthenticatedIfMissing(err error) error {
	if errors.Is(err, ErrNotFound) {
		return ErrUnauthenticated
	}
	return err
}
