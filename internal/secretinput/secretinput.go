// Package secretinput reads a secret that IT types or pipes into a command (a manager
// PIN, a password): from a terminal without showing it, so nobody reads it over their
// shoulder, else the first line of the input, so scripts can pipe it in.
package secretinput

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/term"
)

// ReadLine reads one line from in without its line ending (\n or \r\n); spaces are kept.
// From a terminal what is typed is not echoed; from anything else at most limit bytes
// are read.
func ReadLine(in io.Reader, limit int64) (string, error) {
	if f, ok := in.(interface{ Fd() uintptr }); ok && term.IsTerminal(int(f.Fd())) {
		b, err := term.ReadPassword(int(f.Fd()))
		if err != nil {
			return "", fmt.Errorf("read from the terminal: %w", err)
		}
		return strings.TrimSuffix(string(b), "\r"), nil
	}
	line, err := bufio.NewReader(io.LimitReader(in, limit)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read stdin: %w", err)
	}
	line = strings.TrimSuffix(line, "\n")
	return strings.TrimSuffix(line, "\r"), nil
}
