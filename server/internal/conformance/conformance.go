// Package conformance is the table of requests that every deployment of
// the collector must answer alike, word for word: the native server
// (server/http on SQLite) and the Cloudflare Worker (server/worker). Both
// test suites run this one table, so the two cannot drift apart.
//
// Each case is a request that must be refused (or, for CORS preflights,
// answered without storing anything), with the exact status, error type
// and message expected. Cases refer to three trackers by placeholder; the
// suite creates them in the store under test and passes their ids.
package conformance

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Trackers are the trackingIds the cases refer to as {open}, {shop} and
// {off}.
type Trackers struct {
	Open string // enabled, allows every origin
	Shop string // enabled, allows only ShopOrigin
	Off  string // disabled
}

// Origins the cases send.
const (
	ShopOrigin  = "https://shop.example"
	OtherOrigin = "https://other.example"
)

// MaxBodyBytes is the body limit the cases assume: the collector's default.
const MaxBodyBytes = 1 << 20

// Case is one request and the answer it must get.
type Case struct {
	Name   string
	Method string // default POST
	Path   string // default /events; placeholders are replaced
	Header map[string]string
	Body   string // placeholders are replaced
	// PadTo, if set, pads Body (once placeholders are replaced) with
	// trailing spaces to exactly this many bytes, for the size limits.
	PadTo int
	Gzip  bool // send Body gzipped, with Content-Encoding: gzip

	Status int
	// Type is the x-amzn-ErrorType header; Message the message of the
	// JSON body {"message": ...} (placeholders replaced). Both empty for
	// answers without an error.
	Type, Message string
	// WantHeader lists response headers that must have exactly these
	// values ("" = must be absent).
	WantHeader map[string]string
}

func (tr Trackers) expand(s string) string {
	return strings.NewReplacer("{open}", tr.Open, "{shop}", tr.Shop, "{off}", tr.Off).Replace(s)
}

// NewRequest builds c's request against the collector at baseURL.
func (c Case) NewRequest(baseURL string, tr Trackers) (*http.Request, error) {
	method, path := c.Method, c.Path
	if method == "" {
		method = http.MethodPost
	}
	if path == "" {
		path = "/events"
	}
	body := []byte(tr.expand(c.Body))
	if c.PadTo > len(body) {
		body = append(body, bytes.Repeat([]byte(" "), c.PadTo-len(body))...)
	}
	if c.Gzip {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(body)
		zw.Close()
		body = b.Bytes()
	}
	req, err := http.NewRequest(method, baseURL+tr.expand(path), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range c.Header {
		req.Header.Set(k, v)
	}
	if c.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	return req, nil
}

// Check compares an answer with what c expects.
func (c Case) Check(tr Trackers, resp *http.Response, body []byte) error {
	var errs []string
	if resp.StatusCode != c.Status {
		errs = append(errs, fmt.Sprintf("status %d, want %d", resp.StatusCode, c.Status))
	}
	if got := resp.Header.Get("x-amzn-ErrorType"); got != c.Type {
		errs = append(errs, fmt.Sprintf("x-amzn-ErrorType %q, want %q", got, c.Type))
	}
	if c.Message != "" || c.Type != "" {
		var m struct {
			Message *string `json:"message"`
		}
		if err := json.Unmarshal(body, &m); err != nil || m.Message == nil {
			errs = append(errs, fmt.Sprintf("body %q is not {\"message\": ...}", body))
		} else if want := tr.expand(c.Message); *m.Message != want {
			errs = append(errs, fmt.Sprintf("message %q, want %q", *m.Message, want))
		}
	}
	for k, want := range c.WantHeader {
		if got := resp.Header.Get(k); got != tr.expand(want) {
			errs = append(errs, fmt.Sprintf("header %s %q, want %q", k, got, tr.expand(want)))
		}
	}
	if errs != nil {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// Run sends every case of cases to the collector at baseURL, one subtest
// each. The collector must have the trackers tr with the origins their
// roles say.
func Run(t *testing.T, baseURL string, tr Trackers, cases []Case) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			req, err := c.NewRequest(baseURL, tr)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Check(tr, resp, body); err != nil {
				t.Errorf("%s %s: %v", req.Method, req.URL.Path, err)
			}
		})
	}
}
