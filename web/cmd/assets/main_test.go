package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/andybalholm/brotli"

	"github.com/tracklet/tracklet/server/assets"
)

// A build into a folder: every encoding decompresses to the file it is of,
// the manifest reads back and matches the files, and what an older build
// left is removed, apart from the README and dot files.
func TestBuildWritesTheFolder(t *testing.T) {
	src, dir := t.TempDir(), t.TempDir()
	write := func(path, data string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	loader := filepath.Join(src, "tracklet.js")
	wasm := filepath.Join(src, "tracklet.wasm")
	write(loader, `fetch(base + "tracklet.wasm"); /* the loader */`)
	raw := bytes.Repeat([]byte("tracklet wasm bytes "), 5000)
	write(wasm, string(raw))
	for _, old := range []string{"README.md", ".sources.sha256", "tracklet.0123456789abcdef.wasm", "tracklet.0123456789abcdef.wasm.br"} {
		write(filepath.Join(dir, old), "from an older build")
	}

	m, err := build(dir, []string{loader}, []string{wasm})
	if err != nil {
		t.Fatal(err)
	}
	set, err := assets.New(os.DirFS(dir), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Verify(); err != nil {
		t.Fatal(err)
	}
	a, _ := m.Lookup("tracklet.wasm")
	if len(a.Encodings) != 2 {
		t.Fatalf("tracklet.wasm encodings: %+v", a.Encodings)
	}
	readers := map[string]func(io.Reader) (io.Reader, error){
		"gzip": func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) },
		"br":   func(r io.Reader) (io.Reader, error) { return brotli.NewReader(r), nil },
	}
	for _, e := range a.Encodings {
		f, err := os.Open(filepath.Join(dir, e.Path))
		if err != nil {
			t.Fatal(err)
		}
		r, err := readers[e.Encoding](f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		f.Close()
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("%s does not decompress to the original: %v", e.Path, err)
		}
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	want := append(m.Files(), "README.md", ".sources.sha256")
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("the folder holds %v, want %v", names, want)
	}
}

// The copy for a static host holds each asset's file as built and the
// collector's caching rules for exactly those paths.
func TestStaticCopy(t *testing.T) {
	src, dist, public := t.TempDir(), t.TempDir(), t.TempDir()
	loader := filepath.Join(src, "tracklet.js")
	wasm := filepath.Join(src, "tracklet.wasm")
	if err := os.WriteFile(loader, []byte(`fetch("tracklet.wasm")`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wasm, bytes.Repeat([]byte("wasm "), 100), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := build(dist, []string{loader}, []string{wasm})
	if err != nil {
		t.Fatal(err)
	}
	if err := static(dist, public); err != nil {
		t.Fatal(err)
	}
	a, _ := m.Lookup("tracklet.wasm")
	want := "# Written by web/cmd/assets from web/dist/manifest.json.\n/*\n  Access-Control-Allow-Origin: *\n  Cross-Origin-Resource-Policy: cross-origin\n" +
		"/tracklet.js\n  Cache-Control: public, max-age=300, stale-while-revalidate=86400\n" +
		"/" + a.Path + "\n  Cache-Control: public, max-age=31536000, immutable\n"
	if got, _ := os.ReadFile(filepath.Join(public, "_headers")); string(got) != want {
		t.Errorf("_headers:\n%s\nwant:\n%s", got, want)
	}
	des, _ := os.ReadDir(public)
	if len(des) != 3 {
		t.Errorf("public holds %d files, want tracklet.js, %s and _headers", len(des), a.Path)
	}
	for _, name := range []string{"tracklet.js", a.Path} {
		got, _ := os.ReadFile(filepath.Join(public, name))
		built, _ := os.ReadFile(filepath.Join(dist, name))
		if len(got) == 0 || !bytes.Equal(got, built) {
			t.Errorf("public/%s is not the built file", name)
		}
	}
}
