package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// metric names one value in the benchmark output.
type metric struct {
	bench, unit string
}

// figure is one line of the report: a measured value beside the baseline it is judged
// against. A figure without a baseline must be zero (errors).
type figure struct {
	section  string
	name     string
	value    metric
	baseline metric // zero: the value must be 0
	against  string // what the baseline is
	unit     string // shown after scaling
	scale    float64
}

// sections say what each part of the report measures and how to read its ratios.
var sections = []struct{ title, about string }{
	{"1. Capture", "A shopper's tap → durable commit, through the real path: `Record` with its " +
		"validation, storage-full guard and rapid-tap rule (default settings, decided from memory), " +
		"then one prepared INSERT committed on its own on the kiosk's SQLite file (WAL, " +
		"`synchronous=FULL`): about five 1 KiB pages (the row, a leaf of each of three indexes, " +
		"now and then a split) appended to the WAL and one `fsync`. The floor is one 128-byte append to a file in the same directory and " +
		"one `fsync`: no SQLite, no locks, no page writes; it grows its file, as the WAL does " +
		"until the first busy round starts it over. " +
		"Each of the 5,000 iterations takes one sample of each, alternating which goes first, so " +
		"both see the same disk at the same moments. Taps come back to back with the database's " +
		"clock stepped 13 s (spaced: none is a rapid tap) or 1 s (rapid: from the sixth on each " +
		"is stored as suspect), so the kiosk is never idle: the checkpointer's busy rounds " +
		"(a RESTART checkpoint on the taps' own connection every 256 commits, in between two " +
		"taps) fall inside the run and in the record's tail. It runs first, after a `sync`, before any other benchmark writes. " +
		"Ratio = record ÷ floor; 1× is the limit."},
	{"2. Kiosk footprint", "The real `npskiosk` window (rating screen, 1280×800) and Debian's " +
		"`chromium --kiosk` showing the same screen as a static page (`bench/testdata/nps.html`), " +
		"one after the other under the same Xvfb. Memory is summed over each process tree once " +
		"settled (5 s after the first frame): PSS counts pages shared between Chromium's " +
		"processes once. First frame is exec → first screen with text and buttons on it (median " +
		"of three starts, after a sync so no earlier benchmark's writes get in the way). " +
		"Idle CPU is over 60 s with nobody touching, the kiosk enrolled and syncing with a collector " +
		"on loopback (a round a minute while rounds find nothing to do), read from /proc in 10 ms " +
		"ticks: one window resolves 0.017 %. Ratio = kiosk ÷ Chromium; below 1× is better."},
	{"3. Catch-up", "A week offline at a busy till: 14,000 queued responses drained by the sync " +
		"worker to a collector on loopback, beside the collector's own ingest of the same rows " +
		"(`BenchmarkCatchUp`, sync/bench_test.go). The drain reads the kiosk's outbox, posts gzip " +
		"JSON batches of 500 over HTTP (device token, rate limit, gzip, JSON decoded in one pass " +
		"with only a score of 0 looked at again, ingest) and marks each acknowledged batch synced " +
		"in the kiosk's SQLite (`synchronous=NORMAL` for that commit alone: a mark lost to a power " +
		"cut is resent and counted once), with two uploads in flight, reading the next batch " +
		"ahead and marking the answered ones behind them. Its `uploads/commit` in the raw output " +
		"is how many uploads the collector committed in one transaction: 1 means one fsync a " +
		"batch, as the baseline. The " +
		"baseline calls `Service.IngestUpload` with the same rows as the kiosk sends them (with " +
		"the device's clock) in the same batches of 500: validation, tagging, dedup, rollups and " +
		"cases, one commit a batch, but no kiosk, no HTTP, no gzip or JSON and no marking " +
		"synced. Each side writes a fresh collector SQLite file opened the same way (WAL, " +
		"`synchronous=FULL`); the two alternate which runs first in every iteration. Wire bytes " +
		"are the request bodies, beside the same rows as NDJSON under `gzip -9`. Ratio = ours ÷ " +
		"baseline."},
	{"4. Ingest", "200 devices of 20 stores post gzip batches of 50 at once over loopback HTTP " +
		"(the collector group-commits concurrent uploads: one transaction a group, a savepoint " +
		"each, each store's rollups once a group; SQLite has one writer, PostgreSQL four, each " +
		"on a connection of its own, by store), beside raw multi-row INSERTs of the same " +
		"responses (fresh ids) in the same batches of 50, one transaction each, one after " +
		"another on one connection, into the same database with the same durability (SQLite " +
		"`synchronous=FULL`; PostgreSQL with fsync on). The raw rows have 18 of the 33 columns " +
		"the collector writes, and no HTTP, validation, dedup, rollups, report sums, themes or " +
		"follow-up cases (the collector opens one for each detractor, see section 7); nor do " +
		"they use more than one connection, which the collector does on PostgreSQL. The two " +
		"alternate round by round (each device's k-th batch) in one run. Ratio = HTTP rate ÷ " +
		"raw rate; 1× is the limit."},
	{"5. Reports", "10,000,000 generated responses across 5,000 stores and 400 days (five a store " +
		"a day) in ten regions and three formats, four in five responses with one of four customer " +
		"segments, one in ten by QR code at the door. The collector reads its report sums: each " +
		"day's totals of the chain, of each region and of each format (chain NPS and trends), and " +
		"every store's running totals packed a few dozen stores to a row (per-store tables: two " +
		"rows a shard for any range); the baseline is the same answer by a full scan of the " +
		"responses in the range (checked equal first, through the day index). \"all\" is the " +
		"whole 400 days, \"30 d\" the dashboard's default view; \"one segment\" a fifth of the " +
		"responses, \"one format\" a third of the stores, \"one region\" a tenth, \"QR\" the " +
		"channel of one response in ten. Ratio = sums time ÷ scan time; below 1× is the speed-up."},
	{"6. Fleet load", "1,000 simulated devices against one `npscollector` process (SQLite), each " +
		"with its own connection, uploading 1–3 responses every 2 s on average and a heartbeat " +
		"every 30 s (ten times the real rate) for 5 minutes, with no retries so every failure " +
		"counts. Every 20 s a staller writes 256 MiB to a file beside the database and fsyncs " +
		"it, so the collector's commits queue behind a busy disk (a probe times the disk's own " +
		"fsyncs ten times a second: below the table). Latencies are beside the same request " +
		"made one at a time on the idle collector, 1,000 uploads and 1,000 heartbeats before " +
		"the fleet starts; throughput beside the load offered. The run fails unless the " +
		"collector holds exactly the responses it accepted. The collector's single SQLite " +
		"writer group-commits the uploads that queue while it writes (one transaction and one " +
		"fsync a group); heartbeats are kept in memory and written together every 5 s, so a " +
		"heartbeat waits for no disk. Ratio = under load ÷ idle."},
	{"7. Follow-up cases", "The ingest of section 4 (uniform scores, so 64 % detractors) to a " +
		"collector with the default follow-up rule, each detractor opening a case with its " +
		"history in the insert's transaction, beside the same ingest to a collector whose rule " +
		"opens none, in alternating order in each run. Ratio = with cases ÷ without. Then the " +
		"time from a detractor's upload to its signed case.opened webhook at a receiver on " +
		"loopback (200 uploads, 20 ms apart), beside the upload's own reply. Ratio = webhook ÷ reply."},
	{"8. Web survey", "4,000 answers to one store through the web survey, posted as phones post " +
		"the score page's form (16 at once over loopback HTTP; each the form of a page loaded " +
		"before, untimed, which names its answer; each post stores one response " +
		"durably, with its rollup, and answers 303), beside the same number of responses " +
		"from the store's kiosks in gzip batches of 500 (8 tills at once), each twice on fresh " +
		"collectors in the order web, kiosk, kiosk, web. Both write with the same durability (SQLite " +
		"`synchronous=FULL`; PostgreSQL fsync on). Ratio = web rate ÷ kiosk rate, and a " +
		"phone's wait for its score beside a till's wait for its batch of 500."},
	{"9. Comment tagging", "What tagging comments at ingest costs (`BenchmarkIngestTagging`, " +
		"collector/themes_bench_test.go): the same 10,000 kiosk responses in batches of 500 " +
		"stored through `Service.IngestFromDevice` (no HTTP) on SQLite (`synchronous=FULL`), with " +
		"tagging and without, each side on a fresh database, the two alternating in every run. " +
		"With tagging, each comment is analysed with the default taxonomy (themes, sentiment, " +
		"worth a look), its themes go to `response_themes` and its themes and reasons to " +
		"`theme_rollups`, in the insert's transaction. The baseline validates, inserts and rolls " +
		"up into `daily_rollups` exactly as before the feature, its new columns NULL: it tags " +
		"nothing, so the responses it stores need the re-tagging job. Comments in four languages, " +
		"2–30 words; every response picks the reason `staff`, a theme, so every one gets a theme " +
		"row and reason counts. Ratio = time per response tagged ÷ untagged."},
}

