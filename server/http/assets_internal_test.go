package http

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"
)

// Every older build's hashed name is served from the one cache entry of
// the plain name: a client asking for endless made-up hashes must not make
// the collector read, hash and keep the module once per name.
func TestOlderHashedNamesShareOneCacheEntry(t *testing.T) {
	a := newAssets(fstest.MapFS{
		"tracklet.js":      {Data: []byte(`x("wasm_exec.js"); y("tracklet.wasm");`)},
		"tracklet.wasm":    {Data: []byte("\x00asm")},
		"tracklet.wasm.br": {Data: []byte("br:\x00asm")},
		"wasm_exec.js":     {Data: []byte("/* go */")},
	}, 0)
	for i := range 100 {
		for _, accept := range []string{"", "br"} {
			p := fmt.Sprintf("/tracklet.%016x.wasm", i)
			if !a.has(p) {
				t.Fatalf("%s not found", p)
			}
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, p, nil)
			req.Header.Set("Accept-Encoding", accept)
			a.serve(rec, req, p)
			if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-cache" {
				t.Fatalf("GET %s: %d, Cache-Control %q", p, rec.Code, rec.Header().Get("Cache-Control"))
			}
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.files) != 2 { // tracklet.wasm and tracklet.wasm.br
		names := make([]string, 0, len(a.files))
		for name := range a.files {
			names = append(names, name)
		}
		t.Fatalf("200 requests for older names cached %d files: %v", len(a.files), names)
	}
}
