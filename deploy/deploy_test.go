package deploy_test

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/authd/auth/httpapi"
	"github.com/authd/auth/internal/testenv"
)

// need skips t when a tool is missing, or fails it with
// AUTHD_REQUIRE_SERVICES=1 (as in CI, where scripts/services.sh installs
// the tools).
func need(t *testing.T, tool string, err error) {
	t.Helper()
	if testenv.Required() {
		t.Fatalf("%s is required (AUTHD_REQUIRE_SERVICES=1) but unusable: %v; scripts/services.sh installs it as root", tool, err)
	}
	t.Skipf("skipping: %s unusable (%v); run scripts/services.sh as root, or set AUTHD_REQUIRE_SERVICES=1 to fail instead", tool, err)
}

// upstreamServer matches a "server host:port" line of an upstream block.
var upstreamServer = regexp.MustCompile(`(?m)^(\s*server\s+)([A-Za-z0-9.-]+):(\d+)`)

// nginxUpstreams returns the host:port of every upstream server in conf.
func nginxUpstreams(conf string) []string {
	var out []string
	for _, m := range upstreamServer.FindAllStringSubmatch(conf, -1) {
		out = append(out, m[2]+":"+m[3])
	}
	return out
}

func TestNginxConfigPassesNginxT(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			need(t, "nginx", err)
		}
		nginx = "/usr/sbin/nginx"
	}
	conf, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	// The compose service names resolve only inside compose, and nginx -t
	// resolves upstream hosts: the copy points them at local ports.
	i := 0
	copied := upstreamServer.ReplaceAllStringFunc(string(conf), func(line string) string {
		i++
		m := upstreamServer.FindStringSubmatch(line)
		return m[1] + "127.0.0.1:" + strconv.Itoa(18080+i)
	})
	if i != 2 {
		t.Fatalf("nginx.conf has %d upstream servers, want the 2 replicas", i)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(copied), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginx, "-t", "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "test is successful") {
		t.Fatalf("nginx -t said:\n%s", out)
	}
	t.Logf("%s", out)
}

// compose is the part of a compose file the tests read.
type compose struct {
	Services map[string]struct {
		Image       string            `json:"image"`
		Build       map[string]string `json:"build"`
		Environment map[string]string `json:"environment"`
		Ports       []string          `json:"ports"`
		Volumes     []string          `json:"volumes"`
		DependsOn   json.RawMessage   `json:"depends_on"`
		Networks    json.RawMessage   `json:"networks"`
	} `json:"services"`
	Networks map[string]struct {
		IPAM struct {
			Config []struct {
				Subnet string `json:"subnet"`
			} `json:"config"`
		} `json:"ipam"`
	} `json:"networks"`
}

// loadCompose parses docker-compose.yml with PyYAML (anchors and merge
// keys resolved) and decodes it through JSON. No Go YAML library is a
// dependency of the module, and no Docker engine (docker compose config)
// is available here. The pyenv or system python3 may lack PyYAML: each is
// tried.
func loadCompose(t *testing.T) compose {
	t.Helper()
	const script = "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)"
	var unusable []string
	for _, python := range []string{"python3", "/usr/bin/python3"} {
		cmd := exec.Command(python, "-c", script, "docker-compose.yml")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		var exit *exec.ExitError
		switch {
		case err == nil:
			var c compose
			if err := json.Unmarshal(out, &c); err != nil {
				t.Fatalf("docker-compose.yml does not have the expected shape: %v", err)
			}
			return c
		case errors.As(err, &exit) && !strings.Contains(stderr.String(), "ModuleNotFoundError"):
			t.Fatalf("docker-compose.yml does not parse as YAML:\n%s", stderr.String())
		}
		unusable = append(unusable, python+": "+err.Error())
	}
	need(t, "python3 with PyYAML", errors.New(strings.Join(unusable, "; ")))
	return compose{}
}

