package storage_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/storage/storagetest"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// keyStore is a database with store S042 (Main St) on a clock the test moves.
func keyStore(t *testing.T, b storagetest.Backend) (*storage.DB, *testClock) {
	t.Helper()
	clock := newTestClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	db, err := storage.Open(context.Background(), storage.Config{Path: b.Path(t), Now: clock.now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.AddStore(context.Background(), storage.Store{ID: "S042", Name: "Main St", Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	return db, clock
}

// One key enrolls as many kiosks as it has uses, even when they all ask at once, and no
// more; each use is a device of the key's store, listed with the key.
func TestEnrollmentKeyEnrollsUpToItsUses(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db, _ := keyStore(t, b)
			key, err := db.AddEnrollmentKey(ctx, "S042", 20, 7*24*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(key.Key, storage.EnrollmentKeyPrefix) || len(key.Key) != len("EK-ABCDE-FGHJK-MNPQR") {
				t.Fatalf("key %q, want EK-XXXXX-XXXXX-XXXXX", key.Key)
			}
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				devices = map[string]bool{}
				refused int
			)
			for i := range 21 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res, err := db.Enroll(ctx, wire.EnrollRequest{Code: key.Key, Name: "Till " + string(rune('A'+i))})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case errors.Is(err, storage.ErrUnauthorized):
						refused++
					case err != nil:
						t.Errorf("enroll %d: %v", i, err)
					case res.StoreID != "S042" || res.StoreName != "Main St" || !strings.HasPrefix(res.Token, "dev_"):
						t.Errorf("enroll %d: %+v", i, res)
					default:
						devices[res.DeviceID] = true
						if _, err := db.AuthenticateDevice(ctx, res.Token); err != nil {
							t.Errorf("the token of device %s does not work: %v", res.DeviceID, err)
						}
					}
				}()
			}
			wg.Wait()
			if len(devices) != 20 || refused != 1 {
				t.Fatalf("%d devices enrolled and %d refused, want 20 and 1", len(devices), refused)
			}
			keys, err := db.EnrollmentKeys(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != 1 || keys[0].Uses != 20 || keys[0].MaxUses != 20 || keys[0].Key != "" || len(keys[0].Devices) != 20 {
				t.Fatalf("keys listed: %+v", keys)
			}
			for _, u := range keys[0].Devices {
				if !devices[u.DeviceID] || !strings.HasPrefix(u.Name, "Till ") {
					t.Errorf("use %+v is not one of the enrolled devices", u)
				}
			}
			all, err := db.Devices(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 20 {
				t.Fatalf("%d devices, want 20", len(all))
			}
			for _, d := range all {
				if d.StoreID != "S042" || !d.Enrolled || d.Revoked {
					t.Errorf("device %+v", d)
				}
			}
		})
	}
}

// A key stops working when it expires or is revoked, for the wrong secret, and the
// devices it made stay; bad requests for a key are refused with what is wrong.
func TestEnrollmentKeyRefusals(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db, clock := keyStore(t, b)
			for _, tc := range []struct {
				store string
				uses  int
				ttl   time.Duration
				want  error
			}{
				{"S042", 0, time.Hour, storage.ErrInvalid},
				{"S042", storage.MaxEnrollmentKeyUses + 1, time.Hour, storage.ErrInvalid},
				{"S042", 5, -time.Hour, storage.ErrInvalid},
				{"S999", 5, time.Hour, storage.ErrNotFound},
			} {
				if _, err := db.AddEnrollmentKey(ctx, tc.store, tc.uses, tc.ttl); !errors.Is(err, tc.want) {
					t.Errorf("add key %+v: %v, want %v", tc, err, tc.want)
				}
			}
			expiring, err := db.AddEnrollmentKey(ctx, "S042", 5, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			revoked, err := db.AddEnrollmentKey(ctx, "S042", 5, 0)
			if err != nil {
				t.Fatal(err)
			}
			first, err := db.Enroll(ctx, wire.EnrollRequest{Code: revoked.Key})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.RevokeEnrollmentKey(ctx, revoked.ID); err != nil {
				t.Fatal(err)
			}
			if err := db.RevokeEnrollmentKey(ctx, revoked.ID); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("revoke twice: %v", err)
			}
			clock.set(clock.now().Add(2 * time.Hour))
			for name, code := range map[string]string{
				"expired": expiring.Key, "revoked": revoked.Key, "unknown": "EK-ABCDE-FGHJK-MNPQR",
			} {
				if _, err := db.Enroll(ctx, wire.EnrollRequest{Code: code}); !errors.Is(err, storage.ErrUnauthorized) {
					t.Errorf("%s key: %v, want ErrUnauthorized", name, err)
				}
			}
			if _, err := db.AuthenticateDevice(ctx, first.Token); err != nil {
				t.Errorf("a device of a revoked key stops working: %v", err)
			}
			ds, err := db.Devices(ctx)
			if err != nil || len(ds) != 1 || !strings.HasPrefix(ds[0].Name, "Kiosk ") {
				t.Fatalf("devices %+v, %v: want one named from its id", ds, err)
			}
		})
	}
}
