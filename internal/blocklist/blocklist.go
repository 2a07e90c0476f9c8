// Package blocklist holds the embedded list of common passwords that the
// password rules reject. passwords.txt is generated, not edited by hand.
package blocklist

//go:generate go run ./gen

import (
	_ "embed"
	"strings"
	"sync"
)

//go:embed passwords.txt
var raw string

var set = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 12000)
	for line := range strings.Lines(raw) {
		m[strings.TrimSuffix(line, "\n")] = struct{}{}
	}
	return m
})

// Contains reports whether password, lower-cased, is on the list.
func Contains(password string) bool {
	_, ok := set()[strings.ToLower(password)]
	return ok
}

// Len returns the number of entries.
func Len() int { return len(set()) }
