package js_test

import (
	"os"
	"os/exec"
	"testing"
)

// TestTypeDeclarations compiles testdata/usage.ts, which uses every
// function and option of tracklet.d.ts, and testdata/usage_mjs.ts, which
// imports the ES module entry by its file name (tracklet.d.mts), with tsc
// in strict mode. tsc is not part of the Go toolchain: `make test` installs
// the pinned TypeScript outside the repository and sets $TSC; by hand, set
// $TSC or put tsc on PATH. Without it the test fails: a check that skips
// itself passes on the very machine (a fresh CI one) where nobody looks.
func TestTypeDeclarations(t *testing.T) {
	tsc := os.Getenv("TSC")
	if tsc == "" {
		p, err := exec.LookPath("tsc")
		if err != nil {
			t.Fatal("tsc not found: run `make test` (it installs TypeScript), or set $TSC")
		}
		tsc = p
	}
	cmd := exec.Command(tsc, "--noEmit", "--strict", "--target", "es2022", "--module", "esnext",
		"--moduleResolution", "bundler", "--lib", "es2022,dom", "testdata/usage.ts", "testdata/usage_mjs.ts")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tsc: %v\n%s", err, out)
	}
}
