package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// A survey whose privacy pattern does not compile is refused with the pattern's name and
// the regexp's error, and the stores keep the survey they had.
func TestSurveySetRefusesABadPrivacyPattern(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "c.db")
	created, err := storage.Open(ctx, storage.Config{Path: db, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	created.Close()
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := Run(ctx, append(args, "--db", db), &out, &errOut)
		return out.String(), err
	}
	if _, err := run("store", "add", "--id", "S042", "--name", "Main Street", "--timezone", "Europe/Berlin"); err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile("../../assets/survey.toml")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, pattern string) string {
		p := filepath.Join(dir, name)
		s := string(base) + "\n[[privacy.mask]]\nname = \"loyalty\"\npattern = '" + pattern + "'\n"
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := run("survey", "set", "--all", write("good.toml", `\bLC\d{10}\b`)); err != nil {
		t.Fatal(err)
	}
	_, err = run("survey", "set", "--all", write("bad.toml", `LC(\d{10}`))
	if err == nil || !strings.Contains(err.Error(), `privacy.mask: pattern "loyalty": error parsing regexp: missing closing ): `) {
		t.Fatalf("survey set with a bad pattern: %v", err)
	}
	st, err := storage.Open(ctx, storage.Config{Path: db, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sv, err := st.Survey(ctx, "S042")
	if err != nil {
		t.Fatal(err)
	}
	if len(sv.Privacy.Mask) != 1 || sv.Privacy.Mask[0].Pattern != `\bLC\d{10}\b` {
		t.Errorf("the store's survey after the refusal: %+v", sv.Privacy)
	}
}