func TestComposeFile(t *testing.T) {
	c := loadCompose(t)
	for _, name := range []string{"postgres", "redis", "authd-1", "authd-2", "nginx"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("no service %q", name)
		}
	}
	one, two := c.Services["authd-1"], c.Services["authd-2"]

	t.Run("the replicas share their configuration", func(t *testing.T) {
		for _, k := range []string{"SECRET_KEY", "JWT_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "TRUSTED_PROXIES", "PUBLIC_URL"} {
			if one.Environment[k] == "" || one.Environment[k] != two.Environment[k] {
				t.Errorf("%s: %q and %q, want the same, set", k, one.Environment[k], two.Environment[k])
			}
		}
		if !strings.Contains(one.Environment["DATABASE_URL"], "@postgres:5432/") ||
			!strings.HasPrefix(one.Environment["REDIS_URL"], "redis://redis:6379") {
			t.Errorf("DATABASE_URL %q and REDIS_URL %q do not name the compose services",
				one.Environment["DATABASE_URL"], one.Environment["REDIS_URL"])
		}
		if one.Build["context"] != ".." || one.Build["dockerfile"] != "Dockerfile" {
			t.Errorf("build = %v, want the Dockerfile at the module's root", one.Build)
		}
	})

	t.Run("only nginx is published", func(t *testing.T) {
		for name, s := range c.Services {
			if name != "nginx" && len(s.Ports) > 0 {
				t.Errorf("%s publishes %v", name, s.Ports)
			}
		}
		if len(c.Services["nginx"].Ports) == 0 {
			t.Error("nginx publishes no port")
		}
		if !slices.Contains(c.Services["nginx"].Volumes, "./nginx.conf:/etc/nginx/nginx.conf:ro") {
			t.Errorf("nginx volumes %v do not mount nginx.conf", c.Services["nginx"].Volumes)
		}
	})

	t.Run("TRUSTED_PROXIES is nginx's address in the network", func(t *testing.T) {
		trusted, err := httpapi.ParseTrustedProxies(one.Environment["TRUSTED_PROXIES"])
		if err != nil || len(trusted) == 0 {
			t.Fatalf("TRUSTED_PROXIES %q: %v", one.Environment["TRUSTED_PROXIES"], err)
		}
		var nets map[string]struct {
			IPv4Address string `json:"ipv4_address"`
		}
		if err := json.Unmarshal(c.Services["nginx"].Networks, &nets); err != nil {
			t.Fatalf("nginx networks: %v", err)
		}
		addr, err := netip.ParseAddr(nets["backend"].IPv4Address)
		if err != nil {
			t.Fatalf("nginx has no fixed address on backend: %v", err)
		}
		subnet, err := netip.ParsePrefix(c.Networks["backend"].IPAM.Config[0].Subnet)
		if err != nil || !subnet.Contains(addr) {
			t.Fatalf("nginx's %v is not in the backend subnet %v (%v)", addr, subnet, err)
		}
		for _, p := range trusted {
			if !p.Contains(addr) {
				t.Errorf("TRUSTED_PROXIES range %v does not hold nginx's %v", p, addr)
			}
			if gw := subnet.Addr().Next(); p.Contains(gw) {
				t.Errorf("TRUSTED_PROXIES range %v holds the network's gateway %v", p, gw)
			}
		}
	})

	t.Run("nginx's upstreams are the replicas", func(t *testing.T) {
		conf, err := os.ReadFile("nginx.conf")
		if err != nil {
			t.Fatal(err)
		}
		got := nginxUpstreams(string(conf))
		want := []string{"authd-1:8080", "authd-2:8080"} // ADDR's default port
		if !slices.Equal(got, want) {
			t.Fatalf("upstream servers %v, want %v", got, want)
		}
		if addr := one.Environment["ADDR"]; addr != "" && !strings.HasSuffix(addr, ":8080") {
			t.Errorf("ADDR %q does not match the upstream port 8080", addr)
		}
		if !strings.Contains(string(conf), "proxy_set_header X-Forwarded-For $remote_addr;") {
			t.Error("nginx.conf does not replace X-Forwarded-For with the address it saw")
		}
		if !strings.Contains(string(conf), "location = /metrics") {
			t.Error("nginx.conf does not keep /metrics from the outside")
		}
	})
}

func TestDockerfile(t *testing.T) {
	df, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	if goLine == nil {
		t.Fatal("go.mod has no go line")
	}
	for _, want := range []string{
		"FROM golang:" + string(goLine[1]) + "-", // the builder's Go is go.mod's
		`CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/authd ./cmd/authd`,
		"FROM gcr.io/distroless/static-debian12:nonroot",
		"USER 65532:65532",
		"VOLUME /data",
		"EXPOSE 8080",
	} {
		if !bytes.Contains(df, []byte(want)) {
			t.Errorf("Dockerfile has no %q", want)
		}
	}

	// What the first stage does, without Docker: the binary must build
	// with cgo off and need no dynamic loader, or it would not start on
	// distroless/static. -trimpath is left out: it changes every package's
	// cache key, and rebuilding SQLite for it takes minutes; the cgo-off
	// build of .ci/run has already compiled the rest.
	if runtime.GOOS != "linux" {
		t.Skip("the static-binary check reads an ELF file")
	}
	bin := buildAuthd(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary needs a dynamic loader")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("the binary links %v", libs)
	}
}

func TestDockerignoreKeepsTheSources(t *testing.T) {
	b, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch line {
		case "go.mod", "go.sum", "cmd", "*.go", "**/*.go", "storage", "httpapi", "internal", "*":
			t.Errorf(".dockerignore drops %q, which the build needs", line)
		}
	}
}
