package nps

import (
	"errors"
	"math"
	"testing"
)

func TestParseScore(t *testing.T) {
	tests := []struct {
		in      int
		want    Score
		wantErr bool
	}{
		{in: -1, wantErr: true},
		{in: 0, want: 0},
		{in: 6, want: 6},
		{in: 10, want: 10},
		{in: 11, wantErr: true},
		{in: math.MaxInt, wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseScore(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrScoreOutOfRange) {
				t.Errorf("ParseScore(%d) error = %v, want ErrScoreOutOfRange", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseScore(%d) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestCategory(t *testing.T) {
	want := []Category{
		Detractor, Detractor, Detractor, Detractor, Detractor, Detractor, Detractor, // 0–6
		Passive, Passive, // 7–8
		Promoter, Promoter, // 9–10
	}
	for s, c := range want {
		if got := Score(s).Category(); got != c {
			t.Errorf("Score(%d).Category() = %v, want %v", s, got, c)
		}
	}
	if Promoter.String() != "promoter" || Passive.String() != "passive" || Detractor.String() != "detractor" {
		t.Error("category names changed; the wire protocol depends on them")
	}
}

func TestTally(t *testing.T) {
	// Expected values worked by hand from var = p + d − (p − d)², MoE = 1.96·√(var/n)·100.
	tests := []struct {
		name      string
		tally     Tally
		wantNPS   float64
		wantMoE   float64
		wantTotal int64
	}{
		{name: "no responses", tally: Tally{}, wantNPS: 0, wantMoE: 0, wantTotal: 0},
		{name: "one promoter", tally: Tally{Promoters: 1}, wantNPS: 100, wantMoE: 0, wantTotal: 1},
		{name: "one detractor", tally: Tally{Detractors: 1}, wantNPS: -100, wantMoE: 0, wantTotal: 1},
		{name: "one passive", tally: Tally{Passives: 1}, wantNPS: 0, wantMoE: 0, wantTotal: 1},
		{name: "all passive", tally: Tally{Passives: 250}, wantNPS: 0, wantMoE: 0, wantTotal: 250},
		// p = .5, d = .5: var = 1, √(1/4) = .5 → 98.
		{name: "split two and two", tally: Tally{Promoters: 2, Detractors: 2}, wantNPS: 0, wantMoE: 98, wantTotal: 4},
		// p = .5, d = .2: NPS 30; var = .7 − .09 = .61; √.0061 = .0781025, ×196 = 15.3081.
		{name: "hundred", tally: Tally{Promoters: 50, Passives: 30, Detractors: 20}, wantNPS: 30, wantMoE: 15.3081, wantTotal: 100},
		// p = .6, d = .15: NPS 45; var = .75 − .2025 = .5475; 1.96·√(.5475e-6)·100 = 0.145027.
		{name: "million", tally: Tally{Promoters: 600_000, Passives: 250_000, Detractors: 150_000}, wantNPS: 45, wantMoE: 0.145027, wantTotal: 1_000_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.tally.Total(); got != tt.wantTotal {
				t.Errorf("Total() = %d, want %d", got, tt.wantTotal)
			}
			if got := tt.tally.NPS(); math.Abs(got-tt.wantNPS) > 1e-9 {
				t.Errorf("NPS() = %v, want %v", got, tt.wantNPS)
			}
			if got := tt.tally.MarginOfError(); math.Abs(got-tt.wantMoE) > 1e-4 {
				t.Errorf("MarginOfError() = %v, want %v", got, tt.wantMoE)
			}
		})
	}
}

func TestTallyAddMerge(t *testing.T) {
	var a Tally
	for s := Score(0); s <= MaxScore; s++ {
		a.Add(s)
	}
	if a != (Tally{Promoters: 2, Passives: 2, Detractors: 7}) {
		t.Fatalf("Add over 0..10 = %+v", a)
	}
	b := Tally{Promoters: 1}
	b.Merge(a)
	if b != (Tally{Promoters: 3, Passives: 2, Detractors: 7}) {
		t.Fatalf("Merge = %+v", b)
	}
}

// The figures were worked by hand (a calculator, the formulas in the doc comments): for
// a = 50/30/20, NPS 30, variance 0.5 + 0.2 − 0.3² = 0.61, margin 1.96·√(0.61/100)·100 =
// 15.308; b = 40/30/30, NPS 10, variance 0.69, margin 16.281; together √(15.308² +
// 16.281²) = 22.347.
func TestCompare(t *testing.T) {
	tests := []struct {
		name           string
		a, b           Tally
		min            int64
		delta, margin  float64
		enough, signif bool
	}{
		{"identical periods", Tally{50, 30, 20}, Tally{50, 30, 20}, 30, 0, 21.649, true, false},
		{"a fall within the noise", Tally{50, 30, 20}, Tally{40, 30, 30}, 30, -20, 22.347, true, false},
		{"a real drop", Tally{300, 100, 100}, Tally{150, 100, 250}, 30, -60, 10.371, true, true},
		{"a rise of the same size, the other way", Tally{150, 100, 250}, Tally{300, 100, 100}, 30, 60, 10.371, true, true},
		{"noise at small n", Tally{20, 6, 4}, Tally{16, 8, 6}, 30, -20, 38.170, true, false},
		{"a big gap below the minimum n", Tally{10, 5, 5}, Tally{2, 3, 15}, 30, -90, 46.278, false, false},
		{"the same gap with a minimum of 20", Tally{10, 5, 5}, Tally{2, 3, 15}, 20, -90, 46.278, true, true},
		{"zero minimum means the default", Tally{10, 5, 5}, Tally{2, 3, 15}, 0, -90, 46.278, false, false},
		{"an empty side", Tally{}, Tally{40, 0, 0}, 30, 100, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Compare(tt.a, tt.b, tt.min)
			if math.Abs(d.Delta-tt.delta) > 1e-9 || math.Abs(d.Margin-tt.margin) > 1e-3 ||
				d.Enough != tt.enough || d.Significant != tt.signif {
				t.Errorf("Compare = %+v; want delta %v ± %v, enough %v, significant %v", d, tt.delta, tt.margin, tt.enough, tt.signif)
			}
			if math.Abs(d.Low-(d.Delta-d.Margin)) > 1e-9 || math.Abs(d.High-(d.Delta+d.Margin)) > 1e-9 {
				t.Errorf("interval [%v, %v] is not delta ± margin", d.Low, d.High)
			}
		})
	}
}

// 20 of 100: p = 0.2, margin 1.96·√(0.2·0.8/100)·100 = 7.84 points.
func TestShareOf(t *testing.T) {
	for _, tt := range []struct {
		count, n        int64
		percent, margin float64
	}{{20, 100, 20, 7.84}, {0, 0, 0, 0}, {5, 5, 100, 0}, {0, 50, 0, 0}} {
		s := ShareOf(tt.count, tt.n)
		if math.Abs(s.Percent-tt.percent) > 1e-9 || math.Abs(s.Margin-tt.margin) > 1e-9 {
			t.Errorf("ShareOf(%d, %d) = %+v, want %v ± %v", tt.count, tt.n, s, tt.percent, tt.margin)
		}
	}
}

func TestCategoryScoreRangeAgreesWithCategory(t *testing.T) {
	for v := MinScore; v <= MaxScore; v++ {
		s, _ := ParseScore(v)
		c := s.Category()
		lo, hi := c.ScoreRange()
		if v < lo || v > hi {
			t.Errorf("score %d is a %s, but that category's range is %d–%d", v, c, lo, hi)
		}
		back, err := ParseCategory(c.String())
		if err != nil || back != c {
			t.Errorf("ParseCategory(%q) = %v, %v", c.String(), back, err)
		}
	}
	if _, err := ParseCategory("fan"); !errors.Is(err, ErrUnknownCategory) {
		t.Errorf("ParseCategory(fan) = %v, want ErrUnknownCategory", err)
	}
}
