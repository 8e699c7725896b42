package contactseal

import (
	"bytes"
	"crypto/ecdh"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// A key file holds the collector's contact keys as PEM "PRIVATE KEY" blocks (PKCS #8,
// X25519, as openssl writes them), oldest first: the last is current. Rotation appends;
// nothing removes a key but a person editing the file, since a removed key is every
// contact sealed to it lost.

const pemType = "PRIVATE KEY"

// LoadKeyFile reads a key file. A file any user may read is refused: it opens every
// contact.
func LoadKeyFile(path string) (*Keyring, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("contact keys: %w", err)
	}
	if info.Mode().Perm()&0o007 != 0 {
		return nil, fmt.Errorf("contact keys: %s can be read by every user of this machine (mode %s): chmod o-rwx %s", path, info.Mode().Perm(), path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("contact keys: %w", err)
	}
	keys, err := parseKeys(raw)
	if err != nil {
		return nil, fmt.Errorf("contact keys in %s: %w", path, err)
	}
	return NewKeyring(keys...)
}

func parseKeys(raw []byte) ([]*PrivateKey, error) {
	var keys []*PrivateKey
	for n := 1; ; n++ {
		var block *pem.Block
		block, raw = pem.Decode(raw)
		if block == nil {
			break
		}
		if block.Type != pemType {
			return nil, fmt.Errorf("block %d is a %q, not a %q", n, block.Type, pemType)
		}
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("block %d: %w", n, err)
		}
		k, ok := parsed.(*ecdh.PrivateKey)
		if !ok || k.Curve() != ecdh.X25519() {
			return nil, fmt.Errorf("block %d is not an X25519 key (openssl genpkey -algorithm X25519 makes one)", n)
		}
		keys = append(keys, &PrivateKey{key: k})
	}
	if len(bytes.TrimSpace(raw)) > 0 {
		return nil, errors.New("text after the last key that is not a PEM block")
	}
	if len(keys) == 0 {
		return nil, errors.New("no key in the file")
	}
	return keys, nil
}

func encodeKey(k *PrivateKey, created time.Time) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.key)
	if err != nil {
		return nil, fmt.Errorf("encode contact key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der,
		Headers: map[string]string{"Key-Id": k.ID(), "Created": created.UTC().Format(time.RFC3339)}}), nil
}

// CreateKeyFile writes a new key file (mode 0600) holding one new key, and refuses to
// overwrite a file that exists.
func CreateKeyFile(path string, now time.Time) (PublicKey, error) {
	k, err := GenerateKey()
	if err != nil {
		return PublicKey{}, err
	}
	b, err := encodeKey(k, now)
	if err != nil {
		return PublicKey{}, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return PublicKey{}, fmt.Errorf("create contact key file: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return PublicKey{}, fmt.Errorf("create contact key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return PublicKey{}, fmt.Errorf("create contact key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return PublicKey{}, fmt.Errorf("create contact key file: %w", err)
	}
	return k.Public(), nil
}

// RotateKeyFile adds a new key to the end of a key file, which makes it current; the
// keys before it stay, so that what was sealed to them still opens. The file is replaced
// in one rename, with its mode and owner kept.
func RotateKeyFile(path string, now time.Time) (PublicKey, error) {
	if _, err := LoadKeyFile(path); err != nil {
		return PublicKey{}, fmt.Errorf("rotate: %w", err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return PublicKey{}, fmt.Errorf("rotate contact keys: %w", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return PublicKey{}, fmt.Errorf("rotate contact keys: %w", err)
	}
	k, err := GenerateKey()
	if err != nil {
		return PublicKey{}, err
	}
	b, err := encodeKey(k, now)
	if err != nil {
		return PublicKey{}, err
	}
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		raw = append(raw, '\n')
	}
	if err := replaceFile(path, append(raw, b...), info); err != nil {
		return PublicKey{}, fmt.Errorf("rotate contact keys: %w", err)
	}
	return k.Public(), nil
}

func replaceFile(path string, b []byte, like fs.FileInfo) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(like.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := keepOwner(tmp, like); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// KeyInfo is what a key file says of one of its keys, without the key.
type KeyInfo struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created,omitzero"` // zero when the block has no Created header
	Current bool      `json:"current"`
}

// ListKeyFile lists the keys of a key file, oldest first; the last is current. It checks
// the file as LoadKeyFile does; the ids are computed from the keys, not read from the
// headers, and a Created header that does not parse is left zero.
func ListKeyFile(path string) ([]KeyInfo, error) {
	if _, err := LoadKeyFile(path); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("contact keys: %w", err)
	}
	keys, err := parseKeys(raw)
	if err != nil {
		return nil, fmt.Errorf("contact keys in %s: %w", path, err)
	}
	out := make([]KeyInfo, 0, len(keys))
	for _, k := range keys {
		var block *pem.Block
		block, raw = pem.Decode(raw)
		info := KeyInfo{ID: k.ID()}
		if created, err := time.Parse(time.RFC3339, block.Headers["Created"]); err == nil {
			info.Created = created
		}
		out = append(out, info)
	}
	out[len(out)-1].Current = true
	return out, nil
}
