package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// module is what wasmsize reads of a WebAssembly binary: the function
// bodies, their names, and the data section.
type module struct {
	raw     []byte
	imports int            // imported functions: they come first in the function index space
	bodies  [][]byte       // code section entries, defined function i is index imports+i
	names   map[int]string // function index -> name, from the "name" custom section
	data    []byte         // the data section's payload
	nameSec [2]int         // [start, end) of the whole "name" section in raw, for stripped
}

const (
	secCustom = 0
	secImport = 2
	secCode   = 10
	secData   = 11

	importFunc = 0
)

var magic = []byte{0, 'a', 's', 'm', 1, 0, 0, 0}

// parseModule reads the sections wasmsize needs; it does not validate the rest.
func parseModule(raw []byte) (*module, error) {
	if !bytes.HasPrefix(raw, magic) {
		return nil, errors.New("not a WebAssembly module (version 1)")
	}
	m := &module{raw: raw, names: map[int]string{}}
	r := &reader{b: raw, off: len(magic)}
	for r.off < len(r.b) {
		start := r.off
		id := r.byte()
		size := int(r.u32())
		body := r.bytes(size)
		if r.err != nil {
			return nil, r.err
		}
		var err error
		switch id {
		case secImport:
			m.imports, err = countFuncImports(body)
		case secCode:
			m.bodies, err = codeBodies(body)
		case secData:
			m.data = body
		case secCustom:
			s := &reader{b: body}
			if name := string(s.bytes(int(s.u32()))); name == "name" && s.err == nil {
				m.nameSec = [2]int{start, r.off}
				err = m.readNames(s)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("section %d at %d: %w", id, start, err)
		}
	}
	return m, nil
}

// stripped is the module without its name section: what -ldflags=-s links.
func (m *module) stripped() []byte {
	if m.nameSec[1] == 0 {
		return m.raw
	}
	return append(append([]byte{}, m.raw[:m.nameSec[0]]...), m.raw[m.nameSec[1]:]...)
}

func countFuncImports(b []byte) (int, error) {
	r := &reader{b: b}
	n, funcs := int(r.u32()), 0
	for range n {
		r.bytes(int(r.u32())) // module
		r.bytes(int(r.u32())) // field
		switch kind := r.byte(); kind {
		case importFunc:
			r.u32() // type index
			funcs++
		case 1: // table: reftype, limits
			r.byte()
			r.limits()
		case 2: // memory: limits
			r.limits()
		case 3: // global: valtype, mutability
			r.byte()
			r.byte()
		default:
			return 0, fmt.Errorf("import kind %d", kind)
		}
	}
	return funcs, r.err
}

func codeBodies(b []byte) ([][]byte, error) {
	r := &reader{b: b}
	n := int(r.u32())
	bodies := make([][]byte, 0, n)
	for range n {
		bodies = append(bodies, r.bytes(int(r.u32())))
	}
	return bodies, r.err
}

// readNames reads the function names subsection (id 1) of a "name" section.
func (m *module) readNames(r *reader) error {
	for r.off < len(r.b) && r.err == nil {
		id := r.byte()
		sub := &reader{b: r.bytes(int(r.u32()))}
		if id != 1 {
			continue
		}
		for n := int(sub.u32()); n > 0 && sub.err == nil; n-- {
			idx := int(sub.u32())
			m.names[idx] = string(sub.bytes(int(sub.u32())))
		}
		if sub.err != nil {
			return sub.err
		}
	}
	return r.err
}

// reader decodes the LEB128 and length-prefixed fields of a wasm binary;
// the first error sticks and later reads return zero values.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) byte() byte {
	if r.err != nil || r.off >= len(r.b) {
		r.fail()
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

func (r *reader) u32() uint32 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 || v > 1<<32-1 {
		r.fail()
		return 0
	}
	r.off += n
	return uint32(v)
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b)-r.off {
		r.fail()
		return nil
	}
	r.off += n
	return r.b[r.off-n : r.off]
}

func (r *reader) limits() {
	if r.byte()&1 != 0 {
		r.u32()
	}
	r.u32()
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errors.New("truncated or malformed module")
	}
}
