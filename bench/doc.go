// Package bench holds the end-to-end benchmarks of the built programs that make bench
// reports in docs/benchmarks.md: the kiosk window's footprint beside a Chromium web kiosk
// under the same Xvfb, and a fleet of simulated devices loading one collector process.
// The benchmarks of single parts live beside the parts (store, sync, collector).
package bench
