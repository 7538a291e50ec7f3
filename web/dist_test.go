package web_test

import (
	"testing"

	"github.com/tracklet/tracklet/server/assets"
	"github.com/tracklet/tracklet/web"
	"github.com/tracklet/tracklet/web/browsertest"
)

// The collector binary embeds web/dist as `make build` left it: a fresh
// build whose manifest matches every byte of its files, and whose loaders
// name the hashed files, every one that the build list hashes.
func TestDistIsTheBuild(t *testing.T) {
	browsertest.DistDir(t) // fails on a stale or missing build
	set, err := assets.New(web.Dist(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Verify(); err != nil {
		t.Fatal(err)
	}
	m, err := assets.ReadManifest(web.Dist())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tracklet.js", "tracklet.mjs", "tracklet.wasm", "wasm_exec.js", "tracklet-sender.js"} {
		a, ok := m.Lookup(name)
		if !ok {
			t.Errorf("%s is not in the manifest", name)
			continue
		}
		if len(a.Encodings) != 2 || a.Encodings[0].Encoding != "br" || a.Encodings[1].Encoding != "gzip" {
			t.Errorf("%s: encodings %+v, want br and gzip", name, a.Encodings)
		}
	}
}
