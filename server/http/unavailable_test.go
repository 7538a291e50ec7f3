package http_test

import (
	"net/http"
	"os"
	"testing"
)

// TestStoreUnavailableAnswers503: when the store cannot write (here its
// file was deleted under it), PutEvents answers 503 in the shape AWS SDKs
// retry on, with Retry-After the browser can read, and /readyz fails too;
// /healthz, which only says the process runs, stays 200.
func TestStoreUnavailableAnswers503(t *testing.T) {
	e := newEnv(t)
	tid := e.tracker()
	if r := e.post(body(tid, okEvent), nil); r.status != 200 {
		t.Fatalf("before: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/readyz", nil, nil); r.status != 200 {
		t.Fatalf("readyz before: %d %s", r.status, r.body)
	}
	if err := os.Remove(e.path); err != nil {
		t.Fatal(err)
	}
	r := e.post(body(tid, okEvent), map[string]string{"Origin": "https://shop.example"})
	if r.status != http.StatusServiceUnavailable || r.header.Get("x-amzn-ErrorType") != "ServiceUnavailableException" ||
		r.header.Get("Retry-After") == "" {
		t.Errorf("PutEvents on a deleted database: %d %s (type %q, Retry-After %q); want 503 ServiceUnavailableException with Retry-After",
			r.status, r.body, r.header.Get("x-amzn-ErrorType"), r.header.Get("Retry-After"))
	}
	if r.header.Get("Access-Control-Allow-Origin") == "" {
		t.Error("the 503 lacks CORS headers: the page cannot read Retry-After")
	}
	if r := e.do(http.MethodGet, "/readyz", nil, nil); r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Errorf("readyz on a deleted database: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/healthz", nil, nil); r.status != 200 {
		t.Errorf("healthz: %d", r.status)
	}
}
