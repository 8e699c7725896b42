package response

import (
	"strings"
	"testing"
)

func surveyWithQuestions() Survey {
	s := validSurvey()
	en := func(t string) map[string]string { return map[string]string{"en": t} }
	s.Questions = []Question{
		{Key: "found", Kind: QuestionSingle, Labels: en("Did you find it?"),
			Options: []Option{{Key: "yes", Labels: en("Yes")}, {Key: "no", Labels: en("No")}}},
		{Key: "speed", Kind: QuestionRating, Labels: en("Delivery speed"), Channels: []string{"web", "app"}, Touchpoints: []string{"delivery"}},
		{Key: "improve", Kind: QuestionText, Labels: en("One thing to improve"), Channels: []string{"web"}},
		{Key: "topics", Kind: QuestionMulti, Labels: en("What mattered?"), Channels: []string{"kiosk"},
			Options: []Option{{Key: "price", Labels: en("Price")}, {Key: "staff", Labels: en("Staff")}, {Key: "range", Labels: en("Range")}}},
	}
	return s
}

func TestSurveyQuestionsValidate(t *testing.T) {
	en := map[string]string{"en": "Q"}
	tests := []struct {
		name    string
		change  func(*Survey)
		wantErr string
	}{
		{"valid", func(*Survey) {}, ""},
		{"unknown kind", func(s *Survey) { s.Questions[0].Kind = "slider" }, `kind "slider"`},
		{"one option", func(s *Survey) { s.Questions[0].Options = s.Questions[0].Options[:1] }, "needs 2 to 10 options"},
		{"options on a rating", func(s *Survey) { s.Questions[1].Options = s.Questions[0].Options }, "has no options"},
		{"no default label", func(s *Survey) { s.Questions[2].Labels = map[string]string{"de": "x"} }, "no label in en"},
		{"key twice", func(s *Survey) { s.Questions[2].Key = "found" }, `"found" appears twice`},
		{"bad channel", func(s *Survey) { s.Questions[2].Channels = []string{"Web"} }, `channel "Web"`},
		{"four at web delivery", func(s *Survey) {
			s.Questions = append(s.Questions, Question{Key: "more", Kind: QuestionText, Labels: en, Touchpoints: []string{"delivery"}})
		}, "4 extra questions are asked at channel web, touchpoint \"delivery\""},
		{"four everywhere", func(s *Survey) {
			for _, k := range []string{"a", "b", "c"} {
				s.Questions = append(s.Questions, Question{Key: k, Kind: QuestionText, Labels: en})
			}
		}, "extra questions are asked at channel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := surveyWithQuestions()
			tt.change(&s)
			err := s.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestQuestionsForAndCheckAnswers(t *testing.T) {
	s := surveyWithQuestions()
	keys := func(qs []Question) string {
		var out []string
		for _, q := range qs {
			out = append(out, q.Key)
		}
		return strings.Join(out, ",")
	}
	for _, tt := range []struct{ channel, touchpoint, want string }{
		{"", "", "found,topics"},
		{"kiosk", "checkout", "found,topics"},
		{"web", "delivery", "found,speed,improve"},
		{"web", "", "found,improve"},
		{"app", "delivery", "found,speed"},
		{"qr", "delivery", "found"},
	} {
		if got := keys(s.QuestionsFor(tt.channel, tt.touchpoint)); got != tt.want {
			t.Errorf("QuestionsFor(%q, %q) = %s, want %s", tt.channel, tt.touchpoint, got, tt.want)
		}
	}
	for _, tt := range []struct {
		name                string
		channel, touchpoint string
		answers             map[string][]string
		wantErr             string
	}{
		{"all fit", "web", "delivery", map[string][]string{"found": {"yes"}, "speed": {"4"}, "improve": {"Faster vans"}}, ""},
		{"multi", "", "", map[string][]string{"topics": {"price", "staff"}}, ""},
		{"not asked here", "qr", "", map[string][]string{"speed": {"4"}}, `question "speed" is not asked here`},
		{"unknown question", "web", "", map[string][]string{"colour": {"red"}}, `question "colour" is not asked here`},
		{"unknown option", "web", "", map[string][]string{"found": {"maybe"}}, `has no option "maybe"`},
		{"two options on a single", "web", "", map[string][]string{"found": {"yes", "no"}}, "takes one option, got 2"},
		{"option twice", "", "", map[string][]string{"topics": {"price", "price"}}, `option "price" given twice`},
		{"rating 6", "web", "delivery", map[string][]string{"speed": {"6"}}, "must be 1 to 5"},
		{"rating words", "web", "delivery", map[string][]string{"speed": {"fast"}}, "must be 1 to 5"},
	} {
		r := Response{Channel: tt.channel, Touchpoint: tt.touchpoint, Answers: tt.answers}
		err := r.CheckAnswers(s)
		if (tt.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: CheckAnswers = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}
