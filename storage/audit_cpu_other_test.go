//go:build !linux

package storage_test

import (
	"time"

	"github.com/authd/auth/storage"
)

// cpuTime is not measured off Linux.
func cpuTime(*storage.Store) time.Duration { return 0 }
