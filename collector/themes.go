package collector

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/insight"
	"github.com/npskiosk/npskiosk/response"
)

// analyzers holds one insight.Analyzer per taxonomy, built at its first use: building
// one costs far more than reading a comment, and every store of a chain usually shares
// one taxonomy. Its zero value is ready to use.
type analyzers struct {
	mu       sync.Mutex
	m        map[string]*tagger
	defaults *tagger // the default taxonomy's, which most surveys use
}

// tagger tags responses with one taxonomy.
type tagger struct {
	taxonomy    insight.Taxonomy
	fingerprint string
	analyzer    *insight.Analyzer
}

// TaxonomyFingerprint names a taxonomy by its content: the first 16 hex digits of the
// SHA-256 of its JSON form. Responses store the fingerprint they were tagged with, so a
// changed taxonomy tells which need re-tagging.
func TaxonomyFingerprint(t insight.Taxonomy) string {
	b, _ := json.Marshal(t) // a taxonomy is strings and maps of strings: it always marshals
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// taggerFor returns the tagger of a survey's taxonomy, building its analyzer once. It
// runs for every batch and link answer: a survey without themes of its own gets the
// default tagger without parsing and hashing the default taxonomy again.
func (a *analyzers) taggerFor(survey response.Survey) (*tagger, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(survey.Themes) == 0 && a.defaults != nil {
		return a.defaults, nil
	}
	tax := survey.Taxonomy()
	fp := TaxonomyFingerprint(tax)
	if t, ok := a.m[fp]; ok {
		return t, nil
	}
	an, err := insight.NewAnalyzer(tax)
	if err != nil {
		return nil, fmt.Errorf("comment themes: %w", err)
	}
	if a.m == nil {
		a.m = map[string]*tagger{}
	}
	t := &tagger{taxonomy: tax, fingerprint: fp, analyzer: an}
	a.m[fp] = t
	if len(survey.Themes) == 0 {
		a.defaults = t
	}
	return t, nil
}

// tags reads a response's comment with the taxonomy: its themes together with the picked
// reasons that are themes (a reason counts as its theme), its sentiment, and whether the
// score and the comment disagree.
func (t *tagger) tags(score int, reasons []string, comment, locale string) *storage.Tags {
	out := &storage.Tags{Fingerprint: t.fingerprint}
	var a insight.Analysis
	if comment != "" {
		a = t.analyzer.Analyze(comment, locale)
		out.HasSentiment = true
		out.Sentiment = int(a.Sentiment)
		out.SentimentScore = a.Score
		out.WorthALook = insight.WorthALook(score, a)
	}
	polarity := make(map[string]int, len(a.Mentions))
	for _, m := range a.Mentions {
		polarity[m.Theme] = int(m.Sentiment)
	}
	for _, key := range insight.ThemesWithReasons(a, reasons, t.taxonomy) {
		out.Themes = append(out.Themes, storage.ThemeMention{Theme: key, Polarity: polarity[key]})
	}
	return out
}

// taggerForIngest is the tagger of a store's survey for a batch, or nil when the service
// is set not to tag (benchmarks of the untagged baseline).
func (s *Service) taggerForIngest(survey response.Survey) (*tagger, error) {
	if s.noTagging {
		return nil, nil
	}
	return s.analyzers.taggerFor(survey)
}

// tag sets row.Tags with the tagger; a nil tagger leaves the row untagged.
func (t *tagger) tag(row *storage.NewResponse) {
	if t == nil {
		return
	}
	row.Tags = t.tags(row.Score, row.Reasons, row.Comment, row.Locale)
}
