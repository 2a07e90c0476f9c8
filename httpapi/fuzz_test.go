package httpapi_test

// Fuzz targets of httpapi (issue 7, item 2): TRUSTED_PROXIES parsing, the
// client address behind proxies, and the JSON body of every request type
// through the real handler. Seed corpora are under testdata/fuzz/; plain
// `go test` replays them, `go test -fuzz` explores (see docs/security.md).

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	auth "github.com/authd/auth"
	"github.com/authd/auth/httpapi"
	"github.com/authd/auth/sso"
	"github.com/authd/auth/sso/ssotest"
	"github.com/authd/auth/storage"
)

func FuzzParseTrustedProxies(f *testing.F) {
	for _, s := range []string{"", " ", "10.0.0.0/8", "10.1.2.3/8, 192.168.0.1", "::1", "fe80::1%eth0", "::ffff:10.0.0.1/104",
		"::ffff:10.0.0.1", "0.0.0.0/0", "::/0", "1.2.3.4/33", "1.2.3.4/-1", "01.2.3.4", ",,", "10.0.0.0/8,,::1/128 ,",
		"2001:db8::/32", "1.2.3.4 5.6.7.8", "localhost", "10.0.0.0/08"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		prefixes, err := httpapi.ParseTrustedProxies(s)
		if err != nil {
			if prefixes != nil {
				t.Fatalf("ParseTrustedProxies(%q) = %v with error %v", s, prefixes, err)
			}
			return
		}
		var canonical []string
		for _, p := range prefixes {
			if !p.IsValid() || p != p.Masked() || p.Addr().Zone() != "" || p.Addr().Is4In6() {
				t.Fatalf("ParseTrustedProxies(%q) holds %v: invalid, unmasked, zoned or IPv4-mapped", s, p)
			}
			canonical = append(canonical, p.String())
		}
		// What it returns reads back as itself.
		again, err := httpapi.ParseTrustedProxies(strings.Join(canonical, ","))
		if err != nil || len(again) != len(prefixes) {
			t.Fatalf("ParseTrustedProxies(%q) = %v, which reads back as %v, %v", s, prefixes, again, err)
		}
		for i := range again {
			if again[i] != prefixes[i] {
				t.Fatalf("ParseTrustedProxies(%q) = %v, which reads back as %v", s, prefixes, again)
			}
		}
	})
}

func FuzzClientIP(f *testing.F) {
	for _, in := range [][4]string{
		{"192.0.2.1:1234", "", "", ""},
		{"192.0.2.1:1234", "203.0.113.7", "", ""},
		{"127.0.0.1:80", "203.0.113.7, 10.0.0.1", "", "127.0.0.1, 10.0.0.0/8"},
		{"127.0.0.1:80", "garbage, 203.0.113.7", "198.51.100.1", "127.0.0.1"},
		{"[::1]:80", "2001:db8::1, ::ffff:203.0.113.9", "", "::1"},
		{"[fe80::1%eth0]:80", "10.0.0.2", "", "fe80::/10"},
		{"10.0.0.1:80", "10.0.0.2, 10.0.0.3", "", "10.0.0.0/8"},
		{"@", "1.2.3.4", "", "0.0.0.0/0"},
		{"not an address", "", "", ""},
		{"[::ffff:127.0.0.1]:1", "203.0.113.1:443", "", "127.0.0.0/8"},
	} {
		f.Add(in[0], in[1], in[2], in[3])
	}
	f.Fuzz(func(t *testing.T, remote, xff1, xff2, trustedList string) {
		trusted, err := httpapi.ParseTrustedProxies(trustedList)
		if err != nil {
			return
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		bare := r.Clone(context.Background())
		for _, v := range []string{xff1, xff2} {
			if v != "" {
				r.Header.Add("X-Forwarded-For", v)
			}
		}
		got := httpapi.ClientIP(r, trusted)
		withoutHeader := httpapi.ClientIP(bare, trusted)

		peer, peerOK := parseAddr(remote)
		switch {
		case !peerOK:
			// An address that does not parse is never replaced by a header.
			if got != withoutHeader {
				t.Fatalf("ClientIP(remote %q, XFF %q %q) = %q, but %q without the header", remote, xff1, xff2, got, withoutHeader)
			}
		case !inAny(peer, trusted):
			// An untrusted peer is the client, whatever it says.
			if got != peer.String() {
				t.Fatalf("ClientIP(remote %q untrusted, XFF %q %q) = %q, want %q", remote, xff1, xff2, got, peer)
			}
		default:
			// A trusted peer's header names the client: an address from it,
			// never trusted itself unless every entry is.
			a, err := netip.ParseAddr(got)
			if err != nil || a.Zone() != "" || a.Is4In6() {
				t.Fatalf("ClientIP(remote %q, XFF %q %q) = %q: not a plain address", remote, xff1, xff2, got)
			}
			if got != peer.String() && !listed(a, xff1, xff2) {
				t.Fatalf("ClientIP(remote %q, XFF %q %q) = %q, which neither is the peer nor the header names", remote, xff1, xff2, got)
			}
			if inAny(a, trusted) && hasUntrusted(trusted, xff1, xff2) {
				t.Fatalf("ClientIP(remote %q, XFF %q %q, trusted %q) = %q, a proxy, though the header names a client", remote, xff1, xff2, trustedList, got)
			}
		}
	})
}

// parseAddr reads an address with or without a port, as ClientIP does.
func parseAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.WithZone("").Unmap(), true
}

