// Command benchreport turns the output of make bench (go test -bench) into
// docs/benchmarks.md: every headline figure beside the baseline measured in the same run,
// as a ratio, with the machine it ran on, and SVG plots of the ratios and of the kiosk's
// footprint beside a web kiosk.
//
//	go run ./tools/benchreport -in bench.txt -out docs/benchmarks.md
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"golang.org/x/perf/benchfmt"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchreport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		in       = fs.String("in", "", "go test -bench output to read (required)")
		out      = fs.String("out", "docs/benchmarks.md", "report to write; the plots go beside it")
		postgres = fs.String("postgres", "", "PostgreSQL version the benchmarks ran against, for the machine table")
		smoke    = fs.Bool("smoke", false, "the input is make test's smoke run (-short): say so in the report")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" {
		return errors.New("-in is required")
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := parse(f, *in)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(*in)
	if err != nil {
		return err
	}
	res.logs = benchLogs(string(raw))
	rows, missing := evaluate(res, figures)
	if len(missing) > 0 {
		return fmt.Errorf("%s lacks results the report needs (did every benchmark run?):\n  %s", *in, strings.Join(missing, "\n  "))
	}
	m := machine{
		CPU: res.config["cpu"], Cores: runtime.NumCPU(), Memory: memTotal(), Kernel: kernel(),
		Go: runtime.Version(), OS: res.config["goos"] + "/" + res.config["goarch"], Postgres: *postgres,
		Date: time.Now().UTC().Format("2006-01-02 15:04 MST"), Smoke: *smoke,
	}
	base := strings.TrimSuffix(filepath.Base(*out), filepath.Ext(*out))
	plots := map[string]string{
		"ratios":    base + "-ratios.svg",
		"footprint": base + "-footprint.svg",
	}
	dir := filepath.Dir(*out)
	if err := os.WriteFile(filepath.Join(dir, plots["ratios"]), []byte(ratioChart(rows)), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, plots["footprint"]), []byte(footprintChart(rows)), 0o644); err != nil {
		return err
	}
	earlier, err := os.ReadFile(*out)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.WriteFile(*out, []byte(markdown(m, rows, res.logs, plots, res, keptSections(string(earlier)))), 0o644); err != nil {
		return err
	}
	log.Info("report written", "path", *out, "figures", len(rows))
	return nil
}

// results are the metrics of one go test -bench run, by benchmark name without the
// Benchmark prefix and the GOMAXPROCS suffix, then by unit.
type results struct {
	values map[string]map[string]float64
	config map[string]string
	logs   []string
}

func parse(r io.Reader, name string) (results, error) {
	res := results{values: map[string]map[string]float64{}, config: map[string]string{}}
	br := benchfmt.NewReader(r, name)
	for br.Scan() {
		switch rec := br.Result().(type) {
		case *benchfmt.Result:
			key := trimProcs(rec.Name.String())
			if res.values[key] == nil {
				res.values[key] = map[string]float64{}
			}
			// benchfmt tidies units (ns/op becomes sec/op): keep both spellings.
			for _, v := range rec.Values {
				res.values[key][v.Unit] = v.Value
				if v.OrigUnit != "" {
					res.values[key][v.OrigUnit] = v.OrigValue
				}
			}
			for _, c := range rec.Config {
				if c.File {
					res.config[c.Key] = string(c.Value)
				}
			}
		case *benchfmt.SyntaxError:
			return res, rec
		}
	}
	if err := br.Err(); err != nil {
		return res, err
	}
	return res, nil
}

// logLine is a line a benchmark logged (b.Logf), such as how long generating data took.
var logLine = regexp.MustCompile(`(?m)^\s+\w+_test\.go:\d+: (.*)$`)

func benchLogs(raw string) []string {
	var out []string
	for _, m := range logLine.FindAllStringSubmatch(raw, -1) {
		out = append(out, m[1])
	}
	return out
}

// trimProcs drops the -GOMAXPROCS suffix of a benchmark name.
func trimProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return name
	}
	for _, c := range name[i+1:] {
		if c < '0' || c > '9' {
			return name
		}
	}
	return name[:i]
}

func memTotal() string {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == "MemTotal" {
			var kb int64
			fmt.Sscan(strings.TrimSpace(v), &kb)
			return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	return "?"
}

func kernel() string {
	data, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "?"
	}
	return "Linux " + strings.TrimSpace(string(data))
}
