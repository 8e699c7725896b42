package collectortest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// QuestionsSurvey is the survey of SeedQuestions: four extra questions, three in any one
// place (found at kiosks; topics and speed everywhere; improve at QR codes). Labels and
// texts carry markup and a spreadsheet formula, for the escaping tests.
func QuestionsSurvey(base wire.Survey) wire.Survey {
	en := func(s string) map[string]string { return map[string]string{"en": s, "de": s + " (de)"} }
	base.Questions = []response.Question{
		{Key: "found", Kind: response.QuestionSingle, Channels: []string{"kiosk"}, Labels: en("Did you find everything?"),
			Options: []response.Option{{Key: "yes", Labels: en("Yes")}, {Key: "partly", Labels: en("Partly")}, {Key: "no", Labels: en("No")}}},
		{Key: "topics", Kind: response.QuestionMulti, Labels: en("What did you shop for?"),
			Options: []response.Option{{Key: "food", Labels: en("Food & drink")}, {Key: "home", Labels: en("Home")}, {Key: "gifts", Labels: en("Gifts")}}},
		{Key: "speed", Kind: response.QuestionRating, Labels: en("How quick was checkout?")},
		{Key: "improve", Kind: response.QuestionText, Channels: []string{"qr"}, Labels: en("One thing to do better <i>?</i>")},
	}
	return base
}

// SeedQuestions adds stores Q1 and Q2 (region West, UTC) with QuestionsSurvey, a kiosk in
// each and a QR link at Q1's checkout, and stores this fixed set of answers, tapped an
// hour before now (P promoter, Pa passive, D detractor):
//
//	Q1 kiosk  10 P   found=yes    topics=food,home  speed=5
//	Q1 kiosk   9 P   found=yes                      speed=4
//	Q1 kiosk   8 Pa  found=partly topics=food
//	Q1 kiosk   7 Pa                                 speed=3
//	Q1 kiosk   3 D   found=no     topics=home       speed=1
//	Q1 kiosk   0 D   found=no                       speed=2
//	Q1 kiosk   6 D   (no answers)
//	Q1 kiosk  10 P   found=yes    (suspect: not counted)
//	Q1 qr      9 P                topics=gifts                improve="More tills"
//	Q1 qr      2 D                                  speed=1   improve="Queue too long <b>"
//	Q1 qr      7 Pa                                           improve="=cmd|' /C calc'!A0"
//	Q2 kiosk  10 P   found=partly                   speed=5
//
// So, for every store and channel: found answered by 3 P, 1 Pa, 2 D (yes 2 P; partly
// 1 P, 1 Pa; no 2 D); topics by 2 P, 1 Pa, 1 D (food 1 P, 1 Pa; home 1 P, 1 D; gifts
// 1 P); speed by 3 P, 1 Pa, 3 D (1: 2 D; 2: 1 D; 3: 1 Pa; 4: 1 P; 5: 2 P), mean 3,
// promoters 14/3, passives 3, detractors 4/3; improve by 1 P, 1 Pa, 1 D, one text each.
// It returns the QR link.
func SeedQuestions(t testing.TB, c *Collector) storage.Link {
	t.Helper()
	ctx := context.Background()
	at := c.DB.Now().Add(-time.Hour)
	for _, id := range []string{"Q1", "Q2"} {
		c.AddStore(t, storage.Store{ID: id, Name: "Store " + id, Region: "West"})
		s, err := c.DB.Survey(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.DB.SetSurvey(ctx, QuestionsSurvey(s), []string{id}); err != nil {
			t.Fatalf("set the questions survey: %v", err)
		}
	}
	type a = map[string][]string
	answer := func(score int, answers a) wire.Response {
		at = at.Add(time.Second) // in order, so the latest texts are known
		return wire.Response{ID: uuid.Must(uuid.NewV7()).String(), Score: score, Reasons: []string{}, Locale: "en", SurveyVersion: 2,
			CreatedAt: at, CompletedAt: at.Add(5 * time.Second), Outcome: response.OutcomeSubmitted, Answers: answers}
	}
	suspect := answer(10, a{"found": {"yes"}})
	suspect.Suspect = true
	kiosk := map[string][]wire.Response{
		"Q1": {
			answer(10, a{"found": {"yes"}, "topics": {"food", "home"}, "speed": {"5"}}),
			answer(9, a{"found": {"yes"}, "speed": {"4"}}),
			answer(8, a{"found": {"partly"}, "topics": {"food"}}),
			answer(7, a{"speed": {"3"}}),
			answer(3, a{"found": {"no"}, "topics": {"home"}, "speed": {"1"}}),
			answer(0, a{"found": {"no"}, "speed": {"2"}}),
			answer(6, nil),
			suspect,
		},
		"Q2": {answer(10, a{"found": {"partly"}, "speed": {"5"}})},
	}
	for _, id := range []string{"Q1", "Q2"} {
		dev := c.Enroll(t, id, "Till 1")
		res, err := c.Service.IngestFromDevice(ctx, dev.DeviceID, kiosk[id])
		if err != nil || len(res.Accepted) != len(kiosk[id]) {
			t.Fatalf("kiosk answers of %s: %+v, %v", id, res, err)
		}
	}
	link, err := c.DB.AddLink(ctx, storage.NewLink{StoreID: "Q1", Channel: "qr", Touchpoint: "checkout"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []wire.Response{
		answer(9, a{"topics": {"gifts"}, "improve": {"More tills"}}),
		answer(2, a{"speed": {"1"}, "improve": {"Queue too long <b>"}}),
		answer(7, a{"improve": {"=cmd|' /C calc'!A0"}}),
	} {
		if _, err := c.Service.IngestFromLink(ctx, link, r); err != nil {
			t.Fatalf("QR answer: %v", err)
		}
	}
	return link
}
