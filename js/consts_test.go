package js_test

import (
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/tracklet/tracklet/wasm/tracker"
)

// The loader decides some things before the module runs with the module's
// own defaults; its copies are held to the Go constants here, so that the
// rule keeps one home.
func TestLoaderDefaultsAreTheModules(t *testing.T) {
	src, err := os.ReadFile("src/page.js") // the loader on the page, as tracklet.js bundles it
	if err != nil {
		t.Fatal(err)
	}
	number := func(re string) int64 {
		t.Helper()
		m := regexp.MustCompile(re).FindSubmatch(src)
		if m == nil {
			t.Fatalf("src/page.js has no %s", re)
		}
		n, err := strconv.ParseInt(string(m[1]), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"maxQueue", number(`\+config\.maxQueue : (\d+); \}`), tracker.DefaultMaxQueue},
		{"keepaliveBudget (KB)", number(`var keepaliveBudget = (\d+) << 10;`), tracker.KeepaliveBudget >> 10},
		{"maxJournalEvents", number(`var maxJournalEvents = (\d+);`), tracker.DefaultMaxQueue},
		{"sessionTimeoutMs (minutes)", number(`var sessionTimeoutMs = (\d+) \* 60 \* 1000;`), int64(tracker.DefaultSessionTimeout / time.Minute)},
	} {
		if c.got != c.want {
			t.Errorf("tracklet.js: %s = %d, the module's default is %d", c.name, c.got, c.want)
		}
	}
}
