package slug

import (
	"strings"
	"testing"
)

// BenchmarkCheck is Check of a valid slug, of a reserved word and of a
// slug with a character it refuses at the end of a long run.
func BenchmarkCheck(b *testing.B) {
	for _, c := range []struct {
		name, in string
		valid    bool
	}{
		{"valid", "acme-research-2", true},
		{"reserved", "settings", false},
		{"bad-character", strings.Repeat("a", 48) + "_b", false},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if got := Check(c.in); (got == "") != c.valid {
					b.Fatalf("Check(%q) = %q", c.in, got)
				}
			}
		})
	}
}

// BenchmarkDerive is Derive of a typical organisation name and of a long
// one that is cut to 50 characters.
func BenchmarkDerive(b *testing.B) {
	for _, c := range []struct{ name, in, want string }{
		{"typical", "Acme Research, Inc.", "acme-research-inc"},
		{"long", strings.Repeat("Abc ", 30), strings.TrimRight(strings.Repeat("abc-", 13)[:50], "-")},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if got := Derive(c.in); got != c.want {
					b.Fatalf("Derive(%q) = %q, want %q", c.in, got, c.want)
				}
			}
		})
	}
}
