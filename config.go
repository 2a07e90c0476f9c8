package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"
)

// Config holds the optional settings of an [Authenticator]. The zero value of
// each field means the documented default; NewAuthenticator fills defaults on
// a copy and never writes back.
type Config struct {
	// Issuer is the iss claim of every token (PUBLIC_URL). Default
	// "http://localhost:8080".
	Issuer string
	// Audience is the aud claim (JWT_AUDIENCE). Default "authd".
	Audience string
	// JWTSecret keys HS256 access and refresh tokens. Required, at least 32
	// bytes, unless SigningKeys is set; then it is not used.
	JWTSecret []byte
	// SigningKeys, when set, sign access and refresh tokens with EdDSA or
	// RS256 instead of HS256, and their public halves are published as a
	// JWK Set ([Authenticator.JWKS]) for other services to verify access
	// tokens with. Exactly one key signs; the VerifyOnly ones are accepted
	// for the tokens they signed, so a rotation adds a new signing key and
	// keeps the previous one VerifyOnly until its tokens have expired (the
	// refresh tokens too: REFRESH_TOKEN_TTL). Every key has the signing
	// key's algorithm: only that one is accepted. Default none (HS256).
	SigningKeys []SigningKey
	// FrontendURL is the base of links in mail. Default
	// "http://localhost:3000".
	FrontendURL string

	// AccessTokenTTL is the lifetime of access tokens. Default 5 minutes.
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is the idle lifetime of a session, renewed by each
	// refresh. Default 7 days.
	RefreshTokenTTL time.Duration
	// SessionMaxAge is the absolute lifetime of a session from its login.
	// Default 30 days.
	SessionMaxAge time.Duration
	// RefreshReuseGrace lets the immediately previous refresh token rotate
	// once more within this long of its rotation. Default 0 (off).
	RefreshReuseGrace time.Duration

	// PasswordMinLength is the minimum password length in characters.
	// Default 15; values below 8 are an error.
	PasswordMinLength int
	// Argon2 sets the cost of new password hashes. Zero fields take the
	// OWASP defaults: 19 MiB, 2 iterations, parallelism 1.
	Argon2 Argon2Params
	// HashConcurrency is how many password hashes run at once. Default
	// runtime.NumCPU().
	HashConcurrency int
	// HashQueue is how many password hashes may wait for a slot; past that
	// hashing fails with ErrOverloaded. Default 8 × HashConcurrency.
	HashQueue int
	// HashQueueWait is how long a password hash may wait for a place in
	// that queue before it fails with ErrOverloaded. Default 1 s; negative
	// means not at all. Waiting keeps a flood cheap: each refused client
	// is held a moment instead of coming straight back.
	HashQueueWait time.Duration
	// OnHash, when set, is called after every password hash or check with
	// the time it waited for a slot and the time it ran, for metrics. It
	// must be quick and safe for concurrent use.
	OnHash func(wait, run time.Duration)

	// Limits are the rate-limit policies; zero fields take the defaults
	// of [DefaultLimits].
	Limits Limits
	// RateLimitDisabled turns every rate limit off.
	RateLimitDisabled bool
	// Limiter counts requests; nil means a new in-memory limiter.
	Limiter Limiter

	// VerifiedTokenCache is how many verified access tokens are remembered
	// (by their SHA-256, until they expire), so that a token presented
	// again skips the JSON decoding and the signature check. Default
	// 10,000; a negative value turns the cache off.
	VerifiedTokenCache int

	// Logger receives operational logs (never secrets); nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Argon2Params are the Argon2id cost parameters. Memory is in KiB.
type Argon2Params struct {
	Memory      uint32
	Iterations  uint32
	Parallelism uint8
}

// Limits holds one [Limit] per rate-limit policy of the REST contract.
type Limits struct {
	Login            Limit // client IP + email
	LoginIP          Limit // client IP
	LoginFailures    Limit // email, failed logins only
	RegisterIP       Limit // client IP
	ForgotPassword   Limit // email
	ForgotPasswordIP Limit // client IP
	VerifyResend     Limit // email
	SSOStartIP       Limit // client IP
	Invite           Limit // inviting user
	Refresh          Limit // session
}

// DefaultLimits returns the contract's default rate limits.
func DefaultLimits() Limits {
	return Limits{
		Login:            Limit{Burst: 5, Period: time.Minute},
		LoginIP:          Limit{Burst: 30, Period: time.Minute},
		LoginFailures:    Limit{Burst: 20, Period: time.Hour},
		RegisterIP:       Limit{Burst: 10, Period: time.Hour},
		ForgotPassword:   Limit{Burst: 3, Period: time.Hour},
		ForgotPasswordIP: Limit{Burst: 10, Period: time.Hour},
		VerifyResend:     Limit{Burst: 3, Period: time.Hour},
		SSOStartIP:       Limit{Burst: 20, Period: time.Minute},
		Invite:           Limit{Burst: 20, Period: time.Hour},
		Refresh:          Limit{Burst: 30, Period: time.Minute},
	}
}

// withDefaults returns a copy of c with every zero field set to its default,
// or an error naming the first invalid setting.
func (c Config) withDefaults() (Config, error) {
	setDefault(&c.Issuer, "http://localhost:8080")
	setDefault(&c.Audience, "authd")
	setDefault(&c.FrontendURL, "http://localhost:3000")
	setDefault(&c.AccessTokenTTL, 5*time.Minute)
	setDefault(&c.RefreshTokenTTL, 7*24*time.Hour)
	setDefault(&c.SessionMaxAge, 30*24*time.Hour)
	setDefault(&c.PasswordMinLength, 15)
	setDefault(&c.Argon2.Memory, 19*1024)
	setDefault(&c.Argon2.Iterations, 2)
	setDefault(&c.Argon2.Parallelism, 1)
	setDefault(&c.HashConcurrency, runtime.NumCPU())
	setDefault(&c.HashQueue, 8*c.HashConcurrency)
	setDefault(&c.HashQueueWait, time.Second)
	setDefault(&c.VerifiedTokenCache, 10_000)
	def := DefaultLimits()
	for _, l := range []struct {
		got *Limit
		def Limit
	}{
		{&c.Limits.Login, def.Login}, {&c.Limits.LoginIP, def.LoginIP},
		{&c.Limits.LoginFailures, def.LoginFailures}, {&c.Limits.RegisterIP, def.RegisterIP},
		{&c.Limits.ForgotPassword, def.ForgotPassword}, {&c.Limits.ForgotPasswordIP, def.ForgotPasswordIP},
		{&c.Limits.VerifyResend, def.VerifyResend}, {&c.Limits.SSOStartIP, def.SSOStartIP},
		{&c.Limits.Invite, def.Invite}, {&c.Limits.Refresh, def.Refresh},
	} {
		setDefault(l.got, l.def)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}

	switch {
	case c.PasswordMinLength < 8 || c.PasswordMinLength > maxPasswordLength:
		return c, fmt.Errorf("auth: Config.PasswordMinLength %d is outside 8..%d", c.PasswordMinLength, maxPasswordLength)
	case c.AccessTokenTTL < 0 || c.RefreshTokenTTL < 0 || c.SessionMaxAge < 0 || c.RefreshReuseGrace < 0:
		return c, errors.New("auth: Config durations must not be negative")
	case c.HashConcurrency < 0 || c.HashQueue < 0:
		return c, errors.New("auth: Config.HashConcurrency and HashQueue must not be negative")
	}
	return c, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
