package collector

import (
	"encoding/json"

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
