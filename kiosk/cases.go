package kiosk

import (
	"context"
	"fmt"
	"strconv"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"

	"github.com/npskiosk/npskiosk/followup"
	"github.com/npskiosk/npskiosk/store"
)

// FollowUps is the store's follow-up cases as the manager view sees them: cached from
// the collector, with the manager's moves queued for the sync worker.
type FollowUps interface {
	Cases(ctx context.Context) ([]store.Case, error)
	RejectedCaseChanges(ctx context.Context) ([]store.CaseChange, error)
	QueueCaseChange(ctx context.Context, caseID string, to followup.Status, note string) (store.CaseChange, error)
	DismissCaseChange(ctx context.Context, changeID string) error
}

// followUps is the configured FollowUps, else the capture store when it keeps cases.
func (a *App) followUps() FollowUps {
	if a.cfg.FollowUps != nil {
		return a.cfg.FollowUps
	}
	f, _ := a.cfg.Capture.(FollowUps)
	return f
}

// statusName is a case status in the manager's language.
func (a *App) statusName(s followup.Status) string { return a.t("case." + string(s)) }

// renderCases draws the Follow-ups section: refused moves first, so the manager learns
// what HQ did, then the open cases, soonest due first.
func (s *managerScreen) renderCases() {
	a := s.app
	fu := a.followUps()
	if fu == nil || s.cases == nil {
		return
	}
	ctx, cancel := a.ctx()
	defer cancel()
	objs := []fyne.CanvasObject{heading(a.t("manager.followups"))}
	rejected, err := fu.RejectedCaseChanges(ctx)
	if err == nil {
		for _, rj := range rejected {
			objs = append(objs, s.rejectedNotice(rj))
		}
	}
	cs, err := fu.Cases(ctx)
	if err != nil {
		a.log.Error("manager view could not read the cached cases", "err", err)
		objs = append(objs, text(err.Error(), textBody, false, fyne.TextAlignLeading, theme.ColorNameError))
	}
	if err == nil && len(cs) == 0 {
		objs = append(objs, text(a.t("manager.no_cases"), textBody, false, fyne.TextAlignLeading, theme.ColorNameForeground))
	}
	for _, c := range cs {
		objs = append(objs, s.caseCard(c))
	}
	s.cases.Objects = objs
	s.cases.Refresh()
}

// rejectedNotice tells the manager a move was refused and shows the note they typed,
// which the kiosk kept: it was not sent.
func (s *managerScreen) rejectedNotice(rj store.CaseChange) fyne.CanvasObject {
	a := s.app
	msg := a.t("case.rejected", "reason", rj.RejectedReason, "note", rj.Note)
	if rj.RejectedStatus != "" {
		msg = a.t("case.rejected_hq", "status", a.statusName(rj.RejectedStatus), "note", rj.Note)
	}
	ok := secondaryButton(a.t("case.dismiss"), func() {
		s.touched()
		ctx, cancel := a.ctx()
		defer cancel()
		if err := a.followUps().DismissCaseChange(ctx, rj.ID); err != nil {
			a.log.Error("could not dismiss a refused case change", "change", rj.ID, "err", err)
		}
		s.renderCases()
	})
	body := text(msg, textBody, true, fyne.TextAlignLeading, theme.ColorNameError)
	return card(container.NewBorder(nil, nil, nil, container.NewVBox(ok), body))
}

func card(content fyne.CanvasObject) fyne.CanvasObject {
	bg := canvas.NewRectangle(colorSecondary)
	bg.CornerRadius = cornerRadius
	return container.NewVBox(container.NewStack(bg, container.NewPadded(content)), spacer(4))
}

// caseCard shows one case: score, comment, contact where the shopper agreed, due time
// (overdue said in words, not only in colour) and the moves its status allows.
func (s *managerScreen) caseCard(c store.Case) fyne.CanvasObject {
	a := s.app
	due := a.t("case.due", "when", c.DueAt.In(a.loc).Format("Jan 2 15:04"))
	dueInk := theme.ColorNameForeground
	if c.Overdue {
		due, dueInk = a.t("case.overdue")+" · "+due, theme.ColorNameError
	}
	status := a.t("case.status", "status", a.statusName(c.Status))
	if c.Pending {
		status = a.t("case.pending", "status", a.statusName(c.Status))
	}
	comment := c.Comment
	if comment == "" {
		comment = a.t("case.no_comment")
	}
	lines := container.NewVBox(
		text(a.t("case.score", "score", strconv.Itoa(c.Score))+" · "+status, textBody, true, fyne.TextAlignLeading, theme.ColorNameForeground),
		text(due, textBody, c.Overdue, fyne.TextAlignLeading, dueInk),
		text(comment, textBody, false, fyne.TextAlignLeading, theme.ColorNameForeground))
	if line := a.caseContactLine(c); line != "" {
		lines.Add(text(line, textBody, false, fyne.TextAlignLeading, theme.ColorNameForeground))
	}
	actions := container.NewGridWithColumns(2)
	if c.Status == followup.Open {
		actions.Add(secondaryButton(a.statusName(followup.Contacted), func() { s.editNote(c, followup.Contacted) }))
	}
	if c.Status.CanMove(followup.Resolved) {
		actions.Add(primaryButton(a.statusName(followup.Resolved), func() { s.editNote(c, followup.Resolved) }))
	}
	if len(actions.Objects) > 0 {
		lines.Add(actions)
	}
	return card(lines)
}

