package sync

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/npskiosk/npskiosk/sync/wire"
)

// The files the worker shares with the kiosk package's updater (npskiosk-update, run as
// root by a systemd timer) in Config.UpdateDir. The worker writes the target the
// collector's staged rollout gives this kiosk; the updater installs it from the apt
// repository, checks it, rolls back if it fails, and writes how that went, which the
// next heartbeat carries.
const (
	// UpdateTargetFile holds one line: the package version to run. Absent: none.
	UpdateTargetFile = "update-target"
	// UpdateStateFile holds key=value lines written by the updater: state (one of the
	// wire.Update* values), target (the version it tried), at and detail.
	UpdateStateFile = "update-state"
)

// debVersion is what a Debian package version may hold; anything else from the
// collector is refused, since root's updater passes it to apt-get.
var debVersion = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~:-]{0,99}$`)

// UpdateStatus is what the updater last said, as the heartbeat carries it.
type UpdateStatus struct {
	Target string // the version asked for
	State  string // wire.UpdatePending, wire.UpdateUpgraded, …
}

// ReadUpdateStatus reads the update files in dir: the updater's last word on the
// target it tried, or wire.UpdatePending for a target it has not tried yet. Zero when
// there is neither.
func ReadUpdateStatus(dir string) (UpdateStatus, error) {
	target, err := readTarget(dir)
	if err != nil {
		return UpdateStatus{}, err
	}
	var st UpdateStatus
	b, err := os.ReadFile(filepath.Join(dir, UpdateStateFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return UpdateStatus{}, fmt.Errorf("update state: %w", err)
	default:
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), "=")
			switch k {
			case "state":
				st.State = v
			case "target":
				st.Target = v
			}
		}
	}
	if target != "" && target != st.Target {
		return UpdateStatus{Target: target, State: wire.UpdatePending}, nil
	}
	return st, nil
}

func readTarget(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, UpdateTargetFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("update target: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// WriteUpdateTarget sets the version the updater should install (removing the file
// when target is empty), only when it changed; the file is replaced atomically so the
// updater never reads half of it.
func WriteUpdateTarget(dir, target string) error {
	if target != "" && !debVersion.MatchString(target) {
		return fmt.Errorf("update target %q: not a package version", target)
	}
	old, err := readTarget(dir)
	if err != nil || old == target {
		return err
	}
	path := filepath.Join(dir, UpdateTargetFile)
	if target == "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("update target: %w", err)
		}
		return nil
	}
	tmp, err := os.CreateTemp(dir, UpdateTargetFile+".*")
	if err != nil {
		return fmt.Errorf("update target: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(target + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("update target: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("update target: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("update target: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("update target: %w", err)
	}
	return nil
}
