package http_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	trackhttp "github.com/tracklet/tracklet/server/http"
)

// trackerFiles is a build of the tracker as `make build` lays it out, with
// loaders that name the module's files the way js/tracklet.js does.
func trackerFiles(wasm string) fstest.MapFS {
	return fstest.MapFS{
		"tracklet.js":      {Data: []byte(`load(base + "wasm_exec.js"); instantiate(base + "tracklet.wasm");`)},
		"tracklet.js.br":   {Data: []byte("brotli of the original loader")},
		"tracklet.js.gz":   {Data: []byte("gzip of the original loader")},
		"tracklet.mjs":     {Data: []byte(`import(new URL("wasm_exec.js", b)); fetch(new URL("tracklet.wasm", b));`)},
		"tracklet.wasm":    {Data: []byte(wasm)},
		"tracklet.wasm.br": {Data: []byte("br:" + wasm)},
		"tracklet.wasm.gz": {Data: []byte("gz:" + wasm)},
		"wasm_exec.js":     {Data: []byte("/* go */")},
	}
}

func assetServer(t *testing.T, files fstest.MapFS) string {
	t.Helper()
	srv := httptest.NewServer(trackhttp.NewHandler(trackhttp.Config{Assets: files}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// get fetches url as a browser would, without decompressing.
func get(t *testing.T, url, acceptEncoding string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept-Encoding", acceptEncoding)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func gunzip(t *testing.T, s string) string {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(s))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var hashedName = regexp.MustCompile(`"(tracklet\.[0-9a-f]{16}\.wasm)"|"(wasm_exec\.[0-9a-f]{16}\.js)"`)

// hashedURLs returns the hashed names a loader refers to.
func hashedURLs(t *testing.T, loader string) (wasm, exec string) {
	t.Helper()
	for _, m := range hashedName.FindAllStringSubmatch(loader, -1) {
		if m[1] != "" {
			wasm = m[1]
		}
		if m[2] != "" {
			exec = m[2]
		}
	}
	if wasm == "" || exec == "" {
		t.Fatalf("loader does not name hashed files: %s", loader)
	}
	return wasm, exec
}

func TestHashedAssets(t *testing.T) {
	url := assetServer(t, trackerFiles("\x00asm version 1"))

	// The loader keeps its URL, is cached briefly, and names hashed files.
	resp, body := get(t, url+"/tracklet.js", "gzip, deflate, br")
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "public, max-age=300, stale-while-revalidate=86400" ||
		resp.Header.Get("ETag") == "" {
		t.Fatalf("tracklet.js: %d, Cache-Control %q, ETag %q", resp.StatusCode, resp.Header.Get("Cache-Control"), resp.Header.Get("ETag"))
	}
	// Its build-time .br holds the original text, so it must not be used.
	if enc := resp.Header.Get("Content-Encoding"); enc != "gzip" {
		t.Fatalf("tracklet.js served with Content-Encoding %q, want gzip", enc)
	}
	loader := gunzip(t, body)
	wasm, exec := hashedURLs(t, loader)
	if _, plain := get(t, url+"/tracklet.js", ""); plain != loader {
		t.Errorf("identity and gzip loaders differ:\n%s\n%s", plain, loader)
	}
	resp, mjs := get(t, url+"/tracklet.mjs", "")
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=300, stale-while-revalidate=86400" {
		t.Errorf("tracklet.mjs: Cache-Control %q", cc)
	}
	if w, e := hashedURLs(t, mjs); w != wasm || e != exec {
		t.Errorf("tracklet.mjs names %s, %s; tracklet.js %s, %s", w, e, wasm, exec)
	}

	// The hashed files are immutable, precompressed, typed and CORS-open.
	tests := []struct {
		path, accept, wantEnc, wantBody, wantType string
	}{
		{"/" + wasm, "gzip, deflate, br", "br", "br:\x00asm version 1", "application/wasm"},
		{"/" + wasm, "gzip", "gzip", "gz:\x00asm version 1", "application/wasm"},
		{"/" + wasm, "", "", "\x00asm version 1", "application/wasm"},
		{"/" + exec, "br", "", "/* go */", "text/javascript; charset=utf-8"},
	}
	for _, tt := range tests {
		resp, body := get(t, url+tt.path, tt.accept)
		h := resp.Header
		if resp.StatusCode != 200 || body != tt.wantBody || h.Get("Content-Encoding") != tt.wantEnc ||
			h.Get("Content-Type") != tt.wantType || h.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET %s (Accept-Encoding %q): %d %q, headers %v", tt.path, tt.accept, resp.StatusCode, body, h)
		}
		if cc := h.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s: Cache-Control %q", tt.path, cc)
		}
	}

	// The plain names still work, for loaders older than this collector,
	// and are revalidated.
	resp, body = get(t, url+"/tracklet.wasm", "")
	if resp.StatusCode != 200 || body != "\x00asm version 1" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("/tracklet.wasm: %d %q %q", resp.StatusCode, body, resp.Header.Get("Cache-Control"))
	}

	// A new build gets new names. A loader cached from before it still
	// names the old ones: they serve the new files, revalidated, never
	// cached as if they were the old bytes.
	next := assetServer(t, trackerFiles("\x00asm version 2"))
	_, body = get(t, next+"/tracklet.js", "")
	wasm2, exec2 := hashedURLs(t, body)
	if wasm2 == wasm || exec2 != exec {
		t.Errorf("after a change of the wasm only: %s → %s, %s → %s", wasm, wasm2, exec, exec2)
	}
	for _, tt := range []struct{ accept, wantEnc, wantBody string }{
		{"", "", "\x00asm version 2"}, {"br", "br", "br:\x00asm version 2"},
	} {
		resp, body := get(t, next+"/"+wasm, tt.accept)
		if resp.StatusCode != 200 || body != tt.wantBody || resp.Header.Get("Content-Encoding") != tt.wantEnc ||
			resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("Content-Type") != "application/wasm" {
			t.Errorf("the old hashed name on the new build (Accept-Encoding %q): %d %q, headers %v", tt.accept, resp.StatusCode, body, resp.Header)
		}
	}
	// Only names of the hashed files' shape fall back.
	for _, p := range []string{"/tracklet.0123456789abcdef0.wasm", "/tracklet.0123456789abcdeg.wasm", "/other.0123456789abcdef.wasm"} {
		if resp, _ := get(t, next+p, ""); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
}

// A loader that does not name each file exactly once is served untouched.
func TestHashedAssetsLeaveUnknownLoadersAlone(t *testing.T) {
	files := trackerFiles("\x00asm")
	files["tracklet.js"] = &fstest.MapFile{Data: []byte(`a("tracklet.wasm"); b("tracklet.wasm"); c("wasm_exec.js")`)}
	url := assetServer(t, files)
	resp, body := get(t, url+"/tracklet.js", "br")
	if resp.Header.Get("Content-Encoding") != "br" || body != "brotli of the original loader" {
		t.Errorf("loader changed: %q %q", resp.Header.Get("Content-Encoding"), body)
	}
}

// The loaders' freshness is the operator's to choose.
func TestLoaderMaxAge(t *testing.T) {
	for _, tt := range []struct {
		maxAge time.Duration
		want   string
	}{
		{0, "public, max-age=300, stale-while-revalidate=86400"},
		{90 * time.Second, "public, max-age=90, stale-while-revalidate=86400"},
		{-1, "no-cache"},
	} {
		srv := httptest.NewServer(trackhttp.NewHandler(trackhttp.Config{Assets: trackerFiles("\x00asm"), LoaderMaxAge: tt.maxAge}))
		for _, p := range []string{"/tracklet.js", "/tracklet.mjs"} {
			if resp, _ := get(t, srv.URL+p, "gzip"); resp.Header.Get("Cache-Control") != tt.want {
				t.Errorf("LoaderMaxAge %v: %s Cache-Control %q, want %q", tt.maxAge, p, resp.Header.Get("Cache-Control"), tt.want)
			}
		}
		// The hashed files stay immutable whatever the loaders do.
		_, loader := get(t, srv.URL+"/tracklet.js", "")
		wasm, _ := hashedURLs(t, loader)
		if resp, _ := get(t, srv.URL+"/"+wasm, ""); resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("LoaderMaxAge %v: %s Cache-Control %q", tt.maxAge, wasm, resp.Header.Get("Cache-Control"))
		}
		srv.Close()
	}
}
