package http

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
)

// A repeat visit should download nothing of the tracker. tracklet.wasm and
// wasm_exec.js are therefore also served under content-hashed names
// (tracklet.<hash>.wasm, wasm_exec.<hash>.js, tracklet-sender.<hash>.js,
// the sending Worker's script) that may be cached for ever,
// and the loaders that fetch them, tracklet.js and tracklet.mjs, are served
// naming those URLs. The loaders keep their fixed URLs, which are what
// sites put in their pages, and are cached briefly (loaderCache): a visit
// within minutes of the last asks for nothing, and a deploy reaches every
// site soon after.
//
// A loader cached from before a deploy names hashes this collector no
// longer has; rather than break that page, those names serve the current
// files, revalidated and never cached for long. The plain names stay
// served, revalidated, for loaders older than hashed names.

// hashedFiles are served under content-hashed names too.
var hashedFiles = []string{"tracklet.wasm", "wasm_exec.js", "tracklet-sender.js"}

// hashedLoaders name hashedFiles as string literals ("tracklet.wasm"),
// each once; they are served with those literals replaced.
var hashedLoaders = []string{"tracklet.js", "tracklet.mjs"}

// immutableCache is the Cache-Control of a content-hashed URL: its bytes
// never change, so browsers need not even revalidate.
const immutableCache = "public, max-age=31536000, immutable"

// DefaultLoaderMaxAge is how long browsers may use the loaders without
// asking (Config.LoaderMaxAge).
const DefaultLoaderMaxAge = 5 * time.Minute

// loaderCache is the Cache-Control of the loaders: fresh for maxAge, and
// for a day after that a stale copy is used at once while the browser
// revalidates it in the background, so the page never waits for it. A
// negative maxAge has them revalidated on every visit.
func loaderCache(maxAge time.Duration) string {
	if maxAge < 0 {
		return "no-cache"
	}
	return fmt.Sprintf("public, max-age=%d, stale-while-revalidate=86400", int(cmp.Or(maxAge, DefaultLoaderMaxAge).Seconds()))
}

// hashedFS is an fs.FS of the tracker's files with the hashed names added
// and the loaders rewritten to use them.
type hashedFS struct {
	fs.FS
	alias map[string]string // hashed name (also + ".br", ".gz") → file in FS
	older []*regexp.Regexp  // any hashed name of each of hashedFiles (an older build's)
	mem   map[string][]byte // rewritten loaders and their gzip forms
	stale map[string]bool   // precompressed forms of the original loaders
}

// withHashedNames returns fsys with hashed names for hashedFiles, or fsys
// itself when it holds none of them (a build without the wasm).
func withHashedNames(fsys fs.FS) fs.FS {
	h := &hashedFS{FS: fsys, alias: map[string]string{}, mem: map[string][]byte{}, stale: map[string]bool{}}
	rename := map[string]string{} // `"tracklet.wasm"` → `"tracklet.<hash>.wasm"`
	for _, name := range hashedFiles {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			continue
		}
		sum := sha256.Sum256(data)
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:8]) + ext
		for _, enc := range []string{"", ".br", ".gz"} {
			h.alias[hashed+enc] = name + enc
		}
		h.older = append(h.older, regexp.MustCompile(`^`+regexp.QuoteMeta(strings.TrimSuffix(name, ext))+
			`\.[0-9a-f]{16}`+regexp.QuoteMeta(ext)+`(\.br|\.gz)?$`))
		rename[`"`+name+`"`] = `"` + hashed + `"`
	}
	if len(rename) == 0 {
		return fsys
	}
	for _, name := range hashedLoaders {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			continue
		}
		src := string(data)
		for old, hashed := range rename {
			if strings.Count(src, old) != 1 {
				src = "" // not the loader we know how to rewrite: leave it alone
				break
			}
			src = strings.Replace(src, old, hashed, 1)
		}
		if src == "" {
			continue
		}
		h.mem[name] = []byte(src)
		// The .br made at build time holds the original text; brotli is not
		// in the collector, so the rewritten loader is offered in gzip.
		h.stale[name+".br"] = true
		if gz, err := gzipBytes([]byte(src)); err == nil {
			h.mem[name+".gz"] = gz
		} else {
			h.stale[name+".gz"] = true
		}
	}
	return h
}

// immutable reports whether name is a content-hashed URL of this build.
func (h *hashedFS) immutable(name string) bool {
	_, ok := h.alias[name]
	return ok
}

// olderName returns the file an older build's hashed name stands for now:
// "tracklet.<other hash>.wasm.br" → "tracklet.wasm.br". Callers resolve the
// name before opening or caching anything, so that the endless older names
// share the one file (and one cache entry) of the plain name.
func (h *hashedFS) olderName(name string) (string, bool) {
	if h.immutable(name) {
		return "", false // this build's own name
	}
	for i, re := range h.older {
		if m := re.FindStringSubmatch(name); m != nil {
			return hashedFiles[i] + m[1], true
		}
	}
	return "", false
}

func (h *hashedFS) Open(name string) (fs.File, error) {
	if data, ok := h.mem[name]; ok {
		return &memFile{Reader: bytes.NewReader(data), name: name, size: int64(len(data))}, nil
	}
	if h.stale[name] {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	if real, ok := h.alias[name]; ok {
		name = real
	}
	return h.FS.Open(name)
}

// cacheControl is the Cache-Control header for the asset name, loader
// being that of the loaders.
func cacheControl(fsys fs.FS, name, loader string) string {
	if h, ok := fsys.(*hashedFS); ok && h.immutable(name) {
		return immutableCache
	}
	if slices.Contains(hashedLoaders, name) {
		return loader
	}
	// Revalidate every time (cheaply, by ETag): the plain names, an older
	// build's hashed names, the demo and the dashboard.
	return "no-cache"
}

func gzipBytes(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// memFile is a file held in memory.
type memFile struct {
	*bytes.Reader
	name string
	size int64
}

func (f *memFile) Stat() (fs.FileInfo, error) { return memInfo{f}, nil }
func (f *memFile) Close() error               { return nil }

var _ io.ReadSeeker = (*memFile)(nil)

type memInfo struct{ f *memFile }

func (i memInfo) Name() string       { return path.Base(i.f.name) }
func (i memInfo) Size() int64        { return i.f.size }
func (i memInfo) Mode() fs.FileMode  { return 0o444 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }
