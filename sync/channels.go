package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/npskiosk/npskiosk/store"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// ChannelStore is the part of the kiosk's store that keeps the store's NPS per channel,
// which only the collector knows.
type ChannelStore interface {
	ReplaceChannelFigures(ctx context.Context, f store.ChannelFigures) error
}

func (w *Worker) channels() ChannelStore {
	if w.cfg.Channels != nil {
		return w.cfg.Channels
	}
	cs, _ := w.cfg.Store.(ChannelStore)
	return cs
}

// PullChannels replaces the kept figures per channel with the collector's current ones
// (GET /v1/device/channels). A collector from before channels answers 404: there is
// nothing to show, and nothing is wrong. Without a ChannelStore it does nothing.
func (w *Worker) PullChannels(ctx context.Context) error {
	cs := w.channels()
	if cs == nil {
		return nil
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, w.cfg.CollectorURL+"/v1/device/channels", nil)
	if err != nil {
		return fmt.Errorf("build channels request: %w", err)
	}
	resp, raw, err := w.send(req)
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	if resp.StatusCode != http.StatusOK {
		return w.fail(fmt.Errorf("the collector refused the channels request (%s)", resp.Status), true)
	}
	var sc wire.StoreChannels
	if err := json.Unmarshal(raw, &sc); err != nil {
		return w.fail(fmt.Errorf("read the store's channels: %w", err), true)
	}
	f := store.ChannelFigures{From: sc.From, To: sc.To, AsOf: sc.AsOf, Channels: make([]store.ChannelTally, 0, len(sc.Channels))}
	for _, c := range sc.Channels {
		f.Channels = append(f.Channels, store.ChannelTally{Channel: c.Channel, Promoters: c.Promoters, Passives: c.Passives, Detractors: c.Detractors})
	}
	if err := cs.ReplaceChannelFigures(ctx, f); err != nil {
		return fmt.Errorf("keep the store's channels: %w", err)
	}
	return nil
}
