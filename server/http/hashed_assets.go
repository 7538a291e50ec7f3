package http

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"
)

// A repeat visit should download nothing of the tracker. tracklet.wasm and
// wasm_exec.js are therefore also served under content-hashed names
// (tracklet.<hash>.wasm, wasm_exec.<hash>.js) that may be cached for ever,
// and the loaders that fetch them, tracklet.js and tracklet.mjs, are served
// naming those URLs. The loaders keep their fixed, revalidated URLs: they
// are what sites put in their pages, and a deploy must reach every site.
//
// The plain names stay served, revalidated, for pages whose loader is
// older than the running collector.

// hashedFiles are served under content-hashed names too.
var hashedFiles = []string{"tracklet.wasm", "wasm_exec.js"}

// hashedLoaders name hashedFiles as string literals ("tracklet.wasm"),
// each once; they are served with those literals replaced.
var hashedLoaders = []string{"tracklet.js", "tracklet.mjs"}

// immutableCache is the Cache-Control of a content-hashed URL: its bytes
// never change, so browsers need not even revalidate.
const immutableCache = "public, max-age=31536000, immutable"

// hashedFS is an fs.FS of the tracker's files with the hashed names added
// and the loaders rewritten to use them.
type hashedFS struct {
	fs.FS
	alias map[string]string // hashed name (also + ".br", ".gz") → file in FS
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

// immutable reports whether name is a content-hashed URL.
func (h *hashedFS) immutable(name string) bool {
	_, ok := h.alias[name]
	return ok
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

// cacheControl is the Cache-Control header for the asset name.
func cacheControl(fsys fs.FS, name string) string {
	if h, ok := fsys.(*hashedFS); ok && h.immutable(name) {
		return immutableCache
	}
	// Revalidate every time (cheaply, by ETag): a deploy must reach every
	// site at once, not after a cache expires.
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
