// Command wasmsize prints what each Go package costs in the browser module:
// the bytes of its functions in tracklet.wasm's code section, and what they
// weigh under brotli, biggest first, with the module's total and its brotli
// size as served.
//
// It needs a module linked without -s (so the wasm "name" section still
// names every function); `make wasm-size` builds one with the flags of
// `make wasm` otherwise unchanged and runs this command on it:
//
//	go run ./web/cmd/wasmsize [-n 30] [-depth 0] [-tags T] [-pkg ./wasm] FILE.wasm
//
// Data (type descriptors, strings, tables, the function table Go's runtime
// uses for stack traces) is one row: the wasm data section does not say
// which package a byte belongs to.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/andybalholm/brotli"
)

func main() {
	log.SetFlags(0)
	top := flag.Int("n", 30, "packages to list (0: all)")
	depth := flag.Int("depth", 0, "group packages by their first N path elements (0: whole import path)")
	tags := flag.String("tags", "", "build tags the module was built with (for go list)")
	pattern := flag.String("pkg", "./wasm", "the main package the module was built from (for go list)")
	perPkg := flag.Bool("brotli", true, "compress each package's code on its own (slow: minutes on a busy machine)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: wasmsize [-n 30] [-depth 0] [-tags T] [-pkg ./wasm] FILE.wasm (linked without -s)")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	raw, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		log.Fatal(err)
	}
	m, err := parseModule(raw)
	if err != nil {
		log.Fatalf("%s: %v", flag.Arg(0), err)
	}
	if len(m.names) == 0 {
		log.Fatalf("%s has no function names: link it without -s (make wasm-size does)", flag.Arg(0))
	}
	pkgs, err := packages(*tags, *pattern)
	if err != nil {
		log.Fatal(err)
	}
	report(os.Stdout, m, pkgs, *top, *depth, *perPkg)
}

// pkgSize is one row of the report.
type pkgSize struct {
	name   string
	funcs  int
	code   []byte // the package's function bodies, concatenated
	brotli int
}

func report(w io.Writer, m *module, pkgs map[string]string, top, depth int, perPkg bool) {
	byPkg := map[string]*pkgSize{}
	for i, body := range m.bodies {
		name := packageOf(pkgs, m.names[m.imports+i], depth)
		p := byPkg[name]
		if p == nil {
			p = &pkgSize{name: name}
			byPkg[name] = p
		}
		p.funcs++
		p.code = append(p.code, body...)
	}
	rows := make([]*pkgSize, 0, len(byPkg))
	for _, p := range byPkg {
		rows = append(rows, p)
	}
	// Each package compressed on its own: a little more than its share of the
	// whole module's brotli, but comparable between packages and runs.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	if perPkg {
		for _, p := range rows {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				p.brotli = brotliSize(p.code)
			})
		}
	}
	stripped := m.stripped()
	var whole int
	wg.Go(func() { whole = brotliSize(stripped) })
	wg.Wait()

	sort.Slice(rows, func(i, j int) bool {
		if len(rows[i].code) != len(rows[j].code) {
			return len(rows[i].code) > len(rows[j].code)
		}
		return rows[i].name < rows[j].name
	})
	var codeTotal int
	for _, p := range rows {
		codeTotal += len(p.code)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "package\tfuncs\tcode bytes\tshare\tbrotli alone\t")
	shown := rows
	if top > 0 && len(shown) > top {
		shown = shown[:top]
	}
	br := func(n int) string {
		if !perPkg {
			return "-"
		}
		return fmt.Sprint(n)
	}
	for _, p := range shown {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f%%\t%s\t\n", p.name, p.funcs, len(p.code), pct(len(p.code), len(stripped)), br(p.brotli))
	}
	if rest := rows[len(shown):]; len(rest) > 0 {
		var n, b, f int
		for _, p := range rest {
			n, b, f = n+len(p.code), b+p.brotli, f+p.funcs
		}
		fmt.Fprintf(tw, "%d more packages\t%d\t%d\t%.1f%%\t%s\t\n", len(rest), f, n, pct(n, len(stripped)), br(b))
	}
	fmt.Fprintf(tw, "all code\t%d\t%d\t%.1f%%\t\t\n", len(m.bodies), codeTotal, pct(codeTotal, len(stripped)))
	fmt.Fprintf(tw, "data section\t\t%d\t%.1f%%\t%d\t\n", len(m.data), pct(len(m.data), len(stripped)), brotliSize(m.data))
	fmt.Fprintf(tw, "module as served (no name section)\t\t%d\t100%%\t%d\t\n", len(stripped), whole)
	tw.Flush()
}

func pct(n, total int) float64 { return 100 * float64(n) / float64(total) }

// packages maps the linker's sanitized package prefixes of function names
// ("github.com_go_playground_validator_v10") to import paths, for every
// package go list finds in the build of pattern.
func packages(tags, pattern string) (map[string]string, error) {
	cmd := exec.Command("go", "list", "-deps", "-tags", tags, "-f", "{{.Name}} {{.ImportPath}}", pattern)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w", pattern, err)
	}
	pkgs := map[string]string{}
	for line := range strings.Lines(string(out)) {
		name, path, _ := strings.Cut(strings.TrimSpace(line), " ")
		if name == "main" {
			pkgs["main"] = path
			continue
		}
		pkgs[sanitize.ReplaceAllString(path, "_")] = path
	}
	return pkgs, nil
}

// generated is the row of functions that belong to no package.
const generated = "(generated and assembly)"

// sanitize is how cmd/link writes names into the wasm name section.
var sanitize = regexp.MustCompile(`[^\w.]`)

// packageOf returns the import path of the function named sym in the name
// section, such as "github.com_go_playground_validator_v10.__Validate_.Struct":
// the longest known package prefix followed by a dot, cut to its first depth
// path elements when depth > 0. The equality and hash functions the
// compiler generates for a type count for the type's package; a name that
// matches no package (equality functions of unnamed types, the runtime's
// assembly, the wasm entry points) counts as generated.
func packageOf(pkgs map[string]string, sym string, depth int) string {
	sym = strings.TrimPrefix(sym, "type_.eq.")
	sym = strings.TrimPrefix(sym, "type_.hash.")
	path := ""
	for i := range len(sym) {
		if sym[i] == '.' {
			if p, ok := pkgs[sym[:i]]; ok {
				path = p
			}
		}
	}
	if path == "" {
		return generated
	}
	if depth > 0 {
		if parts := strings.Split(path, "/"); len(parts) > depth {
			path = strings.Join(parts[:depth], "/")
		}
	}
	return path
}

// brotliSize is len(brotli -q 11 of b), as web/cmd/assets compresses it.
func brotliSize(b []byte) int {
	var buf bytes.Buffer
	w := brotli.NewWriterLevel(&buf, brotli.BestCompression)
	if _, err := w.Write(b); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	return buf.Len()
}
