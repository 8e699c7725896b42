// Package contactvault keeps shoppers' contact details encrypted at rest at the
// collector: AES-256-GCM under data keys read from a key file, each ciphertext naming
// the key it was made with so that keys rotate, and a blind index (HMAC-SHA256 of the
// normalised contact under a key of its own) that finds a person's rows without
// decrypting every one.
package contactvault

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// prefix starts every ciphertext the vault makes: "cv1:<key id>:<base64 nonce|sealed>".
// A stored contact without it is plaintext from before encryption, which Open returns
// as it is and rekey encrypts.
const prefix = "cv1:"

// ErrUnknownKey is returned by Open for a ciphertext made under a key the file no
// longer holds.
var ErrUnknownKey = errors.New("contact store key not in the key file")

type dataKey struct {
	id   string
	aead cipher.AEAD
}

// Vault encrypts, decrypts and indexes contacts. The zero Vault is not usable; a nil
// *Vault is plaintext mode (tests and tools only: the collector's commands always load
// a key file), in which Seal returns the contact as it is and Index is an unkeyed hash.
type Vault struct {
	keys     []dataKey // in file order; the last is current
	indexKey []byte
}

// Seal encrypts a contact under the current key; "" stays "".
func (v *Vault) Seal(contact string) (string, error) {
	if v == nil || contact == "" {
		return contact, nil
	}
	k := v.keys[len(v.keys)-1]
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal contact: %w", err)
	}
	sealed := k.aead.Seal(nonce, nonce, []byte(contact), []byte(k.id))
	return prefix + k.id + ":" + base64.RawStdEncoding.EncodeToString(sealed), nil
}

// Open decrypts what Seal made; a stored value that is not a ciphertext (plaintext
// from before encryption) is returned as it is.
func (v *Vault) Open(stored string) (string, error) {
	id, body, ok := parse(stored)
	if !ok {
		return stored, nil
	}
	if v == nil {
		return "", fmt.Errorf("open contact: encrypted under key %s, and no contact store key file is loaded: %w", id, ErrUnknownKey)
	}
	for _, k := range v.keys {
		if k.id != id {
			continue
		}
		raw, err := base64.RawStdEncoding.DecodeString(body)
		if err != nil || len(raw) < k.aead.NonceSize() {
			return "", fmt.Errorf("open contact under key %s: malformed ciphertext", id)
		}
		n := k.aead.NonceSize()
		plain, err := k.aead.Open(nil, raw[:n], raw[n:], []byte(id))
		if err != nil {
			return "", fmt.Errorf("open contact under key %s: %w", id, err)
		}
		return string(plain), nil
	}
	return "", fmt.Errorf("open contact: key %s: %w", id, ErrUnknownKey)
}

// KeyID is the id of the key a stored contact is encrypted under, "" for plaintext.
func KeyID(stored string) string {
	id, _, _ := parse(stored)
	return id
}

// Current is the id of the key Seal uses, "" in plaintext mode.
func (v *Vault) Current() string {
	if v == nil {
		return ""
	}
	return v.keys[len(v.keys)-1].id
}

// IDs are the ids of every data key, oldest first.
func (v *Vault) IDs() []string {
	if v == nil {
		return nil
	}
	ids := make([]string, len(v.keys))
	for i, k := range v.keys {
		ids[i] = k.id
	}
	return ids
}

func parse(stored string) (id, body string, ok bool) {
	rest, ok := strings.CutPrefix(stored, prefix)
	if !ok {
		return "", "", false
	}
	id, body, ok = strings.Cut(rest, ":")
	return id, body, ok && id != ""
}

// Index is the blind index of a contact: the hex HMAC-SHA256 of its normal form under
// the index key, "" for no contact. Two spellings of one address or number index
// alike. In plaintext mode it is an unkeyed SHA-256.
func (v *Vault) Index(contact string) string {
	n := Normalize(contact)
	if n == "" {
		return ""
	}
	if v == nil {
		h := sha256.Sum256([]byte(n))
		return hex.EncodeToString(h[:])
	}
	m := hmac.New(sha256.New, v.indexKey)
	m.Write([]byte(n))
	return hex.EncodeToString(m.Sum(nil))
}

// Normalize is the form a contact is indexed by: an e-mail address trimmed and
// lower-cased; a phone number as its digits, with a leading + or 00 written +.
// Anything else is trimmed and lower-cased.
func Normalize(contact string) string {
	c := strings.TrimSpace(contact)
	if c == "" {
		return ""
	}
	if strings.Contains(c, "@") {
		return strings.ToLower(c)
	}
	var digits strings.Builder
	for _, r := range c {
		if r >= '0' && r <= '9' {
			digits.WriteRune(r)
		}
	}
	d := digits.String()
	if d == "" || !isPhone(c) {
		return strings.ToLower(c)
	}
	switch {
	case strings.HasPrefix(c, "+"):
		return "+" + d
	case strings.HasPrefix(d, "00"):
		return "+" + d[2:]
	}
	return d
}

// isPhone reports whether s is made only of what phone numbers are written with.
func isPhone(s string) bool {
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r == '+', r == ' ', r == '-', r == '(', r == ')', r == '.', r == '/':
		default:
			return false
		}
	}
	return true
}

// The key file: comment lines (#), one "index <base64 32 bytes>" line, and one
// "<id> <base64 32 bytes> [created RFC 3339]" line per data key, oldest first; the last
// is current.

