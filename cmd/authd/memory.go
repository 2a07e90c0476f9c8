package main

import (
	"runtime/debug"
	"sync"
	"time"
)

// memoryTrimmer hands the memory of password hashing back to the
// operating system once hashing has paused. Each Argon2id hash allocates
// its whole cost (19 MiB by default) and drops it; the Go runtime keeps
// freed memory for reuse and returns it only slowly, so without this an
// idle authd would hold the peak of its last burst of logins for minutes.
// It is safe for concurrent use.
type memoryTrimmer struct {
	idle  time.Duration
	trim  func()
	mu    sync.Mutex
	timer *time.Timer
}

// newMemoryTrimmer returns a trimmer that calls trim (debug.FreeOSMemory
// when nil) once idle has passed without a hash.
func newMemoryTrimmer(idle time.Duration, trim func()) *memoryTrimmer {
	if trim == nil {
		trim = debug.FreeOSMemory
	}
	return &memoryTrimmer{idle: idle, trim: trim}
}

// hashed records that a hash finished: the trim waits for idle after it.
// Its signature fits auth.Config.OnHash.
func (m *memoryTrimmer) hashed(_, _ time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.timer == nil {
		m.timer = time.AfterFunc(m.idle, m.trim)
		return
	}
	m.timer.Reset(m.idle)
}

// stop cancels a pending trim.
func (m *memoryTrimmer) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.timer != nil {
		m.timer.Stop()
	}
}
