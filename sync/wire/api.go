// Package wire holds the request and response bodies of the v1 API between kiosks and
// the collector. It is pure Go, so the collector can import it without pulling in the
// kiosk's dependencies; the response, the survey, a follow-up case and the device
// settings are the domain's types.
package wire

import (
	"time"

	"github.com/npskiosk/npskiosk/contactseal"
	"github.com/npskiosk/npskiosk/devicesettings"
	"github.com/npskiosk/npskiosk/followup"
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

// DeviceSettings is the reply to GET /v1/device/settings (ETag, If-None-Match): the
// settings HQ gave the device's store, laid field by field over the chain's (npscollector
// settings set). Only an enrolled device gets them: they hold the manager PIN's hash,
// which the survey, served to the public too, must never carry. Version grows with every
// change of either scope, so the devices page shows which kiosks have the latest. A
// collector from before settings answers 404: the kiosk keeps what it had.
type DeviceSettings struct {
	Version int64 `json:"version"`
	devicesettings.Settings
}

// UploadRequest is the body of POST /v1/responses (gzip accepted).
type UploadRequest struct {
	Responses []Response `json:"responses"`
}

// DeviceUpload is the body of POST /v1/responses as a kiosk sends it: the responses with
// the device's clock. Both clock fields are optional (kiosks from before send neither).
type DeviceUpload struct {
	UploadRequest
	// DeviceTime is the device's wall clock when it sent the batch; the collector takes
	// the difference from its own clock as the device's skew and corrects the times of the
	// responses by it. Zero (a kiosk from before) leaves them as sent.
	DeviceTime time.Time `json:"device_time,omitzero"`
	// Ages gives, for responses captured since the kiosk app last started, how long ago
	// they were created and completed by the monotonic clock: exact even when the wall
	// clock was stepped in between. The collector prefers them to the skew.
	Ages []Age `json:"ages,omitempty"`
}

// Age is how long before an upload a response was created and completed, measured by
// the device's monotonic clock, in milliseconds.
type Age struct {
	ID          string `json:"id"`
	CreatedMS   int64  `json:"created_ms"`
	CompletedMS int64  `json:"completed_ms"`
}

// UploadResult says what became of every response in a batch (the full reply; see
// UploadSummary for the compact one). Accepted and Duplicate responses are safe at the
// collector; Rejected ones will never be accepted as they are.
type UploadResult struct {
	Accepted  []string    `json:"accepted"`
	Duplicate []string    `json:"duplicate"`
	Rejected  []Rejection `json:"rejected"`
}

// The compact reply to an upload. A kiosk that sends PreferHeader: PreferMinimal with
// POST /v1/responses (RFC 7240's return=minimal) asks for an UploadSummary instead of an
// UploadResult; a collector that gives one says so with PreferenceAppliedHeader:
// PreferMinimal. A collector from before ignores the header and answers UploadResult,
// which the kiosk still reads, and a kiosk from before, which does not ask, gets
// UploadResult as always.
const (
	PreferHeader            = "Prefer"
	PreferenceAppliedHeader = "Preference-Applied"
	PreferMinimal           = "return=minimal"
)

// UploadSummary is the compact reply to an upload: how many responses were accepted and
// how many were duplicates, and by id only the exceptions, the rejected ones (invalid,
// or an id stored with other content: a conflict). Every response of the batch not
// named in Rejected is safe at the collector. The counts and the rejections add up to the
// responses in the batch.
type UploadSummary struct {
	Accepted  int         `json:"accepted_count"`
	Duplicate int         `json:"duplicate_count"`
	Rejected  []Rejection `json:"rejected"`
}

// Summary is the compact form of r.
func (r UploadResult) Summary() UploadSummary {
	rejected := r.Rejected
	if rejected == nil {
		rejected = []Rejection{}
	}
	return UploadSummary{Accepted: len(r.Accepted), Duplicate: len(r.Duplicate), Rejected: rejected}
}

// Rejection names a response the collector refused, and why.
type Rejection struct {
	ID    string `json:"id"`
	Error string `json:"error"`
}

// EnrollmentKeyPrefix starts every store enrollment key, so the kiosk and the collector
// tell one from a device's one-time code.
const EnrollmentKeyPrefix = "EK-"

// EnrollRequest is the body of POST /v1/enroll: a device's one-time code (from
// npscollector device add) or a store's enrollment key (npscollector enrollment-key
// add, starting "EK-"), which makes a new device named Name.
type EnrollRequest struct {
	Code string `json:"code"`
	Name string `json:"name,omitempty"`
	// SetupPIN is the setup PIN npscollector device add printed with the code; the
	// kiosk's setup screen sends it, and the collector then refuses a wrong one. It has
	// no meaning with an enrollment key.
	SetupPIN string `json:"setup_pin,omitempty"`
}

// EnrollPreview is the reply to POST /v1/enroll/check: what an EnrollRequest would
// join, so the technician at the setup screen sees the store before confirming. The
// check spends nothing: no use of a key, no token.
type EnrollPreview struct {
	StoreID   string `json:"store_id"`
	StoreName string `json:"store_name"`
	// DeviceName is the name the device will have: the one device add gave it, or the
	// requested one with a key.
	DeviceName string `json:"device_name"`
}

// EnrollResponse gives a device its identity and token. The token is shown once; the
// collector keeps only its hash.
type EnrollResponse struct {
	DeviceID  string `json:"device_id"`
	StoreID   string `json:"store_id"`
	StoreName string `json:"store_name"`
	Token     string `json:"token"`
	// ContactKey is the key the kiosk seals shoppers' contacts to; nil when the
	// collector has none (the kiosk then asks for no contact).
	ContactKey *ContactKey `json:"contact_key,omitempty"`
}

// ContactKey is the collector's current public key for contacts, as enrollment and
// GET /v1/contact-key give it (404 with error "no_contact_key" when there is none).
// Kiosks ask again with every survey pull, so a rotation reaches them.
type ContactKey = contactseal.PublicKey

// Heartbeat is the body of POST /v1/heartbeat: the device's health.
type Heartbeat struct {
	AppVersion       string    `json:"app_version"`
	QueueLength      int64     `json:"queue_length"`
	OldestPendingAge float64   `json:"oldest_pending_age_seconds"`
	LastCapture      time.Time `json:"last_capture,omitzero"`
	FreeDiskBytes    int64     `json:"free_disk_bytes"`
	DeviceTime       time.Time `json:"device_time"`
	// CollectorCertExpiry is when the collector's TLS certificate, as the kiosk last saw
	// it, expires; zero over plain HTTP. The devices page warns within 14 days.
	CollectorCertExpiry time.Time `json:"collector_cert_expiry,omitzero"`
	// ContactKeyID is the id of the contact key the kiosk seals to now; empty when it
	// has none, so IT sees when a rotation has reached every device.
	ContactKeyID string `json:"contact_key_id,omitempty"`
	// DBBytes is the disk use of the kiosk's database (file and WAL); 0: not said.
	DBBytes int64 `json:"db_bytes,omitempty"`
	// LastPurgeAt is when the kiosk last purged the synced responses past its retention
	// (zero: never), and LastPurged how many that purge deleted.
	LastPurgeAt time.Time `json:"last_purge_at,omitzero"`
	LastPurged  int64     `json:"last_purged,omitempty"`
	// SettingsVersion is the version of HQ's device settings the kiosk runs with (0:
	// none received), and LocalOverrides the settings its own config overrides
	// (devicesettings field names), so HQ sees where a rotated PIN does not apply. Both
	// left out when empty: a collector from before settings never sees them.
	SettingsVersion int64    `json:"settings_version,omitempty"`
	LocalOverrides  []string `json:"local_overrides,omitempty"`
	// Scrubbed are the responses the kiosk scrubbed since the last heartbeat, as a
	// HeartbeatReply asked: the collector stops asking. Sent only when not empty, so a
	// collector from before erasure, which never asks, never sees it.
	Scrubbed []string `json:"scrubbed,omitempty"`
	// ActionResults are the outcomes of the actions earlier replies asked for (see
	// DeviceAction), sent until a heartbeat carrying them is answered. Sent only when not
	// empty, so a collector from before remote actions never sees it.
	ActionResults []ActionResult `json:"action_results,omitempty"`
	// UpdateTarget is the version the device's updater was last asked to install, and
	// UpdateState how that went (one of the UpdateState* values); both empty when the
	// updater never ran.
	UpdateTarget string `json:"update_target,omitempty"`
	UpdateState  string `json:"update_state,omitempty"`
}

// The states of a kiosk's package update, as its updater (npskiosk-update) writes them
// and the heartbeat carries them.
const (
	UpdatePending    = "pending"     // the target is known, the updater has not run yet
	UpdateUpgraded   = "upgraded"    // the target is installed and passed its checks
	UpdateFailed     = "failed"      // the target did not install; the old version runs
	UpdateRolledBack = "rolled_back" // the target installed but failed its checks; the old version is back
)

// HeartbeatReply is the body of a 200 reply to POST /v1/heartbeat (204, no body, when
// the collector has nothing to ask): responses an erasure cleared at the collector,
// which the kiosk clears too (comment, answers, contact) and names in its next
// heartbeat's Scrubbed, the cases of theirs whose cached copy it clears, the remote
// actions IT asked for, and the package version a staged rollout asks the kiosk to run.
type HeartbeatReply struct {
	Scrub      []string `json:"scrub"`
	ScrubCases []string `json:"scrub_cases,omitempty"`
	// Actions are what IT asked of the device from the dashboard or the CLI: each is
	// done once (the kiosk remembers the ids it has handled) and its result comes back
	// in a later heartbeat's ActionResults. A kiosk from before remote actions ignores
	// the field; the collector gives up on an action it has sent a few times unanswered.
	Actions []DeviceAction `json:"actions,omitempty"`
	// TargetVersion is the kiosk package version a staged rollout asks this device to
	// run; empty: none (no rollout, halted, or this device is not in it yet).
	TargetVersion string `json:"target_version,omitempty"`
}

// The kinds of DeviceAction.
const (
	// ActionSyncNow uploads the outbox at once.
	ActionSyncNow = "sync_now"
	// ActionDiagnostics uploads a Diagnostics bundle to DiagnosticsPath.
	ActionDiagnostics = "diagnostics"
	// ActionRestart restarts the kiosk app (it exits with ExitRestart; its service
	// manager starts it again).
	ActionRestart = "restart"
)

// ActionKinds lists the kinds of DeviceAction, in the order the dashboard offers them.
var ActionKinds = []string{ActionSyncNow, ActionDiagnostics, ActionRestart}

// ExitRestart is the exit status of a kiosk app that stops to be restarted, as a
// restart action asked: systemd's Restart=always starts it again (on Windows, whatever
// launches the app must).
const ExitRestart = 75

// DeviceAction is one thing a HeartbeatReply asks the device to do.
type DeviceAction struct {
	ID   string `json:"id"`
	Kind string `json:"kind"` // ActionSyncNow, ActionDiagnostics or ActionRestart
}

// ActionResult is how a DeviceAction went, in a Heartbeat.
type ActionResult struct {
	ID string `json:"id"`
	OK bool   `json:"ok"`
	// Detail says what was done or what failed, for people (at most MaxActionDetail
	// bytes; the collector cuts longer ones).
	Detail string `json:"detail,omitempty"`
	// BundleBytes is the size of the diagnostics bundle uploaded to DiagnosticsPath for
	// this action before the heartbeat; 0 for other actions.
	BundleBytes int64 `json:"bundle_bytes,omitempty"`
}

// MaxActionDetail bounds ActionResult.Detail.
const MaxActionDetail = 1000

// DiagnosticsPath is where a device PUTs the Diagnostics bundle a diagnostics action
// asked for (device token auth; JSON, at most MaxDiagnosticsBytes): the action's id
// replaces {id}. The bundle goes there, not in the heartbeat, because it is large; the
// heartbeat's ActionResult refers to it by the action's id.
const DiagnosticsPath = "/v1/device/actions/{id}/diagnostics"

// MaxDiagnosticsBytes bounds a Diagnostics bundle as uploaded; the collector refuses
// larger ones (413) and the kiosk trims its logs to fit.
const MaxDiagnosticsBytes = 512 << 10

// Diagnostics is the bundle a device uploads for IT: what "npskiosk doctor" says, its
// queue, its versions and its recent log lines. Personal data in it (phone numbers,
// e-mail addresses, …) is masked by the device before upload, and it never holds the
// device token or the manager PIN's hash.
type Diagnostics struct {
	TakenAt    time.Time `json:"taken_at"`
	AppVersion string    `json:"app_version"`
	GoVersion  string    `json:"go_version"`
	OS         string    `json:"os"`
	Arch       string    `json:"arch"`
	// SchemaVersion is the version of the kiosk database's schema.
	SchemaVersion int `json:"schema_version,omitempty"`
	// Doctor is the output of "npskiosk doctor", one line per check.
	Doctor []string `json:"doctor,omitempty"`
	// Queue is the outbox: waiting, quarantined and the oldest waiting.
	Queue DiagnosticsQueue `json:"queue"`
	// Sync is the sync worker's state as the manager view shows it.
	Sync DiagnosticsSync `json:"sync"`
	// Logs are the device's most recent log lines, oldest first, masked.
	Logs []string `json:"logs,omitempty"`
	// LogsDropped counts older lines left out to fit MaxDiagnosticsBytes.
	LogsDropped int `json:"logs_dropped,omitempty"`
}

// DiagnosticsQueue is the outbox in a Diagnostics bundle.
type DiagnosticsQueue struct {
	Pending       int64     `json:"pending"`
	Quarantined   int64     `json:"quarantined"`
	OldestPending time.Time `json:"oldest_pending,omitzero"`
}

// DiagnosticsSync is the sync worker's state in a Diagnostics bundle.
type DiagnosticsSync struct {
	Online      bool      `json:"online"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	Uploaded    int64     `json:"uploaded"`
}

// Error is the body of every error reply.
type Error struct {
	Error  string `json:"error"`            // a stable code, e.g. "unauthorized"
	Detail string `json:"detail,omitempty"` // for people
}

// Case is a follow-up case as a device sees it (GET /v1/device/cases and the reply to
// POST /v1/device/cases/{id}): followup's case, without Owner and History, which name
// HQ's people.
type Case = followup.Case

// CaseResponse is what a case shows of its response.
type CaseResponse = followup.CaseResponse

// CaseList is the reply to GET /v1/device/cases: the store's open and contacted cases.
type CaseList struct {
	Cases []Case `json:"cases"`
}

// CaseChange is the body of POST /v1/device/cases/{id}: a manager's move of a case made
// on the kiosk, perhaps long before it is sent. ChangeID (a UUIDv7 made on the device)
// makes a resend harmless; Version is the case's version the manager saw.
type CaseChange struct {
	ChangeID string `json:"change_id"`
	Status   string `json:"status"`
	Note     string `json:"note,omitempty"`
	Version  int64  `json:"version"`
}

// CaseConflict is the body of a 409 reply to POST /v1/device/cases/{id}: why the change
// was refused and, when the case exists, the case as it now stands, so the kiosk can show
// the manager what happened at HQ.
type CaseConflict struct {
	Error  string `json:"error"`
	Detail string `json:"detail,omitempty"`
	Case   *Case  `json:"case,omitempty"`
}

// StoreChannels is the reply to GET /v1/device/channels: the device's store's NPS per
// channel over its last local days, for the manager view, since a kiosk holds only its
// own answers and never sees the store's QR, web or e-mail ones. A collector from before
// channels answers 404.
type StoreChannels struct {
	StoreID string `json:"store_id"`
	// From and To are the days covered, on the store's calendar, inclusive.
	From string `json:"from"`
	To   string `json:"to"`
	// AsOf is when the collector counted.
	AsOf time.Time `json:"as_of"`
	// Channels has a line per channel with responses, most responses first.
	Channels []ChannelTally `json:"channels"`
}

// ChannelTally is one channel's figures: the counts (the kiosk computes NPS and margin
// from them with package nps, as for its own) and the collector's NPS and margin.
type ChannelTally struct {
	Channel       string  `json:"channel"`
	Responses     int64   `json:"responses"`
	Promoters     int64   `json:"promoters"`
	Passives      int64   `json:"passives"`
	Detractors    int64   `json:"detractors"`
	NPS           float64 `json:"nps"`
	MarginOfError float64 `json:"margin_of_error"`
}
