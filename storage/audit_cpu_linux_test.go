//go:build linux

package storage_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/authd/auth/storage"
)

// clockTick is the unit of the CPU times in /proc/PID/stat: USER_HZ, 100
// on every Linux that authd runs on.
const clockTick = 10 * time.Millisecond

// cpuTime returns the CPU time used so far by this process and, when s is
// on a PostgreSQL server of this host, by the server processes serving s's
// database. It measures what a benchmark costs whatever else the machine
// runs at the time. Server processes that ended are not counted.
func cpuTime(s *storage.Store) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	total := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if s.Dialect() != storage.DialectPostgres {
		return total
	}
	rows, err := s.DB().QueryContext(context.Background(),
		"SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'")
	if err != nil {
		return total
	}
	defer rows.Close()
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) == nil {
			total += processCPU(pid)
		}
	}
	return total
}

// processCPU returns the user and system time of process pid, or 0 when
// it cannot be read (another host, another user).
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: fields count from
	// the last ')'. utime and stime are fields 14 and 15.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * clockTick
}
