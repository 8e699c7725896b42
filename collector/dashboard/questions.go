package dashboard

import (
	"encoding/csv"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
)

// questionTexts is how many of the latest texts per category the Questions page lists.
const questionTexts = 5

func (d *Dashboard) registerQuestions(mux Router) {
	d.pages["questions"] = template.Must(template.ParseFS(webFiles, "web/layout.html", "web/questions.html"))
	mux.Handle("GET /questions", secure(d.signedIn(d.questions)))
	// More specific than /export/{table}, so it is served here.
	mux.Handle("GET /export/questions.csv", secure(d.signedIn(d.exportQuestions)))
}

type questionsData struct {
	Scope     string // the store's name, or "" for every store in view
	Stores    []storage.StoreReport
	Questions []questionCard
}

// questionCard is one question as the page shows it.
type questionCard struct {
	collector.QuestionSummary
	Kind  string // in words
	Where string // where it is asked, in words
	Rows  []answerRow
	// TextColumns are a text question's latest answers of promoters, passives and
	// detractors, side by side.
	TextColumns []textColumn
}

type textColumn struct {
	Title    string
	Answered int64
	Texts    []storage.AnswerText
}

// answerRow is an option's (or a rating's) line: its counts, each as a share of the
// shoppers of its column who answered, and a bar of the same.
type answerRow struct {
	collector.ValueCount
	All, Promoters, Passives, Detractors string
	Bar                                  template.HTML
}

// kindWords says what kind of question it is.
var kindWords = map[string]string{
	response.QuestionSingle: "One choice",
	response.QuestionMulti:  "Any of the choices (shares add up to more than 100 %)",
	response.QuestionRating: "A rating from 1 to 5",
	response.QuestionText:   "A short text",
}

// where says in words where a question is asked.
func where(q collector.QuestionSummary) string {
	var parts []string
	if len(q.Channels) > 0 {
		parts = append(parts, "channel "+strings.Join(q.Channels, ", "))
	}
	if len(q.Touchpoints) > 0 {
		parts = append(parts, "touchpoint "+strings.Join(q.Touchpoints, ", "))
	}
	if len(parts) == 0 {
		return "asked everywhere"
	}
	return "asked at " + strings.Join(parts, ", ")
}

// share writes n of total as a count with its whole percentage, or a dash for none.
func share(n, total int64) string {
	if total == 0 {
		return "–"
	}
	return fmt.Sprintf("%d (%.0f\u00a0%%)", n, 100*float64(n)/float64(total)) // the sign stays by its figure
}

// Mean writes a rating's mean to two decimals, or a dash where nobody rated.
func (questionsData) Mean(m *float64) string {
	if m == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f", *m)
}

func newQuestionCard(q collector.QuestionSummary) questionCard {
	c := questionCard{QuestionSummary: q, Kind: kindWords[q.Kind], Where: where(q)}
	a := q.Answered
	for _, v := range q.Values {
		c.Rows = append(c.Rows, answerRow{ValueCount: v,
			All: share(v.Total, a.Total), Promoters: share(v.Promoters, a.Promoters),
			Passives: share(v.Passives, a.Passives), Detractors: share(v.Detractors, a.Detractors),
			Bar: shareSVG(v.CategoryCounts, a.Total)})
	}
	if tx := q.Texts; tx != nil {
		c.TextColumns = []textColumn{{"Promoters", a.Promoters, tx.Promoters}, {"Passives", a.Passives, tx.Passives},
			{"Detractors", a.Detractors, tx.Detractors}}
	}
	return c
}

