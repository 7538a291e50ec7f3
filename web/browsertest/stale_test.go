package browsertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckDist builds a small tree, stamps its web/dist, and edits it the
// ways a developer does: a source edit makes web/dist stale, a test edit
// does not, and no stamp at all is refused too.
func TestCheckDist(t *testing.T) {
	root := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"go.mod", "go.sum", "event/event.go", "wasm/main.go", "wasm/tracker/flush.go",
		"js/src/calls.js", "js/npm/package.json", "web/cmd/assets/main.go", "server/assets/build.go", "Makefile", "wasm/main_test.go", "js/testdata/usage.ts"} {
		write(f, "v1 of "+f)
	}
	write("web/dist/README.md", "")
	if err := CheckDist(root); err == nil || !strings.Contains(err.Error(), "missing: run make build") {
		t.Fatalf("without a stamp: %v, want it missing", err)
	}
	stamp := func() {
		t.Helper()
		sum, err := SourcesSum(root)
		if err != nil {
			t.Fatal(err)
		}
		write("web/dist/"+StampFile, sum+"\n")
	}
	stamp()
	if err := CheckDist(root); err != nil {
		t.Fatalf("just stamped: %v", err)
	}
	// Tests, test data and files outside the sources build nothing.
	write("wasm/main_test.go", "v2")
	write("js/testdata/usage.ts", "v2")
	write("server/http/handler.go", "v2")
	if err := CheckDist(root); err != nil {
		t.Fatalf("after editing only tests and the server: %v", err)
	}
	for _, src := range []string{"wasm/tracker/flush.go", "event/event.go", "js/src/calls.js", "js/npm/package.json", "go.sum", "wasm/new.go"} {
		write(src, "v2 of "+src)
		if err := CheckDist(root); err == nil || !strings.Contains(err.Error(), "web/dist is stale: run make build") {
			t.Errorf("after editing %s: %v, want web/dist stale", src, err)
		}
		stamp()
	}
}
