package authguard

import (
	"crypto/tls"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// The client key is the IPv4 address or the IPv6 /64, read from X-Forwarded-For only
// behind a trusted proxy; HTTPS believes X-Forwarded-Proto only from one.
func TestClientAndHTTPS(t *testing.T) {
	g := New(Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	tests := []struct {
		remote, xff, proto string
		tls                bool
		client             string
		https              bool
	}{
		{"203.0.113.7:4000", "", "", false, "203.0.113.7", false},
		{"[2001:db8:1:2:3:4:5:6]:4000", "", "", false, "2001:db8:1:2::/64", false},
		{"[::ffff:203.0.113.7]:4000", "", "", false, "203.0.113.7", false},
		{"203.0.113.7:4000", "198.51.100.1", "https", false, "203.0.113.7", false}, // not a proxy: headers ignored
		{"10.1.2.3:4000", "198.51.100.1, 10.9.9.9", "https", false, "198.51.100.1", true},
		{"10.1.2.3:4000", "garbage", "http", false, "10.1.2.3", false},
		{"203.0.113.7:4000", "", "", true, "203.0.113.7", true},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if tt.proto != "" {
			r.Header.Set("X-Forwarded-Proto", tt.proto)
		}
		if tt.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if got := g.Client(r); got != tt.client {
			t.Errorf("Client(%s, XFF %q) = %q, want %q", tt.remote, tt.xff, got, tt.client)
		}
		if got := g.HTTPS(r); got != tt.https {
			t.Errorf("HTTPS(%s, proto %q, tls %v) = %v, want %v", tt.remote, tt.proto, tt.tls, got, tt.https)
		}
	}
}
