package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestPackageOf(t *testing.T) {
	pkgs := map[string]string{
		"main":                                   "github.com/tracklet/tracklet/wasm",
		"github.com_go_playground_validator_v10": "github.com/go-playground/validator/v10",
		"net":                                    "net",
		"net_netip":                              "net/netip",
		"github.com_gabriel_vasile_mimetype":     "github.com/gabriel-vasile/mimetype",
		"github.com_gabriel_vasile_mimetype_internal_magic": "github.com/gabriel-vasile/mimetype/internal/magic",
	}
	tests := []struct {
		sym   string
		depth int
		want  string
	}{
		{"main.main", 0, "github.com/tracklet/tracklet/wasm"},
		{"github.com_go_playground_validator_v10.__Validate_.Struct", 0, "github.com/go-playground/validator/v10"},
		{"github.com_go_playground_validator_v10.isEmail", 2, "github.com/go-playground"},
		{"net.__Resolver_.lookupIP.func1", 0, "net"},
		{"net_netip.Addr.String", 0, "net/netip"},
		// the longest package wins over its parent
		{"github.com_gabriel_vasile_mimetype_internal_magic.Png", 0, "github.com/gabriel-vasile/mimetype/internal/magic"},
		// generated equality functions count for the type's package
		{"type_.eq.net_netip.Addr", 0, "net/netip"},
		{"type_.eq._2_string", 0, generated},
		{"go_buildid", 0, generated},
		{"wasm_export_run", 0, generated},
	}
	for _, tt := range tests {
		if got := packageOf(pkgs, tt.sym, tt.depth); got != tt.want {
			t.Errorf("packageOf(%q, %d) = %q, want %q", tt.sym, tt.depth, got, tt.want)
		}
	}
}

// wasmModule assembles a module: one imported function, two defined ones
// with bodies of 3 and 5 bytes, a data section and a name section.
func wasmModule() []byte {
	sec := func(id byte, payload ...byte) []byte { return append([]byte{id, byte(len(payload))}, payload...) }
	str := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	var imp []byte
	imp = append(imp, 1)
	imp = append(imp, str("go")...)
	imp = append(imp, str("debug")...)
	imp = append(imp, 0, 0) // func, type 0
	code := []byte{2, 3, 0, 0x41, 0x0b, 5, 0, 0x41, 0x01, 0x1a, 0x0b}
	var names []byte
	names = append(names, 2)
	names = append(names, 1)
	names = append(names, str("main.main")...)
	names = append(names, 2)
	names = append(names, str("net.dial")...)
	custom := append(str("name"), sec(1, names...)...)
	m := append([]byte{}, magic...)
	m = append(m, sec(secImport, imp...)...)
	m = append(m, sec(secCode, code...)...)
	m = append(m, sec(secData, 1, 2, 3, 4)...)
	m = append(m, sec(secCustom, custom...)...)
	return m
}

func TestParseModule(t *testing.T) {
	raw := wasmModule()
	m, err := parseModule(raw)
	if err != nil {
		t.Fatal(err)
	}
	if m.imports != 1 || len(m.bodies) != 2 || len(m.bodies[0]) != 3 || len(m.bodies[1]) != 5 {
		t.Fatalf("imports %d, bodies %q", m.imports, m.bodies)
	}
	if m.names[1] != "main.main" || m.names[2] != "net.dial" {
		t.Errorf("names = %v", m.names)
	}
	if !bytes.Equal(m.data, []byte{1, 2, 3, 4}) {
		t.Errorf("data = %v", m.data)
	}
	if s := m.stripped(); bytes.Contains(s, []byte("main.main")) || len(s) >= len(raw) || !bytes.HasPrefix(raw, s) {
		t.Errorf("stripped module still has its name section (%d of %d bytes)", len(s), len(raw))
	}

	var out bytes.Buffer
	report(&out, m, map[string]string{"main": "example.com/app", "net": "net"}, 0, 0, false)
	for _, want := range []string{"example.com/app", "net", "module as served"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestParseModuleRejectsTruncated(t *testing.T) {
	raw := wasmModule()
	for _, n := range []int{4, len(magic) + 3, len(raw) - 1} {
		if _, err := parseModule(raw[:n]); err == nil {
			t.Errorf("parseModule of the first %d bytes: no error", n)
		}
	}
}
