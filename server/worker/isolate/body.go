//go:build js && wasm

package isolate

import (
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"sync"
)

// ownBody replaces the body syumai/workers v0.32.0 gives a response
// (handler_js.go: an appCloser whose Close closes the package's one done
// channel, so that a second response's Close panics) with one that closes
// only the pipe under it, once.
//
// It reaches into the library by reflection because the type is internal
// (internal/jshttp.ResponseWriter, exported field Reader holding an
// *appCloser that embeds the pipe's io.ReadCloser). If an upgrade changes
// that shape, ownBody panics on the first request, which the worker's
// end-to-end tests run; the fix upstream would be a Close that uses
// sync.Once or a channel per response, after which this file goes.
func ownBody(w http.ResponseWriter) {
	v := reflect.ValueOf(w)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		panic(shapeError(w))
	}
	f := v.Elem().FieldByName("Reader")
	if !f.IsValid() || !f.CanSet() || f.Type() != reflect.TypeFor[io.ReadCloser]() || f.IsNil() {
		panic(shapeError(w))
	}
	closer := f.Elem() // *appCloser
	if closer.Kind() != reflect.Pointer || closer.Elem().Kind() != reflect.Struct || closer.Elem().NumField() != 1 {
		panic(shapeError(w))
	}
	inner, ok := closer.Elem().Field(0).Interface().(io.ReadCloser)
	if !ok {
		panic(shapeError(w))
	}
	f.Set(reflect.ValueOf(io.ReadCloser(&onceCloser{ReadCloser: inner})))
}

func shapeError(w http.ResponseWriter) string {
	slog.Error("isolate: syumai/workers' response writer is not the shape v0.32.0 has", "type", reflect.TypeOf(w).String())
	return "isolate: unexpected syumai/workers response writer " + reflect.TypeOf(w).String()
}

// onceCloser closes the pipe once; the stream calls Close at its end and
// again if cancelled.
type onceCloser struct {
	io.ReadCloser
	once sync.Once
	err  error
}

func (c *onceCloser) Close() error {
	c.once.Do(func() { c.err = c.ReadCloser.Close() })
	return c.err
}
