package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/npskiosk/npskiosk/store
cpu: AMD EPYC
BenchmarkRecord
BenchmarkRecord/spaced-2   	    5000	    510000 ns/op	    196000 fsync-p50-ns	    370000 fsync-p99-ns	         1.786 p99-ratio	    292000 record-p50-ns	    661000 record-p99-ns
BenchmarkRecord/rapid-2    	    5000	    520000 ns/op	    200000 fsync-p50-ns	    400000 fsync-p99-ns	         1.750 p99-ratio	    300000 record-p50-ns	    700000 record-p99-ns
    reports_bench_test.go:48: generated 20000 responses, 50 stores, 40 days in 0s
ok  	github.com/npskiosk/npskiosk/store	3.2s
`

func TestParseKeepsBenchmarkUnitsConfigAndLogs(t *testing.T) {
	res, err := parse(strings.NewReader(sample), "sample")
	if err != nil {
		t.Fatal(err)
	}
	if got := res.values["Record/spaced"]["record-p50-ns"]; got != 292000 {
		t.Errorf("Record/spaced record-p50-ns = %v, want 292000", got)
	}
	if got := res.values["Record/rapid"]["ns/op"]; got != 520000 {
		t.Errorf("Record/rapid ns/op = %v, want 520000", got)
	}
	if res.config["cpu"] != "AMD EPYC" {
		t.Errorf("cpu = %q", res.config["cpu"])
	}
	if logs := benchLogs(sample); len(logs) != 1 || !strings.HasPrefix(logs[0], "generated 20000") {
		t.Errorf("logs = %q", logs)
	}
}

func TestEvaluateRatiosAndMissing(t *testing.T) {
	res, _ := parse(strings.NewReader(sample), "sample")
	rows, missing := evaluate(res, figures[:4])
	if len(missing) == 0 {
		t.Error("the details of sections the sample lacks are not reported missing")
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	if r := rows[0]; r.value != 292000 || r.baseline != 196000 || ratio(r) != "1.49×" {
		t.Errorf("p50 row = %+v, ratio %s", r, ratio(r))
	}
	if r := rows[1]; ratio(r) != "1.79×" {
		t.Errorf("p99 ratio = %s, want 1.79×", ratio(r))
	}
	if r := rows[3]; ratio(r) != "1.75×" {
		t.Errorf("rapid p99 ratio = %s, want 1.75×", ratio(r))
	}
	errRow := row{figure: figure{name: "Errors"}, value: 0}
	if ratio(errRow) != "0 ✓" {
		t.Errorf("zero errors = %q", ratio(errRow))
	}
	errRow.value = 3
	if ratio(errRow) != "3 ✗" {
		t.Errorf("three errors = %q", ratio(errRow))
	}
}

func TestNum(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{0, "0"}, {50, "50"}, {1234567, "1,234,567"}, {24455.4, "24,455"}, {36.51, "36.5"},
		{1.4912, "1.49"}, {0.1432, "0.143"}, {0.00832, "0.00832"}, {-1500, "-1,500"},
	} {
		if got := num(c.in); got != c.want {
			t.Errorf("num(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestTrimProcs(t *testing.T) {
	for in, want := range map[string]string{
		"Record-2": "Record", "Reports/sqlite/chain/all/rollup-16": "Reports/sqlite/chain/all/rollup",
		"Footprint/npskiosk": "Footprint/npskiosk", "a-b": "a-b",
	} {
		if got := trimProcs(in); got != want {
			t.Errorf("trimProcs(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRunRefusesIncompleteResults(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "bench.txt")
	os.WriteFile(in, []byte(sample), 0o644)
	var stderr strings.Builder
	err := run([]string{"-in", in, "-out", filepath.Join(dir, "b.md")}, &stderr)
	if err == nil || !strings.Contains(err.Error(), "Footprint/npskiosk pss-MiB") {
		t.Fatalf("run = %v, want the missing footprint named", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.md")); !os.IsNotExist(err) {
		t.Error("a report was written from incomplete results")
	}
}

// Sections written by hand, marked as kept, survive a new report; the generated ones are
// replaced, whatever an earlier report said in them.
func TestKeptSections(t *testing.T) {
	earlier := "# Benchmarks\n\n## 1. Capture\n\nold figures\n\n## Comment themes\n\n" + keptMarker +
		"\n\n| lang | precision |\n|---|---|\n| en | 0.96 |\n\n## Notes from the run\n\n- old note\n"
	got := keptSections(earlier)
	want := "## Comment themes\n\n" + keptMarker + "\n\n| lang | precision |\n|---|---|\n| en | 0.96 |\n\n"
	if got != want {
		t.Fatalf("keptSections =\n%q\nwant\n%q", got, want)
	}
	if keptSections("# Benchmarks\n\n## 1. Capture\n\nx\n") != "" {
		t.Error("a generated section was kept")
	}
}
