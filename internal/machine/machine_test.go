package machine_test

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/authd/auth/internal/machine"
)

func TestTheMachineFactsAreRead(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	if got := machine.CPUModel(); got == "" || got == "unknown CPU" {
		t.Errorf("CPUModel() = %q", got)
	}
	for i, v := range machine.LoadAverages() {
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			t.Errorf("load average %d = %q, not a number", i, v)
		}
	}
}
