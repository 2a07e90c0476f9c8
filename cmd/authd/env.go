package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/authd/auth"
	"github.com/authd/auth/httpapi"
	"github.com/authd/auth/sso"
)

// dataDir holds the embedded defaults: the SQLite file, generated secrets
// and mail files.
const dataDir = "./data"

// settings is the environment of API.md's "Configuration", parsed.
type settings struct {
	Addr           string
	MetricsAddr    string // METRICS_ADDR: empty serves /metrics on Addr
	DatabaseURL    string
	RedisURL       string
	SecretKey      []byte
	MailDir        string
	SMTP           smtpSettings
	TrustedProxies []netip.Prefix
	LogLevel       slog.Level
	LogJSON        bool
	JWT            jwtSettings // JWT_ALGORITHM and the key files (keys.go)
	Auth           auth.Config
	// Google and GitHub configure single sign-on; a provider without a
	// client id is not configured.
	Google, GitHub sso.ProviderConfig
}

type smtpSettings struct {
	Host, Username, Password, From string
	Port                           int
}

// loadSettings reads every variable but the secrets through getenv and
// reports every invalid one at once.
func loadSettings(getenv func(string) string) (settings, error) {
	var errs []error
	str := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	dur := func(name string) time.Duration {
		v := getenv(name)
		if v == "" {
			return 0
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a duration such as 30s, 15m or 720h", name, v))
		}
		return d
	}
	num := func(name string) int {
		v := getenv(name)
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a whole number", name, v))
		}
		return n
	}
	limit := func(name string) auth.Limit {
		v := getenv(name)
		if v == "" {
			return auth.Limit{}
		}
		l, err := auth.ParseLimit(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		return l
	}

	s := settings{
		Addr:        str("ADDR", ":8080"),
		MetricsAddr: str("METRICS_ADDR", ""),
		DatabaseURL: str("DATABASE_URL", "sqlite:"+filepath.Join(dataDir, "authd.db")),
		RedisURL:    str("REDIS_URL", ""),
		MailDir:     str("MAIL_DIR", filepath.Join(dataDir, "mail")),
		SMTP: smtpSettings{
			Host: str("EMAIL_HOST", ""), Port: num("EMAIL_PORT"),
			Username: getenv("EMAIL_HOST_USER"), Password: getenv("EMAIL_HOST_PASSWORD"),
			From: str("EMAIL_FROM", "authd <no-reply@localhost>"),
		},
		LogJSON: str("LOG_FORMAT", "text") == "json",
	}
	if f := str("LOG_FORMAT", "text"); f != "text" && f != "json" {
		errs = append(errs, fmt.Errorf("LOG_FORMAT=%q: want text or json", f))
	}
	if err := s.LogLevel.UnmarshalText([]byte(str("LOG_LEVEL", "info"))); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL: %w", err))
	}
	proxies, err := httpapi.ParseTrustedProxies(getenv("TRUSTED_PROXIES"))
	if err != nil {
		errs = append(errs, fmt.Errorf("TRUSTED_PROXIES: %w", err))
	}
	s.TrustedProxies = proxies

	enabled := true
	if v := getenv("RATE_LIMIT_ENABLED"); v != "" {
		if enabled, err = strconv.ParseBool(v); err != nil {
			errs = append(errs, fmt.Errorf("RATE_LIMIT_ENABLED=%q: want true or false", v))
		}
	}
	s.Auth = auth.Config{
		Issuer:            str("PUBLIC_URL", "http://localhost:8080"),
		Audience:          str("JWT_AUDIENCE", "authd"),
		FrontendURL:       str("FRONTEND_URL", "http://localhost:3000"),
		AccessTokenTTL:    dur("ACCESS_TOKEN_TTL"),
		RefreshTokenTTL:   dur("REFRESH_TOKEN_TTL"),
		SessionMaxAge:     dur("SESSION_MAX_AGE"),
		RefreshReuseGrace: dur("REFRESH_REUSE_GRACE"),
		PasswordMinLength: num("PASSWORD_MIN_LENGTH"),
		RateLimitDisabled: !enabled,
		Limits: auth.Limits{
			Login:            limit("RATE_LIMIT_LOGIN"),
			LoginIP:          limit("RATE_LIMIT_LOGIN_IP"),
			LoginFailures:    limit("RATE_LIMIT_LOGIN_FAILURES"),
			RegisterIP:       limit("RATE_LIMIT_REGISTER_IP"),
			ForgotPassword:   limit("RATE_LIMIT_FORGOT_PASSWORD"),
			ForgotPasswordIP: limit("RATE_LIMIT_FORGOT_PASSWORD_IP"),
			VerifyResend:     limit("RATE_LIMIT_VERIFY_RESEND"),
			SSOStartIP:       limit("RATE_LIMIT_SSO_START_IP"),
			Invite:           limit("RATE_LIMIT_INVITE"),
			Refresh:          limit("RATE_LIMIT_REFRESH"),
		},
	}
	s.JWT, err = loadJWTSettings(getenv)
	if err != nil {
		errs = append(errs, err)
	}
	callback := strings.TrimRight(s.Auth.Issuer, "/") + "/api/v1/auth/sso/callback/"
	s.Google = sso.ProviderConfig{ClientID: getenv("GOOGLE_CLIENT_ID"), ClientSecret: getenv("GOOGLE_CLIENT_SECRET"),
		RedirectURL: callback, AuthURL: getenv("GOOGLE_AUTH_URL"), TokenURL: getenv("GOOGLE_TOKEN_URL"),
		UserInfoURL: getenv("GOOGLE_USERINFO_URL")}
	s.GitHub = sso.ProviderConfig{ClientID: getenv("GITHUB_CLIENT_ID"), ClientSecret: getenv("GITHUB_CLIENT_SECRET"),
		RedirectURL: callback, AuthURL: getenv("GITHUB_AUTH_URL"), TokenURL: getenv("GITHUB_TOKEN_URL"),
		APIURL: getenv("GITHUB_API_URL")}
	return s, errors.Join(errs...)
}

