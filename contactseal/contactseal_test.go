package contactseal

import (
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const responseID = "0192f0c4-6b1e-7c6a-9d2e-3f4a5b6c7d8e"

func TestSealOpens(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	for _, contact := range []string{"", "ana@example.com", "+49 30 1234567", "Zoë Ångström <zoë@bücher.example>", strings.Repeat("界", 254)} {
		sealed, err := Seal(ring.Current(), responseID, contact)
		if err != nil {
			t.Fatal(err)
		}
		if contact != "" && strings.Contains(sealed, contact) {
			t.Fatalf("sealed %q shows the contact", sealed)
		}
		if len(sealed) > MaxSealedLen {
			t.Fatalf("sealed %d bytes, over MaxSealedLen %d", len(sealed), MaxSealedLen)
		}
		if err := CheckSealed(sealed); err != nil {
			t.Fatal(err)
		}
		got, err := ring.Open(responseID, sealed)
		if err != nil || got != contact {
			t.Fatalf("Open = %q, %v; want %q", got, err, contact)
		}
		again, _ := Seal(ring.Current(), responseID, contact)
		if again == sealed {
			t.Fatal("two seals of one contact are the same box")
		}
	}
}

func TestSealHidesLength(t *testing.T) {
	k, _ := GenerateKey()
	a, _ := Seal(k.Public(), responseID, "+4930123")
	b, _ := Seal(k.Public(), responseID, "someone.longer@example.org")
	if len(a) != len(b) {
		t.Fatalf("a phone seals to %d bytes, an e-mail to %d: the length shows", len(a), len(b))
	}
}

func TestOpenRefuses(t *testing.T) {
	k, _ := GenerateKey()
	other, _ := GenerateKey()
	ring, _ := NewKeyring(k)
	sealed, _ := Seal(k.Public(), responseID, "ana@example.com")
	toOther, _ := Seal(other.Public(), responseID, "ana@example.com")
	id, box, _ := strings.Cut(strings.TrimPrefix(sealed, Prefix), ":")
	raw, err := base64.RawURLEncoding.DecodeString(box)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 1
	altered := Prefix + id + ":" + base64.RawURLEncoding.EncodeToString(raw)
	tests := []struct {
		name       string
		responseID string
		sealed     string
		want       error
	}{
		{"another response", "0192f0c4-6b1e-7c6a-9d2e-000000000000", sealed, ErrCannotOpen},
		{"altered box", responseID, altered, ErrCannotOpen},
		{"unknown key", responseID, toOther, ErrUnknownKey},
		{"plain text", responseID, "ana@example.com", ErrMalformed},
		{"no key id", responseID, Prefix + box, ErrMalformed},
		{"cut short", responseID, sealed[:len(Prefix)+17+20], ErrMalformed},
		{"too long", responseID, sealed + strings.Repeat("A", MaxSealedLen), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ring.Open(tt.responseID, tt.sealed)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open = %q, %v; want %v", got, err, tt.want)
			}
		})
	}
	var none *Keyring
	if _, err := none.Open(responseID, sealed); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("a collector without keys: %v, want ErrUnknownKey", err)
	}
	if id, err := SealedKeyID(sealed); err != nil || id != k.ID() {
		t.Fatalf("SealedKeyID = %q, %v; want %q", id, err, k.ID())
	}
}

func TestPublicKeyCheck(t *testing.T) {
	k, _ := GenerateKey()
	p := k.Public()
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	wrongID := p
	wrongID.ID = "0000000000000000"
	short := PublicKey{ID: p.ID, Key: p.Key[:31]}
	for _, bad := range []PublicKey{wrongID, short, {}} {
		if err := bad.Check(); err == nil {
			t.Errorf("Check(%+v) = nil", bad)
		}
		if _, err := Seal(bad, responseID, "x"); err == nil {
			t.Errorf("Seal to %+v worked", bad)
		}
	}
}

func TestKeyFileRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "contact-keys.pem")
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	first, err := CreateKeyFile(path, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateKeyFile(path, now); err == nil {
		t.Fatal("CreateKeyFile overwrote a key file")
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %s, want 0600", info.Mode().Perm())
	}
	old, _ := Seal(first, responseID, "before@example.com")
	second, err := RotateKeyFile(path, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if ring.Current().ID != second.ID || second.ID == first.ID {
		t.Fatalf("current %s after rotation, want the new %s (old %s)", ring.Current().ID, second.ID, first.ID)
	}
	if got := ring.IDs(); len(got) != 2 || got[0] != first.ID || got[1] != second.ID {
		t.Fatalf("IDs = %v, want [%s %s]", got, first.ID, second.ID)
	}
	if got, err := ring.Open(responseID, old); err != nil || got != "before@example.com" {
		t.Fatalf("a contact sealed before the rotation: %q, %v", got, err)
	}
	raw, _ := os.ReadFile(path)
	if !strings.Contains(string(raw), "Key-Id: "+first.ID) || !strings.Contains(string(raw), "Created: 2026-12-01T10:00:00Z") {
		t.Fatalf("key file lacks its headers:\n%s", raw)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyFile(path); err == nil || !strings.Contains(err.Error(), "every user") {
		t.Fatalf("a world-readable key file loaded: %v", err)
	}
}

func TestLoadKeyFileRefusesOtherKeys(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"empty":   "",
		"garbage": "not a key\n",
		"cert":    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
	} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(body), 0o600)
		if _, err := LoadKeyFile(path); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

// A key made by openssl loads, so IT may make keys with the tools it knows.
func TestLoadsOpenSSLKey(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("no openssl")
	}
	path := filepath.Join(t.TempDir(), "k.pem")
	if out, err := exec.Command(openssl, "genpkey", "-algorithm", "X25519", "-out", path).CombinedOutput(); err != nil {
		t.Skipf("openssl genpkey X25519: %v: %s", err, out)
	}
	os.Chmod(path, 0o600)
	ring, err := LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := Seal(ring.Current(), responseID, "ana@example.com")
	if got, err := ring.Open(responseID, sealed); err != nil || got != "ana@example.com" {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

// ListKeyFile names every key of a file with its creation time, the last one current,
// as contact-key list shows them.
func TestListKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.pem")
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a, err := CreateKeyFile(path, t0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := RotateKeyFile(path, t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ListKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []KeyInfo{{ID: a.ID, Created: t0}, {ID: b.ID, Created: t0.Add(24 * time.Hour), Current: true}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ListKeyFile = %+v, want %+v", got, want)
	}
}

func BenchmarkSeal(b *testing.B) {
	k, _ := GenerateKey()
	pub := k.Public()
	for b.Loop() {
		if _, err := Seal(pub, responseID, "ana@example.com"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	k, _ := GenerateKey()
	ring, _ := NewKeyring(k)
	sealed, _ := Seal(k.Public(), responseID, "ana@example.com")
	for b.Loop() {
		if _, err := ring.Open(responseID, sealed); err != nil {
			b.Fatal(err)
		}
	}
}
