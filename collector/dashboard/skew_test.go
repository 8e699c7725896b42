package dashboard

import (
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// TestDeviceClockSkew: the devices page says a device's skew in words and flags a clock
// off by more than 5 minutes either way.
func TestDeviceClockSkew(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	dd := devicesData{now: now}
	for _, tc := range []struct {
		skew        time.Duration
		say, health string
	}{
		{0, "0 s", ""},
		{1500 * time.Millisecond, "+1 s", ""},
		{-4 * time.Minute, "−4 min", ""},
		{time.Hour, "+1 h 0 min", "clock off by +1 h 0 min"},
		{-24 * time.Hour, "−24 h 0 min", "clock off by −24 h 0 min"},
		{-25 * 365 * 24 * time.Hour, "−9125 d", "clock off by −9125 d"},
	} {
		d := storage.Device{Enrolled: true, LastSeen: now, ClockSkewMS: tc.skew.Milliseconds()}
		if got := dd.Skew(d.ClockSkewMS); got != tc.say {
			t.Errorf("skew %v shown as %q, want %q", tc.skew, got, tc.say)
		}
		if got := dd.Problem(d); got != tc.health {
			t.Errorf("skew %v: health %q, want %q", tc.skew, got, tc.health)
		}
	}
}
