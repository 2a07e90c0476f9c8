package httpapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	auth "github.com/authd/auth"
	"github.com/authd/auth/httpapi"
)

// withMetrics records the stack's requests in m.
func withMetrics(m *httpapi.Metrics) stackOption {
	return func(_ *auth.Config, h *httpapi.Config) { h.Metrics = m }
}

// series gathers reg and returns every sample of the authd_ families as
// `name{label="value",…}` (labels sorted) → value; a histogram contributes
// its _count and _sum.
func series(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "authd_") {
			continue
		}
		for _, m := range f.GetMetric() {
			key := labelKey(m.GetLabel())
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[f.GetName()+key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[f.GetName()+key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[f.GetName()+"_count"+key] = float64(m.GetHistogram().GetSampleCount())
				out[f.GetName()+"_sum"+key] = m.GetHistogram().GetSampleSum()
			default:
				t.Fatalf("%s: unexpected type %v", f.GetName(), f.GetType())
			}
		}
	}
	return out
}

func labelKey(labels []*dto.LabelPair) string {
	if len(labels) == 0 {
		return ""
	}
	parts := make([]string, 0, len(labels))
	for _, l := range labels {
		parts = append(parts, l.GetName()+"="+`"`+l.GetValue()+`"`)
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

// rawRequest sends a request the contract does not describe (an unknown
// method or path), outside the stack's checked helpers.
func rawRequest(t *testing.T, s *stack, method, path string) int {
	t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func TestMetricsAfterAWorkload(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := httpapi.NewMetrics(reg)
	// Three logins per client and email per hour: the fourth is throttled.
	s := newStack(t, withMetrics(m), withLimits(auth.Limits{Login: auth.Limit{Burst: 3, Period: time.Hour}}))
	m.WatchStats(s.store, httpapi.SampleConfig{MaxAge: time.Minute, Now: s.clock.Now})

	// The workload: sign-ups, logins that succeed and fail, a refresh and
	// the replay of its old token, a throttled login, an organisation, and
	// requests that match no route.
	ada := s.signUp(t, "ada@example.com")
	s.register(t, "bob@example.com") // never verified
	first := s.login(t, "ada@example.com")
	wantProblem(t, s.do(t, "POST", "/api/v1/auth/login/",
		map[string]string{"email": "ada@example.com", "password": "not the password at all"}),
		http.StatusUnauthorized, "invalid_credentials")
	wantProblem(t, s.do(t, "POST", "/api/v1/auth/login/",
		map[string]string{"email": "bob@example.com", "password": testPassword}),
		http.StatusForbidden, "email_not_verified")
	wantProblem(t, s.do(t, "POST", "/api/v1/auth/login/", `{"email":`),
		http.StatusBadRequest, "invalid_request")
	next := decode[tokensObject](t, s.refresh(t, first.Refresh), http.StatusOK)
	wantProblem(t, s.refresh(t, first.Refresh), http.StatusUnauthorized, "token_reused")
	second := s.login(t, "ada@example.com")
	wantProblem(t, s.do(t, "POST", "/api/v1/auth/login/",
		map[string]string{"email": "ada@example.com", "password": testPassword}),
		http.StatusTooManyRequests, "throttled")
	owner := s.newActor(t, "grace@example.com", auth.RoleEndUser)
	s.createOrg(t, owner, "acme-metrics")
	wantStatus(t, s.do(t, "GET", "/api/v1/orgs/acme-metrics/", nil, owner.auth()), http.StatusOK)
	wantStatus(t, s.do(t, "GET", "/api/v1/orgs/acme-metrics/members", nil, owner.auth()), http.StatusOK)
	wantStatus(t, s.do(t, "DELETE", "/api/v1/auth/sessions/"+second.SessionID+"/", nil, bearer(second.Access)),
		http.StatusNoContent)
	if got := rawRequest(t, s, "GET", "/api/v1/users/ada@example.com/"); got != http.StatusNotFound {
		t.Fatalf("unknown path = %d, want 404", got)
	}
	if got := rawRequest(t, s, "BREW", "/api/v1/auth/login/"); got != http.StatusMethodNotAllowed {
		t.Fatalf("BREW on login = %d, want 405", got)
	}

	got := series(t, reg)
	const login, refresh = `route="/api/v1/auth/login/"`, `route="/api/v1/auth/token/refresh/"`
	want := map[string]float64{
		`authd_http_requests_total{method="POST",` + login + `,status="200"}`:                         3,
		`authd_http_requests_total{method="POST",` + login + `,status="401"}`:                         1,
		`authd_http_requests_total{method="POST",` + login + `,status="403"}`:                         1,
		`authd_http_requests_total{method="POST",` + login + `,status="400"}`:                         1,
		`authd_http_requests_total{method="POST",` + login + `,status="429"}`:                         1,
		`authd_http_requests_total{method="other",` + login + `,status="405"}`:                        1,
		`authd_http_requests_total{method="POST",` + refresh + `,status="200"}`:                       1,
		`authd_http_requests_total{method="POST",` + refresh + `,status="401"}`:                       1,
		`authd_http_requests_total{method="POST",route="/api/v1/auth/register/",status="202"}`:        3,
		`authd_http_requests_total{method="POST",route="/api/v1/auth/verify-email/",status="200"}`:    2,
		`authd_http_requests_total{method="POST",route="/api/v1/orgs/create/",status="201"}`:          1,
		`authd_http_requests_total{method="GET",route="/api/v1/orgs/{slug}/",status="200"}`:           1,
		`authd_http_requests_total{method="GET",route="/api/v1/orgs/{slug}/members/",status="200"}`:   1,
		`authd_http_requests_total{method="DELETE",route="/api/v1/auth/sessions/{id}/",status="204"}`: 1,
		`authd_http_requests_total{method="GET",route="unmatched",status="404"}`:                      1,
		`authd_http_request_duration_seconds_count{method="POST",` + login + `}`:                      7,
		`authd_http_request_duration_seconds_count{method="POST",` + refresh + `}`:                    2,
		`authd_logins_total{outcome="success"}`:                                                       3,
		`authd_logins_total{outcome="invalid_credentials"}`:                                           1,
		`authd_logins_total{outcome="email_not_verified"}`:                                            1,
		`authd_logins_total{outcome="invalid_request"}`:                                               1,
		`authd_logins_total{outcome="throttled"}`:                                                     1,
		`authd_refreshes_total{outcome="success"}`:                                                    1,
		`authd_refreshes_total{outcome="token_reused"}`:                                               1,
		`authd_token_reuse_detections_total`:                                                          1,
		`authd_throttled_requests_total{limit="login"}`:                                               1,
		`authd_password_hash_queue_depth`:                                                             0,
		// Ada's first session was revoked by the reuse and her second by
		// the DELETE: Grace's is the one left.
		`authd_active_sessions`: 1,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s is missing", k)
		} else if g != v {
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
	for k := range got {
		if strings.HasPrefix(k, "authd_logins_total") && strings.Contains(k, `outcome="error"`) {
			t.Errorf("unexpected %s: every login of the workload has a known outcome", k)
		}
	}
	if _, ok := got["authd_audit_sealing_lag_seconds"]; ok {
		t.Error("authd_audit_sealing_lag_seconds is reported before anything measures it")
	}

	t.Run("no label holds user data", func(t *testing.T) {
		secrets := []string{"@", "example.com", "acme", ada.ID, owner.id, first.SessionID, second.SessionID,
			first.Access, first.Refresh, next.Refresh, "BREW", "users"}
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					for _, s := range secrets {
						if s != "" && strings.Contains(l.GetValue(), s) {
							t.Errorf("%s{%s=%q} contains %q", f.GetName(), l.GetName(), l.GetValue(), s)
						}
					}
					if l.GetName() == "route" && l.GetValue() != "unmatched" && !strings.HasPrefix(l.GetValue(), "/api/v1/") {
						t.Errorf("%s: route %q is not a pattern", f.GetName(), l.GetValue())
					}
				}
			}
		}
	})

	t.Run("active sessions are read at most once per interval", func(t *testing.T) {
		s.login(t, "grace@example.com")
		if g := series(t, reg)["authd_active_sessions"]; g != 1 {
			t.Fatalf("within the interval active sessions = %v, want the cached 1", g)
		}
		s.clock.Advance(time.Minute)
		if g := series(t, reg)["authd_active_sessions"]; g != 2 {
			t.Fatalf("after the interval active sessions = %v, want 2", g)
		}
	})

	t.Run("the audit sealing lag is what the hook measures", func(t *testing.T) {
		m.SetAuditSealingLag(func(context.Context) (time.Duration, error) { return 1500 * time.Millisecond, nil },
			httpapi.SampleConfig{})
		if g, ok := series(t, reg)["authd_audit_sealing_lag_seconds"]; !ok || g != 1.5 {
			t.Fatalf("audit sealing lag = %v (present %v), want 1.5", g, ok)
		}
		m.SetAuditSealingLag(func(context.Context) (time.Duration, error) { return 0, errors.New("database down") },
			httpapi.SampleConfig{})
		if _, ok := series(t, reg)["authd_audit_sealing_lag_seconds"]; ok {
			t.Fatal("a failed reading still reports a lag")
		}
	})

	t.Run("the exposition format lists every series", func(t *testing.T) {
		srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		defer srv.Close()
		res, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		for _, name := range []string{"authd_http_requests_total", "authd_http_request_duration_seconds_bucket",
			"authd_logins_total", "authd_refreshes_total", "authd_token_reuse_detections_total",
			"authd_throttled_requests_total", "authd_password_hash_queue_depth", "authd_active_sessions"} {
			if !strings.Contains(string(body), "\n"+name) {
				t.Errorf("the scrape has no %s", name)
			}
		}
	})
}

func TestMetricsAreOptional(t *testing.T) {
	s := newStack(t)
	s.signUp(t, "ada@example.com")
	s.login(t, "ada@example.com")
}

func TestNewMetricsPanicsOnASecondRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	httpapi.NewMetrics(reg)
	defer func() {
		if recover() == nil {
			t.Fatal("registering the series twice did not panic")
		}
	}()
	httpapi.NewMetrics(reg)
}

func TestMetricsSharedByTwoHandlers(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := httpapi.NewMetrics(reg)
	one := newStack(t, withMetrics(m))
	two := newStack(t, withMetrics(m))
	one.signUp(t, "ada@example.com")
	two.signUp(t, "ada@example.com")
	if g := series(t, reg)[`authd_http_requests_total{method="POST",route="/api/v1/auth/register/",status="202"}`]; g != 2 {
		t.Fatalf("registrations counted = %v, want 2", g)
	}
}
