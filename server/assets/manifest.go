// Package assets is the tracker's browser files as the collector serves
// them: a manifest the build writes (Build, run by `make wasm` through
// web/cmd/assets) and a Set that serves what it lists (New).
//
// The build gives every file but the entries (tracklet.js, tracklet.mjs:
// the URLs sites put in their pages) a content-hashed name, rewrites each
// file's references to the others to those names, and compresses each one
// with brotli and gzip. The manifest records, per logical name, the file
// and every encoding of it with its size and SHA-256. The collector reads
// it and serves those files as they are: nothing is hashed, rewritten or
// compressed at start-up or per request.
package assets

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
)

// ManifestName is the manifest's file, beside the assets.
const ManifestName = "manifest.json"

// Manifest lists a build's assets.
type Manifest struct {
	Assets []Asset `json:"assets"`
}

// Asset is one logical file of the tracker.
type Asset struct {
	// Name is the name the sources use: "tracklet.wasm".
	Name string `json:"name"`
	// Hashed says File carries the content hash ("tracklet.<hash>.wasm"):
	// its bytes never change, browsers may cache it for ever. An entry's
	// File is its Name.
	Hashed bool `json:"hashed"`
	// File is the asset's bytes as built (identity encoding).
	File
	// Encodings are the precompressed forms, best first.
	Encodings []Encoded `json:"encodings,omitempty"`
}

// File is one file of a build, beside the manifest.
type File struct {
	Path   string `json:"file"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // hex
}

// Encoded is an asset compressed with a Content-Encoding.
type Encoded struct {
	Encoding string `json:"encoding"` // "br", "gzip"
	File
}

// hashLen is how many hex digits of the SHA-256 a hashed name carries.
const hashLen = 16

// HashedName is the content-hashed name of the asset name whose bytes
// hash to sum (hex): "tracklet.wasm" → "tracklet.<16 hex>.wasm".
func HashedName(name, sum string) string {
	ext := path.Ext(name)
	return strings.TrimSuffix(name, ext) + "." + sum[:hashLen] + ext
}

// olderNames matches any hashed name of the asset name, as an older build
// named it: "tracklet.<any 16 hex>.wasm".
func olderNames(name string) *regexp.Regexp {
	ext := path.Ext(name)
	return regexp.MustCompile(`^` + regexp.QuoteMeta(strings.TrimSuffix(name, ext)) +
		`\.[0-9a-f]{` + fmt.Sprint(hashLen) + `}` + regexp.QuoteMeta(ext) + `$`)
}

// ReadManifest reads the manifest of fsys.
func ReadManifest(fsys fs.FS) (*Manifest, error) {
	b, err := fs.ReadFile(fsys, ManifestName)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("assets: %s: %w", ManifestName, err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("assets: %s: %w", ManifestName, err)
	}
	return &m, nil
}

// check rejects a manifest the Set could not serve unambiguously.
func (m *Manifest) check() error {
	seen := map[string]bool{}
	for _, a := range m.Assets {
		if !validName(a.Name) || !validName(a.Path) {
			return fmt.Errorf("asset %q (file %q): not a plain file name", a.Name, a.Path)
		}
		if a.Hashed != (a.Path != a.Name) || a.Hashed && !olderNames(a.Name).MatchString(a.Path) {
			return fmt.Errorf("asset %q: file %q is not its hashed name", a.Name, a.Path)
		}
		names := []string{a.Name}
		if a.Hashed {
			names = append(names, a.Path)
		}
		for _, n := range names {
			if seen[n] {
				return fmt.Errorf("asset %q: name %q listed twice", a.Name, n)
			}
			seen[n] = true
		}
		for _, e := range a.Encodings {
			if !validName(e.Path) || e.Encoding != "br" && e.Encoding != "gzip" {
				return fmt.Errorf("asset %q: encoding %q in %q", a.Name, e.Encoding, e.Path)
			}
		}
	}
	return nil
}

func validName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, `/\`) && fs.ValidPath(name)
}

// Lookup returns the asset of the logical name.
func (m *Manifest) Lookup(name string) (Asset, bool) {
	for _, a := range m.Assets {
		if a.Name == name {
			return a, true
		}
	}
	return Asset{}, false
}

// Files returns every file the manifest names, the manifest's own
// included: what a build directory holds.
func (m *Manifest) Files() []string {
	names := []string{ManifestName}
	for _, a := range m.Assets {
		names = append(names, a.Path)
		for _, e := range a.Encodings {
			names = append(names, e.Path)
		}
	}
	return names
}
