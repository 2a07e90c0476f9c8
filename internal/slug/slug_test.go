package slug

import (
	"strings"
	"testing"
)

func TestDerive(t *testing.T) {
	tests := []struct{ name, want string }{
		{"Acme Inc.", "acme-inc"},
		{"  --Hello,   World!!  ", "hello-world"},
		{"Café Ünïcode", "caf-n-code"},
		{"AB", "org-ab"},
		{"!!!", "org"},
		{"Create", "org-create"},
		{strings.Repeat("a", 49) + " b", strings.Repeat("a", 49)},
		{strings.Repeat("abc ", 30), strings.TrimRight(strings.Repeat("abc-", 13)[:50], "-")},
	}
	for _, tt := range tests {
		got := Derive(tt.name)
		if got != tt.want {
			t.Errorf("Derive(%q) = %q, want %q", tt.name, got, tt.want)
		}
		if msg := Check(got); msg != "" {
			t.Errorf("Derive(%q) = %q, which fails Check: %s", tt.name, got, msg)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, ok := range []string{"abc", "a-b", "acme-2", strings.Repeat("x", 50), "0rg"} {
		if msg := Check(ok); msg != "" {
			t.Errorf("Check(%q) = %q, want valid", ok, msg)
		}
	}
	for _, bad := range []string{"", "ab", "Acme", "-abc", "abc-", "a_b", "a b", "create", "invites",
		strings.Repeat("x", 51), "ａｂｃ", "abc\n"} {
		if Check(bad) == "" {
			t.Errorf("Check(%q) passed, want a message", bad)
		}
	}
}

func TestWithSuffix(t *testing.T) {
	if got := WithSuffix("acme", 2); got != "acme-2" {
		t.Errorf("WithSuffix = %q", got)
	}
	long := strings.Repeat("x", 50)
	if got := WithSuffix(long, 12); len(got) != 50 || !strings.HasSuffix(got, "-12") || Check(got) != "" {
		t.Errorf("WithSuffix(long) = %q", got)
	}
}
