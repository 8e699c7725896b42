package websurvey_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/websurvey"
)

// A survey address may name a customer segment (/s/CODE?segment=vip): the score form
// carries it, the answer is stored with it, the follow-up (which replaces the answer)
// keeps it, and the reports count the answer under it. A segment that is not a label is
// ignored, not an error page.
func TestSegmentFromTheLinkAddress(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := start(t, b, websurvey.Config{})
		c := e.client(false)
		segmentOf := func(id string) string {
			t.Helper()
			var seg string
			if err := e.c.DB.RawQueryRow(context.Background(), `SELECT segment FROM responses WHERE id = ?`, id).Scan(&seg); err != nil {
				t.Fatal(err)
			}
			return seg
		}

		page := c.get("/s/" + e.link.Code + "?segment=vip")
		if page.status != 200 || !strings.Contains(page.body, `name="segment" value="vip"`) {
			t.Fatalf("score page with a segment: %d\n%s", page.status, page.body)
		}
		r := c.post("/s/"+e.link.Code, url.Values{"score": {"3"}, "lang": {"en"}, "website": {""}, "segment": {"vip"}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("score: %d\n%s", r.status, r.body)
		}
		id := answerID(t, r.location)
		if got := segmentOf(id); got != "vip" {
			t.Errorf("stored segment %q, want vip", got)
		}
		form := url.Values{"r": {token(t, r.location)}, "lang": {"en"}, "action": {"submit"}, "score": {"9"}, "comment": {"better"}}
		if more := c.post("/s/"+e.link.Code+"/more", form); more.status != http.StatusSeeOther {
			t.Fatalf("follow-up: %d\n%s", more.status, more.body)
		}
		if got := segmentOf(id); got != "vip" {
			t.Errorf("after the follow-up the segment is %q, want vip kept", got)
		}
		// The revision moved the count within the vip rollup: one promoter, no detractor.
		if rep := e.nps(storage.Filter{Segment: "vip"}); rep.Responses != 1 || rep.Promoters != 1 {
			t.Errorf("vip after the follow-up: %+v, want one promoter", rep)
		}

		// A token whose segment was changed does not verify.
		tok := token(t, r.location)
		forged := strings.Replace(tok, ".vip.", ".staff.", 1)
		if forged == tok {
			t.Fatalf("token %q carries no segment", tok)
		}
		bad := c.post("/s/"+e.link.Code+"/more", url.Values{"r": {forged}, "lang": {"en"}, "action": {"skip"}})
		if bad.status == http.StatusSeeOther {
			t.Errorf("a forged segment was accepted")
		}

		// Not a label: the page shows, without the segment, and the answer has none.
		page = c.get("/s/" + e.link.Code + "?segment=VIP%20guests")
		if page.status != 200 || strings.Contains(page.body, `name="segment"`) {
			t.Fatalf("score page with a bad segment: %d", page.status)
		}
		r = c.post("/s/"+e.link.Code, url.Values{"score": {"8"}, "lang": {"en"}, "website": {""}, "segment": {"<b>"}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("score with a bad segment: %d\n%s", r.status, r.body)
		}
		if got := segmentOf(answerID(t, r.location)); got != "" {
			t.Errorf("a bad segment was stored: %q", got)
		}
	})
}
