package a11y

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

// The file kept here is axe-core's release as published: its integrity hash and the
// version in its banner.
func TestAxeIsThePublishedRelease(t *testing.T) {
	sum := sha256.Sum256([]byte(axeJS))
	if got := "sha256-" + base64.StdEncoding.EncodeToString(sum[:]); got != Integrity {
		t.Errorf("axe.min.js hashes to %s, want %s (update it with scripts/update-axe.sh)", got, Integrity)
	}
	if !strings.HasPrefix(axeJS, "/*! axe v"+Version+"\n") {
		t.Errorf("axe.min.js starts %.20q, want axe v%s", axeJS, Version)
	}
}
