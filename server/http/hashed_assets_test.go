package http_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tracklet/tracklet/server/assets"
	trackhttp "github.com/tracklet/tracklet/server/http"
)

// fakeForm is what prefixEncoder makes of data: smaller, and recognisable.
func fakeForm(enc, data string) string { return enc + ":" + data[:len(data)/2] }

// prefixEncoder stands in for a compressor (fakeForm) on the data keep
// takes; for the rest its form is larger, so the build drops it.
func prefixEncoder(enc, ext string, keep func([]byte) bool) assets.Encoder {
	return assets.Encoder{Encoding: enc, Ext: ext, Compress: func(b []byte) ([]byte, error) {
		if !keep(b) {
			return append(b, ' '), nil
		}
		return []byte(fakeForm(enc, string(b))), nil
	}}
}

// buildAssets is a build (package assets, as `make wasm` runs it) of the
// sources, as an fs.FS.
func buildAssets(sources []assets.Source, encoders ...assets.Encoder) fstest.MapFS {
	files, _, err := assets.Build(sources, encoders)
	if err != nil {
		panic(err)
	}
	fsys := fstest.MapFS{"README.md": {Data: []byte("not served")}}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: data}
	}
	return fsys
}

// trackerFiles is a build of the tracker as `make build` lays it out, with
// loaders that name the module's files the way the bundled tracklet.js
// and tracklet.mjs do, every file in brotli and gzip.
func trackerFiles(wasm string) fstest.MapFS {
	all := func([]byte) bool { return true }
	return buildAssets([]assets.Source{
		{Name: "tracklet.js", Entry: true, Data: []byte(`load(base + "wasm_exec.js"); instantiate(base + "tracklet.wasm");`)},
		{Name: "tracklet.mjs", Entry: true, Data: []byte(`import(new URL("wasm_exec.js", b)); fetch(new URL("tracklet.wasm", b));`)},
		{Name: "tracklet.wasm", Data: []byte(wasm)},
		{Name: "wasm_exec.js", Data: []byte("/* go's glue */")},
	}, prefixEncoder("br", ".br", all), prefixEncoder("gzip", ".gz", all))
}

