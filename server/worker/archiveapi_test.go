//go:build !js

package worker_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	trackhttp "github.com/tracklet/tracklet/server/http"
	"github.com/tracklet/tracklet/server/worker"
	"github.com/tracklet/tracklet/server/worker/archive"
)

// oneFile is a bucket holding one file.
type oneFile struct{ key, body string }

func (b oneFile) Put(context.Context, string, []byte, string) error { return nil }

func (b oneFile) Get(_ context.Context, key string) (io.ReadCloser, error) {
	if key != b.key {
		return nil, archive.ErrNotFound
	}
	return io.NopCloser(strings.NewReader(b.body)), nil
}

// The archive's routes join the admin API of package http: routed by its
// mux, behind its token check, answering in its error shape.
func TestArchiveAPIIsPartOfTheAdminAPI(t *testing.T) {
	api := &worker.ArchiveAPI{Bucket: oneFile{"tk_a/2026/12/01/10-1.ndjson", "{}\n"}}
	srv := httptest.NewServer(trackhttp.NewHandler(trackhttp.Config{AdminToken: "tok", Routes: api.Routes()}))
	defer srv.Close()
	for _, tt := range []struct {
		method, path, token string
		status              int
		code, body          string
	}{
		{"GET", "/v1/archive/file?key=tk_a/2026/12/01/10-1.ndjson", "tok", 200, "", "{}\n"},
		{"GET", "/v1/archive/file?key=tk_a/2026/12/01/10-1.ndjson", "", 401, trackhttp.CodeUnauthorized, ""},
		{"GET", "/v1/archive/file?key=tk_a/2026/12/01/10-1.ndjson", "nope", 401, trackhttp.CodeUnauthorized, ""},
		{"GET", "/v1/archive/file?key=tk_a/none.ndjson", "tok", 404, trackhttp.CodeNotFound, ""},
		{"GET", "/v1/archive/file?key=../x", "tok", 400, trackhttp.CodeInvalidInput, ""},
		{"GET", "/v1/archive?since=yesterday", "tok", 400, trackhttp.CodeInvalidInput, ""},
		{"POST", "/v1/archive", "tok", 405, trackhttp.CodeMethodNotAllowed, ""},
	} {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || resp.Header.Get("x-amzn-ErrorType") != tt.code {
			t.Errorf("%s %s (token %q): %d %s %s, want %d %s", tt.method, tt.path, tt.token, resp.StatusCode,
				resp.Header.Get("x-amzn-ErrorType"), body, tt.status, tt.code)
		}
		if tt.status == 200 && string(body) != tt.body {
			t.Errorf("%s: body %q, want %q", tt.path, body, tt.body)
		}
		if tt.status >= 400 && !strings.HasPrefix(string(body), `{"message":`) {
			t.Errorf("%s %s: error body %q is not the JSON error shape", tt.method, tt.path, body)
		}
	}
}
