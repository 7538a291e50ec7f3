package browsertest

import (
	"os"
	"os/exec"
	"testing"
)

// TSC finds the TypeScript compiler for the tests that check the
// declarations: $TSC (`make test` installs the pinned TypeScript outside
// the repository and sets it), else tsc on PATH. Without it the test
// fails: a check that skips itself passes on the very machine (a fresh CI
// one) where nobody looks.
func TSC(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("TSC"); p != "" {
		return p
	}
	p, err := exec.LookPath("tsc")
	if err != nil {
		t.Fatal("tsc not found: run `make test` (it installs TypeScript), or set $TSC")
	}
	return p
}
