package response

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Time bounds of a response: a time outside them is no clock's reading and no
// database's or JSON's to carry (a year past 9999 cannot be written back as JSON).
var (
	MinTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
)

// DecodeJSON decodes one JSON object into v by the rules every JSON ingest path
// shares, where the standard decoder is lenient: a field v does not have is refused,
// as is text that is not valid UTF-8 (raw bytes, or a \u escape of half a surrogate
// pair: the standard decoder would silently store U+FFFD instead), and each of the
// required fields when it is missing or null (the standard decoder would leave its zero
// value, so a missing score would count as a 0). Errors wrap ErrInvalid and name the
// field.
func DecodeJSON(data []byte, v any, required ...string) error {
	if err := checkText(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// A missing required field is named before any other fault, as it always was.
		if err := checkRequired(data, required); err != nil {
			return err
		}
		return invalid("%s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		if err := checkRequired(data, required); err != nil {
			return err
		}
		return invalid("trailing data after the JSON object")
	}
	// A required field that decoded to something other than its zero value was there
	// and not null: only a zero one (a score of 0, or none) needs a second look at the
	// text, which costs as much as the decoding itself.
	for _, name := range required {
		if zeroField(v, name) {
			return checkRequired(data, required)
		}
	}
	return nil
}

// checkRequired refuses a JSON object in which a required field is missing or null.
func checkRequired(data []byte, required []string) error {
	if len(required) == 0 {
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return invalid("%s", jsonProblem(err))
	}
	for _, name := range required {
		raw, ok := fields[name]
		if !ok {
			return invalid("%s is missing", name)
		}
		if string(raw) == "null" {
			return invalid("%s is null", name)
		}
	}
	return nil
}

// zeroField reports whether the field of the struct v points to that JSON calls name
// holds its zero value; true when there is no such field, so that the caller looks.
func zeroField(v any, name string) bool {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return true
	}
	f, ok := jsonField(rv.Elem(), name)
	return !ok || f.IsZero()
}