func assetServer(t *testing.T, files fstest.MapFS) string {
	t.Helper()
	srv := httptest.NewServer(trackhttp.NewHandler(trackhttp.Config{Assets: files}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// get fetches url as a browser would, without decompressing.
func get(t *testing.T, url, acceptEncoding string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept-Encoding", acceptEncoding)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
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

	// The loader keeps its URL, is cached briefly, names hashed files, and
	// is served in the best encoding the browser takes: the build made its
	// brotli form from the text it serves.
	_, plain := get(t, url+"/tracklet.js", "")
	wasm, exec := hashedURLs(t, plain)
	for _, tt := range []struct{ accept, enc string }{{"gzip, deflate, br", "br"}, {"gzip", "gzip"}, {"", ""}} {
		resp, body := get(t, url+"/tracklet.js", tt.accept)
		h := resp.Header
		if resp.StatusCode != 200 || h.Get("Cache-Control") != "public, max-age=300, stale-while-revalidate=86400" ||
			h.Get("ETag") == "" || h.Get("Vary") != "Accept-Encoding" || h.Get("Content-Encoding") != tt.enc {
			t.Fatalf("tracklet.js (Accept-Encoding %q): %d, headers %v", tt.accept, resp.StatusCode, h)
		}
		if tt.enc != "" && body != fakeForm(tt.enc, plain) {
			t.Errorf("tracklet.js in %s is not the form of the text served as identity: %q", tt.enc, body)
		}
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
		{"/" + wasm, "gzip, deflate, br", "br", fakeForm("br", "\x00asm version 1"), "application/wasm"},
		{"/" + wasm, "gzip", "gzip", fakeForm("gzip", "\x00asm version 1"), "application/wasm"},
		{"/" + wasm, "br;q=0, gzip;q=0.5", "gzip", fakeForm("gzip", "\x00asm version 1"), "application/wasm"},
		{"/" + wasm, "", "", "\x00asm version 1", "application/wasm"},
		{"/" + exec, "br", "br", fakeForm("br", "/* go's glue */"), "text/javascript; charset=utf-8"},
	}
	etags := map[string]string{}
	for _, tt := range tests {
		resp, body := get(t, url+tt.path, tt.accept)
		h := resp.Header
		if resp.StatusCode != 200 || body != tt.wantBody || h.Get("Content-Encoding") != tt.wantEnc ||
			h.Get("Content-Type") != tt.wantType || h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Vary") != "Accept-Encoding" {
			t.Errorf("GET %s (Accept-Encoding %q): %d %q, headers %v", tt.path, tt.accept, resp.StatusCode, body, h)
		}
		if cc := h.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s: Cache-Control %q", tt.path, cc)
		}
		// Each representation has an ETag of its own, and revalidates.
		if prev, ok := etags[h.Get("ETag")]; ok && prev != tt.path+" "+tt.wantEnc {
			t.Errorf("GET %s in %q has the ETag of %s", tt.path, tt.wantEnc, prev)
		}
		etags[h.Get("ETag")] = tt.path + " " + tt.wantEnc
		if again, _ := get(t, url+tt.path, tt.accept, "If-None-Match", h.Get("ETag")); again.StatusCode != 304 {
			t.Errorf("GET %s (Accept-Encoding %q) with its ETag: %d, want 304", tt.path, tt.accept, again.StatusCode)
		}
	}

	// The plain names still work, for loaders older than this collector,
	// and are revalidated.
	resp, body := get(t, url+"/tracklet.wasm", "")
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
		{"", "", "\x00asm version 2"}, {"br", "br", fakeForm("br", "\x00asm version 2")},
	} {
		resp, body := get(t, next+"/"+wasm, tt.accept)
		if resp.StatusCode != 200 || body != tt.wantBody || resp.Header.Get("Content-Encoding") != tt.wantEnc ||
			resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("Content-Type") != "application/wasm" {
			t.Errorf("the old hashed name on the new build (Accept-Encoding %q): %d %q, headers %v", tt.accept, resp.StatusCode, body, resp.Header)
		}
	}
	// Only names of the hashed files' shape fall back; the compressed files
	// and the manifest are no URLs of their own.
	for _, p := range []string{"/tracklet.0123456789abcdef0.wasm", "/tracklet.0123456789abcdeg.wasm", "/other.0123456789abcdef.wasm",
		"/" + wasm2 + ".br", "/tracklet.js.gz", "/manifest.json", "/README.md"} {
		if resp, _ := get(t, next+p, ""); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
	// GET and HEAD only.
	req, _ := http.NewRequest("POST", next+"/"+wasm2, bytes.NewReader(nil))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST %s: %v %v", wasm2, resp, err)
	}
	if resp, err := http.Head(next + "/" + wasm2); err != nil || resp.StatusCode != 200 || resp.ContentLength != int64(len("\x00asm version 2")) {
		t.Errorf("HEAD %s: %v %v", wasm2, resp, err)
	}
}

// A build whose manifest names files that are not there stops the
// collector at start-up, instead of serving a tracker that cannot load.
func TestBrokenBuildRefused(t *testing.T) {
	files := trackerFiles("\x00asm module")
	for name := range files {
		if strings.HasSuffix(name, ".wasm.br") {
			delete(files, name)
		}
	}
	defer func() {
		if p := recover(); p == nil || !strings.Contains(p.(error).Error(), "the manifest names tracklet.") {
			t.Errorf("NewHandler with a file missing: %v", p)
		}
	}()
	trackhttp.NewHandler(trackhttp.Config{Assets: files})
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
		srv := httptest.NewServer(trackhttp.NewHandler(trackhttp.Config{Assets: trackerFiles("\x00asm module"), LoaderMaxAge: tt.maxAge}))
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
