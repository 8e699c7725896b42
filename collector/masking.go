package collector

import (
	"maps"
	"sync"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/pii"
	"github.com/npskiosk/npskiosk/response"
)

// maskCounts counts the personal data masked at ingest by category, for /metrics. Its
// zero value is ready to use.
type maskCounts struct {
	mu sync.Mutex
	n  map[string]uint64
}

func (c *maskCounts) add(counts pii.Counts) {
	if len(counts) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]uint64{}
	}
	for k, v := range counts {
		c.n[k] += uint64(v)
	}
}

// MaskedCounts is how many pieces of personal data ingest has masked since the
// collector started, by category (email, phone, card, iban or a survey's pattern name).
func (s *Service) MaskedCounts() map[string]uint64 {
	s.masked.mu.Lock()
	defer s.masked.mu.Unlock()
	return maps.Clone(s.masked.n)
}

// maskingFor is the masking of a store's survey. A stored survey was validated when it
// was set, so its patterns compile; should one not, the built-in kinds are still masked.
func (s *Service) maskingFor(survey response.Survey) *response.Masking {
	m, err := survey.Masking()
	if err != nil {
		s.logger().Error("masking the built-in kinds of personal data only: the survey's patterns do not compile", "err", err)
		return nil
	}
	return m
}

// mask masks personal data in a row's comment and text answers, whatever channel it
// came through and whatever build of the kiosk sent it: before tagging, the full-text
// index, events and cases see the text. The content hash stays that of what was sent,
// so a retry still matches. The contact, given with consent, is kept. The caller counts
// the result (countMasked) once the row is stored: a retry is not counted twice.
func mask(m *response.Masking, row *storage.NewResponse) pii.Counts {
	return m.Response(&row.Response)
}

// countMasked adds what was masked in a stored row to MaskedCounts.
func (s *Service) countMasked(c pii.Counts) { s.masked.add(c) }
