//go:build !js

package worker_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// maxScriptGzip is Cloudflare's limit on a worker's script on the free
// plan: 3 MiB once gzipped, as wrangler measures it before uploading.
const maxScriptGzip = 3 << 20

var uploadLine = regexp.MustCompile(`Total Upload: ([0-9.]+) KiB / gzip: ([0-9.]+) KiB`)

// TestWorkerSize asks wrangler what a deploy would upload (--dry-run: no
// network) and fails if Cloudflare would refuse the script.
func TestWorkerSize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker and runs wrangler")
	}
	setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out := wrangler(t, ctx, "deploy", "--dry-run", "--outdir", t.TempDir())
	m := uploadLine.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no size report in wrangler's output:\n%s", out)
	}
	raw, _ := strconv.ParseFloat(string(m[1]), 64)
	gz, _ := strconv.ParseFloat(string(m[2]), 64)
	st, err := os.Stat(filepath.Join(workerDir(t), "build", "app.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("worker: app.wasm %d bytes; upload %.0f KiB raw, %.0f KiB gzip (limit %d KiB)", st.Size(), raw, gz, maxScriptGzip>>10)
	if gz*1024 > maxScriptGzip {
		t.Errorf("the worker is %.0f KiB gzipped, over Cloudflare's %d KiB limit: see what package http links (go list -deps)",
			gz, maxScriptGzip>>10)
	}
}
