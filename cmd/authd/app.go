package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authd/auth"
	"github.com/authd/auth/mailer"
	"github.com/authd/auth/sso"
	"github.com/authd/auth/storage"
	"github.com/authd/auth/storage/redisstore"
)

// app is what every command shares: the settings, the logger, the store
// and, when REDIS_URL is set, the Redis client and the rate limiter on it.
type app struct {
	settings settings
	log      *slog.Logger
	store    *storage.Store
	redis    *redis.Client
	limiter  *redisstore.Limiter // with REDIS_URL: one for every service, so its fallback is one state
	getenv   func(string) string

	// mail is the mailer every service shares, made on first use;
	// mailRetry is it when EMAIL_HOST is set (SMTP with retries), which
	// Close drains.
	mail      auth.Mailer
	mailRetry *mailer.Retrier
}

// mailDrainTimeout bounds how long Close waits for mail still pending
// delivery; what is left is then recorded as not delivered.
const mailDrainTimeout = 5 * time.Second

// openApp reads the environment and opens the database (and Redis). The
// caller closes the app.
func openApp(ctx context.Context, getenv func(string) string, stderr io.Writer) (*app, error) {
	s, err := loadSettings(getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	a := &app{settings: s, log: newLogger(stderr, s), getenv: getenv}
	if a.store, err = storage.Open(ctx, s.DatabaseURL); err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if s.RedisURL != "" {
		opts, err := redis.ParseURL(s.RedisURL)
		if err != nil {
			a.Close()
			return nil, errors.New("REDIS_URL: not a valid redis:// or rediss:// URL")
		}
		a.redis = redis.NewClient(opts)
		// Falls back to per-instance limits in memory while Redis is
		// unreachable (logged once each way; see metrics for the gauge).
		a.limiter = redisstore.NewLimiterWith(a.redis, "authd:ratelimit:", redisstore.LimiterConfig{Logger: a.log})
	}
	return a, nil
}

// Close delivers the mail still pending (for up to mailDrainTimeout) and
// closes the database and Redis connections.
func (a *app) Close() error {
	var errs []error
	if a.mailRetry != nil {
		ctx, cancel := context.WithTimeout(context.Background(), mailDrainTimeout)
		if err := a.mailRetry.Close(ctx); err != nil {
			a.log.Error("mail still pending at exit was not delivered", "err", err)
		}
		cancel()
	}
	if a.redis != nil {
		errs = append(errs, a.redis.Close())
	}
	if a.store != nil {
		errs = append(errs, a.store.Close())
	}
	return errors.Join(errs...)
}

// authenticator builds the library's Authenticator on the app's store, the
// configured mailer and limiter. It needs the secrets.
func (a *app) authenticator() (*auth.Authenticator, error) {
	if err := a.settings.loadSecrets(a.getenv, a.log); err != nil {
		return nil, err
	}
	m, err := a.mailer()
	if err != nil {
		return nil, err
	}
	return auth.NewAuthenticator(a.store, m, a.authConfig())
}

// services is what serve exposes over HTTP.
type services struct {
	auth  *auth.Authenticator
	orgs  *auth.OrgService
	admin *auth.Admin
	sso   *sso.Service
}

// services builds the Authenticator, the Guard, the OrgService, the Admin
// and the single sign-on Service on the app's store. The Guard listens for
// permission changes until ctx ends.
func (a *app) services(ctx context.Context) (services, error) {
	authn, err := a.authenticator()
	if err != nil {
		return services{}, err
	}
	var b auth.Broadcaster = auth.NewLocalBroadcaster()
	if a.redis != nil {
		b = redisstore.NewBroadcaster(a.redis, "authd:")
	}
	guard, err := auth.NewGuard(ctx, a.store, auth.GuardConfig{Broadcaster: b, Logger: a.log})
	if err != nil {
		return services{}, err
	}
	context.AfterFunc(ctx, guard.Close)
	m, err := a.mailer()
	if err != nil {
		return services{}, err
	}
	cfg := a.authConfig()
	orgs, err := auth.NewOrgService(a.store, m, guard, cfg)
	if err != nil {
		return services{}, err
	}
	admin, err := auth.NewAdmin(a.store, guard, nil)
	if err != nil {
		return services{}, err
	}
	providers, err := a.providers()
	if err != nil {
		return services{}, err
	}
	signOn, err := sso.NewService(authn, a.store, providers, sso.Config{SecretKey: a.settings.SecretKey,
		FrontendURL: cfg.FrontendURL, Limiter: cfg.Limiter, Limit: cfg.Limits.SSOStartIP,
		RateLimitDisabled: cfg.RateLimitDisabled, Logger: a.log})
	if err != nil {
		return services{}, err
	}
	return services{auth: authn, orgs: orgs, admin: admin, sso: signOn}, nil
}

// providers returns the single sign-on providers that have a client id.
func (a *app) providers() (map[string]sso.Provider, error) {
	out := map[string]sso.Provider{}
	for name, p := range map[string]struct {
		cfg  sso.ProviderConfig
		make func(sso.ProviderConfig) (sso.Provider, error)
	}{"google": {a.settings.Google, sso.Google}, "github": {a.settings.GitHub, sso.GitHub}} {
		if p.cfg.ClientID == "" {
			continue
		}
		provider, err := p.make(p.cfg)
		if err != nil {
			return nil, fmt.Errorf("%s sign-in: %w", name, err)
		}
		out[name] = provider
	}
	return out, nil
}

// authConfig is the library configuration with the app's logger and, with
// REDIS_URL, the shared limiter.
func (a *app) authConfig() auth.Config {
	cfg := a.settings.Auth
	cfg.Logger = a.log
	if a.limiter != nil {
		cfg.Limiter = a.limiter
	}
	return cfg
}

// mailer returns the mailer every service shares, made on the first call:
// when EMAIL_HOST is set, the SMTP mailer behind a Retrier, which delivers
// in the background and retries (a mail server that is down loses no mail,
// and a mail given up is logged and counted); else the one that writes .eml
// files into MAIL_DIR.
func (a *app) mailer() (auth.Mailer, error) {
	if a.mail != nil {
		return a.mail, nil
	}
	s := a.settings
	if s.SMTP.Host == "" {
		m, err := mailer.NewDir(s.MailDir, s.SMTP.From, a.log)
		if err != nil {
			return nil, err
		}
		a.mail = m
		return m, nil
	}
	m, err := mailer.NewSMTP(mailer.SMTPConfig{Host: s.SMTP.Host, Port: s.SMTP.Port,
		Username: s.SMTP.Username, Password: s.SMTP.Password, From: s.SMTP.From})
	if err != nil {
		return nil, err
	}
	a.mailRetry = mailer.Retry(m, mailer.RetryConfig{Logger: a.log})
	a.mail = a.mailRetry
	return a.mail, nil
}

// prepare migrates the database and seeds the default permission mappings
// of roles never configured, returning the roles it seeded.
func (a *app) prepare(ctx context.Context) ([]string, error) {
	if err := a.store.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	seeded, err := auth.SeedPermissions(ctx, a.store)
	if len(seeded) > 0 {
		a.log.Info("seeded default permissions", "roles", seeded)
	}
	return seeded, err
}

// ready reports whether the database and Redis (if configured) answer.
func (a *app) ready(ctx context.Context) error {
	if err := a.store.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if a.redis != nil {
		if err := a.redis.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
	}
	return nil
}