// caseContactLine is the case's contact as the collector sent it (the kiosk keeps no
// contact on disk), what the collector could not open, or, before the cases were pulled
// since the kiosk started, when it will show; empty when the shopper left none.
func (a *App) caseContactLine(c store.Case) string {
	var contact, sealed string
	known := false
	if a.cfg.CaseContacts != nil {
		contact, sealed, known = a.cfg.CaseContacts.CaseContact(c.ID)
	}
	switch {
	case contact != "":
		return a.t("case.contact", "contact", contact)
	case sealed != "":
		return a.t("case.contact_sealed", "key", sealed)
	case c.HasContact && !known:
		return a.t("case.contact_offline")
	}
	return ""
}

// editNote lets the manager type a note on the on-screen keyboard over the dashboard;
// Done queues the move with the note, Cancel leaves the case as it was.
func (s *managerScreen) editNote(c store.Case, to followup.Status) {
	a := s.app
	s.touched()
	note := ""
	shown := text("|", textLarge, false, fyne.TextAlignLeading, theme.ColorNameForeground)
	counter := text("", textBody, false, fyne.TextAlignTrailing, theme.ColorNamePlaceHolder)
	counter.Wrapping = fyne.TextWrapOff
	render := func() {
		setText(shown, note+"|")
		setText(counter, fmt.Sprintf("%d / %d", utf8.RuneCountInString(note), followup.MaxNoteRunes))
	}
	render()
	closeEditor := func() {
		s.root.Objects = s.root.Objects[:1]
		s.root.Refresh()
	}
	// The problem line takes room only when there is one: the editor must fit a
	// 1280x800 screen above the keyboard.
	problem := text("", textBody, true, fyne.TextAlignLeading, theme.ColorNameError)
	problem.Hide()
	kb := newKeyboard(a, keyboardHandler{
		typed: func(r string) {
			s.touched()
			if utf8.RuneCountInString(note)+utf8.RuneCountInString(r) <= followup.MaxNoteRunes {
				note += r
				render()
			}
		},
		backspace: func() {
			s.touched()
			if _, size := utf8.DecodeLastRuneInString(note); size > 0 {
				note = note[:len(note)-size]
				render()
			}
		},
		done: func() {
			s.touched()
			ctx, cancel := a.ctx()
			defer cancel()
			if _, err := a.followUps().QueueCaseChange(ctx, c.ID, to, note); err != nil {
				a.log.Warn("could not queue a case change", "case", c.ID, "to", to, "err", err)
				setText(problem, err.Error())
				problem.Show()
				return
			}
			closeEditor()
			s.renderCases()
			if a.cfg.Sync != nil {
				a.cfg.Sync.SyncNow()
			}
		},
	})
	frame := canvas.NewRectangle(colorBackground)
	frame.StrokeColor = colorPrimary
	frame.StrokeWidth = 3
	frame.CornerRadius = cornerRadius
	frame.SetMinSize(fyne.NewSize(0, 120))
	cancelButton := secondaryButton(a.t("case.cancel"), func() { s.touched(); closeEditor() })
	// The shopper's comment, in full on the card, is one line here as a reminder: a
	// long one must not push the keyboard off the screen.
	comment := text(c.Comment, textBody, false, fyne.TextAlignLeading, theme.ColorNameForeground)
	comment.Wrapping, comment.Truncation = fyne.TextWrapOff, fyne.TextTruncateEllipsis
	top := container.NewVBox(
		container.NewBorder(nil, nil, nil, cancelButton,
			text(a.t("case.note_title", "status", a.statusName(to)), textLarge, true, fyne.TextAlignLeading, theme.ColorNameForeground)),
		container.NewBorder(nil, nil, nil, counter, comment),
		container.NewStack(frame, container.New(layout.NewCustomPaddedLayout(8, 8, 12, 12), shown)),
		problem,
	)
	editor := container.NewStack(canvas.NewRectangle(colorBackground),
		container.New(layout.NewCustomPaddedLayout(24, 24, 12, 12), container.NewBorder(top, kb, nil, nil, layout.NewSpacer())))
	s.root.Objects = append(s.root.Objects[:1], editor)
	s.root.Refresh()
}
