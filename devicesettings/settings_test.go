package devicesettings

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEffectiveLaysOverridesOverHQOverDefaults(t *testing.T) {
	defaults := Settings{ManagerPINHash: "local", IdleTimeoutSeconds: 30}
	chain := Settings{ManagerPINHash: "chain", Languages: []string{"en", "de"}, Sleep: "22:00-07:00"}
	store := Settings{ManagerPINHash: "store", DisplayName: "Till corner"}
	hq := store.Over(chain)
	for _, tc := range []struct {
		name      string
		hq, local Settings
		want      Settings
	}{
		{"no HQ settings: the defaults", Settings{}, Settings{}, defaults},
		{"the store's PIN over the chain's, the chain's languages kept", hq, Settings{},
			Settings{ManagerPINHash: "store", IdleTimeoutSeconds: 30, Languages: []string{"en", "de"}, DisplayName: "Till corner", Sleep: "22:00-07:00"}},
		{"a local override wins over HQ", hq, Settings{ManagerPINHash: "mine", Sleep: "20:00-08:00"},
			Settings{ManagerPINHash: "mine", IdleTimeoutSeconds: 30, Languages: []string{"en", "de"}, DisplayName: "Till corner", Sleep: "20:00-08:00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Effective(defaults, tc.hq, tc.local)
			if got.ManagerPINHash != tc.want.ManagerPINHash || got.IdleTimeoutSeconds != tc.want.IdleTimeoutSeconds ||
				!slices.Equal(got.Languages, tc.want.Languages) || got.DisplayName != tc.want.DisplayName || got.Sleep != tc.want.Sleep {
				t.Errorf("Effective = %+v, want %+v", got, tc.want)
			}
		})
	}
	if got := (Settings{ManagerPINHash: "x", Sleep: "01:00-02:00"}).Set(); !slices.Equal(got, []string{FieldPIN, FieldSleep}) {
		t.Errorf("Set = %v", got)
	}
	s, err := hq.Without(FieldPIN, FieldLanguages)
	if err != nil || s.ManagerPINHash != "" || s.Languages != nil || s.DisplayName != "Till corner" {
		t.Errorf("Without = %+v, %v", s, err)
	}
	if _, err := hq.Without("colour"); err == nil {
		t.Error("Without an unknown field: no error")
	}
}

func TestValidate(t *testing.T) {
	hash, err := HashPIN("2468")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		s    Settings
		want string // "" valid, else part of the error
	}{
		{"empty", Settings{}, ""},
		{"all set", Settings{ManagerPINHash: hash, IdleTimeoutSeconds: 45, Languages: []string{"en", "de"}, DisplayName: "Till 3", Brightness: 80, Sleep: "22:00-07:00"}, ""},
		{"a hash that is not argon2id", Settings{ManagerPINHash: "2468"}, "argon2id"},
		{"idle too short", Settings{IdleTimeoutSeconds: 2}, "idle timeout"},
		{"idle too long", Settings{IdleTimeoutSeconds: 601}, "idle timeout"},
		{"a language twice", Settings{Languages: []string{"en", "en"}}, "twice"},
		{"not a language", Settings{Languages: []string{"English"}}, "language tag"},
		{"a control character in the name", Settings{DisplayName: "Till\n3"}, "display name"},
		{"brightness over 100", Settings{Brightness: 101}, "brightness"},
		{"sleep without an end", Settings{Sleep: "22:00"}, "HH:MM-HH:MM"},
		{"sleep at 25 o'clock", Settings{Sleep: "25:00-07:00"}, "time of day"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestSleepWindow(t *testing.T) {
	at := func(hm string) time.Time {
		t.Helper()
		v, err := time.Parse("15:04", hm)
		if err != nil {
			t.Fatal(err)
		}
		return time.Date(2026, 12, 2, v.Hour(), v.Minute(), 0, 0, time.UTC)
	}
	for _, tc := range []struct {
		window, at string
		asleep     bool
		until      time.Duration
	}{
		{"22:00-07:00", "23:30", true, 7*time.Hour + 30*time.Minute},
		{"22:00-07:00", "06:59", true, time.Minute},
		{"22:00-07:00", "07:00", false, 15 * time.Hour},
		{"22:00-07:00", "21:59", false, time.Minute},
		{"12:00-13:30", "12:15", true, 75 * time.Minute},
		{"12:00-13:30", "13:30", false, 22*time.Hour + 30*time.Minute},
	} {
		w, err := ParseSleep(tc.window)
		if err != nil {
			t.Fatal(err)
		}
		if got := w.Contains(at(tc.at)); got != tc.asleep {
			t.Errorf("%s at %s: asleep %v, want %v", tc.window, tc.at, got, tc.asleep)
		}
		if got := w.Until(at(tc.at)); got != tc.until {
			t.Errorf("%s at %s: next change in %v, want %v", tc.window, tc.at, got, tc.until)
		}
		if w.String() != tc.window {
			t.Errorf("String = %s, want %s", w, tc.window)
		}
	}
}

func TestHashPIN(t *testing.T) {
	for _, bad := range []string{"", "123", "12a4", "1234567890123", " 1234"} {
		if _, err := HashPIN(bad); err == nil {
			t.Errorf("HashPIN(%q): no error", bad)
		}
	}
	h, err := HashPIN("0042")
	if err != nil {
		t.Fatal(err)
	}
	for pin, want := range map[string]bool{"0042": true, "042": false, "4200": false} {
		if ok, err := ComparePIN(pin, h); err != nil || ok != want {
			t.Errorf("ComparePIN(%q) = %v, %v; want %v", pin, ok, err, want)
		}
	}
	if fp := PINFingerprint(h); len(fp) > 10 || !strings.HasSuffix(h, strings.TrimPrefix(fp, "…")) {
		t.Errorf("PINFingerprint = %q", fp)
	}
}