func reportRows(engine, pretty string) []figure {
	var out []figure
	for _, q := range []struct{ path, name string }{
		{"chain/all", "chain NPS, all 400 days"},
		{"stores/all", "per-store table, all 400 days"},
		{"chain/30d", "chain NPS, last 30 days"},
		{"stores/30d", "per-store table, last 30 days"},
		{"trend/30d", "daily trend, last 30 days"},
		{"segment/chain/all", "one segment: chain NPS, all 400 days"},
		{"segment/stores/all", "one segment: per-store table, all 400 days"},
		{"segment/chain/30d", "one segment: chain NPS, last 30 days"},
		{"segment/stores/30d", "one segment: per-store table, last 30 days"},
		{"segment/trend/30d", "one segment: daily trend, last 30 days"},
		{"format/chain/30d", "one format: NPS, last 30 days"},
		{"format/stores/30d", "one format: per-store table, last 30 days"},
		{"format/trend/30d", "one format: daily trend, last 30 days"},
		{"region/chain/30d", "one region: NPS, last 30 days"},
		{"region/stores/30d", "one region: per-store table, last 30 days"},
		{"region/trend/30d", "one region: daily trend, last 30 days"},
		{"channel/chain/30d", "QR channel: NPS, last 30 days"},
		{"channel/stores/30d", "QR channel: per-store table, last 30 days"},
		{"channel/trend/30d", "QR channel: daily trend, last 30 days"},
	} {
		out = append(out, figure{"5. Reports", pretty + ": " + q.name,
			metric{"Reports/" + engine + "/" + q.path + "/rollup", "sec/op"},
			metric{"Reports/" + engine + "/" + q.path + "/scan", "sec/op"}, "full scan", "ms", 1e3})
	}
	return out
}