// shareSVG draws an option's share of the shoppers who answered as a bar, split into its
// promoters, passives and detractors. The numbers are in the row beside it, so it is
// hidden from screen readers.
func shareSVG(c collector.CategoryCounts, answered int64) template.HTML {
	if answered == 0 || c.Total == 0 {
		return ""
	}
	const w, h = 200.0, 16.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="share" viewBox="0 0 %.0f %.0f" aria-hidden="true" focusable="false">`, w, h)
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%.0f" height="%.0f" fill="#f3f5f8" stroke="#d5d9e0"/>`, w, h)
	x := 0.0
	for _, part := range []struct {
		n     int64
		color string
	}{{c.Promoters, "#1f6fd1"}, {c.Passives, "#a7adb5"}, {c.Detractors, "#e06c00"}} {
		width := w * float64(part.n) / float64(answered)
		if width > 0 {
			fmt.Fprintf(&b, `<rect x="%.1f" y="0" width="%.1f" height="%.0f" fill="%s"/>`, x, width, h, part.color)
		}
		x += width
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// questions is the Extra questions page: each extra question of the surveys in view, its
// answers split by promoter, passive and detractor, for the page's filter.
func (d *Dashboard) questions(w http.ResponseWriter, r *http.Request, p page) {
	rep, err := d.svc.QuestionsReport(r.Context(), p.Filter, questionTexts)
	if err != nil {
		d.fail(w, err)
		return
	}
	byID, reports, err := d.storeIndex(r, p)
	if err != nil {
		d.fail(w, err)
		return
	}
	if err := d.withLabels(r, &p); err != nil {
		d.fail(w, err)
		return
	}
	data := questionsData{Stores: reports}
	if s, ok := byID[p.Filter.StoreID]; ok {
		data.Scope = s.Name
	} else if p.Filter.StoreID != "" {
		data.Scope = p.Filter.StoreID
	}
	for _, q := range rep.Questions {
		data.Questions = append(data.Questions, newQuestionCard(q))
	}
	p.Title, p.Page = "Extra questions", "questions"
	p.Data = data
	d.render(w, http.StatusOK, "questions", p)
}

// questionsHeader names the columns of questions.csv: a line per question answered
// ("answered"), per option or rating ("option", "rating"), a rating's means ("mean"),
// and per text listed ("text", with its shopper's score and where it came from).
var questionsHeader = []string{"question", "question_label", "kind", "row", "value", "value_label",
	"total", "promoters", "passives", "detractors", "text", "score", "category", "store_id", "day", "channel", "touchpoint", "created_at"}

// exportQuestions writes the Questions page as CSV: the same filter and figures, and the
// latest texts.
func (d *Dashboard) exportQuestions(w http.ResponseWriter, r *http.Request, p page) {
	rep, err := d.svc.QuestionsReport(r.Context(), p.Filter, collector.MaxTextsPerCategory)
	if err != nil {
		d.fail(w, err)
		return
	}
	rows := [][]string{questionsHeader}
	counts := func(c collector.CategoryCounts) []string {
		return []string{strconv.FormatInt(c.Total, 10), strconv.FormatInt(c.Promoters, 10), strconv.FormatInt(c.Passives, 10), strconv.FormatInt(c.Detractors, 10)}
	}
	line := func(q collector.QuestionSummary, row, value, label string, figures []string, text ...string) []string {
		out := append([]string{q.Key, storage.CSVCell(q.Label), q.Kind, row, storage.CSVCell(value), storage.CSVCell(label)}, figures...)
		out = append(out, text...)
		for len(out) < len(questionsHeader) {
			out = append(out, "")
		}
		return out
	}
	mean := func(m *float64) string {
		if m == nil {
			return ""
		}
		return strconv.FormatFloat(*m, 'f', 4, 64)
	}
	for _, q := range rep.Questions {
		rows = append(rows, line(q, "answered", "", "", counts(q.Answered)))
		row := "option"
		if q.Kind == response.QuestionRating {
			row = "rating"
		}
		for _, v := range q.Values {
			rows = append(rows, line(q, row, v.Key, v.Label, counts(v.CategoryCounts)))
		}
		if m := q.Means; m != nil {
			rows = append(rows, line(q, "mean", "", "", []string{mean(m.All), mean(m.Promoters), mean(m.Passives), mean(m.Detractors)}))
		}
		if tx := q.Texts; tx != nil {
			for _, list := range [][]storage.AnswerText{tx.Promoters, tx.Passives, tx.Detractors} {
				for _, t := range list {
					rows = append(rows, line(q, "text", "", "", []string{"", "", "", ""}, storage.CSVCell(t.Text), strconv.Itoa(t.Score), t.Category,
						t.StoreID, t.Day, t.Channel, t.Touchpoint, t.CreatedAt.Format(time.RFC3339)))
				}
			}
		}
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="questions.csv"`)
	cw := csv.NewWriter(w)
	cw.WriteAll(rows)
}
