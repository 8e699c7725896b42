// Package clientnet says who an HTTP request comes from, for rate limits and repeat
// rules: the remote address, or behind a trusted reverse proxy the nearest address in
// X-Forwarded-For that is not one. The web survey, the widget, the app API and the
// auth guard all count clients this one way.
package clientnet

import (
	"net/http"
	"net/netip"
	"strings"
)

// Network is the request's client network: an IPv4 address counts one by one, an IPv6
// one by its /64, which one home or phone gets whole. "unknown" when the remote address
// cannot be read.
func Network(r *http.Request, trusted []netip.Prefix) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	addr := ap.Addr()
	if err != nil {
		a, err := netip.ParseAddr(r.RemoteAddr)
		if err != nil {
			return "unknown"
		}
		addr = a
	}
	addr = addr.Unmap()
	if Trusted(addr, trusted) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a garbled header: the last trusted proxy is the client we know
			}
			addr = hop.Unmap()
			if !Trusted(addr, trusted) {
				break
			}
		}
	}
	if addr.Is4() {
		return addr.String()
	}
	p, _ := addr.Prefix(64)
	return p.String()
}

// Trusted reports whether a is one of the trusted proxies.
func Trusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// HTTPS reports whether the client reached the collector over TLS: directly, or through
// a trusted proxy that says so in X-Forwarded-Proto.
func HTTPS(r *http.Request, trusted []netip.Prefix) bool {
	if r.TLS != nil {
		return true
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && Trusted(ap.Addr().Unmap(), trusted) && r.Header.Get("X-Forwarded-Proto") == "https"
}
