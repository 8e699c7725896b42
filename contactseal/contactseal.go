// Package contactseal seals a shopper's contact details to the collector's public key, so
// that a kiosk's database and its backups hold no readable contact and only the collector
// can open one. It is HPKE (RFC 9180, crypto/hpke) in base mode with DHKEM(X25519,
// HKDF-SHA256), HKDF-SHA256 and ChaCha20-Poly1305: an anonymous sealed box, bound to the
// response it belongs to. Pure Go, shared by the kiosk (Seal) and the collector (Keyring).
package contactseal

import (
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Prefix starts every sealed contact; the version in it names the suite below.
const Prefix = "hpke1:"

// MaxSealedLen is the longest sealed contact a valid one can be: a 254-character contact
// of 4-byte runes, padded, sealed and encoded, with room to spare.
const MaxSealedLen = 2048

// padBlock hides a contact's length to within this many bytes: an e-mail address and a
// phone number seal to the same size.
const padBlock = 64

var (
	// ErrMalformed means the text is not a sealed contact this package made.
	ErrMalformed = errors.New("not a sealed contact")
	// ErrUnknownKey means the contact was sealed to a key the keyring does not hold.
	ErrUnknownKey = errors.New("sealed to a key this collector does not have")
	// ErrCannotOpen means the key is held but the box does not open: it was altered,
	// or moved from the response it was sealed for.
	ErrCannotOpen = errors.New("the sealed contact does not open")
)

func suite() (hpke.KDF, hpke.AEAD) { return hpke.HKDFSHA256(), hpke.ChaCha20Poly1305() }

// info binds a box to its response: a box copied onto another response does not open.
func info(responseID string) []byte { return []byte("npskiosk contact v1\x00" + responseID) }

// PublicKey is the collector's key that kiosks seal contacts to, as the collector hands
// it out at enrollment and at GET /v1/device/contact-key.
type PublicKey struct {
	// ID names the key in every box sealed to it: the first 8 bytes of the SHA-256 of
	// Key, in hex.
	ID string `json:"id"`
	// Key is the X25519 public key, 32 bytes (base64 in JSON).
	Key []byte `json:"public_key"`
}

// KeyID is the id of an X25519 public key.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8])
}

// Check reports whether p is a usable key whose id matches it.
func (p PublicKey) Check() error {
	if _, err := ecdh.X25519().NewPublicKey(p.Key); err != nil {
		return fmt.Errorf("contact key %q: %w", p.ID, err)
	}
	if want := KeyID(p.Key); p.ID != want {
		return fmt.Errorf("contact key id %q does not match its key (%s)", p.ID, want)
	}
	return nil
}

// IsZero reports whether p is no key at all.
func (p PublicKey) IsZero() bool { return p.ID == "" && len(p.Key) == 0 }

// Seal seals contact for the response responseID to p. Each call gives another box.
func Seal(p PublicKey, responseID, contact string) (string, error) {
	if err := p.Check(); err != nil {
		return "", fmt.Errorf("seal contact: %w", err)
	}
	pub, err := ecdh.X25519().NewPublicKey(p.Key)
	if err != nil {
		return "", fmt.Errorf("seal contact: %w", err)
	}
	pk, err := hpke.NewDHKEMPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("seal contact: %w", err)
	}
	kdf, aead := suite()
	box, err := hpke.Seal(pk, kdf, aead, info(responseID), pad(contact))
	if err != nil {
		return "", fmt.Errorf("seal contact: %w", err)
	}
	return Prefix + p.ID + ":" + base64.RawURLEncoding.EncodeToString(box), nil
}

// pad prefixes the contact's length and fills it up to a multiple of padBlock.
func pad(contact string) []byte {
	n := 2 + len(contact)
	n += (padBlock - n%padBlock) % padBlock
	b := make([]byte, n)
	binary.BigEndian.PutUint16(b, uint16(len(contact)))
	copy(b[2:], contact)
	return b
}

func unpad(b []byte) (string, bool) {
	if len(b) < 2 {
		return "", false
	}
	n := int(binary.BigEndian.Uint16(b))
	if n > len(b)-2 {
		return "", false
	}
	return string(b[2 : 2+n]), true
}

// SealedKeyID returns the id of the key sealed is sealed to, or ErrMalformed.
func SealedKeyID(sealed string) (string, error) {
	id, _, err := split(sealed)
	return id, err
}

