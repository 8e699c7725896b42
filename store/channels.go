package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/npskiosk/npskiosk/nps"
)

// ChannelFigures is the store's NPS per channel (kiosk, QR code, web, e-mail, …) over its
// last days, as the collector last counted it: this kiosk holds only its own answers, so
// the store's other channels come from the collector, and are kept here to show offline.
type ChannelFigures struct {
	From     string         `json:"from"` // the days covered, on the store's calendar
	To       string         `json:"to"`
	AsOf     time.Time      `json:"as_of"` // when the collector counted
	Channels []ChannelTally `json:"channels"`
}

// ChannelTally is one channel's count.
type ChannelTally struct {
	Channel    string `json:"channel"`
	Promoters  int64  `json:"promoters"`
	Passives   int64  `json:"passives"`
	Detractors int64  `json:"detractors"`
}

// Tally is the channel's NPS tally.
func (c ChannelTally) Tally() nps.Tally {
	return nps.Tally{Promoters: c.Promoters, Passives: c.Passives, Detractors: c.Detractors}
}

// settingChannelFigures keeps the figures in the settings table: one small document,
// replaced whole.
const settingChannelFigures = "store.channel_figures"

// ReplaceChannelFigures keeps f as the store's latest figures per channel.
func (db *DB) ReplaceChannelFigures(ctx context.Context, f ChannelFigures) error {
	body, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("keep channel figures: %w", err)
	}
	if err := db.SetSetting(ctx, settingChannelFigures, string(body)); err != nil {
		return fmt.Errorf("keep channel figures: %w", err)
	}
	return nil
}

// ChannelFigures returns the latest figures per channel, and false when the collector has
// sent none yet.
func (db *DB) ChannelFigures(ctx context.Context) (ChannelFigures, bool, error) {
	raw, ok, err := db.Setting(ctx, settingChannelFigures)
	if err != nil || !ok {
		return ChannelFigures{}, false, err
	}
	var f ChannelFigures
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		return ChannelFigures{}, false, fmt.Errorf("channel figures: %w", err)
	}
	return f, true, nil
}
