package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/followup"
)

// thanks set stores the chain's rule and a store's own (which may switch the chain's
// off), refuses a bad one, and thanks list reads the queue.
func TestThanksCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := Run(context.Background(), append(args, "--db", db), &out, &errOut)
		return out.String(), err
	}
	created, err := storage.Open(context.Background(), storage.Config{Path: db, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	created.Close()
	if _, err := run("store", "add", "--id", "S042", "--name", "Main Street", "--timezone", "Europe/Berlin"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"thanks", "set", "--scores", "9-11"}, "score"},
		{[]string{"thanks", "set", "--scores", "ten"}, "--scores"},
		{[]string{"thanks", "set", "--review-url", "http://reviews.example.com"}, "https"},
		{[]string{"thanks", "set", "--channels", "Kiosk"}, "channel"},
		{[]string{"thanks", "set", "--store", "NOPE"}, "not found"},
	} {
		if _, err := run(tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want an error about %q", tt.args, err, tt.want)
		}
	}
	out, err := run("thanks", "set", "--scores", "9-10", "--review-url", "https://g.page/r/main-street/review", "--channels", "kiosk, app")
	if err != nil || !strings.Contains(out, "thank-you rule set for the chain") {
		t.Fatalf("thanks set: %q, %v", out, err)
	}
	if out, err := run("thanks", "set", "--store", "S042", "--off"); err != nil || !strings.Contains(out, "off for store S042") {
		t.Fatalf("thanks set --off: %q, %v", out, err)
	}
	opened, err := storage.Open(context.Background(), storage.Config{Path: db, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer opened.Close()
	chain, err := opened.ThanksRule(context.Background(), "S001")
	want := followup.ThanksRule{Scores: []int{9, 10}, ReviewURL: "https://g.page/r/main-street/review", Channels: []string{"kiosk", "app"}}
	if err != nil || chain.ReviewURL != want.ReviewURL || len(chain.Scores) != 2 || len(chain.Channels) != 2 || chain.Off {
		t.Errorf("the chain's rule: %+v, %v; want %+v", chain, err, want)
	}
	if store, err := opened.ThanksRule(context.Background(), "S042"); err != nil || !store.Off {
		t.Errorf("S042's rule: %+v, %v; want off", store, err)
	}
	out, err = run("thanks", "list", "--json")
	var list []storage.ThankYouLine
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 0 {
		t.Errorf("thanks list --json: %q, %v", out, err)
	}
	if out, err := run("thanks", "list"); err != nil || !strings.HasPrefix(out, "QUEUED") {
		t.Errorf("thanks list: %q, %v", out, err)
	}
}
