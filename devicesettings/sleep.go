package devicesettings

import (
	"fmt"
	"strings"
	"time"
)

// SleepWindow is a daily span of the store's clock during which the kiosk sleeps, from
// Start up to (not including) End, minutes after midnight. End before Start spans
// midnight ("22:00-07:00").
type SleepWindow struct {
	Start, End int
}

// ParseSleep reads "HH:MM-HH:MM".
func ParseSleep(s string) (SleepWindow, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return SleepWindow{}, fmt.Errorf("sleep hours %q: want HH:MM-HH:MM, e.g. 22:00-07:00", s)
	}
	start, err := clockMinutes(from)
	if err != nil {
		return SleepWindow{}, fmt.Errorf("sleep hours %q: %w", s, err)
	}
	end, err := clockMinutes(to)
	if err != nil {
		return SleepWindow{}, fmt.Errorf("sleep hours %q: %w", s, err)
	}
	if start == end {
		return SleepWindow{}, fmt.Errorf("sleep hours %q: the start and the end are the same", s)
	}
	return SleepWindow{Start: start, End: end}, nil
}

func clockMinutes(s string) (int, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// Contains says whether t, on its own location's clock, is in the window.
func (w SleepWindow) Contains(t time.Time) bool {
	m := t.Hour()*60 + t.Minute()
	if w.Start < w.End {
		return m >= w.Start && m < w.End
	}
	return m >= w.Start || m < w.End
}

// Until is how long from t until the window's end (t in the window) or its start
// (t outside it), on t's clock; at least a minute.
func (w SleepWindow) Until(t time.Time) time.Duration {
	target := w.Start
	if w.Contains(t) {
		target = w.End
	}
	m := t.Hour()*60 + t.Minute()
	d := (target - m + 24*60) % (24 * 60)
	wait := time.Duration(d)*time.Minute - time.Duration(t.Second())*time.Second - time.Duration(t.Nanosecond())
	return max(wait, time.Minute)
}

// String is the window as ParseSleep reads it.
func (w SleepWindow) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", w.Start/60, w.Start%60, w.End/60, w.End%60)
}
