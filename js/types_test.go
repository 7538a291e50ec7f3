package js_test

import (
	"os"
	"os/exec"
	"testing"
)

// TestTypeDeclarations compiles testdata/usage.ts, which uses every
// function and option of tracklet.d.ts, and testdata/usage_mjs.ts, which
// imports the ES module entry by its file name (tracklet.d.mts), with tsc
// in strict mode. tsc is
// not part of the Go toolchain: set $TSC (e.g. after `npm install
// typescript` in a directory outside the repository) or put it on PATH.
func TestTypeDeclarations(t *testing.T) {
	tsc := os.Getenv("TSC")
	if tsc == "" {
		p, err := exec.LookPath("tsc")
		if err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("tsc not found: .ci/run installs TypeScript and sets $TSC")
			}
			t.Skip("tsc not found: set $TSC to check tracklet.d.ts")
		}
		tsc = p
	}
	cmd := exec.Command(tsc, "--noEmit", "--strict", "--target", "es2022", "--module", "esnext",
		"--moduleResolution", "bundler", "--lib", "es2022,dom", "testdata/usage.ts", "testdata/usage_mjs.ts")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tsc: %v\n%s", err, out)
	}
}
