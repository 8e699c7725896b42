// Package e2e holds the end-to-end tests of the built programs, chained with real parts
// only: the npskiosk window under Xvfb driven with xdotool, npscollector serve, a
// Mailpit SMTP server, an HTTP webhook receiver, a TCP link the test can cut, and
// headless Chromium on the dashboard. They run in make test-e2e, which points
// NPS_E2E_BIN at the binaries of make build; without it they skip, so go test ./...
// stays quick. The package has no code of its own outside its tests.
package e2e
