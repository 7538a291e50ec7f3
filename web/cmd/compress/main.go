// Command compress writes gzip and brotli twins of the built tracker files,
// so the collector can serve them precompressed at the best ratio without
// spending CPU per request, and prints the sizes users will download.
//
// Usage: go run ./web/cmd/compress DIR
package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/andybalholm/brotli"
)

// files are the assets a browser downloads, in the order they load.
var files = []string{"tracklet.js", "tracklet.mjs", "tracklet-sender.js", "wasm_exec.js", "tracklet.wasm"}

func main() {
	log.SetFlags(0)
	if len(os.Args) != 2 {
		log.Fatal("usage: compress DIR")
	}
	dir := os.Args[1]
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "file\traw\tgzip\tbrotli\t")
	var total [3]int
	for _, name := range files {
		sizes, err := compressFile(filepath.Join(dir, name))
		if err != nil {
			log.Fatal(err)
		}
		for i := range total {
			total[i] += sizes[i]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", name, kb(sizes[0]), kb(sizes[1]), kb(sizes[2]))
	}
	fmt.Fprintf(tw, "total\t%s\t%s\t%s\t\n", kb(total[0]), kb(total[1]), kb(total[2]))
	tw.Flush()
}

// compressFile writes path.gz and path.br and returns the raw, gzip and
// brotli sizes.
func compressFile(path string) ([3]int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return [3]int{}, err
	}
	gz, err := compress(raw, func(w io.Writer) (io.WriteCloser, error) {
		return gzip.NewWriterLevel(w, gzip.BestCompression)
	})
	if err != nil {
		return [3]int{}, err
	}
	br, err := compress(raw, func(w io.Writer) (io.WriteCloser, error) {
		return brotli.NewWriterLevel(w, brotli.BestCompression), nil
	})
	if err != nil {
		return [3]int{}, err
	}
	if err := os.WriteFile(path+".gz", gz, 0o644); err != nil {
		return [3]int{}, err
	}
	if err := os.WriteFile(path+".br", br, 0o644); err != nil {
		return [3]int{}, err
	}
	return [3]int{len(raw), len(gz), len(br)}, nil
}

func compress(raw []byte, newWriter func(io.Writer) (io.WriteCloser, error)) ([]byte, error) {
	var buf bytes.Buffer
	w, err := newWriter(&buf)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(raw); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func kb(n int) string { return fmt.Sprintf("%.1f KB", float64(n)/1024) }
