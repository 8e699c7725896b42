package sync

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// A kiosk learns the extra questions with the survey it pulls, and the answers it keeps
// arrive at a real collector with their responses: stored, exported and counted. An
// answer to a question the store's survey does not ask a kiosk is refused there and
// quarantined on the kiosk, like an unknown reason; a response without answers, as a
// kiosk that predates questions sends it, is accepted as before.
func TestAnswersArriveAtTheCollector(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	survey, err := r.collector.Survey(ctx, "S1")
	if err != nil {
		t.Fatal(err)
	}
	en := func(s string) map[string]string { return map[string]string{"en": s} }
	survey.Questions = []response.Question{
		{Key: "found", Kind: response.QuestionSingle, Labels: en("Did you find it?"), Channels: []string{"kiosk"},
			Options: []response.Option{{Key: "yes", Labels: en("Yes")}, {Key: "no", Labels: en("No")}}},
		{Key: "speed", Kind: response.QuestionRating, Labels: en("Checkout speed")},
		{Key: "improve", Kind: response.QuestionText, Labels: en("One thing to improve"), Channels: []string{"web"}},
	}
	if _, err := r.collector.SetSurvey(ctx, survey, []string{"S1"}); err != nil {
		t.Fatal(err)
	}
	var pulled wire.Survey
	w := r.worker(func(c *Config) { c.OnSurvey = func(s wire.Survey) { pulled = s } })
	if err := w.PullSurvey(ctx); err != nil {
		t.Fatal(err)
	}
	if got := pulled.QuestionsFor(response.ChannelKiosk, ""); len(got) != 2 || got[0].Key != "found" || got[1].Key != "speed" {
		t.Fatalf("the kiosk is asked %+v, want found and speed", got)
	}

	complete := func(score int, f response.FollowUp) string {
		t.Helper()
		rec, err := r.kiosk.Record(ctx, response.Tap{Score: score, Locale: "en", SurveyVersion: pulled.Version})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.kiosk.Complete(ctx, rec.ID, f); err != nil {
			t.Fatal(err)
		}
		return rec.ID
	}
	answered := complete(9, response.FollowUp{Outcome: response.OutcomeSubmitted,
		Answers: map[string][]string{"found": {"yes"}, "speed": {"4"}}})
	plain := complete(6, response.FollowUp{Outcome: response.OutcomeSkipped})
	webOnly := complete(2, response.FollowUp{Outcome: response.OutcomeSubmitted,
		Answers: map[string][]string{"improve": {"Faster vans"}}})

	if _, err := w.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	ob, err := r.kiosk.Outbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ob.Pending != 0 || ob.Synced != 2 || ob.Quarantined != 1 {
		t.Fatalf("outbox %+v, want 2 synced and 1 quarantined", ob)
	}
	if q, _ := r.kiosk.Quarantined(ctx, 5); len(q) != 1 || q[0].ID != webOnly || !strings.Contains(q[0].Reason, `question "improve" is not asked here`) {
		t.Fatalf("quarantined %+v", q)
	}

	var out strings.Builder
	if _, err := r.collector.Export(ctx, storage.Filter{StoreID: "S1", From: "2000-01-01", To: "2999-12-31"}, &out); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	got := map[string]map[string][]string{}
	for _, row := range rows[1:] {
		var a map[string][]string
		if s := row[col["answers"]]; s != "" {
			if err := json.Unmarshal([]byte(s), &a); err != nil {
				t.Fatalf("answers %q: %v", s, err)
			}
		}
		got[row[col["id"]]] = a
	}
	want := map[string]map[string][]string{answered: {"found": {"yes"}, "speed": {"4"}}, plain: nil}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("at the collector: %v, want %v", got, want)
	}
	// And HQ's questions report counts them: one promoter said yes and rated 4.
	rep, err := r.service.QuestionsReport(ctx, storage.Filter{StoreID: "S1", From: "2000-01-01", To: "2999-12-31"}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Questions) != 3 || rep.Questions[0].Values[0].Promoters != 1 || rep.Questions[1].Values[3].Promoters != 1 ||
		*rep.Questions[1].Means.All != 4 {
		t.Errorf("the questions report: %+v", rep.Questions)
	}
}
