package collector

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// DecodeBatch decodes the items of a batch (POST /v1/responses, the app API) one by
// one with response.DecodeResponse: an item the decoder would have misread (a missing
// or null score, broken text, an unknown field) is refused alone, by its id, and the
// rest go on to be checked and stored.
func DecodeBatch(items []json.RawMessage) ([]wire.Response, []wire.Rejection) {
	batch := make([]wire.Response, 0, len(items))
	var rejected []wire.Rejection
	for _, raw := range items {
		r, err := response.DecodeResponse(raw)
		if err != nil {
			rejected = append(rejected, wire.Rejection{ID: r.ID, Error: err.Error()})
			continue
		}
		batch = append(batch, r)
	}
	return batch, rejected
}

// DecodeUpload decodes the body of POST /v1/responses as a kiosk writes it, each
// response as DecodeBatch would and the envelope as the strict decoder would, in one pass
// where those take two (response.DecodeResponses): a catch-up uploads dozens of bodies
// of 500 responses back to back. ok is false for a body in any other form (a key that
// is not one of the three, a key twice, broken JSON, trailing data, more responses than
// wire.MaxBatchItems): the caller then decodes it with the strict decoder and
// DecodeBatch, which say what is wrong with it.
func DecodeUpload(body []byte) (up wire.DeviceUpload, rejected []wire.Rejection, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return wire.DeviceUpload{}, nil, false
	}
	seen := make(map[string]bool, 3)
	for dec.More() {
		tok, err := dec.Token()
		key, _ := tok.(string)
		if err != nil || seen[key] {
			return wire.DeviceUpload{}, nil, false
		}
		seen[key] = true
		switch key {
		case "responses":
			rs, errs, ok := response.DecodeResponses(dec, body, wire.MaxBatchItems)
			if !ok {
				return wire.DeviceUpload{}, nil, false
			}
			up.Responses = make([]wire.Response, 0, len(rs))
			for i, r := range rs {
				if errs[i] != nil {
					rejected = append(rejected, wire.Rejection{ID: r.ID, Error: errs[i].Error()})
					continue
				}
				up.Responses = append(up.Responses, r)
			}
		case "device_time":
			err = dec.Decode(&up.DeviceTime)
		case "ages":
			err = dec.Decode(&up.Ages)
		default:
			// Another spelling the strict decoder may take (it matches keys without
			// regard to case), or an unknown field it refuses: either way, its call.
			return wire.DeviceUpload{}, nil, false
		}
		if err != nil {
			return wire.DeviceUpload{}, nil, false
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') || !seen["responses"] {
		return wire.DeviceUpload{}, nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return wire.DeviceUpload{}, nil, false
	}
	return up, rejected, true
}
