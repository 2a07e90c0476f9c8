package sso_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authd/auth/sso"
)

// hang answers nothing until the test ends or the client gives up; with
// partial set it first sends the status, the headers and the start of a
// JSON body.
func hang(release <-chan struct{}, partial bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if partial {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(`{"sub": "1234", "email": "ha`))
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
}

// TestAHangingProviderIsProviderError points each back-channel request of
// a sign-in at an endpoint that hangs: the callback gives up within the
// provider's Timeout and redirects with error=provider_error, whatever
// HTTP client the provider was given.
func TestAHangingProviderIsProviderError(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	const bound = timeout + 2*time.Second // the callback's own work, on a loaded machine

	tests := []struct {
		name     string
		provider string
		path     string // the endpoint that hangs
		partial  bool
		client   *http.Client // ProviderConfig.HTTPClient; nil for the default
	}{
		{"the token endpoint never answers", "google", "/google/token", false, nil},
		{"userinfo stops in the middle of its body", "google", "/google/userinfo", true, nil},
		{"GitHub's /user/emails never answers", "github", "/github/api/user/emails", false, nil},
		{"a given client without a timeout is bounded too", "google", "/google/token", false, &http.Client{}},
		{"a given client with a longer timeout is bounded too", "github", "/github/token", false,
			&http.Client{Timeout: time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, func(s *setup) {
				for _, c := range []*sso.ProviderConfig{&s.google, &s.github} {
					c.Timeout = timeout
					c.HTTPClient = tt.client
				}
			})
			release := make(chan struct{})
			t.Cleanup(func() { close(release) }) // before the fake provider closes
			f.fake.Handle(tt.path, hang(release, tt.partial))

			q := f.start(t, tt.provider)
			began := time.Now()
			got := f.callback(t, q)
			took := time.Since(began)
			if got.Get("error") != "provider_error" || got.Get("code") != "" {
				t.Errorf("callback redirect %v, want error=provider_error and no code", got)
			}
			if took < timeout || took > bound {
				t.Errorf("the callback took %s, want between the timeout %s and %s", took, timeout, bound)
			}
			if logs := f.logs.String(); !strings.Contains(logs, "deadline exceeded") && !strings.Contains(logs, "Timeout") {
				t.Errorf("the warning does not say the provider timed out:\n%s", logs)
			}
		})
	}
}