// CheckSealed reports whether sealed has the form of a sealed contact (it does not open it).
func CheckSealed(sealed string) error {
	_, _, err := split(sealed)
	return err
}

func split(sealed string) (keyID string, box []byte, err error) {
	if len(sealed) > MaxSealedLen {
		return "", nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, len(sealed), MaxSealedLen)
	}
	rest, ok := strings.CutPrefix(sealed, Prefix)
	if !ok {
		return "", nil, fmt.Errorf("%w: it does not start with %q", ErrMalformed, Prefix)
	}
	keyID, enc, ok := strings.Cut(rest, ":")
	if !ok || len(keyID) != 16 {
		return "", nil, fmt.Errorf("%w: no key id", ErrMalformed)
	}
	if _, err := hex.DecodeString(keyID); err != nil {
		return "", nil, fmt.Errorf("%w: key id %q is not hex", ErrMalformed, keyID)
	}
	box, err = base64.RawURLEncoding.DecodeString(enc)
	// 32 bytes of encapsulated key, a padded block and a 16-byte tag at the least.
	if err != nil || len(box) < 32+padBlock+16 {
		return "", nil, fmt.Errorf("%w: the box is cut short or not base64url", ErrMalformed)
	}
	return keyID, box, nil
}

// PrivateKey is one of the collector's contact keys.
type PrivateKey struct {
	key *ecdh.PrivateKey
}

// GenerateKey makes a new contact key.
func GenerateKey() (*PrivateKey, error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate contact key: %w", err)
	}
	return &PrivateKey{key: k}, nil
}

// Public is the key kiosks seal to.
func (k *PrivateKey) Public() PublicKey {
	b := k.key.PublicKey().Bytes()
	return PublicKey{ID: KeyID(b), Key: b}
}

// ID is the key's id.
func (k *PrivateKey) ID() string { return k.Public().ID }

// open opens a box sealed to k.
func (k *PrivateKey) open(responseID string, box []byte) (string, error) {
	sk, err := hpke.NewDHKEMPrivateKey(k.key)
	if err != nil {
		return "", fmt.Errorf("open contact: %w", err)
	}
	kdf, aead := suite()
	plain, err := hpke.Open(sk, kdf, aead, info(responseID), box)
	if err != nil {
		return "", ErrCannotOpen
	}
	contact, ok := unpad(plain)
	if !ok {
		return "", ErrCannotOpen
	}
	return contact, nil
}

// Keyring is the collector's contact keys: the current one, which kiosks are given, and
// every earlier one still held, so that boxes sealed before a rotation still open.
type Keyring struct {
	keys    map[string]*PrivateKey
	order   []*PrivateKey // as given: the current one last
	current *PrivateKey
}

// NewKeyring makes a keyring of keys, the last of which is current. It needs one at least.
func NewKeyring(keys ...*PrivateKey) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("a contact keyring needs a key")
	}
	r := &Keyring{keys: make(map[string]*PrivateKey, len(keys)), order: keys, current: keys[len(keys)-1]}
	for _, k := range keys {
		if r.keys[k.ID()] != nil {
			return nil, fmt.Errorf("contact key %s is there twice", k.ID())
		}
		r.keys[k.ID()] = k
	}
	return r, nil
}

// Current is the key kiosks are to seal to now.
func (r *Keyring) Current() PublicKey { return r.current.Public() }

// IDs lists the ids of the keys held, the current one last.
func (r *Keyring) IDs() []string {
	ids := make([]string, 0, len(r.order))
	for _, k := range r.order {
		ids = append(ids, k.ID())
	}
	return ids
}

// Has reports whether the keyring holds the key id.
func (r *Keyring) Has(id string) bool { _, ok := r.keys[id]; return ok }

// Open opens a contact sealed for the response responseID. A nil keyring opens nothing:
// every box is ErrUnknownKey.
func (r *Keyring) Open(responseID, sealed string) (string, error) {
	id, box, err := split(sealed)
	if err != nil {
		return "", err
	}
	if r == nil {
		return "", fmt.Errorf("%w (key %s)", ErrUnknownKey, id)
	}
	k, ok := r.keys[id]
	if !ok {
		return "", fmt.Errorf("%w (key %s)", ErrUnknownKey, id)
	}
	return k.open(responseID, box)
}
