// Package machine reads the facts of the machine a benchmark ran on, for
// its report: the CPU model and the load averages. On systems without
// /proc they are "unknown CPU" and "?".
package machine

import (
	"os"
	"strings"
)

// CPUModel returns the first "model name" of /proc/cpuinfo.
func CPUModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown CPU"
}

// LoadAverages returns the 1, 5 and 15-minute load averages of
// /proc/loadavg, as written there, or "?" for each it cannot read.
func LoadAverages() [3]string {
	out := [3]string{"?", "?", "?"}
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return out
	}
	f := strings.Fields(string(b))
	for i := range min(len(f), 3) {
		out[i] = f[i]
	}
	return out
}