// Load reads a key file.
func Load(path string) (*Vault, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load contact store keys: %w", err)
	}
	v, err := parseFile(raw)
	if err != nil {
		return nil, fmt.Errorf("load contact store keys %s: %w", path, err)
	}
	return v, nil
}

func parseFile(raw []byte) (*Vault, error) {
	v := &Vault{}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("line %d: want \"<id> <base64 key>\"", line)
		}
		key, err := base64.StdEncoding.DecodeString(f[1])
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("line %d: the key must be 32 bytes in base64", line)
		}
		if f[0] == "index" {
			if v.indexKey != nil {
				return nil, fmt.Errorf("line %d: a second index key", line)
			}
			v.indexKey = key
			continue
		}
		if seen[f[0]] || strings.Contains(f[0], ":") {
			return nil, fmt.Errorf("line %d: key id %q is repeated or has a colon", line, f[0])
		}
		seen[f[0]] = true
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		v.keys = append(v.keys, dataKey{id: f[0], aead: aead})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if v.indexKey == nil || len(v.keys) == 0 {
		return nil, errors.New("the file needs an index key line and at least one data key line")
	}
	return v, nil
}

const fileHeader = `# npscollector contact store keys: AES-256-GCM data keys that encrypt shoppers' contacts
# in the database, oldest first (the last one encrypts; every one decrypts), and the
# HMAC key of the blind index that erasure searches by (never change it). Keep this file
# apart from the database backups: without it the stored contacts cannot be read.
`

// Create writes a new key file (mode 0600) with an index key and one data key; an
// existing file is never overwritten. It returns the data key's id.
func Create(path string, now time.Time) (string, error) {
	id, line, err := newKeyLine(now)
	if err != nil {
		return "", err
	}
	index := make([]byte, 32)
	if _, err := rand.Read(index); err != nil {
		return "", fmt.Errorf("create contact store keys: %w", err)
	}
	body := fileHeader + "index " + base64.StdEncoding.EncodeToString(index) + "\n" + line
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return "", fmt.Errorf("create contact store keys: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("create contact store keys: %w", err)
	}
	if _, err := f.WriteString(body); err != nil {
		f.Close()
		return "", fmt.Errorf("create contact store keys: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", fmt.Errorf("create contact store keys: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("create contact store keys: %w", err)
	}
	return id, nil
}

// LoadOrCreate loads a key file, creating it first when it does not exist. It reports
// whether it created it.
func LoadOrCreate(path string, now time.Time) (*Vault, bool, error) {
	_, err := os.Stat(path)
	created := false
	if errors.Is(err, os.ErrNotExist) {
		if _, err := Create(path, now); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, false, err
		}
		created = true
	}
	v, err := Load(path)
	return v, created, err
}

// Rotate adds a new current data key at the end of a key file; the keys before it
// stay, so what they encrypted still opens. The file is replaced in one rename, with
// its mode kept. It returns the new key's id.
func Rotate(path string, now time.Time) (string, error) {
	if _, err := Load(path); err != nil {
		return "", fmt.Errorf("rotate: %w", err)
	}
	return rewrite(path, func(raw []byte) ([]byte, string, error) {
		id, line, err := newKeyLine(now)
		if err != nil {
			return nil, "", err
		}
		if len(raw) > 0 && raw[len(raw)-1] != '\n' {
			raw = append(raw, '\n')
		}
		return append(raw, line...), id, nil
	})
}

// Retire removes every data key but the current one from a key file: run it after
// rekey has re-encrypted every stored contact under the current key. It returns the ids
// it removed.
func Retire(path string) ([]string, error) {
	v, err := Load(path)
	if err != nil {
		return nil, fmt.Errorf("retire: %w", err)
	}
	current := v.Current()
	var removed []string
	_, err = rewrite(path, func(raw []byte) ([]byte, string, error) {
		var out bytes.Buffer
		sc := bufio.NewScanner(bytes.NewReader(raw))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) >= 2 && !strings.HasPrefix(f[0], "#") && f[0] != "index" && f[0] != current {
				removed = append(removed, f[0])
				continue
			}
			out.WriteString(sc.Text() + "\n")
		}
		return out.Bytes(), "", sc.Err()
	})
	return removed, err
}

func rewrite(path string, change func([]byte) ([]byte, string, error)) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("rewrite contact store keys: %w", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("rewrite contact store keys: %w", err)
	}
	out, id, err := change(raw)
	if err != nil {
		return "", fmt.Errorf("rewrite contact store keys: %w", err)
	}
	if _, err := parseFile(out); err != nil {
		return "", fmt.Errorf("rewrite contact store keys: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, out, info.Mode().Perm()); err != nil {
		return "", fmt.Errorf("rewrite contact store keys: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("rewrite contact store keys: %w", err)
	}
	return id, nil
}

func newKeyLine(now time.Time) (id, line string, err error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", "", fmt.Errorf("new contact store key: %w", err)
	}
	idBytes := make([]byte, 4)
	if _, err := rand.Read(idBytes); err != nil {
		return "", "", fmt.Errorf("new contact store key: %w", err)
	}
	id = now.UTC().Format("20060102") + "-" + hex.EncodeToString(idBytes)
	return id, id + " " + base64.StdEncoding.EncodeToString(key) + " " + now.UTC().Format(time.RFC3339) + "\n", nil
}
