package auth

import (
	"errors"
	"net/mail"
	"strings"

	"golang.org/x/text/unicode/norm"
)

const maxEmailLength = 254

var errBadEmail = errors.New("auth: not a valid email address")

// NormalizeEmail returns the canonical form of an email address: trimmed,
// NFKC-normalised and lower-cased. The result must be one bare address of at
// most 254 characters, in ASCII: full-width forms fold to ASCII under NFKC,
// and any other non-ASCII character (a homoglyph such as Cyrillic "а") is
// rejected rather than allowed to make a look-alike second account.
func NormalizeEmail(s string) (string, error) {
	e := strings.ToLower(norm.NFKC.String(strings.TrimSpace(s)))
	if e == "" || len(e) > maxEmailLength {
		return "", errBadEmail
	}
	for i := 0; i < len(e); i++ {
		if c := e[i]; c < 0x21 || c > 0x7e {
			return "", errBadEmail
		}
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Name != "" || a.Address != e {
		return "", errBadEmail
	}
	local, domain, _ := strings.Cut(e, "@")
	if local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") ||
		strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", errBadEmail
	}
	return e, nil
}
