// Package nps holds the Net Promoter Score metric: validated scores, their
// categories, tallies, the score itself and its margin of error. It is pure Go
// with no I/O so that the kiosk, the collector and the reports agree on the maths.
package nps

import (
	"errors"
	"fmt"
	"math"
)

// MinScore and MaxScore bound the answer to "How likely are you to recommend us?".
const (
	MinScore = 0
	MaxScore = 10
)

// ErrScoreOutOfRange is returned by ParseScore for anything outside 0–10.
var ErrScoreOutOfRange = errors.New("score must be an integer from 0 to 10")

// Score is a validated answer on the 0–10 scale.
type Score int

// ParseScore validates an integer answer.
func ParseScore(v int) (Score, error) {
	if v < MinScore || v > MaxScore {
		return 0, fmt.Errorf("%w: got %d", ErrScoreOutOfRange, v)
	}
	return Score(v), nil
}

// Valid reports whether s lies on the 0–10 scale. Scores made by ParseScore always do;
// this guards values built by conversion.
func (s Score) Valid() bool { return s >= MinScore && s <= MaxScore }

// Category is the NPS bucket a score falls into.
type Category int

// The three NPS categories.
const (
	Detractor Category = iota // 0–6
	Passive                   // 7–8
	Promoter                  // 9–10
)

// String names the category as the wire protocol and reports do.
func (c Category) String() string {
	switch c {
	case Detractor:
		return "detractor"
	case Passive:
		return "passive"
	case Promoter:
		return "promoter"
	}
	return fmt.Sprintf("Category(%d)", int(c))
}

// The lowest score of the passive and promoter categories; everything below
// MinPassive is a detractor. Storage queries take their bounds from ScoreRange, never
// from literals, so the thresholds live here alone.
const (
	MinPassive  = 7
	MinPromoter = 9
)

// Categories lists the three categories, detractors first.
var Categories = [...]Category{Detractor, Passive, Promoter}

// ErrUnknownCategory is returned by ParseCategory for a name that is not a category.
var ErrUnknownCategory = errors.New("category must be detractor, passive or promoter")

// ParseCategory reads a category's name as String writes it.
func ParseCategory(name string) (Category, error) {
	for _, c := range Categories {
		if c.String() == name {
			return c, nil
		}
	}
	return 0, fmt.Errorf("%w: got %q", ErrUnknownCategory, name)
}

// ScoreRange returns the lowest and highest score of category c, inclusive.
func (c Category) ScoreRange() (lo, hi int) {
	switch c {
	case Promoter:
		return MinPromoter, MaxScore
	case Passive:
		return MinPassive, MinPromoter - 1
	default:
		return MinScore, MinPassive - 1
	}
}

// Category returns the bucket for s.
func (s Score) Category() Category {
	switch {
	case s >= MinPromoter:
		return Promoter
	case s >= MinPassive:
		return Passive
	default:
		return Detractor
	}
}

// Tally counts responses by category. The zero value is an empty tally.
type Tally struct {
	Promoters  int64
	Passives   int64
	Detractors int64
}

// Add counts one score.
func (t *Tally) Add(s Score) {
	switch s.Category() {
	case Promoter:
		t.Promoters++
	case Passive:
		t.Passives++
	default:
		t.Detractors++
	}
}

// Merge adds the counts of u to t, as when summing per-day rollups.
func (t *Tally) Merge(u Tally) {
	t.Promoters += u.Promoters
	t.Passives += u.Passives
	t.Detractors += u.Detractors
}

// Total is the number of responses counted.
func (t Tally) Total() int64 { return t.Promoters + t.Passives + t.Detractors }

// shares returns the promoter and detractor fractions; both are 0 for an empty tally.
func (t Tally) shares() (p, d float64) {
	n := t.Total()
	if n == 0 {
		return 0, 0
	}
	return float64(t.Promoters) / float64(n), float64(t.Detractors) / float64(n)
}

// NPS is the percentage of promoters minus the percentage of detractors, from −100 to 100.
// An empty tally has an NPS of 0: callers show "no responses yet" by checking Total,
// because 0 is also the NPS of an evenly split or all-passive set.
func (t Tally) NPS() float64 {
	p, d := t.shares()
	return (p - d) * 100
}

// MarginOfError is the half-width of the 95% confidence interval of NPS, in NPS points.
// With p and d the promoter and detractor shares, the variance of one response's
// contribution (+1, 0 or −1) is p + d − (p − d)², so MoE = 1.96·√(var/n)·100.
// It is 0 for an empty tally (there is no estimate to bound) and for a single response
// or any unanimous set, where the sample variance is zero.
func (t Tally) MarginOfError() float64 {
	n := t.Total()
	if n == 0 {
		return 0
	}
	p, d := t.shares()
	variance := p + d - (p-d)*(p-d)
	if variance < 0 { // rounding on unanimous sets
		variance = 0
	}
	return 1.96 * math.Sqrt(variance/float64(n)) * 100
}

// DifferenceMarginOfError is the half-width of the 95% confidence interval of the
// difference between two independent tallies' NPS: the variances add, so the margins
// combine as √(a² + b²).
func DifferenceMarginOfError(a, b Tally) float64 {
	return math.Hypot(a.MarginOfError(), b.MarginOfError())
}
