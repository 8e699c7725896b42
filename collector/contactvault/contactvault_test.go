package contactvault_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/contactvault"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"  Ana.Lima@Example.COM ", "ana.lima@example.com"},
		{"+49 170 555-0123", "+491705550123"},
		{"0049 (170) 555 0123", "+491705550123"},
		{"0170/5550123", "01705550123"},
		{"Ana Lima", "ana lima"}, // not a phone: letters
		{"   ", ""},
	} {
		if got := contactvault.Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A contact sealed under one key opens after the file rotates (new writes use the new
// key) and after the vault is read again; retiring the old key makes it unreadable,
// with ErrUnknownKey; the blind index is the same for every spelling and every key.
func TestSealRotateRetire(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k", "contact-store.keys")
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	v, created, err := contactvault.LoadOrCreate(path, now)
	if err != nil || !created {
		t.Fatalf("LoadOrCreate: created %v, %v", created, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v, %v", fi.Mode(), err)
	}
	old, err := v.Seal("ana@example.com")
	if err != nil || !strings.HasPrefix(old, "cv1:"+v.Current()+":") || strings.Contains(old, "ana") {
		t.Fatalf("Seal = %q, %v", old, err)
	}
	if again, _ := v.Seal("ana@example.com"); again == old {
		t.Error("two seals of one contact are the same ciphertext: the nonce is not random")
	}
	if plain, err := v.Open("legacy plaintext"); err != nil || plain != "legacy plaintext" {
		t.Errorf("Open of plaintext = %q, %v", plain, err)
	}
	firstKey := v.Current()
	newID, err := contactvault.Rotate(path, now.Add(time.Hour))
	if err != nil || newID == firstKey {
		t.Fatalf("Rotate = %q, %v", newID, err)
	}
	v2, err := contactvault.Load(path)
	if err != nil || v2.Current() != newID || len(v2.IDs()) != 2 {
		t.Fatalf("after rotation: current %q, ids %v, %v", v2.Current(), v2.IDs(), err)
	}
	if plain, err := v2.Open(old); err != nil || plain != "ana@example.com" {
		t.Errorf("an old key's contact after rotation: %q, %v", plain, err)
	}
	if v.Index(" ANA@example.com") != v2.Index("ana@example.com") || v2.Index("+49 170 5550123") != v2.Index("0049-170-555-0123") {
		t.Error("the blind index differs between spellings or keys")
	}
	if v2.Index("ana@example.com") == v2.Index("bo@example.com") {
		t.Error("two contacts index alike")
	}
	removed, err := contactvault.Retire(path)
	if err != nil || len(removed) != 1 || removed[0] != firstKey {
		t.Fatalf("Retire = %v, %v", removed, err)
	}
	v3, err := contactvault.Load(path)
	if err != nil || len(v3.IDs()) != 1 {
		t.Fatalf("after retiring: %v, %v", v3.IDs(), err)
	}
	if _, err := v3.Open(old); !errors.Is(err, contactvault.ErrUnknownKey) {
		t.Errorf("a retired key's contact: %v, want ErrUnknownKey", err)
	}
	tampered := old[:len(old)-2] + "AA"
	if _, err := v2.Open(tampered); err == nil {
		t.Error("a tampered ciphertext opened")
	}
	if _, err := contactvault.Create(path, now); err == nil {
		t.Error("Create overwrote an existing key file")
	}
}

func TestLoadRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"no index":    "k1 " + strings.Repeat("A", 43) + "=\n",
		"short key":   "index " + strings.Repeat("A", 43) + "=\nk1 AAAA\n",
		"no data key": "index " + strings.Repeat("A", 43) + "=\n",
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := contactvault.Load(p); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}
