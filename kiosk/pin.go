package kiosk

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/alexedwards/argon2id"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// PIN lock-out: after pinMaxFailures wrong PINs the pad locks, first for pinFirstLock,
// doubling with every further lock-out up to pinMaxLock. The counters live in the
// database, so restarting the app does not reset them.
const (
	pinMaxFailures = 5
	pinFirstLock   = 30 * time.Second
	pinMaxLock     = time.Hour
	pinMaxDigits   = 12

	settingPINFailures    = "pin.failures"
	settingPINLockouts    = "pin.lockouts"
	settingPINLockedUntil = "pin.locked_until"
)

// HashPIN returns the argon2id hash to put in the kiosk config for a new PIN.
func HashPIN(pin string) (string, error) {
	if len(pin) < 4 || len(pin) > pinMaxDigits || strings.Trim(pin, "0123456789") != "" {
		return "", fmt.Errorf("a PIN must be 4 to %d digits", pinMaxDigits)
	}
	return argon2id.CreateHash(pin, argon2id.DefaultParams)
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

// pinGuard checks PINs against the argon2id hash and enforces the lock-out.
type pinGuard struct {
	hash     string
	settings Settings
	now      func() time.Time
}

func (g *pinGuard) int(ctx context.Context, key string) (int64, error) {
	v, ok, err := g.settings.Setting(ctx, key)
	if err != nil || !ok {
		return 0, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("setting %s: %w", key, err)
	}
	return n, nil
}

func (g *pinGuard) setInt(ctx context.Context, key string, n int64) error {
	return g.settings.SetSetting(ctx, key, strconv.FormatInt(n, 10))
}

// lockState says whether the pad is locked now and until when.
func (g *pinGuard) lockState(ctx context.Context) (pinResult, error) {
	until, err := g.int(ctx, settingPINLockedUntil)
	if err != nil {
		return pinResult{}, err
	}
	now := g.now()
	if t := time.UnixMilli(until); until > 0 && now.Before(t) {
		return pinResult{outcome: pinLocked, lockedFor: t.Sub(now), lockedUntil: t}, nil
	}
	return pinResult{outcome: pinAccepted}, nil
}

// Check verifies pin, counting failures durably.
func (g *pinGuard) Check(ctx context.Context, pin string) (pinResult, error) {
	if g.hash == "" {
		return pinResult{outcome: pinNotSet}, nil
	}
	if st, err := g.lockState(ctx); err != nil || st.outcome == pinLocked {
		return st, err
	}
	match, err := argon2id.ComparePasswordAndHash(pin, g.hash)
	if err != nil {
		return pinResult{}, fmt.Errorf("check manager PIN: the configured hash is unusable: %w", err)
	}
	if match {
		return pinResult{outcome: pinAccepted}, errors.Join(
			g.setInt(ctx, settingPINFailures, 0), g.setInt(ctx, settingPINLockouts, 0))
	}
	failures, err := g.int(ctx, settingPINFailures)
	if err != nil {
		return pinResult{}, err
	}
	failures++
	if failures < pinMaxFailures {
		return pinResult{outcome: pinWrong, triesLeft: int(pinMaxFailures - failures)},
			g.setInt(ctx, settingPINFailures, failures)
	}
	lockouts, err := g.int(ctx, settingPINLockouts)
	if err != nil {
		return pinResult{}, err
	}
	wait := pinFirstLock << min(lockouts, 20)
	wait = min(wait, pinMaxLock)
	until := g.now().Add(wait)
	err = errors.Join(
		g.setInt(ctx, settingPINFailures, 0),
		g.setInt(ctx, settingPINLockouts, lockouts+1),
		g.setInt(ctx, settingPINLockedUntil, until.UnixMilli()))
	return pinResult{outcome: pinLocked, lockedFor: wait, lockedUntil: until}, err
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
	if a.cfg.ManagerPINHash == "" {
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
	back := secondaryButton("Delete", func() {
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
