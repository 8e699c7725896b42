package dashboard_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// A user with the contacts permission sees a shopper's contact on the comments page and
// the case page; one without it sees that there is one, hidden, and not the contact;
// taking the permission away applies from the next page.
func TestContactsOnlyForThoseWhoMaySeeThem(t *testing.T) {
	ctx := context.Background()
	c := collectortest.Start(t, collectortest.Options{})
	c.AddStore(t, storage.Store{ID: "S1"})
	dev := c.Enroll(t, "S1", "Till 1")
	r := collectortest.Response(rand.New(rand.NewPCG(3, 4)), time.Now().Add(-time.Minute))
	r.Score, r.Comment, r.Contact, r.ContactConsent = 2, "cold coffee", "ana@example.com", true
	if _, err := c.Service.IngestFromDevice(ctx, dev.DeviceID, []wire.Response{r}); err != nil {
		t.Fatal(err)
	}
	cases, err := c.DB.Cases(ctx, storage.CaseFilter{StoreID: "S1"})
	if err != nil || len(cases) != 1 {
		t.Fatalf("cases: %d, %v", len(cases), err)
	}
	const password = "a long test password"
	for _, tc := range []struct {
		email      string
		noContacts bool
	}{{"may@example.com", false}, {"maynot@example.com", true}} {
		if _, err := c.DB.AddUser(ctx, storage.NewUser{Email: tc.email, Name: "U", Password: password, NoContacts: tc.noContacts}); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/comments", "/cases/" + cases[0].ID} {
			page := pageAs(t, c.URL, tc.email, password, path)
			if shown := strings.Contains(page, "ana@example.com"); shown == tc.noContacts {
				t.Errorf("%s on %s: contact shown %v", tc.email, path, shown)
			}
			if hidden := strings.Contains(page, storage.ContactHiddenText); hidden != tc.noContacts {
				t.Errorf("%s on %s: says hidden %v", tc.email, path, hidden)
			}
		}
	}
	if _, err := c.DB.SetUserContacts(ctx, "May@example.com", false); err != nil {
		t.Fatal(err)
	}
	if page := pageAs(t, c.URL, "may@example.com", password, "/comments"); strings.Contains(page, "ana@example.com") {
		t.Error("the contact is still shown after the permission was taken away")
	}
}
