package auth_test

import (
	"testing"

	auth "github.com/authd/auth"
	"github.com/authd/auth/internal/broadcastertest"
)

func TestLocalBroadcaster(t *testing.T) {
	t.Run("from NewLocalBroadcaster", func(t *testing.T) {
		broadcastertest.Run(t, func(t *testing.T) (a, b auth.Broadcaster) {
			local := auth.NewLocalBroadcaster()
			return local, local // one process: both instances are the same
		})
	})
	t.Run("the zero value", func(t *testing.T) {
		broadcastertest.Run(t, func(t *testing.T) (a, b auth.Broadcaster) {
			var local auth.LocalBroadcaster
			return &local, &local
		})
	})
}