var figures = append(append(append([]figure{
	{"1. Capture", "Tap → durable commit, spaced taps, p50", metric{"Record/spaced", "record-p50-ns"}, metric{"Record/spaced", "fsync-p50-ns"}, "write + fsync, p50", "µs", 1e-3},
	{"1. Capture", "Tap → durable commit, spaced taps, p99", metric{"Record/spaced", "record-p99-ns"}, metric{"Record/spaced", "fsync-p99-ns"}, "write + fsync, p99", "µs", 1e-3},
	{"1. Capture", "Tap → durable commit, rapid taps, p50", metric{"Record/rapid", "record-p50-ns"}, metric{"Record/rapid", "fsync-p50-ns"}, "write + fsync, p50", "µs", 1e-3},
	{"1. Capture", "Tap → durable commit, rapid taps, p99", metric{"Record/rapid", "record-p99-ns"}, metric{"Record/rapid", "fsync-p99-ns"}, "write + fsync, p99", "µs", 1e-3},
	{"2. Kiosk footprint", "Memory after start (PSS)", metric{"Footprint/npskiosk", "pss-MiB"}, metric{"Footprint/chromium", "pss-MiB"}, "Chromium kiosk", "MiB", 1},
	{"2. Kiosk footprint", "Memory after start (RSS, summed)", metric{"Footprint/npskiosk", "rss-MiB"}, metric{"Footprint/chromium", "rss-MiB"}, "Chromium kiosk", "MiB", 1},
	{"2. Kiosk footprint", "Time to first frame", metric{"Footprint/npskiosk", "first-frame-ms"}, metric{"Footprint/chromium", "first-frame-ms"}, "Chromium kiosk", "ms", 1},
	{"2. Kiosk footprint", "Idle CPU (% of one core)", metric{"Footprint/npskiosk", "idle-cpu-%"}, metric{"Footprint/chromium", "idle-cpu-%"}, "Chromium kiosk", "%", 1},
	{"3. Catch-up", "Drain 14,000 responses", metric{"CatchUp", "s-drain"}, metric{"CatchUp", "s-insert"}, "collector ingest, no HTTP, same batches", "s", 1},
	{"3. Catch-up", "Wire bytes per response", metric{"CatchUp", "wire-B/resp"}, metric{"CatchUp", "gzip9-ndjson-B/resp"}, "NDJSON, gzip -9", "B", 1},
	{"4. Ingest", "SQLite, 200 devices", metric{"Ingest/sqlite", "resp/s-http"}, metric{"Ingest/sqlite", "resp/s-raw"}, "raw batched INSERT", "resp/s", 1},
	{"4. Ingest", "PostgreSQL, 200 devices", metric{"Ingest/postgres", "resp/s-http"}, metric{"Ingest/postgres", "resp/s-raw"}, "raw batched INSERT", "resp/s", 1},
}, reportRows("sqlite", "SQLite")...), reportRows("postgres", "PostgreSQL")...),
	figure{"6. Fleet load", "Throughput", metric{"Fleet", "req/s"}, metric{"Fleet", "offered-req/s"}, "offered load", "req/s", 1},
	figure{"6. Fleet load", "Upload latency p50", metric{"Fleet", "upload-p50-ms"}, metric{"Fleet", "idle-upload-p50-ms"}, "idle collector, p50", "ms", 1},
	figure{"6. Fleet load", "Upload latency p99", metric{"Fleet", "upload-p99-ms"}, metric{"Fleet", "idle-upload-p99-ms"}, "idle collector, p99", "ms", 1},
	figure{"6. Fleet load", "Heartbeat latency p50", metric{"Fleet", "heartbeat-p50-ms"}, metric{"Fleet", "idle-heartbeat-p50-ms"}, "idle heartbeat, p50", "ms", 1},
	figure{"6. Fleet load", "Heartbeat latency p99", metric{"Fleet", "heartbeat-p99-ms"}, metric{"Fleet", "idle-heartbeat-p99-ms"}, "idle heartbeat, p99", "ms", 1},
	figure{"6. Fleet load", "Errors", metric{"Fleet", "errors"}, metric{}, "must be 0", "", 1},
	figure{"7. Follow-up cases", "SQLite, ingest opening cases", metric{"IngestCaseCost/sqlite", "resp/s-cases"}, metric{"IngestCaseCost/sqlite", "resp/s-nocases"}, "same ingest, no cases", "resp/s", 1},
	figure{"7. Follow-up cases", "PostgreSQL, ingest opening cases", metric{"IngestCaseCost/postgres", "resp/s-cases"}, metric{"IngestCaseCost/postgres", "resp/s-nocases"}, "same ingest, no cases", "resp/s", 1},
	figure{"7. Follow-up cases", "SQLite, upload → webhook p50", metric{"IngestToWebhook/sqlite", "webhook-p50-ms"}, metric{"IngestToWebhook/sqlite", "upload-p50-ms"}, "upload reply, p50", "ms", 1},
	figure{"7. Follow-up cases", "SQLite, upload → webhook p99", metric{"IngestToWebhook/sqlite", "webhook-p99-ms"}, metric{"IngestToWebhook/sqlite", "upload-p99-ms"}, "upload reply, p99", "ms", 1},
	figure{"7. Follow-up cases", "PostgreSQL, upload → webhook p50", metric{"IngestToWebhook/postgres", "webhook-p50-ms"}, metric{"IngestToWebhook/postgres", "upload-p50-ms"}, "upload reply, p50", "ms", 1},
	figure{"7. Follow-up cases", "PostgreSQL, upload → webhook p99", metric{"IngestToWebhook/postgres", "webhook-p99-ms"}, metric{"IngestToWebhook/postgres", "upload-p99-ms"}, "upload reply, p99", "ms", 1},
	figure{"8. Web survey", "SQLite, score posts", metric{"WebSurvey/sqlite", "resp/s-web"}, metric{"WebSurvey/sqlite", "resp/s-kiosk"}, "kiosk batch ingest", "resp/s", 1},
	figure{"8. Web survey", "PostgreSQL, score posts", metric{"WebSurvey/postgres", "resp/s-web"}, metric{"WebSurvey/postgres", "resp/s-kiosk"}, "kiosk batch ingest", "resp/s", 1},
	figure{"8. Web survey", "SQLite, score post p50", metric{"WebSurvey/sqlite", "web-p50-ms"}, metric{"WebSurvey/sqlite", "kiosk-batch-p50-ms"}, "batch of 500, p50", "ms", 1},
	figure{"8. Web survey", "SQLite, score post p99", metric{"WebSurvey/sqlite", "web-p99-ms"}, metric{"WebSurvey/sqlite", "kiosk-batch-p99-ms"}, "batch of 500, p99", "ms", 1},
	figure{"8. Web survey", "PostgreSQL, score post p50", metric{"WebSurvey/postgres", "web-p50-ms"}, metric{"WebSurvey/postgres", "kiosk-batch-p50-ms"}, "batch of 500, p50", "ms", 1},
	figure{"8. Web survey", "PostgreSQL, score post p99", metric{"WebSurvey/postgres", "web-p99-ms"}, metric{"WebSurvey/postgres", "kiosk-batch-p99-ms"}, "batch of 500, p99", "ms", 1},
	figure{"9. Comment tagging", "SQLite, every response with a comment", metric{"IngestTagging/sqlite/comments=every", "ns/resp-tagged"}, metric{"IngestTagging/sqlite/comments=every", "ns/resp-untagged"}, "same ingest, untagged", "µs/resp", 1e-3},
	figure{"9. Comment tagging", "SQLite, one in five with a comment", metric{"IngestTagging/sqlite/comments=fifth", "ns/resp-tagged"}, metric{"IngestTagging/sqlite/comments=fifth", "ns/resp-untagged"}, "same ingest, untagged", "µs/resp", 1e-3},
)

