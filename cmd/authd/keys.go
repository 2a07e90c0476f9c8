package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/authd/auth"
)

// generatedKeyFile is where the signing key is generated and kept, in
// dataDir, when JWT_SIGNING_KEY_FILE is not set.
const generatedKeyFile = "jwt_signing_key.pem"

// jwtSettings is how tokens are signed.
type jwtSettings struct {
	// Algorithm is JWT_ALGORITHM: auth.AlgHS256 (the default, keyed with
	// JWT_SECRET_KEY), auth.AlgEdDSA or auth.AlgRS256.
	Algorithm string
	// SigningKeyFile is JWT_SIGNING_KEY_FILE, the PEM file of the signing
	// key; empty means the key generated into dataDir.
	SigningKeyFile string
	// VerifyKeyFiles is JWT_VERIFY_KEY_FILES, comma-separated PEM files of
	// keys that verify but do not sign: the previous key during a
	// rotation, or the next one published ahead of its use.
	VerifyKeyFiles []string
}

// loadJWTSettings reads JWT_ALGORITHM, JWT_SIGNING_KEY_FILE and
// JWT_VERIFY_KEY_FILES. Key files with HS256 are an error: they would be
// silently ignored.
func loadJWTSettings(getenv func(string) string) (jwtSettings, error) {
	j := jwtSettings{
		Algorithm:      strings.TrimSpace(getenv("JWT_ALGORITHM")),
		SigningKeyFile: strings.TrimSpace(getenv("JWT_SIGNING_KEY_FILE")),
	}
	for _, f := range strings.Split(getenv("JWT_VERIFY_KEY_FILES"), ",") {
		if f = strings.TrimSpace(f); f != "" {
			j.VerifyKeyFiles = append(j.VerifyKeyFiles, f)
		}
	}
	switch j.Algorithm {
	case "":
		j.Algorithm = auth.AlgHS256
	case auth.AlgHS256, auth.AlgEdDSA, auth.AlgRS256:
	default:
		return j, fmt.Errorf("JWT_ALGORITHM=%q: want %s, %s or %s", j.Algorithm, auth.AlgHS256, auth.AlgEdDSA, auth.AlgRS256)
	}
	if !j.asymmetric() && (j.SigningKeyFile != "" || len(j.VerifyKeyFiles) > 0) {
		return j, fmt.Errorf("JWT_SIGNING_KEY_FILE and JWT_VERIFY_KEY_FILES need JWT_ALGORITHM=%s or %s", auth.AlgEdDSA, auth.AlgRS256)
	}
	return j, nil
}

// asymmetric reports whether tokens are signed with keys, not
// JWT_SECRET_KEY.
func (j jwtSettings) asymmetric() bool {
	return j.Algorithm == auth.AlgEdDSA || j.Algorithm == auth.AlgRS256
}

// signingKeys returns the signing key, from SigningKeyFile or else
// generated once into dataDir, followed by the verify-only keys of
// VerifyKeyFiles. Every key must be of Algorithm.
func (j jwtSettings) signingKeys(log *slog.Logger) ([]auth.SigningKey, error) {
	var (
		signing auth.SigningKey
		err     error
	)
	if j.SigningKeyFile != "" {
		signing, err = readKeyFile(j.SigningKeyFile, "JWT_SIGNING_KEY_FILE")
	} else {
		signing, err = j.generatedKey(log)
	}
	if err != nil {
		return nil, err
	}
	if signing.VerifyOnly {
		return nil, fmt.Errorf("JWT_SIGNING_KEY_FILE %s holds a public key; the signing key must be a private key", j.SigningKeyFile)
	}
	keys := []auth.SigningKey{signing}
	for _, f := range j.VerifyKeyFiles {
		k, err := readKeyFile(f, "JWT_VERIFY_KEY_FILES")
		if err != nil {
			return nil, err
		}
		k.VerifyOnly = true
		keys = append(keys, k)
	}
	for _, k := range keys {
		if k.Algorithm != j.Algorithm {
			return nil, fmt.Errorf("key %s is an %s key but JWT_ALGORITHM=%s; only one algorithm is accepted", k.ID, k.Algorithm, j.Algorithm)
		}
	}
	return keys, nil
}

// readKeyFile parses the PEM key in path; variable names the setting in
// errors.
func readKeyFile(path, variable string) (auth.SigningKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return auth.SigningKey{}, fmt.Errorf("%s: %w", variable, err)
	}
	k, err := auth.ParseSigningKeyPEM(b)
	if err != nil {
		return auth.SigningKey{}, fmt.Errorf("%s: %s: %w", variable, path, err)
	}
	return k, nil
}

// generatedKey returns the signing key kept in dataDir, generating it (a
// private key of Algorithm, PKCS #8 PEM, mode 0600) the first time. Like
// the generated secrets it survives restarts but not the loss of dataDir,
// and several instances need the same key: operators should set
// JWT_SIGNING_KEY_FILE.
func (j jwtSettings) generatedKey(log *slog.Logger) (auth.SigningKey, error) {
	path := filepath.Join(dataDir, generatedKeyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		k, err := auth.ParseSigningKeyPEM(b)
		if err != nil {
			return auth.SigningKey{}, fmt.Errorf("generated signing key %s: %w", path, err)
		}
		if k.Algorithm != j.Algorithm {
			return auth.SigningKey{}, fmt.Errorf("the generated signing key %s is an %s key but JWT_ALGORITHM=%s: "+
				"move it away to generate a new one (tokens it signed will stop verifying) or set JWT_SIGNING_KEY_FILE",
				path, k.Algorithm, j.Algorithm)
		}
		log.Warn("JWT_SIGNING_KEY_FILE is not set; using the generated signing key kept in the data directory",
			"file", path, "kid", k.ID)
		return k, nil
	case !errors.Is(err, os.ErrNotExist):
		return auth.SigningKey{}, fmt.Errorf("read %s: %w", path, err)
	}

	k, err := auth.GenerateSigningKey(j.Algorithm)
	if err != nil {
		return auth.SigningKey{}, err
	}
	pemBytes, err := auth.MarshalSigningKeyPEM(k)
	if err != nil {
		return auth.SigningKey{}, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return auth.SigningKey{}, fmt.Errorf("create %s: %w", dataDir, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		// Another process generated it meanwhile: use that one.
		return j.generatedKey(log)
	}
	if err != nil {
		return auth.SigningKey{}, fmt.Errorf("keep generated signing key: %w", err)
	}
	if _, err := f.Write(pemBytes); err != nil {
		f.Close()
		return auth.SigningKey{}, fmt.Errorf("keep generated signing key: %w", err)
	}
	if err := f.Close(); err != nil {
		return auth.SigningKey{}, fmt.Errorf("keep generated signing key: %w", err)
	}
	log.Warn("JWT_SIGNING_KEY_FILE is not set; generated a signing key and kept it in the data directory (set it in production)",
		"file", path, "algorithm", k.Algorithm, "kid", k.ID)
	return k, nil
}
