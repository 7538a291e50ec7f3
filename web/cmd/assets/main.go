// Command assets makes the build of the tracker's browser files that the
// collector embeds and serves (package server/assets): content-hashed
// names for every file but the entries, the files' references to each
// other rewritten to those names, brotli and gzip forms, and the manifest
// that lists them all. It prints the sizes users download.
//
// Usage: go run ./web/cmd/assets -out DIR [-entry FILE]... [-npm PKG -npm-entry FILE [-npm-file FILE]...] FILE...
//
//	go run ./web/cmd/assets -out DIR -static PUBLIC
//
// The second form copies the build in DIR to PUBLIC for a static host
// that compresses by itself, with a Cloudflare _headers file (the Worker's
// static assets, server/worker/build.sh).
//
// The entries (-entry: js/src/tracklet.js, js/src/tracklet.mjs) are ES
// module sources that esbuild bundles with the modules they import: a
// .js entry into one classic script (an IIFE, which is also the script of
// the module's Worker), a .mjs entry into one ES module. They keep their
// names, which sites put in their pages; every other FILE is named by some
// source as a string literal ("tracklet.wasm"). Tracklet's own scripts
// are minified with esbuild: the sources keep the comments that explain
// them, and the page parses a third of the bytes (the loader's synchronous
// part is what it pays before its load event). Files of DIR that the new
// manifest does not list are removed, apart from README.md and dot files.
//
// With -npm PKG, the same run writes the npm package "tracklet" into PKG
// (see npm.go).
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/andybalholm/brotli"
	"github.com/evanw/esbuild/pkg/api"

	"github.com/tracklet/tracklet/server/assets"
)

// encoders are the precompressed forms, best first: the collector serves
// the first the browser takes.
var encoders = []assets.Encoder{
	{Encoding: "br", Ext: ".br", Compress: func(b []byte) ([]byte, error) {
		return compress(b, func(w io.Writer) (io.WriteCloser, error) {
			return brotli.NewWriterLevel(w, brotli.BestCompression), nil
		})
	}},
	{Encoding: "gzip", Ext: ".gz", Compress: func(b []byte) ([]byte, error) {
		return compress(b, func(w io.Writer) (io.WriteCloser, error) {
			return gzip.NewWriterLevel(w, gzip.BestCompression)
		})
	}},
}

type listFlag []string

func (e *listFlag) String() string     { return strings.Join(*e, " ") }
func (e *listFlag) Set(v string) error { *e = append(*e, v); return nil }

