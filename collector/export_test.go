package collector

// SetTagging turns tagging at ingest on or off, for the benchmark of what it costs.
func SetTagging(s *Service, on bool) { s.noTagging = !on }

// SetRetagBatch sets how many responses a re-tagging batch takes.
func SetRetagBatch(s *Service, n int) { s.retagBatch = n }
