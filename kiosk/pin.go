package kiosk

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/npskiosk/npskiosk/devicesettings"
)

// PIN lock-out: after pinMaxFailures wrong PINs the pad locks, first for pinFirstLock,
// doubling with every further lock-out up to pinMaxLock; a right PIN resets both counters.
// The counters live in the database, so restarting the app does not reset them. Every
// attempt is counted durably before the PIN is compared: when that write fails the attempt
// is refused, so a broken database never lets unlimited guesses through.
//
// While the app runs, a lock-out ends by the monotonic clock (the Clock's Now carries
// Go's monotonic reading), so setting the wall clock forward does not end it early nor
// back extend it. Across a restart only the wall clock is left: the lock is kept for what
// remains of it, never for longer than it was set for.
const (
	pinMaxFailures = 5
	pinFirstLock   = 30 * time.Second
	pinMaxLock     = time.Hour
	pinMaxDigits   = devicesettings.PINMaxDigits

	settingPINFailures    = "pin.failures"
	settingPINLockouts    = "pin.lockouts"
	settingPINLockedUntil = "pin.locked_until" // Unix ms, wall clock
	settingPINLockedFor   = "pin.locked_for"   // ms: the lock-out's length
)

// pinLockFor is the length of the lock-out that follows lockouts earlier ones.
func pinLockFor(lockouts int64) time.Duration {
	return min(pinFirstLock<<min(max(lockouts, 0), 20), pinMaxLock)
}

type pinOutcome int

const (
	pinAccepted pinOutcome = iota
	pinWrong
	pinLocked
	pinNotSet
)

type pinResult struct {
	outcome     pinOutcome
	triesLeft   int           // with pinWrong
	lockedFor   time.Duration // with pinLocked
	lockedUntil time.Time
}

// pinGuard checks PINs against the argon2id hash and enforces the lock-out. hash gives
// the current hash at every attempt: a PIN rotated at HQ takes effect at the next one.
type pinGuard struct {
	hash     func() string
	settings Settings
	now      func() time.Time
	// until is the current lock-out's end as read from now in this process (so with a
	// monotonic reading in production); zero when not yet loaded from the settings.
	until  time.Time
	loaded bool
}

// errPINUnsaved refuses an attempt that could not be counted.
var errPINUnsaved = errors.New("the attempt could not be recorded, so it is refused; try again later")

func (g *pinGuard) int(ctx context.Context, key string) (int64, error) {
	v, ok, err := g.settings.Setting(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("read setting %s: %w", key, err)
	}
	if !ok {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("setting %s: %w", key, err)
	}
	return n, nil
}

func (g *pinGuard) setInt(ctx context.Context, key string, n int64) error {
	if err := g.settings.SetSetting(ctx, key, strconv.FormatInt(n, 10)); err != nil {
		return fmt.Errorf("write setting %s: %w", key, err)
	}
	return nil
}

// load reads a lock-out left by an earlier run, once: what remains of it by the wall
// clock, at most its full length (a wall clock set back must not lengthen it).
func (g *pinGuard) load(ctx context.Context) error {
	if g.loaded {
		return nil
	}
	until, err := g.int(ctx, settingPINLockedUntil)
	if err != nil {
		return err
	}
	lockedFor, err := g.int(ctx, settingPINLockedFor)
	if err != nil {
		return err
	}
	now := g.now()
	if until > 0 {
		full := time.Duration(lockedFor) * time.Millisecond
		if full <= 0 {
			full = pinMaxLock // from a version that did not store it
		}
		if left := time.UnixMilli(until).Sub(now); left > 0 {
			g.until = now.Add(min(left, full))
		}
	}
	g.loaded = true
	return nil
}

// lockState says whether the pad is locked now and until when. An unreadable lock-out
// state is an error, and callers treat it as locked.
func (g *pinGuard) lockState(ctx context.Context) (pinResult, error) {
	if err := g.load(ctx); err != nil {
		return pinResult{outcome: pinLocked}, fmt.Errorf("manager PIN lock-out: %w", err)
	}
	now := g.now()
	if left := g.until.Sub(now); !g.until.IsZero() && left > 0 {
		return pinResult{outcome: pinLocked, lockedFor: left, lockedUntil: g.until}, nil
	}
	return pinResult{outcome: pinAccepted}, nil
}

