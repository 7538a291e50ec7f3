package assets

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Source is one file of the build list.
type Source struct {
	Name  string // the name the sources use: "tracklet.wasm"
	Data  []byte
	Entry bool // keeps its name: sites put it in their pages
}

// Encoder compresses an asset for one Content-Encoding.
type Encoder struct {
	Encoding string // "br", "gzip"
	Ext      string // of the file: ".br", ".gz"
	Compress func([]byte) ([]byte, error)
}

// textExts are the sources whose references to other assets the build
// rewrites.
var textExts = []string{".js", ".mjs"}

// fileLiteral is a JavaScript string literal (double, single or back
// quotes) that looks like the name of an asset: the build refuses one that
// is not in the build list, for the browser would fetch a file the
// collector does not serve. Its quotes are groups 1 and 3, the name group 2.
var fileLiteral = regexp.MustCompile("([\"'`])([A-Za-z0-9_-][A-Za-z0-9_.-]*\\.(?:m?js|wasm))([\"'`])")

// quotes are those of fileLiteral.
var quotes = []string{`"`, `'`, "`"}

// Build makes the files of a build from the build list: every source
// that is not an entry gets its content-hashed name (HashedName); in the
// JavaScript sources each string literal that is the whole name of another
// source ("tracklet.wasm", in any of JavaScript's three quotes) becomes that
// name, before the file is hashed itself; every file gets each encoder's form where that is smaller. It
// returns the files by name, the manifest among them, and the manifest.
//
// A source that names one not in the list, a hashed source that no
// source names (nothing could fetch it) and sources that name each other
// in a cycle are errors.
func Build(sources []Source, encoders []Encoder) (map[string][]byte, *Manifest, error) {
	byName := map[string]*Source{}
	for i, s := range sources {
		if !validName(s.Name) {
			return nil, nil, fmt.Errorf("assets: %q is not a plain file name", s.Name)
		}
		if byName[s.Name] != nil {
			return nil, nil, fmt.Errorf("assets: %s is in the build list twice", s.Name)
		}
		byName[s.Name] = &sources[i]
	}

	// What each source names, and who names each hashed source.
	refs := map[string][]string{}
	namedBy := map[string]bool{}
	for _, s := range sources {
		if !slices.Contains(textExts, path.Ext(s.Name)) {
			continue
		}
		for _, m := range fileLiteral.FindAllSubmatch(s.Data, -1) {
			if !bytes.Equal(m[1], m[3]) {
				continue // the end of one string and the start of another
			}
			name := string(m[2])
			dep, ok := byName[name]
			switch {
			case !ok:
				return nil, nil, fmt.Errorf("assets: %s names %q, which is not in the build list", s.Name, name)
			case dep.Entry || name == s.Name || slices.Contains(refs[s.Name], name):
				continue
			}
			refs[s.Name] = append(refs[s.Name], name)
			namedBy[name] = true
		}
	}
	for _, s := range sources {
		if !s.Entry && !namedBy[s.Name] {
			return nil, nil, fmt.Errorf("assets: no source names %q (as a string literal), so no browser would fetch it", s.Name)
		}
	}

	// A source is final once those it names have their hashed names.
	files := map[string][]byte{}
	hashed := map[string]string{} // name → file, of the sources done
	m := &Manifest{Assets: make([]Asset, len(sources))}
	for len(hashed) < len(sources) {
		progress := false
		for i, s := range sources {
			if _, done := hashed[s.Name]; done || slices.ContainsFunc(refs[s.Name], func(dep string) bool { _, ok := hashed[dep]; return !ok }) {
				continue
			}
			data := s.Data
			for _, dep := range refs[s.Name] {
				for _, q := range quotes {
					data = bytes.ReplaceAll(data, []byte(q+dep+q), []byte(q+hashed[dep]+q))
				}
			}
			a := Asset{Name: s.Name, Hashed: !s.Entry, File: fileOf(s.Name, data)}
			if a.Hashed {
				a.Path = HashedName(s.Name, a.SHA256)
			}
			files[a.Path] = data
			for _, enc := range encoders {
				z, err := enc.Compress(data)
				if err != nil {
					return nil, nil, fmt.Errorf("assets: %s of %s: %w", enc.Encoding, s.Name, err)
				}
				if len(z) >= len(data) {
					continue // no use: serve the bytes as they are
				}
				f := fileOf(a.Path+enc.Ext, z)
				files[f.Path] = z
				a.Encodings = append(a.Encodings, Encoded{Encoding: enc.Encoding, File: f})
			}
			m.Assets[i] = a
			hashed[s.Name] = a.Path
			progress = true
		}
		if !progress {
			var left []string
			for _, s := range sources {
				if _, done := hashed[s.Name]; !done {
					left = append(left, s.Name)
				}
			}
			return nil, nil, fmt.Errorf("assets: %s name each other: no order hashes them", strings.Join(left, ", "))
		}
	}
	if err := m.check(); err != nil {
		return nil, nil, fmt.Errorf("assets: %w", err)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	files[ManifestName] = append(b, '\n')
	return files, m, nil
}

func fileOf(name string, data []byte) File {
	sum := sha256.Sum256(data)
	return File{Path: name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
}
