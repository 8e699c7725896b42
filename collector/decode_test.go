package collector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// decodeUploadStrictly is the way an upload is decoded when DecodeUpload gives up: the
// strict decoder for the envelope, DecodeBatch for the items.
func decodeUploadStrictly(body []byte) (wire.DeviceUpload, []wire.Rejection, error) {
	var v struct {
		wire.DeviceUpload
		Responses []json.RawMessage `json:"responses"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return wire.DeviceUpload{}, nil, err
	}
	if dec.More() {
		return wire.DeviceUpload{}, nil, fmt.Errorf("trailing data")
	}
	up := v.DeviceUpload
	var rejected []wire.Rejection
	up.Responses, rejected = DecodeBatch(v.Responses)
	return up, rejected, nil
}

// DecodeUpload takes a body as kiosks write it, and gives what the strict decoder and
// DecodeBatch give; any other body it leaves to them.
func TestDecodeUploadAgreesWithTheStrictDecoder(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var items []string
	for i := range 11 {
		r := response.Response{ID: fmt.Sprintf("r%d", i), Score: i, Reasons: []string{}, Comment: "<ok> & fine ☺",
			Locale: "en", SurveyVersion: 1, CreatedAt: at, CompletedAt: at.Add(time.Second), Outcome: response.OutcomeSubmitted}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, string(b))
	}
	kiosk := `{"responses":[` + strings.Join(items, ",") + `],"device_time":"2026-03-01T10:00:09.123456789Z","ages":[{"id":"r1","created_ms":5000,"completed_ms":4000}]}`
	var bad []string
	for _, c := range response.InvalidJSONCorpus() {
		bad = append(bad, c.JSON)
	}
	tests := []struct {
		name   string
		body   string
		wantOK bool
	}{
		{"as a kiosk writes it", kiosk, true},
		{"without the clock", `{"responses":[` + strings.Join(items, ",") + `]}`, true},
		{"the clock first", `{"device_time":"2026-03-01T10:00:09Z","ages":null,"responses":[` + items[3] + `]}`, true},
		{"no responses", `{"responses":[]}`, true},
		{"whitespace about", " {\n \"responses\" : [ " + items[0] + " ,\n" + items[7] + " ] , \"device_time\" : null }\n", true},
		{"items the decoder misreads", `{"responses":[` + strings.Join(append(bad, items[5]), ",") + `]}`, true},
		{"SCORE", `{"responses":[{"id":"x","SCORE":0},` + items[2] + `]}`, true},
		{"another spelling of responses", `{"Responses":[` + items[1] + `]}`, false},
		{"responses twice", `{"responses":[` + items[1] + `],"responses":[]}`, false},
		{"responses null", `{"responses":null}`, false},
		{"no responses key", `{"device_time":"2026-03-01T10:00:09Z"}`, false},
		{"an unknown key", `{"responses":[],"respones":[]}`, false},
		{"a clock of the wrong type", `{"responses":[],"device_time":5}`, false},
		{"an age with an unknown field", `{"responses":[],"ages":[{"id":"a","colour":1}]}`, false},
		{"trailing data", `{"responses":[]} {}`, false},
		{"broken item", `{"responses":[{"id":"a","score":}]}`, false},
		{"not an object", `[]`, false},
		{"more responses than a batch holds", `{"responses":[` + strings.Repeat(items[4]+",", wire.MaxBatchItems) + items[4] + `]}`, false},
		{"as many responses as a batch holds", `{"responses":[` + strings.Repeat(items[4]+",", wire.MaxBatchItems-1) + items[4] + `]}`, true},
		{"empty", ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up, rejected, ok := DecodeUpload([]byte(tt.body))
			if ok != tt.wantOK {
				t.Fatalf("DecodeUpload ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				return
			}
			want, wantRejected, err := decodeUploadStrictly([]byte(tt.body))
			if err != nil {
				t.Fatalf("DecodeUpload took a body the strict decoder refuses: %v", err)
			}
			if got, want := fmt.Sprintf("%+v", up), fmt.Sprintf("%+v", want); got != want {
				t.Errorf("upload\n got %s\nwant %s", got, want)
			}
			if got, want := fmt.Sprintf("%+v", rejected), fmt.Sprintf("%+v", wantRejected); got != want {
				t.Errorf("rejected\n got %s\nwant %s", got, want)
			}
		})
	}
}
