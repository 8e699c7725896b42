package alerts

import (
	"context"
	"errors"
	"net/netip"
	"testing"
)

func TestURLPolicyRefusesWhatCouldReachInside(t *testing.T) {
	resolve := func(_ context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "hooks.example.com":
			return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
		case "rebind.example.com":
			return []netip.Addr{netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("10.1.2.3")}, nil
		case "localhost":
			return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}, nil
		}
		return nil, errors.New("no such host")
	}
	strict := URLPolicy{Resolve: resolve}
	loopback := URLPolicy{Resolve: resolve, AllowLoopbackHTTP: true}
	tests := []struct {
		name   string
		policy URLPolicy
		url    string
		ok     bool
	}{
		{"https to a public host", strict, "https://hooks.example.com/nps", true},
		{"http to a public host", strict, "http://hooks.example.com/nps", false},
		{"a name with one private address", strict, "https://rebind.example.com/", false},
		{"a private address", strict, "https://10.0.0.7/", false},
		{"192.168", strict, "https://192.168.1.1/", false},
		{"carrier-grade NAT", strict, "https://100.64.0.1/", false},
		{"cloud metadata (link-local)", strict, "http://169.254.169.254/latest/meta-data/", false},
		{"IPv6 link-local", strict, "https://[fe80::1]/", false},
		{"IPv6 unique local", strict, "https://[fd00::1]/", false},
		{"IPv4-mapped private", strict, "https://[::ffff:10.0.0.1]/", false},
		{"unspecified", strict, "https://0.0.0.0/", false},
		{"loopback without the flag", strict, "https://127.0.0.1/", false},
		{"localhost without the flag", strict, "http://localhost:9000/", false},
		{"loopback http with the flag", loopback, "http://127.0.0.1:9000/hook", true},
		{"localhost http with the flag", loopback, "http://localhost:9000/hook", true},
		{"private http even with the flag", loopback, "http://10.0.0.7/", false},
		{"public http even with the flag", loopback, "http://hooks.example.com/", false},
		{"credentials in the URL", strict, "https://user:pw@hooks.example.com/", false},
		{"an unknown host", strict, "https://nowhere.invalid/", false},
		{"not a URL", strict, "hooks.example.com/nps", false},
	}
	for _, tt := range tests {
		err := tt.policy.Check(context.Background(), tt.url)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrRefusedURL)) {
			t.Errorf("%s: Check(%s) = %v, want ok=%v", tt.name, tt.url, err, tt.ok)
		}
	}
}

// The client checks every connection as it is dialled, so a name that later resolves
// inside (DNS rebinding) is refused too.
func TestClientRefusesToDialALoopbackAddress(t *testing.T) {
	_, err := URLPolicy{}.Client(0).Get("http://127.0.0.1:1/")
	if !errors.Is(err, ErrRefusedURL) {
		t.Errorf("dial 127.0.0.1 without the flag: %v, want ErrRefusedURL", err)
	}
}
