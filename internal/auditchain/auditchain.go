// Package auditchain is the hash chain of the audit log: the canonical
// encoding of an event and the hash that links it to the one sealed before
// it. storage seals and verifies the chain in the database with it, and
// cmd/authd verifies an exported file with it, so both compute the same
// bytes.
//
// A link's hash is SHA-256 over the previous link's hash (its 32 bytes, not
// the hex text) followed by the canonical encoding of the event. The first
// link follows [Genesis]. Hashes are written as 64 lower-case hex digits.
//
// The canonical encoding is a sequence of fields, each written as its
// length in bytes (a 4-byte big-endian unsigned integer) followed by its
// bytes, in this order:
//
//	"authd.audit.v1"   the version of the encoding
//	seq                decimal, no sign or leading zeros
//	id
//	occurred_at        UTC at microseconds, 2006-01-02T15:04:05.000000Z
//	event
//	actor_id           "" when there is none (null)
//	org_id             "" when there is none (null)
//	target_type
//	target_id
//	ip
//	user_agent
//	n                  the number of metadata entries, decimal
//	key₁ value₁ … keyₙ valueₙ   metadata, by key in byte order
//
// A missing actor, org or target and an empty string encode alike, as do
// no metadata and an empty object: the log does not tell them apart either.
package auditchain

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/authd/auth"
)

// Genesis is the hash that the first link of a chain follows: 32 zero
// bytes, 64 zeros in hex.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// TimeLayout is how occurred_at is encoded, and written in exports: UTC,
// always six fractional digits.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// version is the first field of every encoding.
const version = "authd.audit.v1"

// AppendEncoding appends the canonical encoding of e, the event with the
// sequence number seq, to b and returns the extended slice. OccurredAt is
// truncated to microseconds, as the database keeps it.
func AppendEncoding(b []byte, seq int64, e auth.AuditEvent) []byte {
	b = appendField(b, version)
	b = appendField(b, strconv.FormatInt(seq, 10))
	b = appendField(b, e.ID)
	b = appendField(b, FormatTime(e.OccurredAt))
	b = appendField(b, e.Event)
	b = appendField(b, e.ActorID)
	b = appendField(b, e.OrgID)
	b = appendField(b, e.TargetType)
	b = appendField(b, e.TargetID)
	b = appendField(b, e.IP)
	b = appendField(b, e.UserAgent)
	b = appendField(b, strconv.Itoa(len(e.Metadata)))
	keys := make([]string, 0, len(e.Metadata))
	for k := range e.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = appendField(b, k)
		b = appendField(b, e.Metadata[k])
	}
	return b
}

// appendField appends s with its length before it.
func appendField(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// FormatTime returns t as the encoding writes it: UTC, truncated to
// microseconds, in [TimeLayout].
func FormatTime(t time.Time) string {
	return t.UTC().Truncate(time.Microsecond).Format(TimeLayout)
}

// Hash returns the hash of the link of e, the event with the sequence
// number seq, that follows the link whose hash is prevHash. It returns an
// error when prevHash is not 64 lower-case hex digits. It is safe for
// concurrent use.
func Hash(prevHash string, seq int64, e auth.AuditEvent) (string, error) {
	prev, err := decodeHash(prevHash)
	if err != nil {
		return "", fmt.Errorf("auditchain: previous hash: %w", err)
	}
	h := sha256.New()
	h.Write(prev[:])
	h.Write(AppendEncoding(make([]byte, 0, 512), seq, e))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ValidHash reports whether h is written as a hash is: 64 lower-case hex
// digits.
func ValidHash(h string) bool {
	_, err := decodeHash(h)
	return err == nil
}

// decodeHash returns the 32 bytes that h, 64 lower-case hex digits, spells.
func decodeHash(h string) ([sha256.Size]byte, error) {
	var b [sha256.Size]byte
	if len(h) != 2*sha256.Size {
		return b, fmt.Errorf("%q is not 64 hex digits", h)
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return b, fmt.Errorf("%q is not 64 lower-case hex digits", h)
		}
	}
	if _, err := hex.Decode(b[:], []byte(h)); err != nil {
		return b, err
	}
	return b, nil
}
