package js_test

import (
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/tracklet/tracklet/wasm/tracker"
)

// The option names and kinds have one home, tracker.OptionList. The
// declarations users compile against, and the loader's table of what its
// eventJSON writes when the page is left, are held to it here.
func TestOptionsAreTheModules(t *testing.T) {
	var o tracker.Options
	want := map[string][2]string{} // name → TypeScript type, loader's type
	for _, opt := range tracker.OptionList {
		var kind [2]string
		switch opt.Field(&o).(type) {
		case **string:
			kind = [2]string{"string", "string"}
		case **float64:
			kind = [2]string{"number", "number"}
		case *[]string:
			kind = [2]string{"string[]", "strings"}
		case *time.Time:
			kind = [2]string{"Date | number", "number"} // the loader writes only what a number gives
		default:
			t.Fatalf("option %s: a field of type %T has no kind here", opt.Name, opt.Field(&o))
		}
		want[opt.Name] = kind
	}
	read := func(file, block, member string, which int) {
		t.Helper()
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(block).FindSubmatch(src)
		if m == nil {
			t.Fatalf("%s has no %s", file, block)
		}
		got := map[string]string{}
		for _, mm := range regexp.MustCompile(member).FindAllSubmatch(m[1], -1) {
			got[string(mm[1])] = string(mm[2])
		}
		for name, kind := range want {
			if got[name] != kind[which] {
				t.Errorf("%s: option %s is %q, the module's is %q", file, name, got[name], kind[which])
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("%s: option %s is not the module's", file, name)
			}
		}
	}
	read("tracklet.d.ts", `(?s)export interface TrackOptions \{(.*?)\n\}`, `(?m)^\s*(\w+)\?: ([^;]+);`, 0)
	read("src/calls.js", `(?s)var plainOptions = \{(.*?)\};`, `(\w+): "(\w+)"`, 1)
}