// details are absolute figures printed under a section's table.
var details = map[string][]struct {
	label string
	m     metric
	unit  string
}{
	"6. Fleet load": {
		{"devices", metric{"Fleet", "devices"}, ""},
		{"responses stored", metric{"Fleet", "resp/s"}, "resp/s"},
		{"collector CPU", metric{"Fleet", "collector-cpu-%"}, "% of one core"},
		{"collector memory (RSS)", metric{"Fleet", "collector-rss-MiB"}, "MiB"},
		{"upload p95", metric{"Fleet", "upload-p95-ms"}, "ms"},
		{"slowest upload", metric{"Fleet", "upload-max-ms"}, "ms"},
		{"heartbeat p95", metric{"Fleet", "heartbeat-p95-ms"}, "ms"},
		{"disk stalls", metric{"Fleet", "disk-stalls"}, ""},
		{"each writing", metric{"Fleet", "disk-stall-MiB"}, "MiB"},
		{"a stall's write + fsync, p50", metric{"Fleet", "disk-stall-p50-ms"}, "ms"},
		{"uploads overlapping a stall", metric{"Fleet", "uploads-during-stall"}, ""},
		{"their p99", metric{"Fleet", "upload-p99-during-stall-ms"}, "ms"},
		{"the other uploads' p99", metric{"Fleet", "upload-p99-outside-stall-ms"}, "ms"},
		{"the probe's write + fsync beside the collector's database during the run, p50", metric{"Fleet", "disk-fsync-p50-ms"}, "ms"},
		{"p99", metric{"Fleet", "disk-fsync-p99-ms"}, "ms"},
		{"slowest", metric{"Fleet", "disk-fsync-max-ms"}, "ms"},
	},
	"2. Kiosk footprint": {
		{"npskiosk processes", metric{"Footprint/npskiosk", "processes"}, ""},
		{"Chromium processes", metric{"Footprint/chromium", "processes"}, ""},
	},
}

