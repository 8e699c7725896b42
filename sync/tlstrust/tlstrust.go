// Package tlstrust builds the kiosk's trust in its collector's TLS certificate: the
// system roots, a private CA bundle added to them or replacing them, optional SPKI
// SHA-256 pins, and whether plain http:// is allowed to a non-loopback host. It also
// names the cause of a certificate failure in plain words.
package tlstrust

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// CA modes: the bundle is added to the system roots, or is the only roots trusted.
const (
	ModeAdd     = "add"
	ModeReplace = "replace"
)

// Config is the kiosk's trust settings, as in its config file.
type Config struct {
	CAFile            string   // PEM bundle of private CAs; empty: system roots only
	CAMode            string   // ModeAdd (default) or ModeReplace
	Pins              []string // "sha256/<base64>" or bare base64 of the SPKI's SHA-256; none or at least two
	AllowInsecureHTTP bool     // plain http:// to a non-loopback host
}

// ErrPinMismatch means the collector's chain holds none of the configured pins.
var ErrPinMismatch = errors.New("the collector's certificate chain matches none of the configured pins")

// ErrInsecureHTTP means a plain http:// URL to a host other than loopback.
var ErrInsecureHTTP = errors.New("plain http:// to a collector that is not on this machine is refused: use https://, or set allow_insecure_http = true in the config")

// Validate checks the settings without reading the CA file.
func (c Config) Validate() error {
	switch c.CAMode {
	case "", ModeAdd, ModeReplace:
	default:
		return fmt.Errorf("ca_mode %q: want %q or %q", c.CAMode, ModeAdd, ModeReplace)
	}
	if c.CAMode == ModeReplace && c.CAFile == "" {
		return errors.New(`ca_mode = "replace" needs ca_file`)
	}
	if len(c.Pins) == 1 {
		return errors.New("pins: give at least two (the current key and a backup), so a key can rotate without cutting the kiosk off")
	}
	for _, p := range c.Pins {
		if _, err := decodePin(p); err != nil {
			return err
		}
	}
	return nil
}

func decodePin(p string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(strings.TrimSpace(p), "sha256/"))
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("pin %q: want the base64 of a SHA-256 (sha256/…, 44 characters)", p)
	}
	return b, nil
}

// Pin is the SPKI SHA-256 pin of cert, as "sha256/<base64>".
func Pin(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256/" + base64.StdEncoding.EncodeToString(sum[:])
}

// CheckURL refuses a plain http:// URL to a host that is not loopback, unless allowed.
func (c Config) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("collector URL %q: %w", raw, err)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if c.AllowInsecureHTTP || isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("collector URL %s: %w", raw, ErrInsecureHTTP)
	default:
		return fmt.Errorf("collector URL %q: want https:// (or http:// on loopback)", raw)
	}
}

// Insecure reports whether raw is a plain http:// URL to a non-loopback host, allowed
// only because of AllowInsecureHTTP: status, doctor and the manager view say so.
func (c Config) Insecure(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "http" && !isLoopback(u.Hostname())
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// TLSConfig builds the client's tls.Config: TLS 1.2 minimum, the roots the settings
// name, and the pins checked on every verified connection.
func (c Config) TLSConfig() (*tls.Config, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		var pool *x509.CertPool
		if c.CAMode == ModeReplace {
			pool = x509.NewCertPool()
		} else if pool, err = x509.SystemCertPool(); err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if len(c.Pins) > 0 {
		pins := make(map[[sha256.Size]byte]bool, len(c.Pins))
		for _, p := range c.Pins {
			b, _ := decodePin(p) // checked in Validate
			pins[[sha256.Size]byte(b)] = true
		}
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			for _, chain := range cs.VerifiedChains {
				for _, cert := range chain {
					if pins[sha256.Sum256(cert.RawSubjectPublicKeyInfo)] {
						return nil
					}
				}
			}
			return &PinError{Leaf: leaf(cs)}
		}
	}
	return tc, nil
}

// PinError is a chain that holds none of the pins; errors.Is(err, ErrPinMismatch).
type PinError struct{ Leaf *x509.Certificate }

func (e *PinError) Error() string {
	if e.Leaf == nil {
		return ErrPinMismatch.Error()
	}
	return fmt.Sprintf("%v (the server's key is %s)", ErrPinMismatch, Pin(e.Leaf))
}

func (e *PinError) Is(target error) bool { return target == ErrPinMismatch }

func leaf(cs tls.ConnectionState) *x509.Certificate {
	if len(cs.PeerCertificates) == 0 {
		return nil
	}
	return cs.PeerCertificates[0]
}

// HTTPClient is a client with these settings and timeout.
func (c Config) HTTPClient(timeout time.Duration) (*http.Client, error) {
	tc, err := c.TLSConfig()
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}

// Cause names a certificate problem in err in plain words, or returns "" when err is
// not one.
func Cause(err error) string {
	var (
		unknown  x509.UnknownAuthorityError
		invalid  x509.CertificateInvalidError
		hostname x509.HostnameError
		verify   *tls.CertificateVerificationError
	)
	switch {
	case errors.Is(err, ErrPinMismatch):
		return "certificate pin mismatch: the collector's key is none of the configured pins (check pins in the config)"
	case errors.As(err, &unknown):
		return "certificate signed by an unknown authority: set ca_file to the CA that issued the collector's certificate"
	case errors.As(err, &hostname):
		return fmt.Sprintf("certificate is for another name (%v): check the collector URL", hostname.Error())
	case errors.As(err, &invalid):
		if invalid.Reason == x509.Expired {
			return "certificate expired or not yet valid (" + invalid.Detail + "): renew the collector's certificate, or check this device's clock"
		}
		return "certificate invalid: " + invalid.Error()
	case errors.As(err, &verify):
		return "certificate not trusted: " + verify.Err.Error()
	}
	return ""
}

// Describe wraps err with its certificate cause, when it has one.
func Describe(err error) error {
	if c := Cause(err); c != "" {
		return &CertError{Cause: c, Err: err}
	}
	return err
}

// CertError is a TLS certificate failure with its cause in plain words.
type CertError struct {
	Cause string
	Err   error
}

func (e *CertError) Error() string { return "TLS: " + e.Cause }
func (e *CertError) Unwrap() error { return e.Err }

// PeerInfo is the collector's certificate as a TLS handshake saw it.
type PeerInfo struct {
	Subject, Issuer string
	NotAfter        time.Time
	Pin             string
}

// Inspect connects to the collector at rawURL with these settings and returns its
// certificate, or the handshake's error (with Describe's cause).
func (c Config) Inspect(ctx context.Context, rawURL string) (PeerInfo, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return PeerInfo{}, err
	}
	if u.Scheme != "https" {
		return PeerInfo{}, fmt.Errorf("not https: %s", rawURL)
	}
	tc, err := c.TLSConfig()
	if err != nil {
		return PeerInfo{}, err
	}
	tc.ServerName = u.Hostname()
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	d := tls.Dialer{Config: tc}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return PeerInfo{}, Describe(err)
	}
	defer conn.Close()
	l := leaf(conn.(*tls.Conn).ConnectionState())
	if l == nil {
		return PeerInfo{}, errors.New("the collector sent no certificate")
	}
	return PeerInfo{Subject: l.Subject.String(), Issuer: l.Issuer.String(), NotAfter: l.NotAfter, Pin: Pin(l)}, nil
}
