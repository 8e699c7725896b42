//go:build linux

package secretinput

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

func TestReadLineFromAPipe(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		limit          int64
	}{
		{"a line", "2468\nrest\n", "2468", 64},
		{"crlf", " pass phrase \r\n", " pass phrase ", 64},
		{"no newline", "2468", "2468", 64},
		{"empty", "", "", 64},
		{"over the limit", "123456789\n", "1234", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadLine(strings.NewReader(tc.in), tc.limit)
			if err != nil || got != tc.want {
				t.Errorf("ReadLine(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// Typed at a real terminal (a pseudo-terminal here), the secret is read and not echoed.
func TestReadLineFromATerminalDoesNotEcho(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		line, err := ReadLine(tty, 64)
		done <- result{line, err}
	}()
	// Type once echo is off, as a person does who waits for the prompt: what is typed
	// ahead of that the terminal echoes whatever reads it.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		st, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		if st.Lflag&unix.ECHO == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the terminal still echoes after 5 s")
		}
	}
	if _, err := ptmx.WriteString("4321\r"); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("ReadLine did not return")
	}
	if r.err != nil || r.line != "4321" {
		t.Fatalf("ReadLine = %q, %v; want 4321", r.line, r.err)
	}
	// What the terminal showed: read what is there, without waiting for more.
	tty.Close()
	var shown bytes.Buffer
	ptmx.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	io.Copy(&shown, ptmx)
	if strings.Contains(shown.String(), "4321") {
		t.Errorf("the terminal showed the secret: %q", shown.String())
	}
}
