package assets

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// A repeat visit should download nothing of the tracker. The hashed names
// are therefore cached for ever (ImmutableCache), and the entries that
// name them keep their fixed URLs, which are what sites put in their
// pages, and are cached briefly (LoaderCache): a visit within minutes of
// the last asks for nothing, and a deploy reaches every site soon after.
//
// An entry cached from before a deploy names hashes this build does not
// have; rather than break that page, those names serve the current files,
// revalidated and never cached for long. The plain names ("tracklet.wasm")
// stay served, revalidated, for loaders older than hashed names.

// ImmutableCache is the Cache-Control of a content-hashed URL: its bytes
// never change, so browsers need not even revalidate.
const ImmutableCache = "public, max-age=31536000, immutable"

// DefaultLoaderMaxAge is how long browsers may use the entries without
// asking.
const DefaultLoaderMaxAge = 5 * time.Minute

// LoaderCache is the Cache-Control of the entries: fresh for maxAge (0:
// DefaultLoaderMaxAge), and for a day after that a stale copy is used at
// once while the browser revalidates it in the background, so the page
// never waits for it. A negative maxAge has them revalidated on every visit.
func LoaderCache(maxAge time.Duration) string {
	if maxAge < 0 {
		return "no-cache"
	}
	return fmt.Sprintf("public, max-age=%d, stale-while-revalidate=86400", int(cmp.Or(maxAge, DefaultLoaderMaxAge).Seconds()))
}

// Set serves the assets of one build, as its manifest lists them.
type Set struct {
	fsys   fs.FS
	routes map[string]route // URL name → what it serves; fixed by New
	older  []olderRoute     // an older build's hashed names
}

// route is what one URL name serves.
type route struct {
	asset *Asset
	cache string // Cache-Control
}

type olderRoute struct {
	names *regexp.Regexp
	asset *Asset
}

// ErrNoBuild is New's error for an fs.FS without a manifest: `make build`
// has not run.
var ErrNoBuild = errors.New("assets: no " + ManifestName + ": not a build (run make build)")

// New returns the Set of the build in fsys, checking that every file its
// manifest names is there with the size it records. loaderMaxAge is that of
// LoaderCache.
func New(fsys fs.FS, loaderMaxAge time.Duration) (*Set, error) {
	m, err := ReadManifest(fsys)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoBuild
	}
	if err != nil {
		return nil, err
	}
	s := &Set{fsys: fsys, routes: map[string]route{}}
	for i := range m.Assets {
		a := &m.Assets[i]
		files := []File{a.File}
		for _, e := range a.Encodings {
			files = append(files, e.File)
		}
		for _, f := range files {
			st, err := fs.Stat(fsys, f.Path)
			if err != nil {
				return nil, fmt.Errorf("assets: the manifest names %s: %w", f.Path, err)
			}
			if st.Size() != f.Size {
				return nil, fmt.Errorf("assets: %s has %d bytes, the manifest says %d", f.Path, st.Size(), f.Size)
			}
		}
		if !a.Hashed {
			s.routes[a.Name] = route{a, LoaderCache(loaderMaxAge)}
			continue
		}
		// Revalidate every time (cheaply, by ETag) the plain name and an
		// older build's hashed names.
		s.routes[a.Path] = route{a, ImmutableCache}
		s.routes[a.Name] = route{a, "no-cache"}
		s.older = append(s.older, olderRoute{olderNames(a.Name), a})
	}
	return s, nil
}

// lookup returns what the URL name (no leading slash) serves. An older
// build's hashed name resolves to the one asset it stands for now, so that
// endless made-up names share its files and add nothing to the Set.
func (s *Set) lookup(name string) (route, bool) {
	if r, ok := s.routes[name]; ok {
		return r, true
	}
	for _, o := range s.older {
		if o.names.MatchString(name) {
			return route{o.asset, "no-cache"}, true
		}
	}
	return route{}, false
}

// Has reports whether the URL name (no leading slash) is an asset.
func (s *Set) Has(name string) bool {
	_, ok := s.lookup(name)
	return ok
}

// Serve answers a GET or HEAD of the URL name (no leading slash), which
// Has reports: the precompressed form the browser accepts, best first,
// else the bytes as built.
func (s *Set) Serve(w http.ResponseWriter, r *http.Request, name string) {
	rt, ok := s.lookup(name)
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	// Sites on any origin load the tracker from here.
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("Content-Type", ContentType(rt.asset.Name))
	h.Set("Cache-Control", rt.cache)
	h.Add("Vary", "Accept-Encoding")
	f := pick(rt.asset, r.Header.Get("Accept-Encoding"))
	if f.Path != rt.asset.Path {
		for _, e := range rt.asset.Encodings {
			if e.Path == f.Path {
				h.Set("Content-Encoding", e.Encoding)
			}
		}
	}
	content, closeFile, err := s.open(f.Path)
	if err != nil {
		http.Error(w, "reading the asset failed", http.StatusInternalServerError)
		return
	}
	defer closeFile()
	// Each representation has its own strong ETag: that of its bytes.
	h.Set("ETag", `"`+f.SHA256[:24]+`"`)
	http.ServeContent(w, r, "", time.Time{}, content)
}

// pick returns the first of the asset's encodings that accept takes, or
// the asset's own file.
func pick(a *Asset, accept string) File {
	accept = strings.ToLower(accept)
	for _, e := range a.Encodings {
		if acceptsEncoding(accept, e.Encoding) {
			return e.File
		}
	}
	return a.File
}

// acceptsEncoding reports whether the Accept-Encoding value (lower case)
// takes enc: listed, with no q or a q above 0.
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

// open returns the file for ServeContent. Files of an embed.FS or an
// os.DirFS seek: they are served without a copy in memory.
func (s *Set) open(name string) (io.ReadSeeker, func(), error) {
	f, err := s.fsys.Open(name)
	if err != nil {
		return nil, nil, err
	}
	if rs, ok := f.(io.ReadSeeker); ok {
		return rs, func() { f.Close() }, nil
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, err
	}
	return bytes.NewReader(b), func() {}, nil
}

// Verify reads every file of the Set and checks it against the SHA-256
// the manifest records: a test of a build, too slow for each start-up.
func (s *Set) Verify() error {
	seen := map[*Asset]bool{}
	for _, rt := range s.routes {
		if seen[rt.asset] {
			continue
		}
		seen[rt.asset] = true
		files := []File{rt.asset.File}
		for _, e := range rt.asset.Encodings {
			files = append(files, e.File)
		}
		for _, f := range files {
			b, err := fs.ReadFile(s.fsys, f.Path)
			if err != nil {
				return err
			}
			if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != f.SHA256 {
				return fmt.Errorf("assets: %s does not have the SHA-256 the manifest records", f.Path)
			}
		}
	}
	return nil
}

// ContentType names the files the tracker is made of explicitly: a wrong
// type on the wasm makes WebAssembly.instantiateStreaming fail.
func ContentType(name string) string {
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
