package js_test

import (
	"os/exec"
	"testing"

	"github.com/tracklet/tracklet/web/browsertest"
)

// TestTypeDeclarations compiles testdata/usage.ts, which uses every
// function and option of tracklet.d.ts, and testdata/usage_mjs.ts, which
// imports the ES module entry by its file name (tracklet.d.mts), with tsc
// in strict mode (browsertest.TSC finds it, or fails the test).
func TestTypeDeclarations(t *testing.T) {
	cmd := exec.Command(browsertest.TSC(t), "--noEmit", "--strict", "--target", "es2022", "--module", "esnext",
		"--moduleResolution", "bundler", "--lib", "es2022,dom", "testdata/usage.ts", "testdata/usage_mjs.ts")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tsc: %v\n%s", err, out)
	}
}
