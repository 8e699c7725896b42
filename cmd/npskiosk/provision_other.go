//go:build !windows

package main

// platformProvisioning: outside Windows, provisioning is the file beside the config only.
func platformProvisioning() (provisioning, bool, error) { return provisioning{}, false, nil }
