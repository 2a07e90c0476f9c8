package httpapi_test

import (
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"

	"github.com/authd/auth/httpapi"
)

func TestParseTrustedProxies(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"an empty string trusts nobody", "", nil},
		{"white space alone trusts nobody", "  ", nil},
		{"a CIDR range is kept, masked", "10.1.2.3/8", []string{"10.0.0.0/8"}},
		{"a bare IPv4 address is a /32", "192.0.2.7", []string{"192.0.2.7/32"}},
		{"a bare IPv6 address is a /128", "2001:db8::1", []string{"2001:db8::1/128"}},
		{"entries are comma-separated and trimmed", " 10.0.0.0/8 , 192.0.2.1,fd00::/8 ",
			[]string{"10.0.0.0/8", "192.0.2.1/32", "fd00::/8"}},
		{"empty entries are skipped", "10.0.0.0/8,,", []string{"10.0.0.0/8"}},
		{"an IPv4-mapped address is stored as IPv4", "::ffff:192.0.2.1", []string{"192.0.2.1/32"}},
		{"an IPv4-mapped range is stored as IPv4", "::ffff:10.0.0.0/104", []string{"10.0.0.0/8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := httpapi.ParseTrustedProxies(tt.in)
			if err != nil {
				t.Fatalf("ParseTrustedProxies(%q): %v", tt.in, err)
			}
			var gotS []string
			for _, p := range got {
				gotS = append(gotS, p.String())
			}
			if !slices.Equal(gotS, tt.want) {
				t.Errorf("ParseTrustedProxies(%q) = %v, want %v", tt.in, gotS, tt.want)
			}
		})
	}

	for _, bad := range []string{"proxy.example", "10.0.0.0/33", "10.0.0.1/8/8", "10.0.0.0/8, nope", "fe80::1%eth0"} {
		t.Run("rejects "+bad, func(t *testing.T) {
			if got, err := httpapi.ParseTrustedProxies(bad); err == nil {
				t.Errorf("ParseTrustedProxies(%q) = %v, want an error", bad, got)
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	trusted, err := httpapi.ParseTrustedProxies("10.0.0.0/8, 2001:db8:ffff::/48")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"without trusted proxies the connection's address is the client", "192.0.2.1:1234", nil, nil, "192.0.2.1"},
		{"an untrusted peer's X-Forwarded-For is ignored", "192.0.2.1:1234",
			[]string{"203.0.113.9"}, trusted, "192.0.2.1"},
		{"X-Forwarded-For is ignored when no proxy is trusted", "10.0.0.5:1234",
			[]string{"203.0.113.9"}, nil, "10.0.0.5"},
		{"a trusted proxy's X-Forwarded-For names the client", "10.0.0.5:1234",
			[]string{"203.0.113.9"}, trusted, "203.0.113.9"},
		{"the right-most untrusted entry wins over spoofed ones to its left", "10.0.0.5:1234",
			[]string{"6.6.6.6, 203.0.113.9, 10.0.0.7"}, trusted, "203.0.113.9"},
		{"entries are read across every X-Forwarded-For header", "10.0.0.5:1234",
			[]string{"6.6.6.6, 198.51.100.1", "203.0.113.9", "10.0.0.8"}, trusted, "203.0.113.9"},
		{"invalid entries are skipped", "10.0.0.5:1234",
			[]string{"203.0.113.9, unknown, , 10.0.0.7"}, trusted, "203.0.113.9"},
		{"entries with a port are read", "10.0.0.5:1234",
			[]string{"203.0.113.9:5555, 10.0.0.7"}, trusted, "203.0.113.9"},
		{"when every entry is trusted the left-most one is used", "10.0.0.5:1234",
			[]string{"10.0.0.9, 10.0.0.7"}, trusted, "10.0.0.9"},
		{"when no entry is valid the connection's address is used", "10.0.0.5:1234",
			[]string{"unknown, _hidden"}, trusted, "10.0.0.5"},
		{"a trusted peer without X-Forwarded-For is the client", "10.0.0.5:1234", nil, trusted, "10.0.0.5"},
		{"IPv6 peers and entries are understood", "[2001:db8:ffff::1]:443",
			[]string{"2001:db8:1::42"}, trusted, "2001:db8:1::42"},
		{"an IPv4-mapped peer is unmapped and matched against IPv4 ranges", "[::ffff:10.0.0.5]:1234",
			[]string{"::ffff:203.0.113.9"}, trusted, "203.0.113.9"},
		{"an IPv4-mapped untrusted peer is returned as IPv4", "[::ffff:192.0.2.1]:1234", nil, nil, "192.0.2.1"},
		{"a peer address without a port is read", "192.0.2.1", nil, nil, "192.0.2.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := httpapi.ClientIP(r, tt.trusted); got != tt.want {
				t.Errorf("ClientIP(remote %s, XFF %q) = %q, want %q", tt.remote, tt.xff, got, tt.want)
			}
		})
	}
}
