package auditchain_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/authd/auth"
	"github.com/authd/auth/internal/auditchain"
)

var event = auth.AuditEvent{
	ID:         "5f0c1d2e-3a4b-4c5d-8e6f-708192a3b4c5",
	OccurredAt: time.Date(2031, 3, 4, 10, 6, 7, 891234567, time.FixedZone("UTC+5", 5*60*60)),
	Event:      auth.EventLogin,
	ActorID:    "0a1b2c3d-4e5f-4061-8273-8495a6b7c8d9",
	TargetType: auth.TargetSession,
	TargetID:   "11111111-2222-4333-8444-555555555555",
	IP:         "203.0.113.7",
	UserAgent:  "curl/8.0",
	Metadata:   map[string]string{"b": "2", "a": "1"},
}

func TestTheEncodingIsTheDocumentedBytes(t *testing.T) {
	var want []byte
	for _, f := range []string{
		"authd.audit.v1", "42", event.ID, "2031-03-04T05:06:07.891234Z", "auth.login", event.ActorID, "",
		"session", event.TargetID, "203.0.113.7", "curl/8.0", "2", "a", "1", "b", "2",
	} {
		want = append(want, byte(len(f)>>24), byte(len(f)>>16), byte(len(f)>>8), byte(len(f)))
		want = append(want, f...)
	}
	if got := auditchain.AppendEncoding(nil, 42, event); string(got) != string(want) {
		t.Errorf("AppendEncoding =\n%q\nwant\n%q", got, want)
	}

	h, err := auditchain.Hash(auditchain.Genesis, 42, event)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(append(make([]byte, 32), want...))
	if h != hex.EncodeToString(sum[:]) {
		t.Errorf("Hash = %s, want SHA-256 of 32 zero bytes and the encoding, %x", h, sum)
	}
}

func TestEveryFieldChangesTheHash(t *testing.T) {
	base, err := auditchain.Hash(auditchain.Genesis, 42, event)
	if err != nil {
		t.Fatal(err)
	}
	changes := map[string]func(e *auth.AuditEvent){
		"id":            func(e *auth.AuditEvent) { e.ID = "6f0c1d2e-3a4b-4c5d-8e6f-708192a3b4c5" },
		"occurred_at":   func(e *auth.AuditEvent) { e.OccurredAt = e.OccurredAt.Add(time.Microsecond) },
		"event":         func(e *auth.AuditEvent) { e.Event = auth.EventLogout },
		"actor_id":      func(e *auth.AuditEvent) { e.ActorID = "" },
		"org_id":        func(e *auth.AuditEvent) { e.OrgID = e.ActorID },
		"target_type":   func(e *auth.AuditEvent) { e.TargetType = auth.TargetUser },
		"target_id":     func(e *auth.AuditEvent) { e.TargetID = "x" },
		"ip":            func(e *auth.AuditEvent) { e.IP = "203.0.113.8" },
		"user_agent":    func(e *auth.AuditEvent) { e.UserAgent = "curl/8.1" },
		"metadata key":  func(e *auth.AuditEvent) { e.Metadata = map[string]string{"a": "1", "c": "2"} },
		"metadata only": func(e *auth.AuditEvent) { e.Metadata = map[string]string{"a": "12"} },
		// Without lengths, "ip"+"user_agent" could trade bytes.
		"a byte moved between fields": func(e *auth.AuditEvent) { e.IP, e.UserAgent = "203.0.113.7c", "url/8.0" },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			e := event
			e.Metadata = map[string]string{"b": "2", "a": "1"}
			change(&e)
			h, err := auditchain.Hash(auditchain.Genesis, 42, e)
			if err != nil {
				t.Fatal(err)
			}
			if h == base {
				t.Errorf("changing %s keeps the hash", name)
			}
		})
	}
	if h, _ := auditchain.Hash(auditchain.Genesis, 43, event); h == base {
		t.Error("changing seq keeps the hash")
	}
	other := strings.Repeat("1", 64)
	if h, _ := auditchain.Hash(other, 42, event); h == base {
		t.Error("changing the previous hash keeps the hash")
	}
}

func TestTheSameEventHashesAlike(t *testing.T) {
	a := event
	b := event
	b.OccurredAt = event.OccurredAt.UTC().Truncate(time.Microsecond) // another zone, nanoseconds dropped
	b.Metadata = map[string]string{"a": "1", "b": "2"}
	ha, _ := auditchain.Hash(auditchain.Genesis, 1, a)
	hb, _ := auditchain.Hash(auditchain.Genesis, 1, b)
	if ha != hb {
		t.Errorf("hashes differ: %s and %s", ha, hb)
	}
	empty, none := event, event
	empty.Metadata, none.Metadata = map[string]string{}, nil
	he, _ := auditchain.Hash(auditchain.Genesis, 1, empty)
	hn, _ := auditchain.Hash(auditchain.Genesis, 1, none)
	if he != hn {
		t.Error("empty and missing metadata hash differently")
	}
}

func TestHashRefusesAPreviousHashThatIsNotOne(t *testing.T) {
	for _, prev := range []string{"", "00", strings.Repeat("0", 63), strings.Repeat("A", 64), strings.Repeat("g", 64), strings.Repeat("0", 65)} {
		if _, err := auditchain.Hash(prev, 1, event); err == nil {
			t.Errorf("Hash after %q succeeded", prev)
		}
		if auditchain.ValidHash(prev) {
			t.Errorf("ValidHash(%q) = true", prev)
		}
	}
	if !auditchain.ValidHash(auditchain.Genesis) {
		t.Error("ValidHash(Genesis) = false")
	}
}
