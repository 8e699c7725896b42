package wire

import "time"

// Limits of one upload (POST /v1/responses).
const (
	MaxBatchItems = 500
	MaxBatchBytes = 1 << 20 // of the uncompressed JSON body
)

// Response is one shopper's answer as it travels to the collector. The store and device
// are not in it: the collector takes them from the device token.
type Response struct {
	ID             string    `json:"id"` // UUIDv7 made on the device
	Score          int       `json:"score"`
	Reasons        []string  `json:"reasons"`
	Comment        string    `json:"comment,omitempty"`
	Contact        string    `json:"contact,omitempty"`
	ContactConsent bool      `json:"contact_consent,omitempty"`
	Locale         string    `json:"locale"`
	SurveyVersion  int       `json:"survey_version"`
	CreatedAt      time.Time `json:"created_at"`   // device clock: the tap
	CompletedAt    time.Time `json:"completed_at"` // device clock: end of the follow-up
	Outcome        string    `json:"outcome"`      // submitted, skipped, timed_out, recovered
	Suspect        bool      `json:"suspect,omitempty"`
}

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