// loadSecrets sets SecretKey and the JWT keys: from SECRET_KEY and
// JWT_SECRET_KEY, or from the generated ones kept in dataDir; with an
// asymmetric JWT_ALGORITHM, the signing keys instead of JWT_SECRET_KEY
// (see keys.go).
func (s *settings) loadSecrets(getenv func(string) string, log *slog.Logger) error {
	var err error
	if s.SecretKey, err = secret(getenv, "SECRET_KEY", "secret_key", log); err != nil {
		return err
	}
	if s.JWT.asymmetric() {
		s.Auth.SigningKeys, err = s.JWT.signingKeys(log)
		return err
	}
	if s.Auth.JWTSecret, err = secret(getenv, "JWT_SECRET_KEY", "jwt_secret_key", log); err != nil {
		return err
	}
	if len(s.Auth.JWTSecret) < 32 {
		return errors.New("JWT_SECRET_KEY must be at least 32 bytes")
	}
	return nil
}

// secret returns the variable name, or else the secret kept in
// dataDir/file, generating it (32 random bytes, base64url) the first time.
// Generated secrets survive restarts but not the loss of dataDir, and every
// instance must share them: operators should set the variable.
func secret(getenv func(string) string, name, file string, log *slog.Logger) ([]byte, error) {
	if v := getenv(name); v != "" {
		return []byte(v), nil
	}
	path := filepath.Join(dataDir, file)
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		log.Warn(name+" is not set; using the generated one kept in the data directory", "file", path)
		return []byte(strings.TrimSpace(string(b))), nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	b := make([]byte, 32)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dataDir, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("keep generated %s: %w", name, err)
	}
	if _, err := f.WriteString(v + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("keep generated %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("keep generated %s: %w", name, err)
	}
	log.Warn(name+" is not set; generated one and kept it in the data directory (set it in production)", "file", path)
	return []byte(v), nil
}

// newLogger returns the process logger configured by LOG_LEVEL and LOG_FORMAT.
func newLogger(w io.Writer, s settings) *slog.Logger {
	opts := &slog.HandlerOptions{Level: s.LogLevel}
	if s.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
