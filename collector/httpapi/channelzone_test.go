package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
)

// The per-channel gauges count the chain's last days to its today as in the zone of
// its stores furthest ahead: an answer given just after midnight in Kiritimati (UTC+14),
// still yesterday in UTC, is counted.
func TestChannelMetricsCountTheStoresToday(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC) // 00:30 on 2 December in Kiritimati
	c := collectortest.Start(t, collectortest.Options{Now: func() time.Time { return now }})
	c.AddStore(t, storage.Store{ID: "KIR", Name: "Kiritimati", Timezone: "Pacific/Kiritimati"})
	ctx := context.Background()
	l, err := c.DB.AddLink(ctx, storage.NewLink{StoreID: "KIR", Channel: "qr"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 10, 10, 0, 0, time.UTC)
	if _, err := c.Service.IngestFromLink(ctx, l, response.Response{ID: uuid.Must(uuid.NewV7()).String(), Score: 9,
		Reasons: []string{}, Locale: "en", CreatedAt: at, CompletedAt: at, Outcome: response.OutcomeSkipped}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(c.MetricsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if want := `npscollector_channel_responses{channel="qr"} 1`; !strings.Contains(string(b), want) {
		t.Errorf("no %s in the metrics", want)
	}
}
