// Package wire holds the request and response bodies of the v1 API between kiosks and
// the collector. It is pure Go, so the collector can import it without pulling in the
// kiosk's dependencies; the response itself and the survey are the domain's types.
package wire

import (
	"time"

	"github.com/npskiosk/npskiosk/response"
)

// Limits of one upload (POST /v1/responses).
const (
	MaxBatchItems = 500
	MaxBatchBytes = 1 << 20 // of the uncompressed JSON body
)

// Response is one shopper's answer as it travels to the collector: the domain's
// response as it is. The store and device are not in it: the collector takes them from
// the device token.
type Response = response.Response

// Survey is the survey config GET /v1/config serves; see [response.Survey].
type Survey = response.Survey

// UploadRequest is the body of POST /v1/responses (gzip accepted).
type UploadRequest struct {
	Responses []Response `json:"responses"`
}

// UploadResult says what became of every response in a batch. Accepted and Duplicate
// responses are safe at the collector; Rejected ones will never be accepted as they are.
type UploadResult struct {
	Accepted  []string    `json:"accepted"`
	Duplicate []string    `json:"duplicate"`
	Rejected  []Rejection `json:"rejected"`
}

// Rejection names a response the collector refused, and why.
type Rejection struct {
	ID    string `json:"id"`
	Error string `json:"error"`
}

// EnrollRequest is the body of POST /v1/enroll.
type EnrollRequest struct {
	Code string `json:"code"`
}

// EnrollResponse gives a device its identity and token. The token is shown once; the
// collector keeps only its hash.
type EnrollResponse struct {
	DeviceID  string `json:"device_id"`
	StoreID   string `json:"store_id"`
	StoreName string `json:"store_name"`
	Token     string `json:"token"`
}

// Heartbeat is the body of POST /v1/heartbeat: the device's health.
type Heartbeat struct {
	AppVersion       string    `json:"app_version"`
	QueueLength      int64     `json:"queue_length"`
	OldestPendingAge float64   `json:"oldest_pending_age_seconds"`
	LastCapture      time.Time `json:"last_capture,omitzero"`
	FreeDiskBytes    int64     `json:"free_disk_bytes"`
	DeviceTime       time.Time `json:"device_time"`
}

// Error is the body of every error reply.
type Error struct {
	Error  string `json:"error"`            // a stable code, e.g. "unauthorized"
	Detail string `json:"detail,omitempty"` // for people
}
