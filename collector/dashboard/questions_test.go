package dashboard_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/dashboard"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// getAs fetches a dashboard page with an API token as the session cookie.
func getAs(t *testing.T, base, token, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.AddCookie(&http.Cookie{Name: dashboard.SessionCookie, Value: token})
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The Questions page and its CSV show the hand-counted set's figures (see
// collectortest.SeedQuestions) on SQLite and PostgreSQL: counts and shares per option and
// category, a rating's distribution and means, the latest texts per category; labels
// and texts are escaped in the page and guarded in the CSV; a store's sign-in sees its
// store only.
func TestQuestionsPageShowsTheHandCounts(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		c := collectortest.Start(t, collectortest.Options{Backend: b})
		collectortest.SeedQuestions(t, c)
		hq := c.Session(t, "")
		code, page := getAs(t, c.URL, hq, "/questions")
		if code != 200 {
			t.Fatalf("/questions: %d\n%s", code, page)
		}
		for _, want := range []string{
			`<a href="/questions" aria-current="page">Questions</a>`,
			`<h2 id="q-found-title">Did you find everything?</h2>`,
			`One choice · asked at channel kiosk`,
			`Answered by <strong>6</strong>: promoters 3, passives 1, detractors 2.`,
			// partly: 2 of 6 (33 %), 1 of 3 promoters, 1 of 1 passive, none of 2 detractors
			`<tr><th scope="row">Partly</th>
<td class="num"><span class="narrow-only">All </span>2 (33 %)</td>
<td class="num"><span class="narrow-only">Promoters </span>1 (33 %)</td>
<td class="num"><span class="narrow-only">Passives </span>1 (100 %)</td>
<td class="num"><span class="narrow-only">Detractors </span>0 (0 %)</td>`,
			`<th scope="row">Food &amp; drink</th>`,
			// the rating: 1 twice (both detractors), the means 3, 14/3, 3, 4/3
			`<tr><th scope="row">1</th>
<td class="num"><span class="narrow-only">All </span>2 (29 %)</td>`,
			`<td class="num"><span class="narrow-only">All </span>3.00</td>
<td class="num"><span class="narrow-only">Promoters </span>4.67</td><td class="num"><span class="narrow-only">Passives </span>3.00</td>
<td class="num"><span class="narrow-only">Detractors </span>1.33</td>`,
			`<h2 id="q-improve-title">One thing to do better &lt;i&gt;?&lt;/i&gt;</h2>`,
			`<div class="comment">Queue too long &lt;b&gt;</div><div class="muted">Q1 · `,
			`<div class="comment">=cmd|&#39; /C calc&#39;!A0</div>`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("the page lacks\n%s", want)
			}
		}
		for _, raw := range []string{"<i>?</i>", "Queue too long <b>"} {
			if strings.Contains(page, raw) {
				t.Errorf("the page has %q unescaped", raw)
			}
		}

		// The CSV: the same figures, and the formula made harmless.
		code, body := getAs(t, c.URL, hq, "/export/questions.csv")
		if code != 200 {
			t.Fatalf("questions.csv: %d\n%s", code, body)
		}
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		lines := map[string]bool{}
		for _, r := range rows {
			lines[strings.Join(r, ",")] = true
		}
		for _, want := range []string{
			"question,question_label,kind,row,value,value_label,total,promoters,passives,detractors,text,score,category,store_id,day,channel,touchpoint,created_at",
			"found,Did you find everything?,single,answered,,,6,3,1,2,,,,,,,,",
			"found,Did you find everything?,single,option,partly,Partly,2,1,1,0,,,,,,,,",
			"topics,What did you shop for?,multi,option,food,Food & drink,2,1,1,0,,,,,,,,",
			"speed,How quick was checkout?,rating,rating,1,1,2,0,0,2,,,,,,,,",
			"speed,How quick was checkout?,rating,mean,,,3.0000,4.6667,3.0000,1.3333,,,,,,,,",
		} {
			if !lines[want] {
				t.Errorf("questions.csv lacks the line %s\n%s", want, body)
			}
		}
		var texts []string
		for _, r := range rows {
			if r[3] == "text" {
				texts = append(texts, r[10]+" "+r[12]+" "+r[13]+" "+r[15]+" "+r[16])
			}
		}
		if got := strings.Join(texts, "|"); got != "More tills promoter Q1 qr checkout|'=cmd|' /C calc'!A0 passive Q1 qr checkout|Queue too long <b> detractor Q1 qr checkout" {
			t.Errorf("questions.csv texts: %s", got)
		}

		// A store's sign-in sees its store's answers only; the filters narrow the page.
		_, q2 := getAs(t, c.URL, c.Session(t, "Q2"), "/questions")
		if !strings.Contains(q2, `Answered by <strong>1</strong>: promoters 1, passives 0, detractors 0.`) || strings.Contains(q2, "Answered by <strong>6</strong>") {
			t.Errorf("Q2's page shows more than Q2")
		}
		_, qr := getAs(t, c.URL, hq, "/questions?channel=qr")
		if strings.Contains(qr, `id="q-found-title"`) || !strings.Contains(qr, `id="q-improve-title"`) {
			t.Errorf("the QR codes' page asks the kiosks' question, or not its own")
		}
		_, none := getAs(t, c.URL, hq, "/questions?store=NOPE")
		if !strings.Contains(none, "No survey in view asks extra questions") {
			t.Errorf("a store without questions: %s", none)
		}
		if code, _ := getAs(t, c.URL, hq, "/questions?channel=QR"); code != 403 && code != 400 {
			t.Errorf("a bad channel: %d", code)
		}
	})
}

