// Package web holds what the collector serves to browsers: the built
// tracker (dist/, made by `make build`), the demo site (demo/) and the admin
// dashboard (dashboard/). All are embedded so that the collector is one
// self-contained binary.
package web

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

//go:embed demo
var demo embed.FS

//go:embed dashboard
var dashboard embed.FS

// Dist returns the built tracker as `make wasm` writes it: manifest.json
// and the files it lists (the loaders tracklet.js and tracklet.mjs, the
// content-hashed module, wasm_exec.js and sender script, and the brotli and
// gzip form of each; see package server/assets). It holds only a README
// when `make build` has not run.
func Dist() fs.FS { return sub(dist, "dist") }

// Demo returns the demo site. Its .html files are templates that take the
// demo tracker's id as {{.TrackingID}}.
func Demo() fs.FS { return sub(demo, "demo") }

// Dashboard returns the admin dashboard: a static page, its script and its
// style sheet. It holds no data; it reads everything from the admin API.
func Dashboard() fs.FS { return sub(dashboard, "dashboard") }

func sub(fsys fs.FS, dir string) fs.FS {
	s, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err) // dir is a constant that go:embed has already checked
	}
	return s
}
