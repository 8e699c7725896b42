package kiosk

import (
	"context"
	"fmt"
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/store"
)

// ChannelStats holds the store's NPS per channel as the collector last counted it: the
// kiosk sees only its own answers, so the store's QR, web and e-mail ones come from HQ.
type ChannelStats interface {
	ChannelFigures(ctx context.Context) (store.ChannelFigures, bool, error)
}

func (a *App) channelStats() ChannelStats {
	if a.cfg.Channels != nil {
		return a.cfg.Channels
	}
	cs, _ := a.cfg.Stats.(ChannelStats)
	return cs
}

// otherChannels reports whether the figures hold answers from a channel other than the
// kiosks: only then does a table per channel tell the manager something new.
func otherChannels(f store.ChannelFigures) bool {
	for _, c := range f.Channels {
		if c.Channel != response.ChannelKiosk && c.Tally().Total() > 0 {
			return true
		}
	}
	return false
}

// channelName is a channel in the manager's language; a link's own label as it is.
func (a *App) channelName(ch string) string {
	key := "manager.channel." + ch
	if name := a.t(key); name != key {
		return name
	}
	return ch
}

// channelTable shows the store's NPS per channel, with each one's margin and count, and
// when HQ counted them: they come with the sync and show offline as they were.
func (s *managerScreen) channelTable(f store.ChannelFigures, narrow bool) fyne.CanvasObject {
	a := s.app
	if narrow {
		// A phone has no room for columns: each channel's name, then its figures.
		box := container.NewVBox(heading(a.t("manager.channels")))
		for _, c := range f.Channels {
			if t := c.Tally(); t.Total() > 0 {
				box.Add(text(a.channelName(c.Channel), textBody, true, fyne.TextAlignLeading, theme.ColorNameForeground))
				box.Add(text("NPS "+formatNPS(t.NPS())+" "+a.t("manager.moe", "moe", fmt.Sprintf("%.0f", t.MarginOfError()))+" · "+
					a.t("manager.responses", "n", strconv.FormatInt(t.Total(), 10)), textBody, false, fyne.TextAlignLeading, theme.ColorNameForeground))
			}
		}
		box.Add(s.channelsAsOf(f))
		return box
	}
	// The figures sit in columns as wide as their widest entry on the right; the channel's
	// name takes what is left and wraps, so a long name never widens a phone-sized window.
	type line struct {
		name     string
		bold     bool
		score, n string
		cells    [2]*widget.RichText
	}
	lines := []line{{name: a.t("manager.channel"), bold: true, score: "NPS", n: "n"}}
	for _, c := range f.Channels {
		if t := c.Tally(); t.Total() > 0 {
			lines = append(lines, line{name: a.channelName(c.Channel),
				score: formatNPS(t.NPS()) + " " + a.t("manager.moe", "moe", fmt.Sprintf("%.0f", t.MarginOfError())),
				n:     strconv.FormatInt(t.Total(), 10)})
		}
	}
	var widths [2]float32
	for i := range lines {
		for j, v := range []string{lines[i].score, lines[i].n} {
			cell := label(v, textBody, lines[i].bold || j == 0, fyne.TextAlignTrailing, theme.ColorNameForeground)
			lines[i].cells[j] = cell
			widths[j] = max(widths[j], cell.MinSize().Width)
		}
	}
	box := container.NewVBox(heading(a.t("manager.channels")))
	for _, l := range lines {
		nums := container.NewHBox()
		for j, cell := range l.cells {
			nums.Add(container.New(layout.NewGridWrapLayout(fyne.NewSize(widths[j], cell.MinSize().Height)), cell))
		}
		box.Add(container.NewBorder(nil, nil, nil, nums, text(l.name, textBody, l.bold, fyne.TextAlignLeading, theme.ColorNameForeground)))
	}
	box.Add(s.channelsAsOf(f))
	return box
}

// channelsAsOf says when HQ counted the figures, on the store's clock.
func (s *managerScreen) channelsAsOf(f store.ChannelFigures) fyne.CanvasObject {
	return text(s.app.t("manager.channels_asof", "when", f.AsOf.In(s.app.loc).Format("2006-01-02 15:04")),
		textBody, false, fyne.TextAlignLeading, theme.ColorNameForeground)
}
