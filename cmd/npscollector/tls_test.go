package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestServeTLSFlags(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "c.db")
	run := func(args ...string) error {
		var out, errOut bytes.Buffer
		return Run(context.Background(), append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0", "--metrics-addr", "off"}, args...), &out, &errOut)
	}
	if err := run("--tls-cert", filepath.Join(dir, "c.pem")); err == nil || !strings.Contains(err.Error(), "--tls-key") {
		t.Errorf("serve --tls-cert without --tls-key: %v, want a refusal naming --tls-key", err)
	}
	if err := run("--tls-cert", filepath.Join(dir, "c.pem"), "--tls-key", filepath.Join(dir, "c.key")); err == nil || !strings.Contains(err.Error(), "c.pem") {
		t.Errorf("serve with missing certificate files: %v, want a refusal naming the file", err)
	}
}