// screenshotQuestions are collectortest.QuestionsSurvey's questions as a chain would
// word them (those carry markup for the escaping tests).
func screenshotQuestions(s wire.Survey) wire.Survey {
	s = collectortest.QuestionsSurvey(s)
	for i, label := range []string{"Did you find everything you came for?", "What did you shop for today?",
		"How quick was checkout?", "One thing we could do better?"} {
		s.Questions[i].Labels = map[string]string{"en": label}
	}
	s.Questions[1].Options[0].Labels = map[string]string{"en": "Food and drink"}
	return s
}

// seedQuestionAnswers gives every store of the screenshots' collector the extra
// questions and a few weeks of answers to them: kiosks answer the choices and the
// rating, a QR code at S001's checkout the text too.
func seedQuestionAnswers(t *testing.T, db *storage.DB) {
	t.Helper()
	ctx := context.Background()
	svc := collector.New(db)
	stores, err := db.Stores(ctx, storage.Filter{From: "2000-01-01", To: "2000-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(23, 23))
	texts := map[string][]string{
		"promoter":  {"Keep the self-checkouts open", "More vegan options, please", "Nothing, it was great", "Longer opening hours on Sunday"},
		"passive":   {"Signs to the bakery", "A second till at lunchtime", "Baskets by the door", "Fewer price labels missing"},
		"detractor": {"Open more tills when it is busy", "The card reader kept failing", "Restock the shelves in the morning", "Staff to help at the self-checkout"},
	}
	now := db.Now()
	for i, s := range stores {
		sv, err := db.Survey(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SetSurvey(ctx, screenshotQuestions(sv), []string{s.ID}); err != nil {
			t.Fatal(err)
		}
		nd, err := db.AddDevice(ctx, s.ID, "Till 9", 0)
		if err != nil {
			t.Fatal(err)
		}
		en, err := db.Enroll(ctx, wire.EnrollRequest{Code: nd.Code})
		if err != nil {
			t.Fatal(err)
		}
		var batch []wire.Response
		for range 30 + rng.IntN(20) {
			at := now.Add(-time.Duration(1+rng.IntN(20*24*60)) * time.Minute)
			score := retailScore(rng, i%5-2)
			r := wire.Response{ID: uuid.Must(uuid.NewV7()).String(), Score: score, Reasons: []string{}, Locale: "en",
				SurveyVersion: sv.Version + 1, CreatedAt: at, CompletedAt: at.Add(20 * time.Second), Outcome: response.OutcomeSubmitted,
				Answers: map[string][]string{}}
			good := score >= 9
			if rng.IntN(5) > 0 {
				found := []string{"yes", "yes", "yes", "partly", "no"}[rng.IntN(5)]
				if !good && rng.IntN(2) == 0 {
					found = []string{"partly", "no"}[rng.IntN(2)]
				}
				r.Answers["found"] = []string{found}
			}
			if rng.IntN(2) == 0 {
				var topics []string
				for _, o := range []struct {
					key    string
					chance int
				}{{"food", 80}, {"home", 45}, {"gifts", 25}} {
					if rng.IntN(100) < o.chance {
						topics = append(topics, o.key)
					}
				}
				if len(topics) == 0 {
					topics = []string{"food"}
				}
				r.Answers["topics"] = topics
			}
			if rng.IntN(4) > 0 {
				rating := min(5, max(1, score/2+rng.IntN(2)))
				r.Answers["speed"] = []string{fmt.Sprint(rating)}
			}
			if len(r.Answers) == 0 {
				r.Answers = nil
			}
			batch = append(batch, r)
		}
		if _, err := svc.IngestFromDevice(ctx, en.DeviceID, batch); err != nil {
			t.Fatal(err)
		}
	}
	link, err := db.AddLink(ctx, storage.NewLink{StoreID: "S001", Channel: "qr", Touchpoint: "checkout"})
	if err != nil {
		t.Fatal(err)
	}
	for range 24 {
		at := now.Add(-time.Duration(1+rng.IntN(20*24*60)) * time.Minute)
		r := wire.Response{ID: uuid.Must(uuid.NewV7()).String(), Score: retailScore(rng, 0), Reasons: []string{}, Locale: "en",
			CreatedAt: at, CompletedAt: at.Add(time.Minute), Outcome: response.OutcomeSubmitted}
		list := texts[map[bool]string{true: "promoter", false: "passive"}[r.Score >= 9]]
		if r.Score <= 6 {
			list = texts["detractor"]
		}
		r.Answers = map[string][]string{"improve": {list[rng.IntN(len(list))]}, "speed": {fmt.Sprint(1 + rng.IntN(5))}}
		if _, err := svc.IngestFromLink(ctx, link, r); err != nil {
			t.Fatal(err)
		}
	}
}
