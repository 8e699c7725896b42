package clientnet

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientNetwork(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		remote, xff string
		want        string
	}{
		{"198.51.100.7:5000", "", "198.51.100.7"},
		{"198.51.100.7:5000", "203.0.113.9", "198.51.100.7"}, // not a proxy: its header is not believed
		{"10.1.2.3:5000", "203.0.113.9", "203.0.113.9"},
		{"10.1.2.3:5000", "192.0.2.1, 203.0.113.9, 10.9.9.9", "203.0.113.9"}, // the nearest untrusted hop
		{"10.1.2.3:5000", "garbage", "10.1.2.3"},
		{"10.1.2.3:5000", "", "10.1.2.3"},
		{"[2001:db8:1:2:3:4:5:6]:443", "", "2001:db8:1:2::/64"},
		{"[::1]:443", "2001:db8:aa:bb::1", "2001:db8:aa:bb::/64"},
		{"[::ffff:192.0.2.5]:80", "", "192.0.2.5"},
		{"pipe", "", "unknown"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "/s/x", nil)
		r.RemoteAddr = tt.remote
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := Network(r, proxies); got != tt.want {
			t.Errorf("Network(%s, %q) = %q, want %q", tt.remote, tt.xff, got, tt.want)
		}
	}
}
