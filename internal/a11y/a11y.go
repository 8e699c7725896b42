// Package a11y checks a page's accessibility in tests: it runs axe-core, the rules
// engine browsers' accessibility audits use, in the page a chromedp context has open.
//
// axe.min.js is axe-core's own build, unchanged, as npm ships it (Mozilla Public
// License 2.0: LICENSE-axe-core; what it bundles: LICENSE-axe-core-3RD-PARTY.txt).
// It is kept here rather than fetched at test time so that make test runs offline,
// CI needs no npm, and a new axe release (which adds rules) changes the results only
// when someone updates it on purpose: scripts/update-axe.sh.
package a11y

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

//go:embed axe.min.js
var axeJS string

// Version is the axe-core release kept here, and Integrity its file's Subresource
// Integrity hash as axe-core publishes it (sri-history.json).
const (
	Version   = "4.14.1"
	Integrity = "sha256-KTSJmUUM3yhJqOcLeRL8LahahJ2jnA0NU5T1HUqe2Vw="
)

// Result is what axe found on a page.
type Result struct {
	Violations []Violation `json:"violations"`
	Passes     int         `json:"passes"`     // rules that applied and passed
	Incomplete []string    `json:"incomplete"` // rules a person must judge, by id
	Engine     string      `json:"engine"`     // axe-core's version
}

// Violation is a rule some elements break.
type Violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		HTML    string `json:"html"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

// String lists a violation and the elements that break it.
func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s", v.ID, v.Impact, v.Help)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n    %v %s\n      %s", n.Target, n.HTML, strings.ReplaceAll(n.Summary, "\n", " "))
	}
	return b.String()
}

// Run puts axe into the open page (once) and runs every rule of WCAG 2.2 A and AA and
// axe's best practices on the whole document, open shadow roots included.
func Run(ctx context.Context) (Result, error) {
	if sum := sha256.Sum256([]byte(axeJS)); "sha256-"+base64.StdEncoding.EncodeToString(sum[:]) != Integrity {
		return Result{}, fmt.Errorf("a11y: axe.min.js is not axe-core %s as published", Version)
	}
	var loaded bool
	if err := chromedp.Run(ctx, chromedp.Evaluate(`typeof window.axe === "object"`, &loaded)); err != nil {
		return Result{}, fmt.Errorf("a11y: %w", err)
	}
	if !loaded {
		if err := chromedp.Run(ctx, chromedp.Evaluate(axeJS+"\n;true", nil)); err != nil {
			return Result{}, fmt.Errorf("a11y: load axe-core: %w", err)
		}
	}
	var raw string
	run := `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
	    resultTypes: ["violations", "incomplete"]}).then(r => JSON.stringify({
	  engine: r.testEngine.version, passes: r.passes.length, incomplete: r.incomplete.map(v => v.id),
	  violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
	    nodes: v.nodes.map(n => ({target: n.target, html: n.html, summary: n.failureSummary}))}))}))`
	if err := chromedp.Run(ctx, chromedp.Evaluate(run, &raw, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	})); err != nil {
		return Result{}, fmt.Errorf("a11y: run axe: %w", err)
	}
	var res Result
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		return Result{}, fmt.Errorf("a11y: axe's results: %w", err)
	}
	return res, nil
}
