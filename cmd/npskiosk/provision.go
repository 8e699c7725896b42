package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/npskiosk/npskiosk/internal/strictoml"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// A provisioning file lets IT set a kiosk up without a shell on it: it names the
// collector and a store's enrollment key (npscollector enrollment-key add), and the kiosk
// enrolls itself on its first start, then deletes the file, since the key in it enrolls
// more kiosks of the store. It lies in the folder of the config file
// (/etc/npskiosk/provision.toml for the package), put there by an image, a
// configuration-management tool or MDM.

// provisionFile is the provisioning file's content.
type provisionFile struct {
	// Collector is the collector's URL (required).
	Collector string `toml:"collector"`
	// Key is the store's enrollment key (required).
	Key string `toml:"key"`
	// Name is the name the device asks for; empty means the host's name.
	Name string `toml:"name"`
}

// provisionPath is where the provisioning file of a kiosk with this config lies.
func provisionPath(configPath string) string {
	return filepath.Join(filepath.Dir(configPath), "provision.toml")
}

// readProvisionFile reads a provisioning file; false when there is none.
func readProvisionFile(path string) (provisionFile, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return provisionFile{}, false, nil
	}
	if err != nil {
		return provisionFile{}, false, fmt.Errorf("provisioning file %s: %w", path, err)
	}
	var p provisionFile
	if err := strictoml.Decode(b, &p); err != nil {
		return provisionFile{}, true, fmt.Errorf("provisioning file %s: %w", path, err)
	}
	p, err = checkProvisioning(p, path)
	if err != nil {
		return p, true, err
	}
	return p, true, nil
}

// provisioning is a kiosk's provisioning settings, where they came from, and how to
// remove the key once it has served.
type provisioning struct {
	provisionFile
	from   string       // for messages: the file, or the registry key the MSI wrote
	forget func() error // removes the key
}

// findProvisioning is the kiosk's provisioning: the file beside its config, else what
// the platform keeps (the registry values the MSI writes on Windows); false when there
// is none.
func findProvisioning(configPath string) (provisioning, bool, error) {
	path := provisionPath(configPath)
	p, found, err := readProvisionFile(path)
	if found || err != nil {
		return provisioning{provisionFile: p, from: path, forget: func() error { return os.Remove(path) }}, found, err
	}
	return platformProvisioning()
}

// checkProvisioning says what is wrong with provisioning settings read from.
func checkProvisioning(p provisionFile, from string) (provisionFile, error) {
	p.Key = strings.ToUpper(strings.TrimSpace(p.Key))
	switch {
	case p.Collector == "":
		return p, fmt.Errorf("provisioning %s: collector is missing (collector = \"https://…\")", from)
	case !strings.HasPrefix(p.Key, wire.EnrollmentKeyPrefix):
		return p, fmt.Errorf("provisioning %s: key must be an enrollment key starting %s (npscollector enrollment-key add)", from, wire.EnrollmentKeyPrefix)
	}
	return p, nil
}

// provision enrolls the kiosk from its provisioning settings when there are some: false
// when there are none. A kiosk already enrolled does not use the key; either way the key
// is removed once it has served, so it does not stay on the device. A failed enrollment
// keeps it, to try again at the next start.
func (m *Main) provision(ctx context.Context, common commonFlags) (bool, error) {
	p, found, err := findProvisioning(common.config)
	if !found || err != nil {
		return found, err
	}
	cfg, _, err := readConfigFile(common.config)
	if err != nil {
		return true, fmt.Errorf("provision: %w", err)
	}
	if cfg.Enrolled() {
		if err := p.forget(); err != nil {
			return true, fmt.Errorf("this kiosk is enrolled already, but the enrollment key in %s could not be removed: %w", p.from, err)
		}
		fmt.Fprintf(m.Stderr, "this kiosk is enrolled already (device %s): removed the provisioning %s without using its key\n", cfg.Collector.DeviceID, p.from)
		return true, nil
	}
	name := p.Name
	if name == "" {
		name, _ = os.Hostname()
	}
	if err := m.enroll(ctx, common, p.Collector, wire.EnrollRequest{Code: p.Key, Name: name}); err != nil {
		return true, fmt.Errorf("provision from %s: %w", p.from, err)
	}
	if err := p.forget(); err != nil {
		return true, fmt.Errorf("enrolled, but the enrollment key in %s could not be removed: %w", p.from, err)
	}
	fmt.Fprintf(m.Stdout, "provisioned from %s; its key is removed\n", p.from)
	return true, nil
}

// provisionCmd is "npskiosk provision": enroll from the provisioning file now, as the
// window does when it starts.
type provisionCmd struct{ common commonFlags }

func parseProvision(args []string, stderr io.Writer) (command, error) {
	fs := flag.NewFlagSet("npskiosk provision", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &provisionCmd{}
	c.common.register(fs)
	if err := c.common.parse(fs, args); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *provisionCmd) run(ctx context.Context, m *Main) error {
	found, err := m.provision(ctx, c.common)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("no provisioning file at %s (collector = \"URL\" and key = \"EK-…\", from npscollector enrollment-key add)", provisionPath(c.common.config))
	}
	return nil
}
