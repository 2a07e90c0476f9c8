package storage_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/authd/auth"
	"github.com/authd/auth/storage"
)

func TestAuditSealingLag(t *testing.T) {
	ctx := context.Background()
	s, err := storage.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "lag.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	if lag, err := s.AuditSealingLag(ctx, at); err != nil || lag != 0 {
		t.Fatalf("lag of an empty log = %v, %v; want 0", lag, err)
	}
	e := auth.AuditEvent{ID: "5f0c3b8e-2d1a-4c7b-9e6f-1a2b3c4d5e6f", OccurredAt: at, Event: auth.EventLogin}
	if err := s.AppendAudit(ctx, e); err != nil {
		t.Fatal(err)
	}
	if lag, err := s.AuditSealingLag(ctx, at.Add(90*time.Second)); err != nil || lag != 90*time.Second {
		t.Fatalf("lag of an unsealed event = %v, %v; want 1m30s", lag, err)
	}
	if _, err := s.SealAudit(ctx); err != nil {
		t.Fatal(err)
	}
	if lag, err := s.AuditSealingLag(ctx, at.Add(90*time.Second)); err != nil || lag != 0 {
		t.Fatalf("lag once sealed = %v, %v; want 0", lag, err)
	}
}
