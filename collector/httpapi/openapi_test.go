package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/httpapi"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// loadIntegrationOpenAPI loads and validates the embedded document.
func loadIntegrationOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPIYAML())
	if err != nil {
		t.Fatalf("load the integration API's OpenAPI document: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("the integration API's document is not valid OpenAPI 3: %v", err)
	}
	return doc
}

func init() {
	// GET /v1/responses' NDJSON is checked as the array of its lines.
	openapi3filter.RegisterBodyDecoder("application/x-ndjson",
		func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
			out := []any{}
			sc := bufio.NewScanner(body)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				var v any
				if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			return out, sc.Err()
		})
}

// The document cannot rot: every /v1 endpoint the server registers, other than the
// kiosks', is in it with the scope the server checks, and it has no operation the
// server lacks.
func TestOpenAPIDocumentListsEveryRoute(t *testing.T) {
	doc := loadIntegrationOpenAPI(t)
	c := collectortest.Start(t, collectortest.Options{})
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for _, r := range c.API.Routes() {
		if r.Device {
			if documented[r.Pattern] {
				t.Errorf("%s is a kiosk endpoint, documented in docs/api.md, not in the integration API's document", r.Pattern)
			}
			continue
		}
		if !documented[r.Pattern] {
			t.Errorf("%s is served but not in the OpenAPI document", r.Pattern)
			continue
		}
		delete(documented, r.Pattern)
		method, path, _ := strings.Cut(r.Pattern, " ")
		op := doc.Paths.Find(path).GetOperation(method)
		got, _ := op.Extensions["x-required-scope"].(string)
		if got != r.Scope {
			t.Errorf("%s: the document says scope %q, the server checks %q", r.Pattern, got, r.Scope)
		}
		if r.Scope != "" && !strings.Contains(op.Description, "`"+r.Scope+"`") {
			t.Errorf("%s: the description does not name the scope %s", r.Pattern, r.Scope)
		}
	}
	for op := range documented {
		t.Errorf("%s is in the OpenAPI document but not served", op)
	}
}

// apiChecker sends real requests to a collector and validates each reply against the
// document.
type apiChecker struct {
	t      *testing.T
	base   string
	router routers.Router
	calls  map[string]bool // operations called, by "METHOD path"
}

type apiReply struct {
	status int
	header http.Header
	body   []byte
}

func (c *apiChecker) call(method, target, token string, body any, header ...string) apiReply {
	c.t.Helper()
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			c.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, c.base+target, bytes.NewReader(raw))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		c.t.Fatalf("%s %s is not in the document: %v", method, target, err)
	}
	c.calls[method+" "+route.Path] = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(got)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}); err != nil {
		c.t.Errorf("%s %s → %d: the reply does not conform to the document: %v\n%s", method, target, resp.StatusCode, err, got)
	}
	return apiReply{resp.StatusCode, resp.Header, got}
}

// expect calls and checks the status; a refusal must be the JSON error the document
// promises, with a code.
func (c *apiChecker) expect(status int, method, target, token string, body any, header ...string) apiReply {
	c.t.Helper()
	r := c.call(method, target, token, body, header...)
	if r.status != status {
		c.t.Errorf("%s %s: %d %s, want %d", method, target, r.status, r.body, status)
	}
	if status >= 400 {
		var e wire.Error
		if err := json.Unmarshal(r.body, &e); err != nil || e.Error == "" {
			c.t.Errorf("%s %s: refusal %q is not a JSON error", method, target, r.body)
		}
	}
	return r
}

