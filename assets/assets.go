// Package assets embeds what the kiosk ships with: translations, the default survey and
// the icon. Everything here is data; the code that uses it lives where it is used.
package assets

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"

	"github.com/npskiosk/npskiosk/internal/strictoml"
	"github.com/npskiosk/npskiosk/sync/wire"
)

//go:embed translations/*.json survey.toml icon.png
var files embed.FS

// Translations returns every embedded message catalogue, keyed by language tag.
func Translations() (map[string]map[string]string, error) {
	entries, err := fs.ReadDir(files, "translations")
	if err != nil {
		return nil, fmt.Errorf("read translations: %w", err)
	}
	out := make(map[string]map[string]string, len(entries))
	for _, e := range entries {
		b, err := files.ReadFile("translations/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("read translation %s: %w", e.Name(), err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("parse translation %s: %w", e.Name(), err)
		}
		out[strings.TrimSuffix(e.Name(), ".json")] = m
	}
	return out, nil
}

// DefaultSurvey is the survey a kiosk shows before it has fetched one.
func DefaultSurvey() (wire.Survey, error) {
	b, err := files.ReadFile("survey.toml")
	if err != nil {
		return wire.Survey{}, fmt.Errorf("read default survey: %w", err)
	}
	return ParseSurvey(b)
}

// ParseSurvey reads and validates a survey written in TOML; unknown keys are errors, so a
// typo in a setting is caught rather than silently ignored.
func ParseSurvey(b []byte) (wire.Survey, error) {
	var s wire.Survey
	if err := strictoml.Decode(b, &s); err != nil {
		return wire.Survey{}, fmt.Errorf("parse survey: %w", err)
	}
	if err := s.Validate(); err != nil {
		return wire.Survey{}, fmt.Errorf("invalid survey: %w", err)
	}
	return s, nil
}

// Icon is the application icon, a PNG.
func Icon() []byte {
	b, _ := files.ReadFile("icon.png")
	return b
}