func inAny(a netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// entries returns the addresses of X-Forwarded-For values.
func entries(values ...string) []netip.Addr {
	var out []netip.Addr
	for _, v := range values {
		for e := range strings.SplitSeq(v, ",") {
			if a, ok := parseAddr(strings.TrimSpace(e)); ok {
				out = append(out, a)
			}
		}
	}
	return out
}

func listed(a netip.Addr, values ...string) bool {
	for _, e := range entries(values...) {
		if e == a {
			return true
		}
	}
	return false
}

func hasUntrusted(trusted []netip.Prefix, values ...string) bool {
	for _, e := range entries(values...) {
		if !inAny(e, trusted) {
			return true
		}
	}
	return false
}

// lastError keeps the last line a logger wrote, so that a fuzzer's
// failure can say what went wrong without the log growing for millions
// of requests.
type lastError struct {
	mu   sync.Mutex
	line []byte
}

func (l *lastError) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.line = append(l.line[:0], p...)
	return len(p), nil
}

func (l *lastError) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.line)
}

// memoryMail keeps the last message to each address.
type memoryMail struct {
	mu   sync.Mutex
	last map[string]auth.Message
}

func (m *memoryMail) Send(_ context.Context, msg auth.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last[msg.To] = msg
	return nil
}

func (m *memoryMail) token(tb testing.TB, to string) string {
	tb.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range strings.Fields(m.last[to].Text) {
		if u, err := url.Parse(f); err == nil && u.Query().Get("token") != "" {
			return u.Query().Get("token")
		}
	}
	tb.Fatalf("no link in the mail to %s", to)
	return ""
}

// bodyTarget is the handler under FuzzRequestBodies, with a signed-in
// SYSTEM_ADMIN who owns the organisation "acme", and the ids its routes
// need.
type bodyTarget struct {
	h      http.Handler
	logs   *lastError
	access string
	vars   map[string]string
}

