package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/andybalholm/brotli"
)

func TestCompressFileRoundTrips(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tracklet.wasm")
	raw := bytes.Repeat([]byte("tracklet wasm bytes "), 5000)
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	sizes, err := compressFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if sizes[0] != len(raw) || sizes[1] >= sizes[0] || sizes[2] >= sizes[0] {
		t.Fatalf("sizes %v for %d raw bytes", sizes, len(raw))
	}
	readers := map[string]func(io.Reader) (io.Reader, error){
		".gz": func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) },
		".br": func(r io.Reader) (io.Reader, error) { return brotli.NewReader(r), nil },
	}
	for ext, open := range readers {
		f, err := os.Open(path + ext)
		if err != nil {
			t.Fatal(err)
		}
		r, err := open(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, raw) {
			t.Fatalf("%s does not decompress to the original", ext)
		}
	}
}
