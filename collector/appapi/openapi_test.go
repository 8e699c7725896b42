package appapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/npskiosk/npskiosk/collector/appapi"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// openAPIDocument is the document the project publishes.
const openAPIDocument = "../../docs/openapi.yaml"

func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(openAPIDocument)
	if err != nil {
		t.Fatalf("load %s: %v", openAPIDocument, err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("%s is not a valid OpenAPI 3 document: %v", openAPIDocument, err)
	}
	return doc
}

// The document is valid OpenAPI 3 (its examples included), and its Response and result
// schemas name exactly the JSON fields of the one domain package's types, so that the
// document cannot drift from what the collector reads and writes.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := loadOpenAPI(t)
	for schema, v := range map[string]any{"Response": wire.Response{}, "SubmissionResult": wire.UploadResult{},
		"Error": wire.Error{}, "Submission": wire.UploadRequest{}} {
		ref := doc.Components.Schemas[schema]
		if ref == nil {
			t.Errorf("no schema %s", schema)
			continue
		}
		documented := slices.Sorted(func(yield func(string) bool) {
			for name := range ref.Value.Properties {
				if !yield(name) {
					return
				}
			}
		})
		if got := jsonFields(reflect.TypeOf(v)); !slices.Equal(got, documented) {
			t.Errorf("schema %s has %q, the Go type %T has %q", schema, documented, v, got)
		}
	}
}

// jsonFields are the JSON names of a struct's fields, embedded structs' included.
func jsonFields(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case f.Anonymous && name == "":
			out = append(out, jsonFields(f.Type)...)
		case name == "":
			out = append(out, f.Name)
		default:
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// checker validates real requests and their replies against the document.
type checker struct {
	t      *testing.T
	router routers.Router
}

// authenticate accepts what the document's security schemes ask for: an app key as a
// bearer token or in X-NPS-App-Key.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header
	switch in.SecuritySchemeName {
	case "appKeyBearer":
		if strings.HasPrefix(h.Get("Authorization"), "Bearer ") {
			return nil
		}
	case "appKeyHeader":
		if h.Get(appapi.HeaderAppKey) != "" {
			return nil
		}
	}
	return fmt.Errorf("no %s", in.SecuritySchemeName)
}

// check sends req, validates it and its reply against the document, and returns the
// reply. wantValid says whether the request itself should conform: a request the API
// refuses as malformed need not, but its reply must still be one the document lists.
func (c checker) check(req *http.Request, wantValid bool) reply {
	c.t.Helper()
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		c.t.Fatalf("%s %s is not in the document: %v", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: authenticate}}
	err = openapi3filter.ValidateRequest(context.Background(), in)
	if wantValid && err != nil {
		c.t.Errorf("%s %s: the request does not conform: %v", req.Method, req.URL.Path, err)
	}
	if !wantValid && err == nil {
		c.t.Errorf("%s %s: the document lets through a request the API refuses", req.Method, req.URL.Path)
	}
	send := req.Clone(context.Background())
	send.Body = io.NopCloser(bytes.NewReader(body))
	r := do(c.t, send)
	html := strings.HasPrefix(r.header.Get("Content-Type"), "text/html")
	if err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: r.status, Header: r.header, Body: io.NopCloser(bytes.NewReader(r.body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: html},
	}); err != nil {
		c.t.Errorf("%s %s → %d: the reply does not conform: %v\n%s", req.Method, req.URL.Path, r.status, err, r.body)
	}
	return r
}

// Real requests to the app endpoint (and the other public ones the document covers),
// and their replies, conform to the document: answers stored and retried, each refusal,
// the rate limit's 429 with Retry-After, the browser's preflight.
func TestAppAPIConformsToOpenAPIDocument(t *testing.T) {
	doc := loadOpenAPI(t)
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		g := newRig(t, b)
		doc.Servers = openapi3.Servers{{URL: g.c.URL}}
		router, err := gorillamux.NewRouter(doc)
		if err != nil {
			t.Fatal(err)
		}
		c := checker{t: t, router: router}
		post := func(client string, headers map[string]string, rs ...wire.Response) *http.Request {
			return g.request(t, http.MethodPost, call{client: client, headers: headers, body: body(t, rs...)})
		}
		a, bad := g.answer(10), g.answer(4)
		bad.Reasons = []string{"no-such-reason"}
		a.Contact, a.ContactConsent, a.Comment = "ana@example.com", true, "Great app"
		if r := c.check(post("198.51.100.10", map[string]string{"Origin": shopOrigin}, a, bad), true); r.status != http.StatusOK {
			t.Fatalf("post: %d %s", r.status, r.body)
		}
		if res := c.check(post("198.51.100.10", nil, a), true).result(t); !slices.Equal(res.Duplicate, []string{a.ID}) {
			t.Errorf("retry: %+v", res)
		}
		if r := c.check(post("198.51.100.10", map[string]string{"Authorization": "", appapi.HeaderAppKey: g.key.Code}, g.answer(7)), true); r.status != http.StatusOK {
			t.Errorf("X-NPS-App-Key: %d %s", r.status, r.body)
		}
		for _, tt := range []struct {
			name   string
			req    *http.Request
			valid  bool
			status int
		}{
			{"a wrong key", post("198.51.100.11", map[string]string{"Authorization": "Bearer 22222222"}, g.answer(9)), true, 401},
			{"no key", post("198.51.100.11", map[string]string{"Authorization": ""}, g.answer(9)), false, 401},
			{"an origin not on the list", post("198.51.100.11", map[string]string{"Origin": "https://evil.example.com"}, g.answer(9)), true, 403},
			{"another app", post("198.51.100.11", map[string]string{appapi.HeaderBundleID: "com.evil.app"}, g.answer(9)), true, 403},
			{"no responses", post("198.51.100.12"+"", nil), false, 400},
			{"a form", g.request(t, http.MethodPost, call{client: "198.51.100.12", headers: map[string]string{"Content-Type": "text/plain"}, body: []byte("hi")}), false, 415},
		} {
			if r := c.check(tt.req, tt.valid); r.status != tt.status {
				t.Errorf("%s: %d %s, want %d", tt.name, r.status, r.body, tt.status)
			}
		}
		// Over the client's limit (5 at once in the rig).
		var last reply
		for range 6 {
			last = c.check(post("198.51.100.13", nil, g.answer(8)), true)
		}
		if last.status != http.StatusTooManyRequests {
			t.Errorf("over the limit: %d %s", last.status, last.body)
		}
		pre := g.request(t, http.MethodOptions, call{client: "198.51.100.14", headers: map[string]string{"Origin": shopOrigin,
			"Authorization": "", appapi.HeaderBundleID: "", "Content-Type": ""}})
		if r := c.check(pre, true); r.status != http.StatusNoContent {
			t.Errorf("preflight: %d", r.status)
		}
		health, _ := http.NewRequest(http.MethodGet, g.c.URL+"/healthz", nil)
		if r := c.check(health, true); r.status != http.StatusOK {
			t.Errorf("healthz: %d", r.status)
		}
		unsub, _ := http.NewRequest(http.MethodGet, g.c.URL+"/u/"+strings.Repeat("A", 43), nil)
		if r := c.check(unsub, true); r.status != http.StatusNotFound {
			t.Errorf("an unknown unsubscribe token: %d", r.status)
		}
	})
}
