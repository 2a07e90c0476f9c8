package slug

import (
	"regexp"
	"testing"
)

// valid is the slug rule of API.md as a regular expression: 3 to 50
// characters of a-z, 0-9 and "-", starting and ending alphanumeric.
var valid = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$`)

// FuzzCheck holds Check to the rule exactly: it accepts a string if and
// only if the string matches the rule and is not reserved.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"acme", "ab", "abc", "a-b", "-ab", "ab-", "a--b", "Acme", "create", "invites", "org-1",
		"ａｃｍｅ", "acme\x00", "ac me", "ac%me", "ac/me", "a\u0131b", "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij",
		"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijk", "'; drop table orgs; --"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		msg := Check(s)
		want := valid.MatchString(s) && !Reserved(s)
		if (msg == "") != want {
			t.Fatalf("Check(%q) = %q, but the rule says valid=%v", s, msg, want)
		}
	})
}

// FuzzDerive checks that every name derives a valid slug, that deriving
// again changes nothing, and that the collision suffixes keep it valid.
func FuzzDerive(f *testing.F) {
	for _, s := range []string{"Acme Inc.", "", "!!", "ab", "Create", "invites", "Ünïcödé Ltd", "a--b", "   x   ",
		"ＡＣＭＥ", "İstanbul", "Kelvin \u212a", "日本語", "'; DROP TABLE orgs; --", "org", "a\x00b",
		"a very long organisation name that goes on and on past fifty characters"} {
		f.Add(s, 2)
	}
	f.Add("x", 1000)
	f.Add("y", 1<<30)
	f.Fuzz(func(t *testing.T, name string, n int) {
		s := Derive(name)
		if msg := Check(s); msg != "" {
			t.Fatalf("Derive(%q) = %q, which Check refuses: %s", name, s, msg)
		}
		if again := Derive(s); again != s {
			t.Fatalf("Derive(%q) = %q, but Derive(%q) = %q", name, s, s, again)
		}
		if n < 2 {
			return
		}
		if w := WithSuffix(s, n); Check(w) != "" {
			t.Fatalf("WithSuffix(%q, %d) = %q, which Check refuses: %s", s, n, w, Check(w))
		}
	})
}
