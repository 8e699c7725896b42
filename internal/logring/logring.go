// Package logring keeps a process's most recent log lines in memory, for a diagnostics
// bundle: a slog.Handler that passes every record on to another handler and keeps the
// last N as text lines. Attributes whose key names a secret (a token, a PIN, a
// password, …) are kept as "[redacted]", so no secret is ever held. Personal data in
// the lines is not masked here: the bundle masks it when it is made.
package logring

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
)

// MaxLine bounds one kept line, in bytes; a longer one is cut.
const MaxLine = 2 << 10

// Redacted replaces the value of an attribute whose key names a secret.
const Redacted = "[redacted]"

// secretWords are the words (split at "_", "-", "." and spaces) of an attribute's key
// that make its value a secret.
var secretWords = map[string]bool{"token": true, "pin": true, "password": true, "passwd": true, "secret": true,
	"hash": true, "authorization": true, "cookie": true, "key": true}

// Secret reports whether an attribute key names a secret: device_token, pin_hash,
// password, … (but not "shipping" or "contact_key_id", whose words are no secret's).
func Secret(key string) bool {
	k := strings.ToLower(key)
	for _, w := range []string{"token", "password", "passwd", "secret", "pinhash"} { // whatever the case: DeviceToken
		if strings.Contains(k, w) {
			return true
		}
	}
	words := strings.FieldsFunc(k, func(r rune) bool { return r == '_' || r == '-' || r == '.' || r == ' ' })
	for i, w := range words {
		// "key" alone is a secret, "key_id" names one.
		if w == "key" && i+1 < len(words) && words[i+1] == "id" {
			continue
		}
		if secretWords[w] {
			return true
		}
	}
	return false
}

// Ring holds the last lines logged through its handlers. It is safe for concurrent use.
type Ring struct {
	mu    sync.Mutex
	lines []string
	next  int
	full  bool
	level slog.Leveler
}

// New keeps the last n lines of records at level or above (nil: slog.LevelInfo).
func New(n int, level slog.Leveler) *Ring {
	if n < 1 {
		n = 1
	}
	if level == nil {
		level = slog.LevelInfo
	}
	return &Ring{lines: make([]string, n), level: level}
}

// Lines returns the kept lines, oldest first.
func (r *Ring) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]string(nil), r.lines[:r.next]...)
	}
	out := make([]string, 0, len(r.lines))
	out = append(out, r.lines[r.next:]...)
	return append(out, r.lines[:r.next]...)
}

func (r *Ring) add(line string) {
	if len(line) > MaxLine {
		line = strings.ToValidUTF8(line[:MaxLine], "") + "…"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines[r.next] = line
	r.next++
	if r.next == len(r.lines) {
		r.next, r.full = 0, true
	}
}

// Handler returns a handler that passes records on to next (nil: none) and keeps them
// as lines in the ring.
func (r *Ring) Handler(next slog.Handler) slog.Handler {
	h := &handler{ring: r, next: next, buf: &lineBuffer{}}
	h.text = slog.NewTextHandler(h.buf, &slog.HandlerOptions{Level: r.level, ReplaceAttr: redact})
	return h
}

// redact hides the values of secret attributes.
func redact(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindGroup && Secret(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	return a
}

// lineBuffer collects what one record's text handler writes; the handler's mutex
// guards it.
type lineBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lineBuffer) Write(p []byte) (int, error) { return l.b.Write(p) }

type handler struct {
	ring *Ring
	next slog.Handler
	text slog.Handler
	buf  *lineBuffer
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.ring.level.Level() || h.next != nil && h.next.Enabled(ctx, l)
}

func (h *handler) Handle(ctx context.Context, rec slog.Record) error {
	var err error
	if h.next != nil && h.next.Enabled(ctx, rec.Level) {
		err = h.next.Handle(ctx, rec)
	}
	if rec.Level >= h.ring.level.Level() {
		h.buf.mu.Lock()
		h.buf.b.Reset()
		if terr := h.text.Handle(ctx, rec); terr == nil {
			h.ring.add(strings.TrimRight(h.buf.b.String(), "\n"))
		}
		h.buf.mu.Unlock()
	}
	return err
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := &handler{ring: h.ring, buf: h.buf, text: h.text.WithAttrs(attrs)}
	if h.next != nil {
		c.next = h.next.WithAttrs(attrs)
	}
	return c
}

func (h *handler) WithGroup(name string) slog.Handler {
	c := &handler{ring: h.ring, buf: h.buf, text: h.text.WithGroup(name)}
	if h.next != nil {
		c.next = h.next.WithGroup(name)
	}
	return c
}
