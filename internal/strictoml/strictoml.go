// Package strictoml decodes TOML files people write by hand (the kiosk config, surveys)
// strictly: an unknown key is an error that names the key and its line, so a misspelt
// setting is reported instead of silently ignored.
package strictoml

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Decode parses b into v.
func Decode(b []byte, v any) error {
	dec := toml.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return nil
	}
	var missing *toml.StrictMissingError
	if errors.As(err, &missing) {
		var problems []string
		for _, e := range missing.Errors {
			row, _ := e.Position()
			problems = append(problems, fmt.Sprintf("line %d: unknown setting %q", row, strings.Join(e.Key(), ".")))
		}
		return errors.New(strings.Join(problems, "; "))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		return fmt.Errorf("line %d column %d: %w", row, col, err)
	}
	return err
}
