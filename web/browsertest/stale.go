package browsertest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// StampFile, in web/dist, records SourcesSum of the tree `make build` built
// it from (a dot file: go:embed leaves it out of the collector). The browser tests compare it with the tree they run in, so that
// a test after an edit of wasm/ fails instead of testing the old module.
const StampFile = ".sources.sha256"

// stampSources are what web/dist is built from, relative to the module
// root: the browser module and the model it compiles in, the loaders, the
// asset build (web/cmd/assets, server/assets), the Makefile (build list
// and flags), and the module's dependencies.
var stampSources = []string{"event", "wasm", "js", "web/cmd/assets", "server/assets", "Makefile", "go.mod", "go.sum"}

// SourcesSum hashes the sources of web/dist in the tree at root, and the Go
// release that builds them (wasm_exec.js comes with it). Tests and test
// data change nothing that is built, so they are left out.
func SourcesSum(root string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", runtime.Version())
	for _, src := range stampSources {
		err := filepath.WalkDir(filepath.Join(root, src), func(path string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return err
			case d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules"):
				return filepath.SkipDir
			case d.IsDir() || strings.HasSuffix(d.Name(), "_test.go"):
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			fmt.Fprintf(h, "%s %x\n", filepath.ToSlash(rel), sha256.Sum256(b))
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("hashing the sources of web/dist: %w", err)
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}

// CheckDist fails unless web/dist under root was built from the sources
// now in the tree.
func CheckDist(root string) error { return checkStamp(root, "web/dist") }

// checkStamp fails unless dir (relative to root: web/dist, bin/npm, which
// `make build` writes in one step) holds the StampFile of the sources now
// in the tree.
func checkStamp(root, dir string) error {
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(dir), StampFile))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s/%s is missing: run make build", dir, StampFile)
	}
	if err != nil {
		return err
	}
	want, err := SourcesSum(root)
	if err != nil {
		return err
	}
	if got := strings.TrimSpace(string(b)); got != want {
		return fmt.Errorf("%s is stale: run make build (it was built from sources %.12s, the tree has %.12s)", dir, got, want)
	}
	return nil
}

// DistDir returns web/dist after checking it is fresh (see CheckDist).
func DistDir(t testing.TB) string {
	t.Helper()
	root, err := moduleRoot()
	if err == nil {
		err = CheckDist(root)
	}
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "web", "dist")
}

// NPMDir returns the npm package directory `make build` writes, bin/npm,
// after checking it is fresh (as web/dist: see CheckDist).
func NPMDir(t testing.TB) string {
	t.Helper()
	root, err := moduleRoot()
	if err == nil {
		err = checkStamp(root, "bin/npm")
	}
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "bin", "npm")
}
