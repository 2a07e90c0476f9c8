package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrustedProxies parses TRUSTED_PROXIES: a comma-separated list of
// CIDR ranges, where a bare address stands for itself (/32 or /128).
// Surrounding white space and empty entries are ignored, so an empty string
// trusts no proxy. IPv4 ranges written in IPv4-mapped IPv6 form are stored as
// IPv4. It returns an error naming the first entry that is neither.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var prefixes []netip.Prefix
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		p, err := parsePrefix(entry)
		if err != nil {
			return nil, fmt.Errorf("httpapi: trusted proxy %q is neither an IP address nor a CIDR range", entry)
		}
		prefixes = append(prefixes, p)
	}
	return prefixes, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("bad address %q", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// ClientIP returns the address r came from. It is the connection's address
// (the host of r.RemoteAddr), unless that address is inside one of the
// trusted proxy ranges: then it is the right-most X-Forwarded-For entry
// (across every such header) that is not itself trusted, since every proxy
// appends the address it saw and only the trusted ones can be believed.
// Entries that are not IP addresses are skipped; when every entry is
// trusted the left-most valid one is used, and when none is valid the
// connection's address. IPv4-mapped IPv6 addresses are returned as IPv4.
// An X-Forwarded-For header from an untrusted peer changes nothing.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	peer, ok := parseIP(r.RemoteAddr)
	if !ok {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			return r.RemoteAddr
		}
		return host
	}
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	var forwarded []netip.Addr
	for _, header := range r.Header.Values("X-Forwarded-For") {
		for entry := range strings.SplitSeq(header, ",") {
			if a, ok := parseIP(strings.TrimSpace(entry)); ok {
				forwarded = append(forwarded, a)
			}
		}
	}
	for i := len(forwarded) - 1; i >= 0; i-- {
		if !isTrusted(forwarded[i], trusted) {
			return forwarded[i].String()
		}
	}
	if len(forwarded) > 0 {
		return forwarded[0].String()
	}
	return peer.String()
}

// parseIP reads an address with or without a port ("192.0.2.1",
// "192.0.2.1:443", "[2001:db8::1]:443"), drops any zone and unmaps
// IPv4-in-IPv6.
func parseIP(s string) (netip.Addr, bool) {
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

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
