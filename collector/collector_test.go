package collector_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// The collector applies exactly the kiosk's rules: the shared invalid corpus is rejected
// at ingest with the very errors the response package and the kiosk's store give.
func TestIngestRejectsTheInvalidCorpusWithTheDomainErrors(t *testing.T) {
	corpus := response.InvalidCorpus()
	c := collectortest.Start(t, collectortest.Options{Now: func() time.Time { return corpus[0].Response.CreatedAt.Add(time.Hour) }})
	c.AddStore(t, storage.Store{ID: "S1"})
	dev := c.Enroll(t, "S1", "Till 1")
	var batch []wire.Response
	for _, tc := range corpus {
		batch = append(batch, tc.Response)
	}
	res, err := c.Service.IngestFromDevice(context.Background(), dev.DeviceID, batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Accepted)+len(res.Duplicate) != 0 || len(res.Rejected) != len(corpus) {
		t.Fatalf("result %+v, want all %d rejected", res, len(corpus))
	}
	for i, tc := range corpus {
		if got := res.Rejected[i].Error; got != tc.Error {
			t.Errorf("%s: collector says %q, the domain %q", tc.Name, got, tc.Error)
		}
	}
	if n := c.Count(t, "S1"); n != 0 {
		t.Errorf("%d invalid responses stored", n)
	}
}

// The collector must build without the kiosk: neither its UI nor its local store, nor
// Fyne, may be among its dependencies.
func TestCollectorDoesNotDependOnTheKiosk(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/npskiosk/npskiosk/collector/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == "github.com/npskiosk/npskiosk/kiosk", dep == "github.com/npskiosk/npskiosk/store",
			strings.HasPrefix(dep, "fyne.io/"):
			t.Errorf("the collector depends on %s", dep)
		}
	}
}
