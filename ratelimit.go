package auth

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// limitUnit returns the period that unit names in the N/s|m|h syntax.
func limitUnit(unit string) (time.Duration, bool) {
	switch unit {
	case "s":
		return time.Second, true
	case "m":
		return time.Minute, true
	case "h":
		return time.Hour, true
	}
	return 0, false
}

// ParseLimit parses a rate limit written as in the RATE_LIMIT_* variables:
// "N/s", "N/m" or "N/h", a burst of N requests (an integer of at least 1)
// refilled evenly over one second, minute or hour. Surrounding white space
// is ignored. Anything else, including an empty string, is an error.
func ParseLimit(s string) (Limit, error) {
	n, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	period, known := limitUnit(unit)
	if !ok || !known {
		return Limit{}, fmt.Errorf("auth: rate limit %q: want N/s, N/m or N/h", s)
	}
	burst, err := strconv.Atoi(n)
	if err != nil || burst < 1 || n[0] == '+' {
		return Limit{}, fmt.Errorf("auth: rate limit %q: N must be a whole number of at least 1", s)
	}
	l := Limit{Burst: burst, Period: period}
	if _, err := l.interval(); err != nil {
		return Limit{}, fmt.Errorf("auth: rate limit %q: more than one request per nanosecond", s)
	}
	return l, nil
}

// String returns l in the syntax [ParseLimit] reads ("5/m"). A period other
// than a second, a minute or an hour is written as a Go duration ("5/30s"),
// which ParseLimit does not read back; a Limit with Burst 0 is "unlimited".
func (l Limit) String() string {
	if l.Burst == 0 {
		return "unlimited"
	}
	unit := l.Period.String()
	switch l.Period {
	case time.Second:
		unit = "s"
	case time.Minute:
		unit = "m"
	case time.Hour:
		unit = "h"
	}
	return strconv.Itoa(l.Burst) + "/" + unit
}
