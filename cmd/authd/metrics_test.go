package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// get fetches url and returns its status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestMetricsOnTheMainListener(t *testing.T) {
	t.Chdir(t.TempDir())
	base := startServe(t, map[string]string{})
	resp := post(t, base+"/api/v1/auth/register/", `{"email":"new@example.com","password":"correct horse battery staple"}`, "")
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("register = %d", resp.StatusCode)
	}

	status, body := get(t, base+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics = %d", status)
	}
	for _, want := range []string{
		`authd_http_requests_total{method="POST",route="/api/v1/auth/register/",status="202"} 1`,
		"authd_password_hash_queue_depth 0",
		`authd_password_hash_seconds_count{phase="run"} 1`, // the registration's hash
		`authd_password_hash_seconds_count{phase="wait"} 1`,
		"authd_active_sessions 0",
		"authd_audit_sealing_lag_seconds ",
		"go_goroutines ",
		"process_cpu_seconds_total ",
		"promhttp_metric_handler_requests_total",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no %q", want)
		}
	}
	if strings.Contains(body, "new@example.com") {
		t.Error("/metrics shows an email address")
	}
}

func TestMetricsOnTheirOwnAddress(t *testing.T) {
	metricsAddr := freeAddr(t)
	t.Run("served on METRICS_ADDR only", func(t *testing.T) {
		t.Chdir(t.TempDir())
		base := startServe(t, map[string]string{"METRICS_ADDR": metricsAddr})
		if status, _ := get(t, base+"/metrics"); status != http.StatusNotFound {
			t.Errorf("GET /metrics on ADDR = %d, want 404", status)
		}
		status, body := get(t, "http://"+metricsAddr+"/metrics")
		if status != http.StatusOK || !strings.Contains(body, "authd_password_hash_queue_depth") {
			t.Fatalf("GET /metrics on METRICS_ADDR = %d:\n%s", status, body)
		}
		if status, _ := get(t, "http://"+metricsAddr+"/api/v1/auth/me/"); status != http.StatusNotFound {
			t.Errorf("the API on METRICS_ADDR = %d, want 404", status)
		}
	})
	// The subtest's cleanup shut the server down: the metrics listener
	// went with it.
	if c, err := net.DialTimeout("tcp", metricsAddr, time.Second); err == nil {
		c.Close()
		t.Fatal("METRICS_ADDR still accepts connections after shutdown")
	}
}

func TestMetricsAddrInUse(t *testing.T) {
	t.Chdir(t.TempDir())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	vars := map[string]string{"ADDR": freeAddr(t), "METRICS_ADDR": ln.Addr().String()}
	err = run(t.Context(), []string{"serve"}, envOf(vars), strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "METRICS_ADDR") {
		t.Fatalf("serve with METRICS_ADDR in use = %v, want an error naming it", err)
	}
}
