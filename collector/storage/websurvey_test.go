package storage_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
)

// A secret is made once and is the same for every collector on the database, also
// after a restart; names keep theirs apart.
func TestSecretIsSharedAndKept(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		path := b.Path(t)
		one, err := storage.Open(ctx, storage.Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		two, err := storage.Open(ctx, storage.Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		a, err := one.Secret(ctx, "websurvey")
		if err != nil || len(a) != storage.SecretSize {
			t.Fatalf("Secret = %x, %v", a, err)
		}
		if b, err := two.Secret(ctx, "websurvey"); err != nil || !bytes.Equal(a, b) {
			t.Errorf("another collector's key: %x, %v; want %x", b, err, a)
		}
		if other, err := one.Secret(ctx, "other"); err != nil || bytes.Equal(a, other) {
			t.Errorf("another name's key: %x, %v", other, err)
		}
		if _, err := one.Secret(ctx, ""); err == nil {
			t.Error("a secret without a name")
		}
		one.Close()
		two.Close()
		again, err := storage.Open(ctx, storage.Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		if k, err := again.Secret(ctx, "websurvey"); err != nil || !bytes.Equal(a, k) {
			t.Errorf("after a restart: %x, %v; want %x", k, err, a)
		}
	})
}

func TestLinkAnswersCountsEachLink(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		c := collectortest.Start(t, collectortest.Options{Backend: b})
		ctx := context.Background()
		c.AddStore(t, storage.Store{ID: "S1"})
		rng := rand.New(rand.NewPCG(3, 3))
		var links []storage.Link
		for _, ch := range []string{"qr", "sms", "web"} {
			l, err := c.DB.AddLink(ctx, storage.NewLink{StoreID: "S1", Channel: ch})
			if err != nil {
				t.Fatal(err)
			}
			links = append(links, l)
		}
		for i, n := range []int{3, 1, 0} {
			for range n {
				if _, err := c.Service.IngestFromLink(ctx, links[i], collectortest.Response(rng, time.Now().Add(-time.Minute))); err != nil {
					t.Fatal(err)
				}
			}
		}
		dev := c.Enroll(t, "S1", "Till")
		kiosk := []response.Response{collectortest.Response(rng, time.Now()), collectortest.Response(rng, time.Now())}
		if _, err := c.Service.IngestFromDevice(ctx, dev.DeviceID, kiosk); err != nil {
			t.Fatal(err)
		}
		got, err := c.DB.LinkAnswers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[links[0].ID] != 3 || got[links[1].ID] != 1 {
			t.Errorf("LinkAnswers = %v, want 3 for qr, 1 for sms, none for web or the kiosk", got)
		}
	})
}
