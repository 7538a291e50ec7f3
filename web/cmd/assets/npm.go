package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// The npm package's files besides its module, by the name the build list
// gives them: the package holds them under that name, and exports them
// for a bundler to copy (js/npm/package.json).
const (
	glueName   = "wasm_exec.js"
	senderName = "tracklet-sender.js"
)

// buildNPM writes the npm package "tracklet" into dir: entry bundled into
// tracklet.mjs, with Go's wasm_exec.js and the sending Worker's script
// (as text) in it, which its source imports as "tracklet:glue" and
// "tracklet:sender" (npmPlugin); the files of the build list under their
// own names (a bundler's app names them itself: nothing is rewritten or
// hashed here); and extra (package.json, the types) as they are. Files of
// dir the package no longer has are removed, apart from dot files.
func buildNPM(dir, entry string, extra, files []string) error {
	byName := map[string]string{}
	for _, p := range files {
		byName[filepath.Base(p)] = p
	}
	for _, name := range []string{glueName, senderName} {
		if byName[name] == "" {
			return fmt.Errorf("npm: the build list has no %s", name)
		}
	}
	out := map[string][]byte{}
	mod, err := read(entry, true, []api.Plugin{npmPlugin(byName[glueName], byName[senderName])})
	if err != nil {
		return err
	}
	out["tracklet.mjs"] = mod
	for _, p := range append(slices.Clone(files), extra...) {
		data, err := read(p, false, nil)
		if err != nil {
			return err
		}
		out[filepath.Base(p)] = data
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, data := range out {
		if err := writeFile(filepath.Join(dir, name), data); err != nil {
			return err
		}
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, de := range des {
		if _, ok := out[de.Name()]; ok || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, de.Name())); err != nil {
			return err
		}
	}
	fmt.Printf("npm package in %s: tracklet.mjs %s (wasm_exec.js and the sender in it)\n", dir, kb(int64(len(mod))))
	return nil
}

// npmPlugin resolves the npm module's two imports of files outside js/src:
// "tracklet:glue", Go's wasm_exec.js, bundled as the script it is, and
// "tracklet:sender", the sending Worker's script minified, as a string the
// module starts the Worker from (a blob: URL: the app has no URL for it).
func npmPlugin(glue, sender string) api.Plugin {
	return api.Plugin{Name: "tracklet", Setup: func(b api.PluginBuild) {
		b.OnResolve(api.OnResolveOptions{Filter: `^tracklet:(glue|sender)$`}, func(a api.OnResolveArgs) (api.OnResolveResult, error) {
			return api.OnResolveResult{Path: strings.TrimPrefix(a.Path, "tracklet:"), Namespace: "tracklet"}, nil
		})
		b.OnLoad(api.OnLoadOptions{Filter: `.*`, Namespace: "tracklet"}, func(a api.OnLoadArgs) (api.OnLoadResult, error) {
			path, loader := glue, api.LoaderJS
			if a.Path == "sender" {
				path, loader = sender, api.LoaderText
			}
			data, err := read(path, false, nil)
			if err != nil {
				return api.OnLoadResult{}, err
			}
			s := string(data)
			return api.OnLoadResult{Contents: &s, Loader: loader}, nil
		})
	}}
}