func main() {
	log.SetFlags(0)
	out := flag.String("out", "", "the build directory (web/dist)")
	var entries, npmFiles listFlag
	flag.Var(&entries, "entry", "an entry module, bundled; it keeps its name (repeatable)")
	npmDir := flag.String("npm", "", "also write the npm package into this directory")
	npmEntry := flag.String("npm-entry", "", "the npm package's entry module (with -npm)")
	flag.Var(&npmFiles, "npm-file", "a file the npm package holds as it is: package.json, types (repeatable)")
	staticDir := flag.String("static", "", "instead of building, copy the build in -out to this directory for a static host")
	flag.Parse()
	if *staticDir != "" && *out != "" {
		if err := static(*out, *staticDir); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *out == "" || len(entries)+flag.NArg() == 0 {
		log.Fatal("usage: assets -out DIR [-entry FILE]... FILE...")
	}
	m, err := build(*out, entries, flag.Args())
	if err != nil {
		log.Fatal(err)
	}
	printSizes(os.Stdout, m)
	if *npmDir != "" {
		if *npmEntry == "" {
			log.Fatal("-npm needs -npm-entry")
		}
		if err := buildNPM(*npmDir, *npmEntry, npmFiles, flag.Args()); err != nil {
			log.Fatal(err)
		}
	}
}

// build reads the entries and files, builds them (assets.Build) and
// writes the result into dir, the manifest last.
func build(dir string, entries, files []string) (*assets.Manifest, error) {
	var sources []assets.Source
	for _, p := range append(slices.Clone(entries), files...) {
		entry := slices.Contains(entries, p)
		data, err := read(p, entry, nil)
		if err != nil {
			return nil, err
		}
		sources = append(sources, assets.Source{Name: filepath.Base(p), Data: data, Entry: entry})
	}
	built, m, err := assets.Build(sources, encoders)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// Each file is complete under its name before the manifest names it; the
	// manifest replaces the old one in one rename.
	names := m.Files()
	slices.Sort(names)
	names = slices.DeleteFunc(names, func(n string) bool { return n == assets.ManifestName })
	for _, name := range append(names, assets.ManifestName) {
		if err := writeFile(filepath.Join(dir, name), built[name]); err != nil {
			return nil, err
		}
	}
	return m, removeOthers(dir, m)
}

// writeFile writes data to path through a temporary file and a rename.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// removeOthers deletes what an older build left in dir: the collector
// embeds the whole folder, so old hashed files would grow its binary.
func removeOthers(dir string, m *assets.Manifest) error {
	keep := m.Files()
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, de := range des {
		name := de.Name()
		if de.IsDir() || name == "README.md" || strings.HasPrefix(name, ".") || slices.Contains(keep, name) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

// printSizes prints each asset's size as built and in each encoding, in
// the order of the build list.
func printSizes(w io.Writer, m *assets.Manifest) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "file\traw\tgzip\tbrotli\tserved as\t")
	var total [3]int64
	for _, a := range m.Assets {
		sizes := [3]int64{a.Size, a.Size, a.Size} // an encoding not smaller is not kept
		for _, e := range a.Encodings {
			sizes[map[string]int{"gzip": 1, "br": 2}[e.Encoding]] = e.Size
		}
		for i := range total {
			total[i] += sizes[i]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", a.Name, kb(sizes[0]), kb(sizes[1]), kb(sizes[2]), a.Path)
	}
	fmt.Fprintf(tw, "total\t%s\t%s\t%s\t\t\n", kb(total[0]), kb(total[1]), kb(total[2]))
	tw.Flush()
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

func kb(n int64) string { return fmt.Sprintf("%.1f KB", float64(n)/1024) }

// read returns the file at path as the build ships it: an entry bundled
// (with plugins, which may resolve its imports), another of Tracklet's
// own scripts minified, any other file (Go's wasm_exec.js, the module)
// as it is.
func read(path string, entry bool, plugins []api.Plugin) ([]byte, error) {
	if entry {
		return bundle(path, plugins)
	}
	data, err := os.ReadFile(path)
	if err != nil || !ours(path) {
		return data, err
	}
	return minify(path, data)
}

// ours reports whether path is one of Tracklet's own scripts, which are
// minified.
func ours(path string) bool {
	ext := filepath.Ext(path)
	return (ext == ".js" || ext == ".mjs") && filepath.Base(filepath.Dir(path)) == "js"
}

// minifyOptions are the same for a bundle and a single script: no
// comments and whitespace, local names shortened; properties and string
// literals (the asset names the build rewrites) are left alone.
var minifyOptions = api.TransformOptions{
	MinifyWhitespace:  true,
	MinifyIdentifiers: true,
	MinifySyntax:      true,
	LegalComments:     api.LegalCommentsNone,
}

// bundle returns the entry module at path with everything it imports,
// minified: a .mjs entry as an ES module, a .js one as a classic script
// (an IIFE), whose code is strict as its modules are.
func bundle(path string, plugins []api.Plugin) ([]byte, error) {
	opts := api.BuildOptions{
		EntryPoints:       []string{path},
		Bundle:            true,
		Write:             false,
		Platform:          api.PlatformBrowser,
		Format:            api.FormatIIFE,
		Banner:            map[string]string{"js": `"use strict";`},
		MinifyWhitespace:  minifyOptions.MinifyWhitespace,
		MinifyIdentifiers: minifyOptions.MinifyIdentifiers,
		MinifySyntax:      minifyOptions.MinifySyntax,
		LegalComments:     minifyOptions.LegalComments,
		Plugins:           plugins,
		LogLevel:          api.LogLevelSilent,
	}
	if filepath.Ext(path) == ".mjs" {
		opts.Format, opts.Banner = api.FormatESModule, nil
	}
	res := api.Build(opts)
	if len(res.Errors) > 0 {
		e := res.Errors[0]
		return nil, fmt.Errorf("bundling %s: %s (%s)", path, e.Text, where(e))
	}
	if len(res.OutputFiles) != 1 {
		return nil, fmt.Errorf("bundling %s: %d output files, want 1", path, len(res.OutputFiles))
	}
	return res.OutputFiles[0].Contents, nil
}

// minify returns the script src minified (minifyOptions).
func minify(path string, src []byte) ([]byte, error) {
	opts := minifyOptions
	opts.Loader, opts.Sourcefile = api.LoaderJS, path
	res := api.Transform(string(src), opts)
	if len(res.Errors) > 0 {
		return nil, fmt.Errorf("minifying %s: %s (%s)", path, res.Errors[0].Text, where(res.Errors[0]))
	}
	return res.Code, nil
}

func where(m api.Message) string {
	if m.Location == nil {
		return "no location"
	}
	return fmt.Sprintf("%s:%d", m.Location.File, m.Location.Line)
}
