package devicesettings

import "sync/atomic"

// Holder keeps the settings a kiosk runs with: HQ's latest, between the kiosk's local
// defaults and its local overrides (Effective). The sync worker sets HQ's from its
// goroutine while the UI reads Current from its own: both are safe at once.
type Holder struct {
	defaults, overrides Settings
	current             atomic.Pointer[Settings]
}

// NewHolder makes a holder with no settings from HQ yet.
func NewHolder(defaults, overrides Settings) *Holder {
	h := &Holder{defaults: defaults, overrides: overrides}
	h.SetHQ(Settings{})
	return h
}

// SetHQ takes new settings from HQ.
func (h *Holder) SetHQ(hq Settings) {
	s := Effective(h.defaults, hq, h.overrides)
	h.current.Store(&s)
}

// Current is what the kiosk runs with now.
func (h *Holder) Current() Settings { return *h.current.Load() }

// Overridden names the settings the local overrides set: HQ's value of them does not
// apply on this kiosk.
func (h *Holder) Overridden() []string { return h.overrides.Set() }