// newBodyTarget builds the handler as newStackOn does, on SQLite, for a
// testing.TB (a fuzz target sets up once per process, before f.Fuzz).
func newBodyTarget(tb testing.TB) *bodyTarget {
	tb.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, "sqlite:"+filepath.Join(tb.TempDir(), "authd.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	clock := newTestClock()
	cfg := testAuthConfig(clock)
	mail := &memoryMail{last: map[string]auth.Message{}}
	a, err := auth.NewAuthenticator(st, mail, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := auth.SeedPermissions(ctx, st); err != nil {
		tb.Fatal(err)
	}
	guard, err := auth.NewGuard(ctx, st, auth.GuardConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(guard.Close)
	orgs, err := auth.NewOrgService(st, mail, guard, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	admin, err := auth.NewAdmin(st, guard, clock.Now)
	if err != nil {
		tb.Fatal(err)
	}
	fake := ssotest.NewServer(tb)
	const callback = "http://authd.test/api/v1/auth/sso/callback/"
	google, err := sso.Google(fake.GoogleConfig(callback))
	if err != nil {
		tb.Fatal(err)
	}
	signOn, err := sso.NewService(a, st, map[string]sso.Provider{"google": google}, sso.Config{
		SecretKey: []byte("an SSO state key of at least 32 bytes"), FrontendURL: cfg.FrontendURL,
		RateLimitDisabled: true, Now: clock.Now})
	if err != nil {
		tb.Fatal(err)
	}
	logs := &lastError{}
	h, err := httpapi.New(httpapi.Config{Auth: a, Orgs: orgs, Admin: admin, SSO: signOn,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err != nil {
		tb.Fatal(err)
	}

	c := auth.Client{IP: "192.0.2.1"}
	signUp := func(addr string, role auth.GlobalRole) (auth.User, auth.Tokens) {
		if err := a.Register(ctx, c, auth.RegisterInput{Email: addr, Password: testPassword}); err != nil {
			tb.Fatal(err)
		}
		u, err := a.VerifyEmail(ctx, c, mail.token(tb, addr))
		if err != nil {
			tb.Fatal(err)
		}
		u.Role = role
		if err := st.UpdateUser(ctx, u); err != nil {
			tb.Fatal(err)
		}
		tok, _, err := a.Login(ctx, c, addr, testPassword)
		if err != nil {
			tb.Fatal(err)
		}
		return u, tok
	}
	sys, sysTok := signUp("sys@example.com", auth.RoleSystemAdmin)
	member, memberTok := signUp("member@example.com", auth.RoleEndUser)
	sysP, err := a.Authenticate(ctx, sysTok.Access)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := orgs.Create(ctx, c, sysP, "Acme", "acme"); err != nil {
		tb.Fatal(err)
	}
	if _, err := orgs.Invite(ctx, c, sysP, "acme", member.Email, auth.OrgMember); err != nil {
		tb.Fatal(err)
	}
	memberP, err := a.Authenticate(ctx, memberTok.Access)
	if err != nil {
		tb.Fatal(err)
	}
	if _, _, err := orgs.AcceptInvite(ctx, c, memberP, mail.token(tb, member.Email)); err != nil {
		tb.Fatal(err)
	}
	return &bodyTarget{h: h, logs: logs, access: sysTok.Access,
		vars: map[string]string{"{self}": sys.ID, "{member}": member.ID}}
}

// bodyRoutes are the routes that read a JSON body. POST /auth/logout/ and
// /auth/logout-all/ are left out, as they would end the fuzzer's session;
// their body types ({refresh}, {}) are those of POST /auth/token/refresh/
// and /orgs/{slug}/leave/.
var bodyRoutes = []struct {
	method, path string
	authed       bool
}{
	{"POST", "/auth/register/", false},
	{"POST", "/auth/verify-email/", false},
	{"POST", "/auth/verify-email/resend/", false},
	{"POST", "/auth/login/", false},
	{"POST", "/auth/token/refresh/", false},
	{"PATCH", "/auth/me/", true},
	{"POST", "/auth/password/change/", true},
	{"POST", "/auth/password/set/", true},
	{"POST", "/auth/password/forgot/", false},
	{"POST", "/auth/password/reset/", false},
	{"POST", "/auth/sso/google/", false},
	{"POST", "/auth/sso/exchange/", false},
	{"POST", "/orgs/create/", true},
	{"PATCH", "/orgs/acme/", true},
	{"PATCH", "/orgs/acme/members/{member}/", true},
	{"POST", "/orgs/acme/leave/", true},
	{"POST", "/orgs/acme/transfer-ownership/", true},
	{"POST", "/orgs/acme/invites/", true},
	{"POST", "/orgs/invites/accept/", true},
	{"PATCH", "/internal/users/{member}/", true},
	{"PUT", "/internal/permissions/user/STAFF/", true},
	{"PUT", "/internal/permissions/org/MEMBER/", true},
}

// contentTypes are the Content-Type headers the fuzzer picks from.
var contentTypes = []string{"application/json", "application/json; charset=utf-8", "", "text/plain", "application/JSON",
	"application/json;", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"}

// FuzzRequestBodies sends arbitrary bytes as the body of every route that
// reads one, through the whole handler. Whatever the bytes, the answer is
// never a 5xx, is described by the OpenAPI document (status, headers,
// body), and a 400 names a client error code.
func FuzzRequestBodies(f *testing.F) {
	target := newBodyTarget(f)
	bodies := []string{"", "{}", "null", "[]", `"x"`, "1", "{", `{"a":1}{}`, `{"email": 1}`, `{"name": {"x": 1}}`,
		`{"email":"new@example.com","password":"plum sextant harbour 9071","name":"N"}`, `{"email":"sys@example.com","password":"x"}`,
		`{"token":"x"}`, `{"refresh":"a.b.c"}`, `{"name":"Renamed"}`, `{"name":"a\u0000b"}`, `{"role":"MEMBER"}`, `{"role":"OWNER"}`,
		`{"user_id":"0b5c2c52-47d4-4b4e-9d37-6b2f3f0b2a11"}`, `{"email":"guest@example.com","role":"MEMBER"}`,
		`{"permissions":["internal.dashboard.view"]}`, `{"permissions":null}`, `{"permissions":[1]}`, `{"is_active":"yes"}`,
		`{"code":"x","state":"y"}`, `{"current_password":"x","new_password":"y"}`, `{"new_password":"` + strings.Repeat("p", 300) + `"}`,
		`{"name":"` + strings.Repeat("n", 201) + `"}`, "\ufeff{}", " \t\r\n{} ", `{"email":"\ud800@x.io"}`, `{"EMAIL":"A@B.IO"}`,
		strings.Repeat("[", 10000), `{"name":"x","name":"y"}`}
	for i := range bodyRoutes {
		for j, b := range bodies {
			f.Add(uint8(i), uint8(j%2), []byte(b)) // JSON, with and without a charset
		}
		for ct := range contentTypes[2:] {
			f.Add(uint8(i), uint8(2+ct), []byte(`{"name":"x"}`))
		}
	}
	f.Fuzz(func(t *testing.T, route, ctype uint8, body []byte) {
		rt := bodyRoutes[int(route)%len(bodyRoutes)]
		path := "/api/v1" + rt.path
		for k, v := range target.vars {
			path = strings.ReplaceAll(path, k, v)
		}
		req := httptest.NewRequest(rt.method, path, bytes.NewReader(body))
		req.RemoteAddr = "192.0.2.7:1234"
		if ct := contentTypes[int(ctype)%len(contentTypes)]; ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if rt.authed {
			req.Header.Set("Authorization", "Bearer "+target.access)
		}
		rec := httptest.NewRecorder()
		target.h.ServeHTTP(rec, req)
		res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
		if res.status >= 500 {
			t.Fatalf("%s %s with %q: %d %s; log: %s", rt.method, path, body, res.status, res.body, target.logs)
		}
		if res.status == http.StatusUnauthorized && rt.authed {
			t.Fatalf("%s %s: the fuzzer's session ended (%s)", rt.method, path, res.body)
		}
		check := httptest.NewRequest(rt.method, path, nil)
		check.Header = req.Header.Clone()
		if err := openAPIFor(t, false).checkOpenAPI(check, body, res); err != nil {
			t.Fatalf("OpenAPI: %s %s with %q → %d %s: %v", rt.method, path, body, res.status, res.body, err)
		}
		if res.status == http.StatusBadRequest {
			var p problem
			json.Unmarshal(res.body, &p)
			if p.Code != "invalid_request" && p.Code != "validation_failed" && p.Code != "invalid_token" {
				t.Fatalf("%s %s with %q: 400 %s", rt.method, path, body, res.body)
			}
		}
	})
}
