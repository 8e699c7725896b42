package bench

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestXvfbStopsClean: the footprint benchmark's display ends with SIGTERM and leaves no
// /tmp/.X<n>-lock or /tmp/.X11-unix/X<n> behind (a SIGKILLed Xvfb leaves both).
func TestXvfbStopsClean(t *testing.T) {
	if _, err := exec.LookPath("Xvfb"); err != nil {
		t.Skip("Xvfb is not installed (make deps installs it)")
	}
	var x *xDisplay
	t.Run("start", func(t *testing.T) {
		x = startXvfb(t) // stopped by stopXvfb when this subtest ends, failing it on a leftover
		if !x.blank() {
			t.Error("a new display is not blank")
		}
	})
	if x == nil {
		return
	}
	n := strings.TrimPrefix(x.name, ":")
	for _, path := range []string{"/tmp/.X" + n + "-lock", "/tmp/.X11-unix/X" + n} {
		if _, err := os.Stat(path); err == nil {
			t.Errorf("%s is left after the display stopped", path)
		}
	}
}
