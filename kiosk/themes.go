package kiosk

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"

	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/store"
)

// ThemeStats counts the comment themes of the kiosk's own answers.
type ThemeStats interface {
	ThemeFigures(ctx context.Context, themes *store.Themes, from, to time.Time, minResponses int64) (store.ThemeFigures, error)
}

// topThemes is how many ranked themes the manager view shows.
const topThemes = 5

func (a *App) themeStats() ThemeStats {
	if a.cfg.Themes != nil {
		return a.cfg.Themes
	}
	ts, _ := a.cfg.Stats.(ThemeStats)
	return ts
}

// surveyThemes is the analyzer of the survey's taxonomy, built once per survey version:
// building it costs more than reading a month of comments. A survey's version changes
// with every change to it, its themes included.
func (a *App) surveyThemes() (*store.Themes, error) {
	if a.themes != nil && a.themesVersion == a.survey.Version {
		return a.themes, nil
	}
	t, err := store.NewThemes(a.survey.Taxonomy())
	if err != nil {
		return nil, fmt.Errorf("survey version %d: %w", a.survey.Version, err)
	}
	a.themes, a.themesVersion = t, a.survey.Version
	return t, nil
}

// themeLabel is a theme in the manager's language, else in the survey's first, else its key.
func (a *App) themeLabel(themes *store.Themes, key string) string {
	th, ok := themes.Taxonomy().Lookup(key)
	if !ok {
		return key
	}
	for _, lang := range []string{a.lang, a.survey.Languages[0]} {
		if l := th.Labels[lang]; l != "" {
			return l
		}
	}
	return key
}

// loadThemes fills the themes section in the background: tagging a month of comments
// takes tens of milliseconds, too long to hold up the dashboard's first frame. The
// result is drawn on the UI goroutine (fyne.Do), and only if the dashboard still shows.
func (s *managerScreen) loadThemes(from, to time.Time) {
	a := s.app
	ts := a.themeStats()
	if ts == nil {
		return
	}
	s.themes = container.NewVBox(heading(a.t("manager.themes")), bodyText(a.t("manager.themes_loading")))
	themes, err := a.surveyThemes()
	if err != nil {
		a.log.Error("manager view could not build the survey's comment themes", "err", err)
		s.renderThemes(nil, store.ThemeFigures{}, err)
		return
	}
	screen := a.screen
	a.background(func() {
		ctx, cancel := a.ctx()
		defer cancel()
		f, err := ts.ThemeFigures(ctx, themes, from, to, nps.DefaultMinResponses)
		if err != nil {
			a.log.Error("manager view could not count the comment themes", "err", err)
		}
		a.onUI(func() {
			if a.screen == screen {
				s.renderThemes(themes, f, err)
			}
		})
	})
}

// renderThemes shows the top themes by impact, each with how many mention it, the NPS
// points it would give back if fixed, and whether answers that mention it score
// differently from the others, in words; then the themes with too few answers to rank.
func (s *managerScreen) renderThemes(themes *store.Themes, f store.ThemeFigures, err error) {
	a := s.app
	objs := []fyne.CanvasObject{heading(a.t("manager.themes"))}
	var ranked, few []store.ThemeFigure
	for _, th := range f.Themes {
		if th.Rank > 0 {
			ranked = append(ranked, th)
		} else {
			few = append(few, th)
		}
	}
	switch {
	case err != nil:
		objs = append(objs, text(a.t("manager.themes_error"), textBody, false, fyne.TextAlignLeading, theme.ColorNameError))
	case len(f.Themes) == 0:
		objs = append(objs, bodyText(a.t("manager.themes_empty")))
	}
	for _, th := range ranked[:min(len(ranked), topThemes)] {
		mentions := a.t("manager.themes_mentions", "n", strconv.FormatInt(th.Mentions(), 10))
		if th.Mentions() == 1 {
			mentions = a.t("manager.themes_one_mention")
		}
		d := th.Difference
		verdict := a.t("manager.themes_not_significant")
		if d.Significant {
			verdict = a.t("manager.themes_significant")
		}
		objs = append(objs,
			text(strconv.Itoa(th.Rank)+". "+a.themeLabel(themes, th.Key), textBody, true, fyne.TextAlignLeading, theme.ColorNameForeground),
			// The figures as two lines of one text, close under the theme's name, so
			// each theme reads as one block.
			bodyText(a.t("manager.themes_impact", "points", "+"+fmt.Sprintf("%.0f", th.Impact.Percent),
				"moe", a.t("manager.moe", "moe", fmt.Sprintf("%.0f", th.Impact.Margin)))+" · "+mentions+"\n"+
				a.t("manager.themes_with", "delta", formatNPS(d.Delta),
					"moe", a.t("manager.moe", "moe", fmt.Sprintf("%.0f", d.Margin)))+" · "+verdict))
	}
	if len(few) > 0 {
		names := make([]string, len(few))
		for i, th := range few {
			names[i] = a.themeLabel(themes, th.Key) + " (" + strconv.FormatInt(th.Mentions(), 10) + ")"
		}
		objs = append(objs, bodyText(a.t("manager.themes_few", "min", strconv.FormatInt(f.MinResponses, 10),
			"themes", strings.Join(names, ", "))))
	}
	if len(ranked) > 0 {
		objs = append(objs, bodyText(a.t("manager.themes_note")))
	}
	s.themes.Objects = objs
	s.themes.Refresh()
}

// bodyText is a paragraph of the dashboard in the body size, wrapped.
func bodyText(s string) fyne.CanvasObject {
	return text(s, textBody, false, fyne.TextAlignLeading, theme.ColorNameForeground)
}
