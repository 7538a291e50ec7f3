package http

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// assets serves the tracker's browser files from the root of an fs.FS,
// choosing a precompressed .br or .gz form when the browser takes it.
type assets struct {
	fsys   fs.FS
	loader string // Cache-Control of the loaders
	mu     sync.Mutex
	files  map[string]assetFile
}

type assetFile struct {
	data []byte
	etag string
}

func newAssets(fsys fs.FS, loaderMaxAge time.Duration) *assets {
	return &assets{fsys: withHashedNames(fsys), loader: loaderCache(loaderMaxAge), files: make(map[string]assetFile)}
}

// has reports whether p names a file at the top of the assets.
func (a *assets) has(p string) bool {
	name := strings.TrimPrefix(p, "/")
	if name == "" || strings.Contains(name, "/") || strings.EqualFold(name, "README.md") {
		return false
	}
	st, err := fs.Stat(a.fsys, a.resolve(name))
	return err == nil && !st.IsDir()
}

// resolve maps an older build's hashed name to the plain name of the file
// it stands for now (see hashedFS); other names are returned as they are.
func (a *assets) resolve(name string) string {
	if h, ok := a.fsys.(*hashedFS); ok {
		if plain, ok := h.olderName(name); ok {
			return plain
		}
	}
	return name
}

// contentType names the files the tracker is made of explicitly: a wrong
// type on the wasm makes WebAssembly.instantiateStreaming fail.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".wasm":
		return "application/wasm"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".json", ".map":
		return "application/json"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func (a *assets) serve(w http.ResponseWriter, r *http.Request, p string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		WriteError(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "use GET")
		return
	}
	// An older build's hashed name is served as the plain name, revalidated.
	name := a.resolve(strings.TrimPrefix(p, "/"))
	h := w.Header()
	// Sites on any origin load the tracker from here.
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("Content-Type", contentType(name))
	// Content-hashed names are immutable, the loaders cached briefly, the
	// rest revalidated.
	h.Set("Cache-Control", cacheControl(a.fsys, name, a.loader))
	file := name
	if enc := pickEncoding(r.Header.Get("Accept-Encoding"), func(ext string) bool { return a.has("/" + name + ext) }); enc != "" {
		h.Set("Content-Encoding", enc)
		file = name + map[string]string{"br": ".br", "gzip": ".gz"}[enc]
	}
	if !strings.HasSuffix(name, ".br") && !strings.HasSuffix(name, ".gz") {
		h.Add("Vary", "Accept-Encoding")
	}
	content, etag, err := a.open(file)
	if err != nil {
		WriteError(w, http.StatusNotFound, CodeNoSuchPath, "no such resource: "+p)
		return
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, content)
}

// pickEncoding chooses br over gzip when the client accepts it and the
// precompressed file exists.
func pickEncoding(accept string, exists func(ext string) bool) string {
	accept = strings.ToLower(accept)
	for _, c := range []struct{ enc, ext string }{{"br", ".br"}, {"gzip", ".gz"}} {
		if acceptsEncoding(accept, c.enc) && exists(c.ext) {
			return c.enc
		}
	}
	return ""
}

func acceptsEncoding(accept, enc string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		name, params, _ := strings.Cut(part, ";")
		if strings.TrimSpace(name) != enc {
			continue
		}
		for p := range strings.SplitSeq(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if k == "q" {
				q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				return err == nil && q > 0
			}
		}
		return true
	}
	return false
}

// open returns the file's content and a strong ETag. Files are read and
// hashed once: they are the few, small files of the tracker.
func (a *assets) open(name string) (io.ReadSeeker, string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f, ok := a.files[name]
	if !ok {
		data, err := fs.ReadFile(a.fsys, name)
		if err != nil {
			return nil, "", err
		}
		sum := sha256.Sum256(data)
		f = assetFile{data: data, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		a.files[name] = f
	}
	return bytes.NewReader(f.data), f.etag, nil
}
