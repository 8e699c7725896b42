package main

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// machine is where the benchmarks ran.
type machine struct {
	CPU, Memory, Kernel, Go, OS, Postgres, Date string
	Cores                                       int
	Smoke                                       bool
}

// keptMarker, as the first line of a section of the report, says the section is written
// by hand (figures from a test rather than a benchmark, such as the comment themes'
// precision): the report carries it over when it is written again.
const keptMarker = "<!-- kept by benchreport: written by hand -->"

// keptSections returns the "## " sections of an earlier report that start with
// keptMarker, as they are.
func keptSections(earlier string) string {
	var kept strings.Builder
	parts := strings.Split("\n"+earlier, "\n## ")
	for _, p := range parts[1:] {
		title, body, _ := strings.Cut(p, "\n")
		if strings.HasPrefix(strings.TrimLeft(body, "\n"), keptMarker) {
			fmt.Fprintf(&kept, "## %s\n%s\n\n", title, strings.TrimRight(body, "\n"))
		}
	}
	return kept.String()
}

func markdown(m machine, rows []row, logs []string, plots map[string]string, res results, kept string) string {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Written by `make bench` (`scripts/bench.sh`, then `tools/benchreport`); run it again rather than edit this file; a section that starts with the comment `<!-- kept by benchreport: written by hand -->` (figures from tests, not benchmarks) is carried over as it is. ")
	b.WriteString("Every figure stands beside a baseline measured in the same run on the same machine; the ratio is figure ÷ baseline.\n\n")
	if m.Smoke {
		b.WriteString("**Smoke run (`-short`, as in `make test`): small sizes, not the figures to quote.**\n\n")
	}
	pg := m.Postgres
	if pg == "" {
		pg = "?"
	}
	fmt.Fprintf(&b, "| Machine | |\n|---|---|\n| Date | %s |\n| CPU | %s, %d cores |\n| Memory | %s |\n| OS | %s, %s |\n| Go | %s |\n| PostgreSQL | %s |\n\n",
		m.Date, m.CPU, m.Cores, m.Memory, m.OS, m.Kernel, m.Go, pg)
	fmt.Fprintf(&b, "![Every ratio on one log scale](%s)\n\n", plots["ratios"])
	for _, s := range sections {
		fmt.Fprintf(&b, "## %s\n\n%s\n\n", s.title, s.about)
		b.WriteString("| Figure | Measured | Baseline | Against | Ratio |\n|---|--:|--:|---|--:|\n")
		for _, r := range rows {
			if r.section != s.title {
				continue
			}
			base := "–"
			if r.figure.baseline != (metric{}) {
				base = withUnit(r.baseline*r.scale, r.unit)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.name, withUnit(r.value*r.scale, r.unit), base, r.against, ratio(r))
		}
		if ds := details[s.title]; len(ds) > 0 {
			b.WriteString("\n")
			var parts []string
			for _, d := range ds {
				v, _ := lookup(res, d.m)
				parts = append(parts, fmt.Sprintf("%s: %s", d.label, withUnit(v, d.unit)))
			}
			b.WriteString(strings.Join(parts, " · ") + "\n")
		}
		if s.title == "2. Kiosk footprint" {
			fmt.Fprintf(&b, "\n![npskiosk beside a Chromium kiosk](%s)\n", plots["footprint"])
		}
		b.WriteString("\n")
	}
	b.WriteString(kept)
	if len(logs) > 0 {
		b.WriteString("## Notes from the run\n\n")
		for _, l := range logs {
			fmt.Fprintf(&b, "- %s\n", l)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func withUnit(v float64, unit string) string {
	if unit == "" {
		return num(v)
	}
	if unit == "%" {
		return num(v) + " %"
	}
	return num(v) + " " + unit
}

const (
	chartW     = 900
	labelW     = 330
	barH       = 22
	barGap     = 8
	chartFont  = `font-family="Liberation Sans, Arial, sans-serif" font-size="13"`
	barColour  = "#0d3b8e"
	baseColour = "#9aa3b5"
)

// ratioChart draws every ratio as a bar on a log scale around 1×.
func ratioChart(rows []row) string {
	var bars []row
	for _, r := range rows {
		if !math.IsNaN(r.ratio) && r.ratio > 0 {
			bars = append(bars, r)
		}
	}
	lo, hi := 0.01, 10.0
	for _, r := range bars {
		lo = math.Min(lo, math.Pow(10, math.Floor(math.Log10(r.ratio))))
		hi = math.Max(hi, math.Pow(10, math.Ceil(math.Log10(r.ratio))))
	}
	plotW := float64(chartW - labelW - 70)
	x := func(v float64) float64 {
		return labelW + plotW*(math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))
	}
	top := 40
	h := top + len(bars)*(barH+barGap) + 40
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" %s>`+"\n", chartW, h, chartW, h, chartFont)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#fff"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="22" font-size="15" font-weight="bold">Figure ÷ baseline (log scale; 1× = the baseline)</text>`+"\n")
	for d := lo; d <= hi*1.0001; d *= 10 {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="%s"/>`+"\n",
			x(d), top-6, x(d), h-30, baseColour, map[bool]string{true: "2", false: "1"}[d == 1])
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s×</text>`+"\n", x(d), h-12, strconv.FormatFloat(d, 'f', -1, 64))
	}
	for i, r := range bars {
		y := top + i*(barH+barGap)
		x0, x1 := x(1), x(r.ratio)
		if x1 < x0 {
			x0, x1 = x1, x0
		}
		label := strings.TrimPrefix(r.section[3:]+": "+r.name, " ")
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelW-8, y+barH-6, html.EscapeString(label))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", x0, y, math.Max(x1-x0, 1), barH, barColour)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s×</text>`+"\n", math.Max(x(r.ratio), x(1))+4, y+barH-6, num(r.ratio))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// footprintChart draws the kiosk's footprint figures beside Chromium's, each pair scaled
// to the larger of the two.
func footprintChart(rows []row) string {
	var pairs []row
	for _, r := range rows {
		if r.section == "2. Kiosk footprint" {
			pairs = append(pairs, r)
		}
	}
	plotW := float64(chartW - labelW - 120)
	top := 56
	h := top + len(pairs)*(2*barH+2*barGap+6) + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" %s>`+"\n", chartW, h, chartW, h, chartFont)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#fff"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="22" font-size="15" font-weight="bold">npskiosk beside chromium --kiosk (same screen, same Xvfb; shorter is better)</text>`+"\n")
	fmt.Fprintf(&b, `<rect x="%d" y="32" width="14" height="14" fill="%s"/><text x="%d" y="44">npskiosk</text>`, labelW, barColour, labelW+20)
	fmt.Fprintf(&b, `<rect x="%d" y="32" width="14" height="14" fill="%s"/><text x="%d" y="44">chromium --kiosk</text>`+"\n", labelW+110, baseColour, labelW+130)
	for i, r := range pairs {
		y := top + i*(2*barH+2*barGap+6)
		biggest := math.Max(r.value, r.baseline)
		if biggest <= 0 {
			biggest = 1
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelW-8, y+barH+4, html.EscapeString(r.name))
		for j, v := range []float64{r.value, r.baseline} {
			w := plotW * v / biggest
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", labelW, y+j*(barH+2), math.Max(w, 1), barH, []string{barColour, baseColour}[j])
			fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`+"\n", float64(labelW)+math.Max(w, 1)+4, y+j*(barH+2)+barH-6, html.EscapeString(withUnit(v*r.scale, r.unit)))
		}
	}
	b.WriteString("</svg>\n")
	return b.String()
}
