package alerts

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The example of the Standard Webhooks specification: any of its reference libraries
// verifies what the collector signs.
func TestSignMatchesTheSpecificationsExample(t *testing.T) {
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		body   = `{"test": 2432232314}`
		want   = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	ts := time.Unix(1614265330, 0)
	got, err := Sign(secret, id, ts, []byte(body))
	if err != nil || got != want {
		t.Fatalf("Sign = %q, %v; want %q", got, err, want)
	}
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,bm9ub3RoZXJzaWduYXR1cmU= "+want) // rotation: two signatures
	if err := Verify(secret, h, []byte(body), ts.Add(time.Minute)); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := Verify(secret, h, []byte(body), ts.Add(10*time.Minute)); err == nil || !strings.Contains(err.Error(), "off") {
		t.Errorf("Verify ten minutes late: %v, want a replay refusal", err)
	}
	if err := Verify(secret, h, []byte(`{"test": 1}`), ts); err == nil {
		t.Error("Verify accepted a changed body")
	}
}
