package http

import (
	"errors"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/tracklet/tracklet/server/assets"
)

// DefaultLoaderMaxAge is how long browsers may use the loaders without
// asking (Config.LoaderMaxAge).
const DefaultLoaderMaxAge = assets.DefaultLoaderMaxAge

// assetFiles serves the tracker's browser files as the build's manifest
// lists them (package assets: hashed names, every encoding, the loaders
// naming the hashed files, all made by `make wasm`).
type assetFiles struct{ set *assets.Set }

// newAssets returns the build in fsys, or nil when fsys holds none. A
// manifest that does not match its files is a broken build: the collector
// refuses to start rather than serve a tracker that cannot load.
func newAssets(fsys fs.FS, loaderMaxAge time.Duration) *assetFiles {
	set, err := assets.New(fsys, loaderMaxAge)
	if errors.Is(err, assets.ErrNoBuild) {
		return nil
	}
	if err != nil {
		panic(err)
	}
	return &assetFiles{set}
}

// has reports whether p names an asset.
func (a *assetFiles) has(p string) bool { return a != nil && a.set.Has(strings.TrimPrefix(p, "/")) }

func (a *assetFiles) serve(w http.ResponseWriter, r *http.Request, p string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		WriteError(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "use GET")
		return
	}
	a.set.Serve(w, r, strings.TrimPrefix(p, "/"))
}

// contentType is the Content-Type of a file the collector serves.
func contentType(name string) string { return assets.ContentType(name) }
