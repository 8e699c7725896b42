package main

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows/registry"
)

// provisionRegistryKey is where the MSI writes its COLLECTOR, KEY and NAME properties
// (packaging/windows/npskiosk.wxs) for silent installs from Intune or Group Policy.
const provisionRegistryKey = `SOFTWARE\npskiosk\Provision`

// platformProvisioning reads the provisioning the MSI left in the registry; false when
// it left none (no KEY given). Removing it deletes the Key value, which needs the rights
// the kiosk's service account is given over that key (docs/operations.md).
func platformProvisioning() (provisioning, bool, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, provisionRegistryKey, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return provisioning{}, false, nil
	}
	from := `HKLM\` + provisionRegistryKey
	if err != nil {
		return provisioning{}, false, fmt.Errorf("provisioning %s: %w", from, err)
	}
	defer k.Close()
	value := func(name string) (string, error) {
		v, _, err := k.GetStringValue(name)
		if errors.Is(err, registry.ErrNotExist) {
			return "", nil
		}
		return v, err
	}
	var p provisionFile
	for name, dst := range map[string]*string{"Collector": &p.Collector, "Key": &p.Key, "Name": &p.Name} {
		if *dst, err = value(name); err != nil {
			return provisioning{}, false, fmt.Errorf("provisioning %s: %s: %w", from, name, err)
		}
	}
	if p.Key == "" {
		return provisioning{}, false, nil
	}
	p, err = checkProvisioning(p, from)
	forget := func() error {
		k, err := registry.OpenKey(registry.LOCAL_MACHINE, provisionRegistryKey, registry.SET_VALUE)
		if err != nil {
			return err
		}
		defer k.Close()
		return k.DeleteValue("Key")
	}
	return provisioning{provisionFile: p, from: from, forget: forget}, true, err
}