// row is a figure with its numbers.
type row struct {
	figure
	value, baseline float64
	ratio           float64 // NaN when there is none
}

func lookup(res results, m metric) (float64, bool) {
	v, ok := res.values[m.bench][m.unit]
	return v, ok
}

// evaluate reads every figure's numbers, and names those the results lack.
func evaluate(res results, figs []figure) ([]row, []string) {
	var (
		rows    []row
		missing []string
	)
	for _, f := range figs {
		r := row{figure: f, ratio: math.NaN()}
		var ok bool
		if r.value, ok = lookup(res, f.value); !ok {
			missing = append(missing, f.value.bench+" "+f.value.unit)
			continue
		}
		if f.baseline != (metric{}) {
			if r.baseline, ok = lookup(res, f.baseline); !ok {
				missing = append(missing, f.baseline.bench+" "+f.baseline.unit)
				continue
			}
			if r.baseline != 0 {
				r.ratio = r.value / r.baseline
			}
		}
		rows = append(rows, r)
	}
	for _, ds := range details {
		for _, d := range ds {
			if _, ok := lookup(res, d.m); !ok {
				missing = append(missing, d.m.bench+" "+d.m.unit)
			}
		}
	}
	return rows, missing
}

// num prints a value with about three significant digits, thousands grouped, without
// exponents.
func num(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "–"
	case a >= 100 || (v == math.Trunc(v) && a < 1e15):
		return group(strconv.FormatFloat(math.Round(v), 'f', 0, 64))
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', max(2, 2-int(math.Floor(math.Log10(a)))), 64)
	}
}

// group puts thousands separators into an integer's digits.
func group(digits string) string {
	sign := ""
	if strings.HasPrefix(digits, "-") {
		sign, digits = "-", digits[1:]
	}
	for i := len(digits) - 3; i > 0; i -= 3 {
		digits = digits[:i] + "," + digits[i:]
	}
	return sign + digits
}

func ratio(r row) string {
	if r.figure.baseline == (metric{}) {
		if r.value == 0 {
			return "0 ✓"
		}
		return fmt.Sprintf("%s ✗", num(r.value))
	}
	if math.IsNaN(r.ratio) {
		return "– (baseline 0)"
	}
	return num(r.ratio) + "×"
}