// jsonField is the field of struct value sv that encoding/json decodes name into,
// looking into embedded structs as it does.
func jsonField(sv reflect.Value, name string) (reflect.Value, bool) {
	t := sv.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if sf.Anonymous && tag == "" && sf.Type.Kind() == reflect.Struct {
			if f, ok := jsonField(sv.Field(i), name); ok {
				return f, true
			}
			continue
		}
		if tag == name || (tag == "" && strings.EqualFold(sf.Name, name)) {
			return sv.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// DecodeResponse decodes one response from its JSON form with DecodeJSON: the score
// is required. On failure the response returned holds its id alone when it has one, so
// that a batch can name the item it refuses.
func DecodeResponse(data []byte) (Response, error) {
	var r Response
	if err := DecodeJSON(data, &r, "score"); err != nil {
		var id struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(data, &id) // best effort: the id alone, to name the item
		return Response{ID: id.ID}, err
	}
	return r, nil
}

// DecodeResponses decodes the JSON array dec is at, each item exactly as DecodeResponse
// decodes the item's bytes alone: rs[i] is the item and errs[i] its error, if any (rs[i]
// then holds the id alone, to name it). dec must read data from its start and refuse
// unknown fields (json.Decoder.DisallowUnknownFields).
//
// It exists for the kiosk's uploads, hundreds of responses a body: DecodeResponse on each
// item would have the items cut out first and then read each of them twice more, where
// here a valid item is read once. Only an item that needs the second look DecodeJSON
// gives a score of 0, an item the decoder refuses, or a body that may hold text that is
// not UTF-8, goes through DecodeResponse on its own bytes. ok is false when the array
// cannot be read through (it is not an array, or its JSON is broken) or holds more than
// limit items (it stops there, before decoding what a batch may not hold): the caller then
// decodes the body the slow way, which says what is wrong with it.
func DecodeResponses(dec *json.Decoder, data []byte, limit int) (rs []Response, errs []error, ok bool) {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, nil, false
	}
	// The quick look of checkText, at the whole body once: when it clears the body, it
	// clears every item in it.
	plain := utf8.Valid(data) && !bytes.Contains(data, []byte(`\ud`)) && !bytes.Contains(data, []byte(`\uD`))
	for dec.More() {
		if len(rs) == limit {
			return nil, nil, false
		}
		start := dec.InputOffset()
		var r Response
		err := dec.Decode(&r)
		var syntaxErr *json.SyntaxError
		if errors.As(err, &syntaxErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, nil, false // the item was not read through: where it ends is unknown
		}
		// The offset before the item is before the comma that separates it.
		raw := bytes.TrimLeft(data[start:dec.InputOffset()], ", \t\r\n")
		if err != nil || !plain || r.Score == 0 {
			r, err = DecodeResponse(raw)
		}
		rs = append(rs, r)
		errs = append(errs, err)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
		return nil, nil, false
	}
	return rs, errs, true
}

// ParseJSON decodes one response with DecodeResponse and validates it with Validate.
func ParseJSON(data []byte) (Response, error) {
	r, err := DecodeResponse(data)
	if err != nil {
		return r, err
	}
	return r, r.Validate()
}

// jsonProblem words a decoding error for the sender, naming the field where the
// decoder says which.
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "the body"
		}
		return fmt.Sprintf("%s must be a JSON %s, not %s", field, kindOf(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("not valid JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	case errors.Is(err, io.EOF):
		return "no JSON object"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func kindOf(k string) string {
	switch k {
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "number"
	case "slice":
		return "array"
	case "map", "struct":
		return "object"
	case "bool":
		return "true or false"
	}
	return k
}

// checkText refuses text the standard decoder would rewrite to U+FFFD, naming the
// field it is in. Most bodies are valid: a quick look at the bytes clears them.
func checkText(data []byte) error {
	if utf8.Valid(data) && !bytes.Contains(data, []byte(`\ud`)) && !bytes.Contains(data, []byte(`\uD`)) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	// The path to the current value: object keys and array indexes.
	type level struct {
		array bool
		index int
		key   string
		inKey bool // an object awaiting a key
	}
	var path []level
	name := func() string {
		var b strings.Builder
		for _, l := range path {
			switch {
			case l.array:
				fmt.Fprintf(&b, "[%d]", l.index)
			default:
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(l.key)
			}
		}
		if b.Len() == 0 {
			return "the body"
		}
		return b.String()
	}
	// next moves past a value in the enclosing object or array.
	next := func() {
		if n := len(path); n > 0 {
			if path[n-1].array {
				path[n-1].index++
			} else {
				path[n-1].inKey = true
			}
		}
	}
	start := dec.InputOffset()
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return invalid("%s", jsonProblem(err))
		}
		end := dec.InputOffset()
		raw := data[start:end]
		start = end
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				path = append(path, level{inKey: true})
			case '[':
				path = append(path, level{array: true})
			default:
				path = path[:len(path)-1]
				next()
			}
		case string:
			if n := len(path); n > 0 && !path[n-1].array && path[n-1].inKey {
				if !validJSONText(raw) {
					path = path[:n-1]
					return invalid("a field name in %s is not valid UTF-8", name())
				}
				path[n-1].key, path[n-1].inKey = t, false
				continue
			}
			if !validJSONText(raw) {
				return invalid("%s is not valid UTF-8", name())
			}
			next()
		default:
			next()
		}
	}
}

// validJSONText reports whether the raw bytes of a JSON string token (with what
// precedes it) are valid UTF-8 with no escape of half a surrogate pair.
func validJSONText(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' || i+1 >= len(raw) {
			continue
		}
		if raw[i+1] != 'u' {
			i++ // an escape of one character, such as \\ or \"
			continue
		}
		r, ok := hex4(raw[i+2:])
		if !ok {
			return false
		}
		i += 5
		if !utf16.IsSurrogate(r) {
			continue
		}
		// A high half must be followed at once by an escaped low half.
		if r >= 0xdc00 || i+6 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
			return false
		}
		lo, ok := hex4(raw[i+3:])
		if !ok || lo < 0xdc00 || lo > 0xdfff {
			return false
		}
		i += 6
	}
	return true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 16)
	return rune(n), err == nil
}
