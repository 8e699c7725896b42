package storage_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/contactvault"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// BenchmarkEraseContact times one erasure (and its dry run) and a rekey of every
// contact on an SQLite database of 50,000 responses with a comment and a contact each:
// the erasure holds the writer while it searches every comment for the contact.
//
//	go test -tags migrated_fynedo,sqlite_fts5 -run '^$' -bench EraseContact -benchtime 1x ./collector/storage/
func BenchmarkEraseContact(b *testing.B) {
	const n = 50_000
	ctx := context.Background()
	dir := b.TempDir()
	v, _, err := contactvault.LoadOrCreate(filepath.Join(dir, "keys"), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	db, err := storage.Open(ctx, storage.Config{Path: filepath.Join(dir, "c.db"), Logger: slog.New(slog.DiscardHandler), ContactVault: v})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.AddStore(ctx, storage.Store{ID: "S1", Name: "One", Timezone: "UTC"}); err != nil {
		b.Fatal(err)
	}
	link, err := db.AddLink(ctx, storage.NewLink{StoreID: "S1", Channel: "qr"})
	if err != nil {
		b.Fatal(err)
	}
	at := time.Now().Add(-time.Hour)
	for i := 0; i < n; i += 500 {
		batch := make([]storage.NewResponse, 0, 500)
		for j := i; j < i+500; j++ {
			r := wire.Response{ID: uuid.Must(uuid.NewV7()).String(), Score: j % 11, Reasons: []string{},
				Comment: fmt.Sprintf("the queue at till %d was long and the staff were friendly", j), Contact: fmt.Sprintf("shopper%d@example.com", j),
				ContactConsent: true, Locale: "en", SurveyVersion: 1, CreatedAt: at, CompletedAt: at, Outcome: response.OutcomeSubmitted, Channel: "qr"}
			batch = append(batch, storage.NewResponse{Response: r, Day: at.Format(time.DateOnly), Hash: r.ID})
		}
		if _, err := db.InsertBatch(ctx, storage.Origin{StoreID: "S1", LinkID: link.ID}, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		dry, err := db.EraseContact(ctx, storage.ErasureRequest{Contact: fmt.Sprintf("Shopper%d@example.com", 100+i), Actor: "bench", DryRun: true})
		if err != nil || dry.Changed["responses"] != 1 {
			b.Fatalf("dry run: %+v, %v", dry, err)
		}
		mid := time.Now()
		er, err := db.EraseContact(ctx, storage.ErasureRequest{Contact: fmt.Sprintf("shopper%d@example.com", 100+i), Actor: "bench"})
		if err != nil || er.Changed["responses"] != 1 {
			b.Fatalf("erasure: %+v, %v", er, err)
		}
		end := time.Now()
		if _, err := contactvault.Rotate(filepath.Join(dir, "keys"), time.Now()); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(mid.Sub(start).Milliseconds()), "dry-run-ms")
		b.ReportMetric(float64(end.Sub(mid).Milliseconds()), "erase-ms")
	}
	b.StopTimer()
	// Rekey after a rotation: every contact re-encrypted.
	v2, err := contactvault.Load(filepath.Join(dir, "keys"))
	if err != nil {
		b.Fatal(err)
	}
	db2, err := storage.Open(ctx, storage.Config{Path: filepath.Join(dir, "c.db"), Logger: slog.New(slog.DiscardHandler), ContactVault: v2})
	if err != nil {
		b.Fatal(err)
	}
	defer db2.Close()
	start := time.Now()
	res, err := db2.RekeyContacts(ctx, 500, nil)
	if err != nil || res.Reencrypted < int64(n-b.N) {
		b.Fatalf("rekey: %+v, %v", res, err)
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds()), "rekey-50k-ms")
}