// Check verifies pin, counting the attempt durably before comparing it. It fails closed:
// whenever it returns an error the outcome is pinLocked and the pad does not open.
func (g *pinGuard) Check(ctx context.Context, pin string) (pinResult, error) {
	hash := g.hash()
	if hash == "" {
		return pinResult{outcome: pinNotSet}, nil
	}
	if st, err := g.lockState(ctx); err != nil || st.outcome == pinLocked {
		return st, err
	}
	refuse := func(err error) (pinResult, error) {
		return pinResult{outcome: pinLocked}, fmt.Errorf("check manager PIN: %w: %w", errPINUnsaved, err)
	}
	failures, err := g.int(ctx, settingPINFailures)
	if err != nil {
		return refuse(err)
	}
	// Count the attempt as a failure first; a right PIN clears it below.
	failures++
	if err := g.setInt(ctx, settingPINFailures, failures); err != nil {
		return refuse(err)
	}
	match, err := devicesettings.ComparePIN(pin, hash)
	if err != nil {
		return pinResult{outcome: pinLocked}, fmt.Errorf("check manager PIN: the configured hash is unusable: %w", err)
	}
	if match {
		if err := errors.Join(g.setInt(ctx, settingPINFailures, 0), g.setInt(ctx, settingPINLockouts, 0)); err != nil {
			return refuse(err)
		}
		return pinResult{outcome: pinAccepted}, nil
	}
	if failures < pinMaxFailures {
		return pinResult{outcome: pinWrong, triesLeft: int(pinMaxFailures - failures)}, nil
	}
	lockouts, err := g.int(ctx, settingPINLockouts)
	if err != nil {
		lockouts = 0
	}
	wait := pinLockFor(lockouts)
	now := g.now()
	// Locked in memory first: it holds for this run even if nothing below can be written.
	g.until = now.Add(wait)
	res := pinResult{outcome: pinLocked, lockedFor: wait, lockedUntil: g.until}
	// Write the lock before clearing the failures: if the process dies between the
	// writes, the pad is locked or the next attempt locks it again.
	if err := errors.Join(
		g.setInt(ctx, settingPINLockedFor, wait.Milliseconds()),
		g.setInt(ctx, settingPINLockedUntil, now.Add(wait).UnixMilli()),
		g.setInt(ctx, settingPINLockouts, lockouts+1),
	); err != nil {
		return res, fmt.Errorf("check manager PIN: save the lock-out: %w", err)
	}
	if err := g.setInt(ctx, settingPINFailures, 0); err != nil {
		return res, fmt.Errorf("check manager PIN: %w", err)
	}
	return res, nil
}

// pinScreen is the manager's PIN pad.
type pinScreen struct {
	app     *App
	digits  string
	dots    *widget.RichText
	message *widget.RichText
	stop    func()
}

func newPINScreen(a *App) *pinScreen { return &pinScreen{app: a} }

func (s *pinScreen) content() fyne.CanvasObject {
	a := s.app
	s.dots = text(" ", textTitle, true, fyne.TextAlignCenter, theme.ColorNameForeground)
	s.message = text(" ", textBody, false, fyne.TextAlignCenter, theme.ColorNameError)
	// Inside a centred box a wrapping label would be squeezed to one letter a line.
	s.dots.Wrapping, s.message.Wrapping = fyne.TextWrapOff, fyne.TextWrapOff
	if a.device().ManagerPINHash == "" {
		setText(s.message, a.t("pin.not_set"))
	} else if st, err := a.pin.lockState(context.Background()); err == nil && st.outcome == pinLocked {
		setText(s.message, a.t("pin.locked", "wait", roundWait(st.lockedFor)))
	}

	title := text(a.t("pin.title"), textTitle, true, fyne.TextAlignCenter, theme.ColorNameForeground)
	title.Wrapping = fyne.TextWrapOff
	var keys []fyne.CanvasObject
	for _, d := range []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"} {
		keys = append(keys, s.key(d))
	}
	back := secondaryButton(a.t("keyboard.delete"), func() {
		s.touched()
		if s.digits != "" {
			s.digits = s.digits[:len(s.digits)-1]
			s.render()
		}
	})
	keys = append(keys, back, s.key("0"), primaryButton(a.t("pin.ok"), s.submit))
	pad := container.NewGridWithColumns(3, keys...)
	cancel := secondaryButton(a.t("pin.cancel"), a.showRating)

	s.touched()
	return container.NewCenter(container.New(layout.NewCustomPaddedLayout(8, 8, 0, 0),
		container.NewVBox(
			title,
			s.dots,
			container.New(layout.NewGridWrapLayout(fyne.NewSize(540, 4*88+3*8)), pad),
			s.message,
			cancel,
		)))
}

func (s *pinScreen) key(d string) fyne.CanvasObject {
	b := newButton(d, textScore, colorSecondary, colorText, func() {
		s.touched()
		if len(s.digits) < pinMaxDigits {
			s.digits += d
			s.render()
		}
	})
	b.border = colorBorder
	b.bold = true
	b.minSize = fyne.NewSize(touchMin*2, 88)
	return b
}

// touched restarts the timer that returns an abandoned pad to the survey.
func (s *pinScreen) touched() {
	if s.stop != nil {
		s.stop()
	}
	s.stop = s.app.after(pinIdleReset, s.app.showRating)
}

func (s *pinScreen) render() {
	setText(s.dots, strings.Repeat("• ", len(s.digits))+" ")
}

func (s *pinScreen) submit() {
	s.touched()
	a := s.app
	ctx, cancel := a.ctx()
	defer cancel()
	res, err := a.pin.Check(ctx, s.digits)
	s.digits = ""
	s.render()
	if err != nil {
		a.log.Error("manager PIN check failed", "err", err)
		setText(s.message, err.Error())
		return
	}
	switch res.outcome {
	case pinAccepted:
		a.showManager()
	case pinWrong:
		setText(s.message, a.t("pin.wrong", "left", strconv.Itoa(res.triesLeft)))
	case pinLocked:
		a.log.Warn("manager PIN pad locked after repeated wrong PINs", "until", res.lockedUntil)
		setText(s.message, a.t("pin.locked", "wait", roundWait(res.lockedFor)))
	case pinNotSet:
		setText(s.message, a.t("pin.not_set"))
	}
}

// roundWait shows a wait as a person would say it.
func roundWait(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d s", int(d.Round(time.Second).Seconds()))
	}
	return fmt.Sprintf("%d min", int((d + time.Minute - 1).Minutes()))
}
