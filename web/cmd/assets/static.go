package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tracklet/tracklet/server/assets"
)

// static copies the build in from to dir for a static host that compresses
// by itself (the Cloudflare Worker's static assets, server/worker/build.sh):
// each asset's file as built, and a _headers file with the caching rules
// the collector applies (package assets). The plain and older hashed names
// the collector also answers are not there: a static host has no fallback.
func static(from, dir string) error {
	m, err := assets.ReadManifest(os.DirFS(from))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Exact paths only: where two rules match, Cloudflare joins their
	// values, and two Cache-Control values would contradict each other.
	var h strings.Builder
	h.WriteString("# Written by web/cmd/assets from web/dist/manifest.json.\n/*\n  Access-Control-Allow-Origin: *\n  Cross-Origin-Resource-Policy: cross-origin\n")
	for _, a := range m.Assets {
		data, err := os.ReadFile(filepath.Join(from, a.Path))
		if err != nil {
			return err
		}
		if err := writeFile(filepath.Join(dir, a.Path), data); err != nil {
			return err
		}
		cache := assets.LoaderCache(0)
		if a.Hashed {
			cache = assets.ImmutableCache
		}
		fmt.Fprintf(&h, "/%s\n  Cache-Control: %s\n", a.Path, cache)
	}
	return writeFile(filepath.Join(dir, "_headers"), []byte(h.String()))
}
