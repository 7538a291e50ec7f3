package assets_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/tracklet/tracklet/server/assets"
)

// fakeEncoders stand in for brotli and gzip: a prefix and the bytes cut
// to a half, so that every form is smaller and recognisable.
var fakeEncoders = []assets.Encoder{
	{Encoding: "br", Ext: ".br", Compress: func(b []byte) ([]byte, error) { return append([]byte("br:"), b[:len(b)/2]...), nil }},
	{Encoding: "gzip", Ext: ".gz", Compress: func(b []byte) ([]byte, error) { return append([]byte("gz:"), b[:len(b)/2]...), nil }},
}

// trackerSources is a build list shaped like the Makefile's: two entries
// naming the module's files as the bundled tracklet.js and tracklet.mjs do, and a
// Worker script naming another file in turn.
func trackerSources(wasm string) []assets.Source {
	return []assets.Source{
		{Name: "tracklet.js", Entry: true, Data: []byte(`load(base + "wasm_exec.js"); instantiate(base + "tracklet.wasm"); worker(base + "tracklet-worker.js"); // tracklet.wasm in a comment stays`)},
		{Name: "tracklet.mjs", Entry: true, Data: []byte("import(new URL('wasm_exec.js', b)); fetch(new URL(\"tracklet.wasm\", b)); new URL(`tracklet.wasm`, b);")},
		{Name: "tracklet-worker.js", Data: []byte(`importScripts("tracklet-sender.js"); /* the worker's own code, long enough to compress */`)},
		{Name: "tracklet-sender.js", Data: []byte(`onmessage = function (e) { postMessage(e.data); }; /* the sender's code */`)},
		{Name: "wasm_exec.js", Data: []byte(`/* Go's glue, long enough to be compressed */`)},
		{Name: "tracklet.wasm", Data: []byte(wasm)},
	}
}

// buildFS runs Build and returns its files as an fs.FS.
func buildFS(t *testing.T, sources []assets.Source) (fstest.MapFS, *assets.Manifest) {
	t.Helper()
	files, m, err := assets.Build(sources, fakeEncoders)
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: data}
	}
	return fsys, m
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestBuildHashesAndRewrites(t *testing.T) {
	fsys, m := buildFS(t, trackerSources("\x00asm version 1, some bytes"))
	file := func(name string) (assets.Asset, string) {
		t.Helper()
		a, ok := m.Lookup(name)
		if !ok {
			t.Fatalf("%s is not in the manifest", name)
		}
		return a, string(fsys[a.Path].Data)
	}
	wasm, wasmData := file("tracklet.wasm")
	if wasmData != "\x00asm version 1, some bytes" || wasm.Path != "tracklet."+hashOf([]byte(wasmData))[:16]+".wasm" || !wasm.Hashed {
		t.Errorf("tracklet.wasm built as %+v", wasm)
	}
	sender, _ := file("tracklet-sender.js")
	exec, _ := file("wasm_exec.js")
	// A hashed file naming another is rewritten before it is hashed itself.
	worker, workerData := file("tracklet-worker.js")
	if workerData != `importScripts("`+sender.Path+`"); /* the worker's own code, long enough to compress */` ||
		worker.Path != "tracklet-worker."+hashOf([]byte(workerData))[:16]+".js" {
		t.Errorf("tracklet-worker.js built as %s: %q", worker.Path, workerData)
	}
	// The entries keep their names and name the hashed files, every
	// literal of them; text that is not a literal is left alone.
	js, jsData := file("tracklet.js")
	if js.Path != "tracklet.js" || js.Hashed {
		t.Errorf("tracklet.js built as %+v", js)
	}
	want := `load(base + "` + exec.Path + `"); instantiate(base + "` + wasm.Path + `"); worker(base + "` + worker.Path + `"); // tracklet.wasm in a comment stays`
	if jsData != want {
		t.Errorf("tracklet.js:\n got %s\nwant %s", jsData, want)
	}
	if _, mjs := file("tracklet.mjs"); mjs != "import(new URL('"+exec.Path+"', b)); fetch(new URL(\""+wasm.Path+"\", b)); new URL(`"+wasm.Path+"`, b);" {
		t.Errorf("tracklet.mjs: %s", mjs)
	}
	// Every file has its encodings, each recorded with its size and hash.
	for _, a := range m.Assets {
		files := []assets.File{a.File}
		for _, e := range a.Encodings {
			files = append(files, e.File)
		}
		if len(a.Encodings) != 2 || a.Encodings[0].Encoding != "br" || a.Encodings[0].Path != a.Path+".br" || a.Encodings[1].Path != a.Path+".gz" {
			t.Errorf("%s: encodings %+v", a.Name, a.Encodings)
		}
		for _, f := range files {
			data := fsys[f.Path].Data
			if data == nil || int64(len(data)) != f.Size || hashOf(data) != f.SHA256 {
				t.Errorf("%s: %s does not match its manifest entry %+v", a.Name, f.Path, f)
			}
		}
	}
	// The manifest is among the files, and reads back as the one returned.
	got, err := assets.ReadManifest(fsys)
	if err != nil || len(got.Assets) != len(m.Assets) {
		t.Fatalf("ReadManifest: %v, %v", got, err)
	}
	if len(fsys) != len(m.Files()) {
		t.Errorf("Build wrote %d files, the manifest lists %d", len(fsys), len(m.Files()))
	}

	// A change of the module changes its name and the entries' text, not
	// the names of the other files.
	_, m2 := buildFS(t, trackerSources("\x00asm version 2, some bytes"))
	wasm2, _ := m2.Lookup("tracklet.wasm")
	exec2, _ := m2.Lookup("wasm_exec.js")
	if wasm2.Path == wasm.Path || exec2.Path != exec.Path {
		t.Errorf("after a change of the wasm only: %s → %s, %s → %s", wasm.Path, wasm2.Path, exec.Path, exec2.Path)
	}
}