// With e-mail on (scripts/with-mailpit.sh), POST /v1/invitations sends, and its reply
// conforms too.
func TestInvitationsConformToOpenAPIDocument(t *testing.T) {
	doc := loadIntegrationOpenAPI(t)
	smtp, _ := collectortest.Mailpit(t)
	col := collectortest.Start(t, collectortest.Options{SMTP: &smtp})
	col.AddStore(t, storage.Store{ID: "S001"})
	doc.Servers = openapi3.Servers{{URL: col.URL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	c := &apiChecker{t: t, base: col.URL, router: router, calls: map[string]bool{}}
	tok := col.APIToken(t, "")
	own := col.APIToken(t, "S001")
	invite := func(store, email string) map[string]any {
		return map[string]any{"store_id": store, "invitations": []map[string]string{{"email": email, "language": "en"}}}
	}
	c.expect(200, "POST", "/v1/invitations", tok, invite("S001", "openapi-invite@example.com"))
	c.expect(404, "POST", "/v1/invitations", tok, invite("S999", "openapi-invite@example.com"))
	c.expect(400, "POST", "/v1/invitations", tok, map[string]any{"store_id": "S001", "invitations": []any{}})
	c.expect(400, "POST", "/v1/invitations", own, map[string]any{"store_id": "S001", "expires_in": "soon",
		"invitations": []map[string]string{{"email": "x@example.com"}}})
}

type responsesPage struct {
	Responses  []storage.ReceivedResponse `json:"responses"`
	NextCursor string                     `json:"next_cursor"`
}

// Must-show (issue 19): every endpoint in the document, called for real on a collector
// with data, answers as the document says: its 200s, and its 401, 403 and 400 refusals.
func TestIntegrationAPIConformsToOpenAPIDocument(t *testing.T) {
	doc := loadIntegrationOpenAPI(t)
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		col := collectortest.Start(t, collectortest.Options{Backend: b})
		col.AddStore(t, storage.Store{ID: "S001", Region: "North"})
		col.AddStore(t, storage.Store{ID: "S002", Region: "South"})
		rng := rand.New(rand.NewPCG(9, 9))
		total := 0
		for _, store := range []string{"S001", "S002"} {
			dev := col.Enroll(t, store, "Till")
			var batch []wire.Response
			for i := range 12 {
				r := collectortest.Response(rng, time.Now().Add(-time.Hour))
				r.Comment = "Quick and friendly"
				if i%4 == 0 {
					r.Score, r.Contact, r.ContactConsent = 2, "shopper@example.com", true
				}
				batch = append(batch, r)
			}
			if _, err := collectortest.Upload(ctx, col.URL, dev.Token, batch); err != nil {
				t.Fatal(err)
			}
			total += len(batch)
		}
		token := func(store string, scopes ...string) string {
			tok, err := col.DB.AddAPIToken(ctx, "test", store, scopes...)
			if err != nil {
				t.Fatal(err)
			}
			return tok.Token
		}
		all := token("", strings.Join(storage.Scopes(), ","))
		own := token("S001", strings.Join(storage.Scopes(), ","))
		noContacts := token("", storage.ScopeReadReports, storage.ScopeReadResponses, storage.ScopeWriteCases)
		adminOnly := token("", storage.ScopeAdmin)
		revoked, err := col.DB.AddAPIToken(ctx, "gone", "", storage.ScopeReadReports)
		if err != nil {
			t.Fatal(err)
		}
		if err := col.DB.RevokeAPIToken(ctx, revoked.ID); err != nil {
			t.Fatal(err)
		}

		doc.Servers = openapi3.Servers{{URL: col.URL}}
		router, err := gorillamux.NewRouter(doc)
		if err != nil {
			t.Fatal(err)
		}
		c := &apiChecker{t: t, base: col.URL, router: router, calls: map[string]bool{}}

		// The document as served is the embedded one, and valid.
		served := c.expect(200, "GET", "/v1/openapi.json", "", nil)
		loader := openapi3.NewLoader()
		if sdoc, err := loader.LoadFromData(served.body); err != nil || sdoc.Validate(loader.Context) != nil || len(sdoc.Paths.Map()) != len(doc.Paths.Map()) {
			t.Errorf("GET /v1/openapi.json: %v", err)
		}

		// Every GET of reports, comments and cases: 200, 401 without or with a revoked
		// token, 403 without the scope.
		for _, path := range []string{"/v1/reports/nps", "/v1/reports/trend?interval=week", "/v1/reports/stores", "/v1/reports/reasons",
			"/v1/reports/channels?stores=true", "/v1/reports/touchpoints", "/v1/reports/regions", "/v1/reports/formats",
			"/v1/reports/questions", "/v1/reports/drivers", "/v1/reports/themes/status", "/v1/comments", "/v1/cases"} {
			c.expect(200, "GET", path, all, nil)
			c.expect(200, "GET", path, own, nil)
			c.expect(401, "GET", path, "", nil)
			c.expect(401, "GET", path, revoked.Token, nil)
			c.expect(401, "GET", path, "api_nosuchtoken", nil)
			if r := c.expect(403, "GET", path, adminOnly, nil); !bytes.Contains(r.body, []byte("insufficient_scope")) {
				t.Errorf("GET %s without the scope: %s", path, r.body)
			}
		}
		for _, path := range []string{"/v1/reports/nps?from=yesterday", "/v1/reports/questions?texts=99", "/v1/reports/channels?stores=maybe",
			"/v1/comments?channel=Not+A+Label", "/v1/cases?limit=0", "/v1/reports/nps?min_n=0"} {
			c.expect(400, "GET", path, all, nil)
		}
		for _, path := range []string{"/v1/reports/nps?store=S002", "/v1/cases?store=S002", "/v1/comments?store=S002"} {
			c.expect(403, "GET", path, own, nil)
		}

		// Cases: contacts only with read:contacts.
		var cases struct{ Cases []storage.Case }
		json.Unmarshal(c.expect(200, "GET", "/v1/cases", all, nil).body, &cases)
		if len(cases.Cases) == 0 {
			t.Fatal("no cases opened")
		}
		contactCase := ""
		for _, cs := range cases.Cases {
			if cs.Response.Contact != "" {
				contactCase = cs.ID
			}
		}
		if contactCase == "" {
			t.Fatal("no case shows its contact to a token with read:contacts")
		}
		if r := c.expect(200, "GET", "/v1/cases/"+contactCase, noContacts, nil); bytes.Contains(r.body, []byte("shopper@example.com")) {
			t.Errorf("a case shows its contact without read:contacts: %s", r.body)
		}
		if r := c.expect(200, "GET", "/v1/cases", noContacts, nil); bytes.Contains(r.body, []byte("shopper@example.com")) {
			t.Errorf("cases show contacts without read:contacts")
		}
		if r := c.expect(200, "GET", "/v1/comments", noContacts, nil); bytes.Contains(r.body, []byte("shopper@example.com")) {
			t.Errorf("comments show contacts without read:contacts")
		}
		c.expect(200, "GET", "/v1/cases/"+contactCase, all, nil)
		c.expect(404, "GET", "/v1/cases/no-such-case", all, nil)
		c.expect(401, "GET", "/v1/cases/"+contactCase, "", nil)
		c.expect(403, "GET", "/v1/cases/"+contactCase, adminOnly, nil)
		var other string
		for _, cs := range cases.Cases {
			if cs.StoreID == "S002" {
				other = cs.ID
			}
		}
		c.expect(403, "GET", "/v1/cases/"+other, own, nil)
		note := map[string]any{"note": "called back"}
		c.expect(200, "POST", "/v1/cases/"+contactCase, all, note)
		c.expect(409, "POST", "/v1/cases/"+contactCase, all, map[string]any{"note": "stale", "version": 1})
		c.expect(400, "POST", "/v1/cases/"+contactCase, all, map[string]any{"colour": "red"})
		c.expect(401, "POST", "/v1/cases/"+contactCase, "", note)
		c.expect(403, "POST", "/v1/cases/"+contactCase, token("", storage.ScopeReadReports), note)
		c.expect(403, "POST", "/v1/cases/"+other, own, note)
		c.expect(404, "POST", "/v1/cases/no-such-case", all, note)

		// Invitations: e-mail is off in this collector (503); the checks before it still apply.
		invite := map[string]any{"store_id": "S001", "invitations": []map[string]string{{"email": "a@example.com"}}}
		c.expect(503, "POST", "/v1/invitations", all, invite)
		c.expect(401, "POST", "/v1/invitations", "", invite)
		c.expect(403, "POST", "/v1/invitations", token("", storage.ScopeReadReports), invite)

		// Erasure: admin and chain-wide only; a dry run first, then the real one.
		erase := map[string]any{"contact": "nobody-here@example.com", "dry_run": true}
		c.expect(200, "POST", "/v1/erasures", adminOnly, erase)
		erase["dry_run"] = false
		c.expect(200, "POST", "/v1/erasures", adminOnly, erase)
		c.expect(400, "POST", "/v1/erasures", adminOnly, map[string]any{"contact": ""})
		c.expect(400, "POST", "/v1/erasures", adminOnly, map[string]any{"who": "x"})
		c.expect(401, "POST", "/v1/erasures", "", erase)
		c.expect(403, "POST", "/v1/erasures", token("", storage.ScopeReadReports, storage.ScopeReadContacts), erase)
		c.expect(403, "POST", "/v1/erasures", token("S001", storage.ScopeAdmin), erase)

		// On PostgreSQL a stored row shows once every older transaction on the server
		// has ended (other test packages share it): wait until all have.
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			rows, _, err := col.DB.ResponsesAfter(ctx, storage.ResponseQuery{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) == total || time.Now().After(deadline) {
				break
			}
		}
		// GET /v1/responses: paged by 7 as JSON, every response once, in both formats.
		seen := map[string]int{}
		cursor, pages := "", 0
		for {
			r := c.expect(200, "GET", "/v1/responses?limit=7&cursor="+cursor, all, nil)
			var p responsesPage
			if err := json.Unmarshal(r.body, &p); err != nil {
				t.Fatal(err)
			}
			if p.NextCursor == "" || r.header.Get("Next-Cursor") != p.NextCursor {
				t.Fatalf("next_cursor %q, Next-Cursor %q", p.NextCursor, r.header.Get("Next-Cursor"))
			}
			for _, x := range p.Responses {
				seen[x.ID]++
			}
			cursor, pages = p.NextCursor, pages+1
			if len(p.Responses) < 7 {
				break
			}
		}
		if len(seen) != total {
			t.Errorf("paged %d responses in %d pages, want %d", len(seen), pages, total)
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s seen %d times", id, n)
			}
		}
		// At the end the cursor stays put: an empty page with the same cursor, to poll.
		if r := c.expect(200, "GET", "/v1/responses?cursor="+cursor, all, nil); r.header.Get("Next-Cursor") != cursor {
			t.Errorf("polling at the end moved the cursor")
		}
		lines := 0
		for _, h := range [][]string{{"Accept", "application/x-ndjson"}, nil} {
			target := "/v1/responses?limit=1000"
			if h == nil {
				target += "&format=ndjson"
			}
			r := c.expect(200, "GET", target, own, nil, h...)
			if ct := r.header.Get("Content-Type"); ct != "application/x-ndjson" || r.header.Get("Next-Cursor") == "" {
				t.Errorf("NDJSON: Content-Type %q, Next-Cursor %q", ct, r.header.Get("Next-Cursor"))
			}
			lines = bytes.Count(r.body, []byte("\n"))
			if bytes.Contains(r.body, []byte(`"store":"S002"`)) {
				t.Errorf("a store's token sees another store's responses")
			}
		}
		if lines != 12 {
			t.Errorf("NDJSON for S001: %d lines, want 12", lines)
		}
		withContacts := c.expect(200, "GET", "/v1/responses?limit=1000", all, nil)
		withoutContacts := c.expect(200, "GET", "/v1/responses?limit=1000", noContacts, nil)
		if !bytes.Contains(withContacts.body, []byte("shopper@example.com")) || bytes.Contains(withoutContacts.body, []byte("shopper@example.com")) {
			t.Errorf("contacts in GET /v1/responses must follow read:contacts")
		}
		c.expect(200, "GET", "/v1/responses?store=S001&channel=kiosk&region=North&since="+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), own, nil)
		for _, q := range []string{"limit=0", "limit=1001", "cursor=not-a-cursor", "since=yesterday", "format=xml", "channel=Not+A+Label"} {
			c.expect(400, "GET", "/v1/responses?"+q, all, nil)
		}
		c.expect(401, "GET", "/v1/responses", "", nil)
		c.expect(401, "GET", "/v1/responses", revoked.Token, nil)
		c.expect(403, "GET", "/v1/responses", token("", storage.ScopeReadReports, storage.ScopeReadContacts), nil)
		c.expect(403, "GET", "/v1/responses?store=S002", own, nil)

		for path, item := range doc.Paths.Map() {
			for method := range item.Operations() {
				if !c.calls[method+" "+path] {
					t.Errorf("%s %s is documented but the test never called it", method, path)
				}
			}
		}
	})
}
