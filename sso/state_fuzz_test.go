package sso

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzStateCheck feeds arbitrary states to the callback's check, which
// reads them before anything else: nothing the fuzzer makes is accepted
// unless it carries the payload and MAC of a state that was issued, and
// a state issued for any provider name checks as that name until it
// expires.
func FuzzStateCheck(f *testing.F) {
	signer := newStateSigner([]byte("a fuzzing SSO key of at least 32 bytes"))
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	// States made as issue makes them, with a fixed nonce, so that every
	// fuzzing process knows the same ones.
	issued := map[string]string{} // payload → provider
	for _, provider := range []string{"google", "github"} {
		payload := []byte(provider + "|fixed-nonce-for-the-fuzzer|" + strconv.FormatInt(now.Add(stateTTL).Unix(), 10))
		enc := base64.RawURLEncoding.EncodeToString(payload)
		s := enc + "." + base64.RawURLEncoding.EncodeToString(signer.mac(payload))
		issued[string(payload)] = provider
		f.Add(s, provider, int64(0))
		f.Add(enc+".", provider, int64(0))
		f.Add(enc, provider, int64(0))
		f.Add(s+"A", provider, int64(0))
		f.Add(strings.Replace(s, ".", "..", 1), provider, int64(0))
	}
	f.Add("Z29vZ2xlfG5vbmNlfDE3Nzc2MzY3OTk.AAAA", "google", int64(-1))
	for _, s := range []string{"", ".", "forged", "a.b", strings.Repeat("A", 600), "Z29vZ2xlfHh8OTk5OTk5OTk5OQ.AAAA"} {
		f.Add(s, "x|y", int64(60))
	}
	f.Fuzz(func(t *testing.T, state, provider string, ttlSeconds int64) {
		if name, ok := signer.check(state, now); ok {
			enc, _, _ := strings.Cut(state, ".")
			payload, err := base64.RawURLEncoding.DecodeString(enc)
			if want, known := issued[string(payload)]; err != nil || !known || name != want {
				t.Fatalf("check accepted %q as %q, whose payload %q was never issued", state, name, payload)
			}
		}
		// Round trip: what issue makes, check reads back, until it expires.
		if strings.ContainsAny(provider, "|") || ttlSeconds > 1<<32 || ttlSeconds < -(1<<32) {
			return
		}
		expires := now.Add(time.Duration(ttlSeconds) * time.Second)
		s := signer.issue(provider, expires)
		name, ok := signer.check(s, now)
		wantOK := now.Unix() < expires.Unix() && len(s) <= maxStateLength
		if ok != wantOK || (ok && name != provider) {
			t.Fatalf("check(issue(%q, %v)) = %q, %v; want %v", provider, expires, name, ok, wantOK)
		}
	})
}
