package dashboard

import (
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/contactseal"
)

// TestDeviceCertificateAndContactKey: the devices page warns of a collector certificate
// a kiosk saw expiring within 14 days or expired, and flags a kiosk's contact key that
// is an older one of the collector's (a rotation not yet reached it) or one the
// collector does not hold.
func TestDeviceCertificateAndContactKey(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	old, _ := contactseal.GenerateKey()
	cur, _ := contactseal.GenerateKey()
	other, _ := contactseal.GenerateKey()
	ring, err := contactseal.NewKeyring(old, cur)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		keys    *contactseal.Keyring
		expiry  time.Time
		keyID   string
		cert    string
		keyFlag string
	}{
		{"plain HTTP, no key", nil, time.Time{}, "", "", ""},
		{"30 days left, current key", ring, now.Add(30 * 24 * time.Hour), cur.ID(), "", ""},
		{"14 days left", ring, now.Add(14 * 24 * time.Hour), cur.ID(), "collector certificate expires in 14 days", ""},
		{"half a day left", ring, now.Add(12 * time.Hour), cur.ID(), "collector certificate expires in 1 day", ""},
		{"expired", ring, now.Add(-time.Hour), cur.ID(), "collector certificate expired 2026-11-20 11:00 UTC", ""},
		{"an older key", ring, time.Time{}, old.ID(), "", "an older key: the rotation has not reached it yet"},
		{"a key the collector does not hold", ring, time.Time{}, other.ID(), "", "not held by this collector: its contacts arrive sealed"},
		{"a key, and the collector has none", nil, time.Time{}, other.ID(), "", "not held by this collector: its contacts arrive sealed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dd := devicesData{now: now, keys: tc.keys}
			d := storage.Device{Enrolled: true, LastSeen: now, CollectorCertExpiry: tc.expiry, ContactKeyID: tc.keyID}
			if got := dd.CertWarning(d); got != tc.cert {
				t.Errorf("certificate warning %q, want %q", got, tc.cert)
			}
			if got := dd.Problem(d); got != tc.cert {
				t.Errorf("health %q, want %q", got, tc.cert)
			}
			if got := dd.KeyFlag(d); got != tc.keyFlag {
				t.Errorf("key flag %q, want %q", got, tc.keyFlag)
			}
		})
	}
}