// An encoding no smaller than the bytes is not kept.
func TestBuildKeepsOnlySmallerEncodings(t *testing.T) {
	grow := []assets.Encoder{{Encoding: "br", Ext: ".br", Compress: func(b []byte) ([]byte, error) { return append(b, 0), nil }}}
	files, m, err := assets.Build([]assets.Source{{Name: "tracklet.js", Entry: true, Data: []byte("x")}}, grow)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := m.Lookup("tracklet.js"); len(a.Encodings) != 0 || files["tracklet.js.br"] != nil {
		t.Errorf("kept a larger encoding: %+v", a)
	}
}

func TestBuildRefuses(t *testing.T) {
	for _, tt := range []struct {
		name    string
		sources []assets.Source
		want    string
	}{
		{"a name not in the build list", []assets.Source{
			{Name: "tracklet.js", Entry: true, Data: []byte(`load("tracklet.wasm"); load('tracklet-worker.js')`)},
			{Name: "tracklet.wasm", Data: []byte("\x00asm")},
		}, `tracklet.js names "tracklet-worker.js", which is not in the build list`},
		{"a hashed file nobody names", []assets.Source{
			{Name: "tracklet.js", Entry: true, Data: []byte(`load("tracklet.wasm")`)},
			{Name: "tracklet.wasm", Data: []byte("\x00asm")},
			{Name: "wasm_exec.js", Data: []byte("/* go */")},
		}, `no source names "wasm_exec.js"`},
		{"a cycle", []assets.Source{
			{Name: "tracklet.js", Entry: true, Data: []byte(`load("a.js")`)},
			{Name: "a.js", Data: []byte(`load("b.js")`)},
			{Name: "b.js", Data: []byte(`load("a.js")`)},
		}, "a.js, b.js name each other"},
		{"a name twice", []assets.Source{
			{Name: "tracklet.js", Entry: true, Data: []byte(`x`)},
			{Name: "tracklet.js", Data: []byte(`y`)},
		}, "tracklet.js is in the build list twice"},
		{"a path", []assets.Source{{Name: "js/tracklet.js", Entry: true}}, "not a plain file name"},
	} {
		if _, _, err := assets.Build(tt.sources, fakeEncoders); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

// The collector refuses a manifest that does not match its files.
func TestNewChecksTheBuild(t *testing.T) {
	fsys, m := buildFS(t, trackerSources("\x00asm, some bytes"))
	if _, err := assets.New(fstest.MapFS{"README.md": {}}, 0); err != assets.ErrNoBuild {
		t.Errorf("no manifest: %v, want ErrNoBuild", err)
	}
	wasm, _ := m.Lookup("tracklet.wasm")
	for _, tt := range []struct {
		name   string
		change func(fstest.MapFS)
		want   string
	}{
		{"a file missing", func(f fstest.MapFS) { delete(f, wasm.Path+".br") }, "the manifest names " + wasm.Path + ".br"},
		{"a file of another size", func(f fstest.MapFS) { f[wasm.Path] = &fstest.MapFile{Data: []byte("x")} }, "has 1 bytes"},
		{"a manifest that is not JSON", func(f fstest.MapFS) { f[assets.ManifestName] = &fstest.MapFile{Data: []byte("{")} }, "manifest.json"},
		{"a hashed name of another shape", func(f fstest.MapFS) {
			f[assets.ManifestName] = &fstest.MapFile{Data: bytes.Replace(f[assets.ManifestName].Data, []byte(`"file": "`+wasm.Path), []byte(`"file": "other.wasm`), 1)}
		}, "is not its hashed name"},
	} {
		broken := fstest.MapFS{}
		for k, v := range fsys {
			broken[k] = v
		}
		tt.change(broken)
		if _, err := assets.New(broken, 0); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
	// Verify reads the bytes: a file changed in place is found.
	set, err := assets.New(fsys, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Verify(); err != nil {
		t.Errorf("Verify of the build: %v", err)
	}
	data := bytes.Clone(fsys[wasm.Path].Data)
	data[0] ^= 1
	fsys[wasm.Path] = &fstest.MapFile{Data: data}
	if err := set.Verify(); err == nil || !regexp.MustCompile(`tracklet\.[0-9a-f]{16}\.wasm does not have the SHA-256`).MatchString(err.Error()) {
		t.Errorf("Verify of a changed file: %v", err)
	}
}
