package assets

import (
	"strings"
	"testing"
)

func TestDefaultSurveyIsValid(t *testing.T) {
	s, err := DefaultSurvey()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Reasons {
		for _, lang := range s.Languages {
			if r.Labels[lang] == "" {
				t.Errorf("reason %s has no %s label", r.Key, lang)
			}
		}
	}
	msgs, err := Translations()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range s.Languages {
		if _, ok := msgs[lang]; !ok {
			t.Errorf("survey offers %s but there is no translation file", lang)
		}
	}
	if len(Icon()) == 0 {
		t.Error("icon missing")
	}
}

func TestParseSurveyRejectsUnknownKeys(t *testing.T) {
	_, err := ParseSurvey([]byte("version = 1\nlanguages = [\"en\"]\nidle_timeout_seconds = 30\nthank_you_seconds = 4\nidle_timout = 5\n"))
	if err == nil || !strings.Contains(err.Error(), "idle_timout") {
		t.Fatalf("ParseSurvey with a misspelt key: %v", err)
	}
}
