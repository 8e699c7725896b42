package kiosk

import (
	"slices"
	"strings"
)

// Catalog translates message keys. A message missing in a language falls back to the
// fallback language, then to the key itself, so a gap shows up instead of a blank.
type Catalog struct {
	msgs     map[string]map[string]string
	fallback string
}

// NewCatalog makes a catalogue from messages keyed by language then key.
func NewCatalog(msgs map[string]map[string]string, fallback string) *Catalog {
	return &Catalog{msgs: msgs, fallback: fallback}
}

// T returns the message for key in lang with "{name}" placeholders replaced; args are
// name, value pairs.
func (c *Catalog) T(lang, key string, args ...string) string {
	msg, ok := c.msgs[lang][key]
	if !ok {
		if msg, ok = c.msgs[c.fallback][key]; !ok {
			msg = key
		}
	}
	if len(args) == 0 {
		return msg
	}
	pairs := make([]string, 0, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		pairs = append(pairs, "{"+args[i]+"}", args[i+1])
	}
	return strings.NewReplacer(pairs...).Replace(msg)
}

// Has reports whether lang has its own message for key.
func (c *Catalog) Has(lang, key string) bool {
	_, ok := c.msgs[lang][key]
	return ok
}

// Keys lists the keys of lang, sorted.
func (c *Catalog) Keys(lang string) []string {
	var keys []string
	for k := range c.msgs[lang] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
