// Package slug checks and derives organisation slugs: 3 to 50 characters
// of a-z, 0-9 and "-", starting and ending with a letter or digit, and not
// a reserved word.
package slug

import (
	"strconv"
	"strings"
)

// MaxLen and MinLen bound a slug's length.
const (
	MinLen = 3
	MaxLen = 50
)

// reserved are words that name routes or would confuse users.
var reserved = map[string]bool{
	"create": true, "invites": true, "new": true, "edit": true, "admin": true, "api": true,
	"internal": true, "settings": true, "auth": true, "me": true, "orgs": true, "static": true,
	"www": true, "help": true, "support": true, "login": true, "logout": true, "register": true,
	"signup": true, "null": true, "undefined": true,
}

// Reserved reports whether s is a reserved word.
func Reserved(s string) bool { return reserved[s] }

// Check returns a message saying why s is not a valid slug, or "".
func Check(s string) string {
	switch {
	case len(s) < MinLen || len(s) > MaxLen:
		return "must be 3 to 50 characters"
	case !isAlnum(s[0]) || !isAlnum(s[len(s)-1]):
		return "must start and end with a letter or digit"
	case reserved[s]:
		return "is reserved"
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '-' {
			return "may contain only a-z, 0-9 and -"
		}
	}
	return ""
}

// Derive returns the slug made from an organisation's name: lower-cased,
// each run of characters other than a-z and 0-9 replaced by one "-",
// leading and trailing "-" dropped, cut to 50; a result shorter than 3
// characters or reserved becomes "org-<result>" (plain "org" when nothing
// is left). The result always passes [Check].
func Derive(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r < 128 && isAlnum(byte(r)) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	s := cut(b.String(), MaxLen)
	switch {
	case s == "":
		return "org"
	case len(s) < MinLen || reserved[s]:
		return cut("org-"+s, MaxLen)
	}
	return s
}

// WithSuffix returns base with "-n" appended, cutting base so the result
// stays within 50 characters.
func WithSuffix(base string, n int) string {
	suffix := "-" + strconv.Itoa(n)
	return cut(base, MaxLen-len(suffix)) + suffix
}

// cut shortens s to at most n bytes and drops trailing dashes.
func cut(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.TrimRight(s, "-")
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
