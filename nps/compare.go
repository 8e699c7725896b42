package nps

import "math"

// DefaultMinResponses is the fewest responses a figure needs before it is ranked or
// marked significant: below it the figure is shown, with its margin, but not judged.
const DefaultMinResponses = 30

// Difference is the change from one NPS to another (b − a, in NPS points) with its 95 %
// confidence interval. The two tallies are independent samples, so the variances add:
// the interval is Delta ± 1.96·√(var_a/n_a + var_b/n_b)·100 (DifferenceMarginOfError).
type Difference struct {
	Delta  float64 `json:"delta"`
	Margin float64 `json:"margin"` // half-width of the 95 % interval
	Low    float64 `json:"low"`
	High   float64 `json:"high"`
	// Enough is whether both sides have at least the minimum number of responses.
	// Without it the difference is shown but never called significant.
	Enough bool `json:"enough"`
	// Significant is whether, with Enough responses, the interval leaves out 0.
	Significant bool `json:"significant"`
}

// Compare is the difference from a to b, judged significant only when both sides have
// at least minResponses responses (zero or less: DefaultMinResponses) and the 95 %
// interval does not reach 0. Two sides with no spread at all (each unanimous) and
// different NPS are a real difference once both have enough responses.
func Compare(a, b Tally, minResponses int64) Difference {
	if minResponses <= 0 {
		minResponses = DefaultMinResponses
	}
	d := Difference{Delta: b.NPS() - a.NPS(), Margin: DifferenceMarginOfError(a, b)}
	d.Low, d.High = d.Delta-d.Margin, d.Delta+d.Margin
	d.Enough = a.Total() >= minResponses && b.Total() >= minResponses
	d.Significant = d.Enough && math.Abs(d.Delta) > d.Margin
	return d
}

// Share is a proportion (of responses, in %) with its 95 % interval.
type Share struct {
	Percent float64 `json:"percent"`
	Margin  float64 `json:"margin"` // half-width, in percentage points
	N       int64   `json:"n"`
}

// ShareOf is count out of n, with the normal-approximation margin 1.96·√(p(1−p)/n).
// It is 0 ± 0 for n = 0.
func ShareOf(count, n int64) Share {
	if n <= 0 {
		return Share{}
	}
	p := float64(count) / float64(n)
	return Share{Percent: p * 100, Margin: 1.96 * math.Sqrt(p*(1-p)/float64(n)) * 100, N: n}
}
