package storetest

import (
	"testing"
	"time"

	"github.com/authd/auth"
)

func testTokens(t *testing.T, newStore func(t *testing.T) auth.Store) {
	t.Run("a token is consumed once", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		tok := newToken(u.ID, auth.PurposeVerifyEmail)
		createToken(t, s, tok)

		got, err := s.ConsumeToken(t.Context(), tok.Purpose, tok.Hash, base)
		checkErr(t, "ConsumeToken", err, nil)
		want := tok
		want.UsedAt = base
		checkEqual(t, "consumed token", got, storedToken(want))

		_, err = s.ConsumeToken(t.Context(), tok.Purpose, tok.Hash, base.Add(time.Second))
		checkErr(t, "ConsumeToken a second time", err, auth.ErrNotFound)
	})

	t.Run("a token's data and user read back when it is consumed", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		tests := []struct {
			name string
			tok  auth.OneTimeToken
		}{
			{"a user's token with data", withData(newToken(u.ID, auth.PurposeSSOCode), "google|ünïcode 🔑|"+u.ID)},
			{"a user's token without data", newToken(u.ID, auth.PurposePasswordReset)},
			{"a token of nobody with data", withData(newToken("", auth.PurposeSSOState), `{"provider":"github","verifier":"x"}`)},
			{"a token of nobody without data", newToken("", auth.PurposeSSOState)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				createToken(t, s, tt.tok)
				got, err := s.ConsumeToken(t.Context(), tt.tok.Purpose, tt.tok.Hash, base)
				checkErr(t, "ConsumeToken", err, nil)
				want := tt.tok
				want.UsedAt = base
				checkEqual(t, "consumed token", got, storedToken(want))
			})
		}
	})

	t.Run("a token of nobody is consumed once", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tok := withData(newToken("", auth.PurposeSSOState), "return_to=/settings")
		createToken(t, s, tok)
		_, err := s.ConsumeToken(t.Context(), tok.Purpose, tok.Hash, base)
		checkErr(t, "ConsumeToken", err, nil)
		_, err = s.ConsumeToken(t.Context(), tok.Purpose, tok.Hash, base.Add(time.Second))
		checkErr(t, "ConsumeToken a second time", err, auth.ErrNotFound)
	})

	t.Run("consuming a token follows its conditions", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		// Each case stores newToken, changed by prepare, and consumes it with
		// its own purpose and hash at base, unless consume says otherwise.
		tests := []struct {
			name    string
			prepare func(tok *auth.OneTimeToken)
			consume func(s auth.Store, tok auth.OneTimeToken) (auth.OneTimeToken, error)
			wantErr error
		}{
			{
				name:    "a token a microsecond before its expiry is consumed",
				prepare: func(tok *auth.OneTimeToken) { tok.ExpiresAt = base.Add(time.Microsecond) },
			},
			{
				name:    "a token is refused at the instant it expires",
				prepare: func(tok *auth.OneTimeToken) { tok.ExpiresAt = base },
				wantErr: auth.ErrNotFound,
			},
			{
				name:    "a token is refused after it expired",
				prepare: func(tok *auth.OneTimeToken) { tok.ExpiresAt = base.Add(-time.Hour) },
				wantErr: auth.ErrNotFound,
			},
			{
				name: "expiry compares instants, whatever the time zones",
				// Expires half a second after base, written in UTC+5; now is
				// base with fewer fractional digits, written in UTC-8.
				prepare: func(tok *auth.OneTimeToken) {
					tok.ExpiresAt = base.Truncate(time.Second).Add(500 * time.Millisecond).In(eastern)
				},
				consume: func(s auth.Store, tok auth.OneTimeToken) (auth.OneTimeToken, error) {
					return s.ConsumeToken(t.Context(), tok.Purpose, tok.Hash, base.Truncate(time.Second).Add(123_456*time.Microsecond).In(western))
				},
			},
			{
				name:    "an expired token is refused even when now, in its time zone, reads an earlier date",
				prepare: func(tok *auth.OneTimeToken) { tok.ExpiresAt = base.In(eastern) },
				consume: func(s auth.Store, tok auth.OneTimeToken) (auth.OneTimeToken, error) {
					return s.ConsumeToken(t.Context(), tok.Purpose, tok.Hash, base.Add(time.Microsecond).In(western))
				},
				wantErr: auth.ErrNotFound,
			},
			{
				name:    "a token that expired on a whole second is refused half a second later",
				prepare: func(tok *auth.OneTimeToken) { tok.ExpiresAt = base.Truncate(time.Second) },
				consume: func(s auth.Store, tok auth.OneTimeToken) (auth.OneTimeToken, error) {
					return s.ConsumeToken(t.Context(), tok.Purpose, tok.Hash, base.Truncate(time.Second).Add(500*time.Millisecond))
				},
				wantErr: auth.ErrNotFound,
			},
			{
				name:    "a token expiring half a second after a whole second is consumed on that second",
				prepare: func(tok *auth.OneTimeToken) { tok.ExpiresAt = base.Truncate(time.Second).Add(500 * time.Millisecond) },
				consume: func(s auth.Store, tok auth.OneTimeToken) (auth.OneTimeToken, error) {
					return s.ConsumeToken(t.Context(), tok.Purpose, tok.Hash, base.Truncate(time.Second))
				},
			},
			{
				name:    "a used token is refused",
				prepare: func(tok *auth.OneTimeToken) { tok.UsedAt = base.Add(-time.Minute) },
				wantErr: auth.ErrNotFound,
			},
			{
				name: "a token with another purpose is refused",
				consume: func(s auth.Store, tok auth.OneTimeToken) (auth.OneTimeToken, error) {
					return s.ConsumeToken(t.Context(), auth.PurposePasswordReset, tok.Hash, base)
				},
				wantErr: auth.ErrNotFound,
			},
			{
				name: "an unknown hash is refused",
				consume: func(s auth.Store, tok auth.OneTimeToken) (auth.OneTimeToken, error) {
					return s.ConsumeToken(t.Context(), tok.Purpose, newHash(), base)
				},
				wantErr: auth.ErrNotFound,
			},
			{
				name: "an empty hash is refused",
				consume: func(s auth.Store, tok auth.OneTimeToken) (auth.OneTimeToken, error) {
					return s.ConsumeToken(t.Context(), tok.Purpose, "", base)
				},
				wantErr: auth.ErrNotFound,
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u := createUser(t, s)
				tok := newToken(u.ID, auth.PurposeVerifyEmail)
				if tt.prepare != nil {
					tt.prepare(&tok)
				}
				createToken(t, s, tok)
				consume := tt.consume
				if consume == nil {
					consume = func(s auth.Store, tok auth.OneTimeToken) (auth.OneTimeToken, error) {
						return s.ConsumeToken(t.Context(), tok.Purpose, tok.Hash, base)
					}
				}
				got, err := consume(s, tok)
				checkErr(t, "ConsumeToken", err, tt.wantErr)
				if tt.wantErr == nil {
					if got.Hash != tok.Hash || got.UsedAt.IsZero() {
						t.Errorf("ConsumeToken = %+v, want token %s marked used", got, tok.Hash)
					}
				}
			})
		}
	})

	t.Run("creating a token with a taken hash is a conflict", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		tok := newToken(u.ID, auth.PurposeVerifyEmail)
		createToken(t, s, tok)
		again := newToken(u.ID, auth.PurposePasswordReset)
		again.Hash = tok.Hash
		checkErr(t, "CreateToken", s.CreateToken(t.Context(), again), auth.ErrConflict)
	})

	t.Run("of fifty concurrent consumers exactly one wins", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		tests := []struct {
			name string
			tok  auth.OneTimeToken
		}{
			{"a user's token", newToken(u.ID, auth.PurposePasswordReset)},
			{"a token of nobody", withData(newToken("", auth.PurposeSSOState), "state")},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				createToken(t, s, tt.tok)
				errs := race(concurrency, func(int) error {
					_, err := s.ConsumeToken(t.Context(), tt.tok.Purpose, tt.tok.Hash, base)
					return err
				})
				checkWinners(t, errs, 1)
			})
		}
	})

	t.Run("deleting a user's tokens deletes only the unused ones of that purpose", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := createUser(t, s)
		other := createUser(t, s)
		unused := newToken(u.ID, auth.PurposeVerifyEmail)
		expired := newToken(u.ID, auth.PurposeVerifyEmail)
		expired.ExpiresAt = base.Add(-time.Hour)
		used := newToken(u.ID, auth.PurposeVerifyEmail)
		used.UsedAt = base.Add(-time.Minute)
		reset := newToken(u.ID, auth.PurposePasswordReset)
		othersToken := newToken(other.ID, auth.PurposeVerifyEmail)
		nobodys := newToken("", auth.PurposeVerifyEmail)
		for _, tok := range []auth.OneTimeToken{unused, expired, used, reset, othersToken, nobodys} {
			createToken(t, s, tok)
		}

		checkErr(t, "DeleteUserTokens", s.DeleteUserTokens(t.Context(), u.ID, auth.PurposeVerifyEmail), nil)
		checkErr(t, "DeleteUserTokens of nobody", s.DeleteUserTokens(t.Context(), "", auth.PurposeVerifyEmail), nil)

		// A deleted token's hash can be stored again; a kept one's cannot.
		for _, tok := range []auth.OneTimeToken{unused, expired} {
			checkErr(t, "CreateToken with a deleted token's hash", s.CreateToken(t.Context(), tok), nil)
		}
		checkErr(t, "CreateToken with the used token's hash", s.CreateToken(t.Context(), used), auth.ErrConflict)
		for _, tok := range []auth.OneTimeToken{reset, othersToken, nobodys} {
			_, err := s.ConsumeToken(t.Context(), tok.Purpose, tok.Hash, base)
			checkErr(t, "ConsumeToken of a token that was not to be deleted", err, nil)
		}
	})

	t.Run("deleting the tokens of a user without any is no error", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, userID := range []string{newID(), "not-a-uuid"} {
			checkErr(t, "DeleteUserTokens", s.DeleteUserTokens(t.Context(), userID, auth.PurposeVerifyEmail), nil)
		}
	})
}

// newToken returns an unused token of the user (of nobody when userID is
// empty), without data, created a minute before base and expiring an hour
// after it.
func newToken(userID string, purpose auth.TokenPurpose) auth.OneTimeToken {
	return auth.OneTimeToken{
		Hash:      newHash(),
		Purpose:   purpose,
		UserID:    userID,
		CreatedAt: base.Add(-time.Minute),
		ExpiresAt: base.Add(time.Hour),
	}
}

// createToken stores tok.
func createToken(t *testing.T, s auth.Store, tok auth.OneTimeToken) {
	t.Helper()
	if err := s.CreateToken(t.Context(), tok); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
}

// withData returns tok with data.
func withData(tok auth.OneTimeToken, data string) auth.OneTimeToken {
	tok.Data = data
	return tok
}
