package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/storage/storagetest"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// The setup screen's check shows the store a code joins only with the right setup PIN,
// spends nothing, counts wrong PINs and voids the code at the last allowed one; the
// enrollment that follows checks the PIN again.
func TestSetupPINGuardsTheCode(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db, _ := keyStore(t, b)
			d, err := db.AddDevice(ctx, "S042", "Till 3", time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.SetupPIN) != 6 {
				t.Fatalf("setup PIN %q, want six digits", d.SetupPIN)
			}
			wrong := "000000"
			if d.SetupPIN == wrong {
				wrong = "111111"
			}

			want := wire.EnrollPreview{StoreID: "S042", StoreName: "Main St", DeviceName: "Till 3"}
			for range 2 { // a check spends nothing: twice gives the same answer
				p, err := db.CheckEnrollment(ctx, wire.EnrollRequest{Code: d.Code, SetupPIN: d.SetupPIN})
				if err != nil || p != want {
					t.Fatalf("check = %+v, %v; want %+v", p, err, want)
				}
			}
			if _, err := db.Enroll(ctx, wire.EnrollRequest{Code: d.Code, SetupPIN: wrong}); !errors.Is(err, storage.ErrUnauthorized) {
				t.Fatalf("enroll with a wrong setup PIN: %v, want unauthorized", err)
			}
			for i := 2; i < storage.MaxSetupPINFailures; i++ {
				if _, err := db.CheckEnrollment(ctx, wire.EnrollRequest{Code: d.Code, SetupPIN: wrong}); !errors.Is(err, storage.ErrUnauthorized) {
					t.Fatalf("wrong PIN %d: %v, want unauthorized", i, err)
				}
			}
			// Four wrong PINs: the right one still works.
			if _, err := db.CheckEnrollment(ctx, wire.EnrollRequest{Code: d.Code, SetupPIN: d.SetupPIN}); err != nil {
				t.Fatalf("the right PIN after %d wrong ones: %v", storage.MaxSetupPINFailures-1, err)
			}
			// The fifth voids the code, even for the right PIN and the command line.
			if _, err := db.CheckEnrollment(ctx, wire.EnrollRequest{Code: d.Code, SetupPIN: wrong}); !errors.Is(err, storage.ErrUnauthorized) {
				t.Fatalf("wrong PIN %d: %v", storage.MaxSetupPINFailures, err)
			}
			if _, err := db.Enroll(ctx, wire.EnrollRequest{Code: d.Code, SetupPIN: d.SetupPIN}); !errors.Is(err, storage.ErrUnauthorized) {
				t.Fatalf("enroll after too many wrong PINs: %v, want unauthorized", err)
			}
			if _, err := db.Enroll(ctx, wire.EnrollRequest{Code: d.Code}); !errors.Is(err, storage.ErrUnauthorized) {
				t.Fatalf("enroll without a PIN after too many wrong PINs: %v, want unauthorized", err)
			}

			// Another device: the right PIN enrolls; the command line needs none.
			for _, pin := range []bool{true, false} {
				d, err := db.AddDevice(ctx, "S042", "Till 4", time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				req := wire.EnrollRequest{Code: d.Code}
				if pin {
					req.SetupPIN = d.SetupPIN
				}
				res, err := db.Enroll(ctx, req)
				if err != nil || res.DeviceID != d.ID || res.StoreName != "Main St" || res.Token == "" {
					t.Fatalf("enroll (PIN sent: %v) = %+v, %v", pin, res, err)
				}
			}

			// A key previews its store and the name asked for, and is not used up by it.
			key, err := db.AddEnrollmentKey(ctx, "S042", 1, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				p, err := db.CheckEnrollment(ctx, wire.EnrollRequest{Code: key.Key, Name: "Till 9"})
				if err != nil || p != (wire.EnrollPreview{StoreID: "S042", StoreName: "Main St", DeviceName: "Till 9"}) {
					t.Fatalf("check of a key = %+v, %v", p, err)
				}
			}
			if _, err := db.Enroll(ctx, wire.EnrollRequest{Code: key.Key, Name: "Till 9"}); err != nil {
				t.Fatalf("enroll with the checked key: %v", err)
			}
			if _, err := db.CheckEnrollment(ctx, wire.EnrollRequest{Code: key.Key}); !errors.Is(err, storage.ErrUnauthorized) {
				t.Fatalf("check of a used-up key: %v, want unauthorized", err)
			}
		})
	}
}
