package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/authd/auth"
)

func testTransactions(t *testing.T, newStore func(t *testing.T) auth.Store) {
	t.Run("changes commit together when fn returns nil", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := newUser()
		sess := newSession(u.ID)
		e := newEvent(auth.EventLogin)
		err := s.WithinTx(t.Context(), func(ctx context.Context, tx auth.Store) error {
			return writeAll(ctx, tx, u, sess, e)
		})
		checkErr(t, "WithinTx", err, nil)
		_, err = s.UserByID(t.Context(), u.ID)
		checkErr(t, "UserByID", err, nil)
		_, err = s.SessionByID(t.Context(), sess.ID)
		checkErr(t, "SessionByID", err, nil)
		if got := allEvents(t, s, auth.AuditFilter{}); len(got) != 1 {
			t.Errorf("%d audit events after the commit, want 1", len(got))
		}
	})

	t.Run("an error from fn rolls every change back and is returned", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := newUser()
		sess := newSession(u.ID)
		e := newEvent(auth.EventLogin)
		errStop := errors.New("stop")
		err := s.WithinTx(t.Context(), func(ctx context.Context, tx auth.Store) error {
			if err := writeAll(ctx, tx, u, sess, e); err != nil {
				return err
			}
			// The transaction sees its own writes.
			if _, err := tx.UserByID(ctx, u.ID); err != nil {
				return err
			}
			return errStop
		})
		if !errors.Is(err, errStop) {
			t.Fatalf("WithinTx = %v, want fn's error", err)
		}
		checkNothingWritten(t, s, u, sess)
	})

	t.Run("a WithinTx on the transaction's store joins the transaction", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := newUser()
		sess := newSession(u.ID)
		e := newEvent(auth.EventLogin)
		errStop := errors.New("stop")
		err := s.WithinTx(t.Context(), func(ctx context.Context, tx auth.Store) error {
			inner := tx.WithinTx(ctx, func(ctx context.Context, tx auth.Store) error {
				return writeAll(ctx, tx, u, sess, e)
			})
			if inner != nil {
				return inner
			}
			return errStop // rolls back what the inner call wrote
		})
		if !errors.Is(err, errStop) {
			t.Fatalf("WithinTx = %v, want fn's error", err)
		}
		checkNothingWritten(t, s, u, sess)
	})

	t.Run("a panic in fn rolls back and goes on", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := newUser()
		sess := newSession(u.ID)
		e := newEvent(auth.EventLogin)
		func() {
			defer func() {
				if recover() == nil {
					t.Error("WithinTx swallowed the panic of fn")
				}
			}()
			_ = s.WithinTx(t.Context(), func(ctx context.Context, tx auth.Store) error {
				if err := writeAll(ctx, tx, u, sess, e); err != nil {
					return err
				}
				panic("storetest: panic in fn")
			})
		}()
		checkNothingWritten(t, s, u, sess)
	})

	t.Run("a token consumed in a rolled-back transaction can be consumed again", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		tok := newToken(u.ID, auth.PurposePasswordReset)
		createToken(t, s, tok)
		errStop := errors.New("stop")
		err := s.WithinTx(t.Context(), func(ctx context.Context, tx auth.Store) error {
			if _, err := tx.ConsumeToken(ctx, tok.Purpose, tok.Hash, base); err != nil {
				return err
			}
			return errStop
		})
		if !errors.Is(err, errStop) {
			t.Fatalf("WithinTx = %v, want fn's error", err)
		}
		_, err = s.ConsumeToken(t.Context(), tok.Purpose, tok.Hash, base)
		checkErr(t, "ConsumeToken after the rollback", err, nil)
	})

	t.Run("a rolled-back transaction leaves memberships, invites and grants as they were", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		owner, joiner := createUser(t, s), createUser(t, s)
		o := createOrg(t, s, owner.ID)
		addMember(t, s, o.ID, owner, auth.OrgOwner)
		pending := createInvite(t, s, newInvite(o.ID, "ada@example.com"))
		checkErr(t, "SetRolePermissions", s.SetRolePermissions(t.Context(), auth.ScopeOrg, "MEMBER", []auth.Permission{auth.PermOrgView}), nil)
		before := grants(t, s)
		errStop := errors.New("stop")
		err := s.WithinTx(t.Context(), func(ctx context.Context, tx auth.Store) error {
			steps := []struct {
				name string
				run  func() error
			}{
				{"AddMember", func() error {
					return tx.AddMember(ctx, auth.Member{OrgID: o.ID, UserID: joiner.ID, Role: auth.OrgMember, JoinedAt: base})
				}},
				{"SetMemberRole", func() error { return tx.SetMemberRole(ctx, o.ID, joiner.ID, auth.OrgAdmin) }},
				{"SetMemberRole of the owner", func() error { return tx.SetMemberRole(ctx, o.ID, owner.ID, auth.OrgAdmin) }},
				{"CreateInvite", func() error { return tx.CreateInvite(ctx, newInvite(o.ID, "ada@example.com")) }},
				{"SetRolePermissions", func() error { return tx.SetRolePermissions(ctx, auth.ScopeOrg, "MEMBER", nil) }},
				{"SeedRolePermissions", func() error {
					_, err := tx.SeedRolePermissions(ctx, auth.ScopeOrg, "ADMIN", []auth.Permission{auth.PermOrgUpdate})
					return err
				}},
			}
			for _, step := range steps {
				if err := step.run(); err != nil {
					return fmt.Errorf("%s: %w", step.name, err)
				}
			}
			// The transaction sees its own writes.
			m, err := tx.Member(ctx, o.ID, joiner.ID)
			if err != nil || m.Role != auth.OrgAdmin {
				return fmt.Errorf("Member in the transaction = %+v, %v; want an ADMIN", m, err)
			}
			return errStop
		})
		if !errors.Is(err, errStop) {
			t.Fatalf("WithinTx = %v, want fn's error", err)
		}
		_, err = s.Member(t.Context(), o.ID, joiner.ID)
		checkErr(t, "Member added in the rolled-back transaction", err, auth.ErrNotFound)
		m, err := s.Member(t.Context(), o.ID, owner.ID)
		checkErr(t, "Member of the owner", err, nil)
		if m.Role != auth.OrgOwner {
			t.Errorf("the owner's role after the rollback is %s", m.Role)
		}
		checkEqual(t, "pending invites", allPendingInvites(t, s, o.ID, base), []auth.Invite{storedInvite(pending)})
		checkEqual(t, "grants", grants(t, s), before)
	})

	t.Run("a not-found error inside fn reaches the caller", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		err := s.WithinTx(t.Context(), func(ctx context.Context, tx auth.Store) error {
			_, err := tx.UserByID(ctx, newID())
			return err
		})
		checkErr(t, "WithinTx", err, auth.ErrNotFound)
	})
}

// writeAll creates u, sess (a session of u) and appends e.
func writeAll(ctx context.Context, s auth.Store, u auth.User, sess auth.Session, e auth.AuditEvent) error {
	if err := s.CreateUser(ctx, u); err != nil {
		return err
	}
	if err := s.CreateSession(ctx, sess); err != nil {
		return err
	}
	return s.AppendAudit(ctx, e)
}

// checkNothingWritten fails the test when u, sess or any audit event exists.
func checkNothingWritten(t *testing.T, s auth.Store, u auth.User, sess auth.Session) {
	t.Helper()
	_, err := s.UserByID(t.Context(), u.ID)
	checkErr(t, "UserByID after the rollback", err, auth.ErrNotFound)
	_, err = s.SessionByID(t.Context(), sess.ID)
	checkErr(t, "SessionByID after the rollback", err, auth.ErrNotFound)
	if got := allEvents(t, s, auth.AuditFilter{}); len(got) != 0 {
		t.Errorf("%d audit events after the rollback, want none", len(got))
	}
}
