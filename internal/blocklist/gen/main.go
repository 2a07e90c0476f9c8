// Command gen writes passwords.txt, the common-password blocklist, from the
// password frequency list of github.com/trustelem/zxcvbn (itself built from
// leaked-password corpora). Only entries of 8 or more characters are kept:
// shorter ones can never pass the minimum length. Run it with go generate in
// internal/blocklist.
package main

import (
	"bufio"
	"log"
	"os"
	"strings"

	"github.com/trustelem/zxcvbn/frequency"
)

func main() {
	f, err := os.Create("passwords.txt")
	if err != nil {
		log.Fatal(err)
	}
	w := bufio.NewWriter(f)
	seen := map[string]bool{}
	for _, p := range frequency.FrequencyLists["passwords"] {
		p = strings.ToLower(strings.TrimSpace(p))
		if len([]rune(p)) < 8 || seen[p] {
			continue
		}
		seen[p] = true
		w.WriteString(p + "\n")
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
