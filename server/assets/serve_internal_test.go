package assets

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"
)

// Every older build's hashed name is served from the files of the asset
// it stands for: a client asking for endless made-up hashes must not make
// the collector read, hash or keep anything per name.
func TestOlderHashedNamesAddNothing(t *testing.T) {
	files, _, err := Build([]Source{
		{Name: "tracklet.js", Entry: true, Data: []byte(`x("wasm_exec.js"); y("tracklet.wasm");`)},
		{Name: "tracklet.wasm", Data: []byte("\x00asm")},
		{Name: "wasm_exec.js", Data: []byte("/* go */")},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: data}
	}
	s, err := New(fsys, 0)
	if err != nil {
		t.Fatal(err)
	}
	routes := len(s.routes)
	for i := range 100 {
		for _, accept := range []string{"", "br"} {
			name := fmt.Sprintf("tracklet.%016x.wasm", i)
			if !s.Has(name) {
				t.Fatalf("%s not found", name)
			}
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/"+name, nil)
			req.Header.Set("Accept-Encoding", accept)
			s.Serve(rec, req, name)
			if rec.Code != 200 || rec.Body.String() != "\x00asm" || rec.Header().Get("Cache-Control") != "no-cache" {
				t.Fatalf("GET %s: %d %q, Cache-Control %q", name, rec.Code, rec.Body, rec.Header().Get("Cache-Control"))
			}
		}
	}
	if len(s.routes) != routes {
		t.Fatalf("200 requests for older names grew the routes from %d to %d", routes, len(s.routes))
	}
}
