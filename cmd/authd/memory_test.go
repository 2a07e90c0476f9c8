package main

import (
	"testing"
	"time"
)

func TestMemoryIsTrimmedOnceHashingPauses(t *testing.T) {
	trims := make(chan struct{}, 10)
	m := newMemoryTrimmer(20*time.Millisecond, func() { trims <- struct{}{} })
	defer m.stop()
	waitTrim := func(what string) {
		t.Helper()
		select {
		case <-trims:
		case <-time.After(10 * time.Second):
			t.Fatalf("no trim after %s", what)
		}
	}
	if len(trims) != 0 {
		t.Fatal("trimmed before any hash")
	}
	for range 5 { // a burst of hashes: one trim after it
		m.hashed(0, time.Millisecond)
	}
	waitTrim("a burst of hashes")
	m.hashed(0, time.Millisecond) // the next burst trims again
	waitTrim("the second burst")
	m.stop()
	if n := len(trims); n != 0 {
		t.Errorf("%d extra trims", n)
	}
}
