package http

import (
	"net/http"
	"strings"
)

// unsupportedOperations are the Personalize Events operations other than
// PutEvents, by the REST path the AWS SDKs post them to (the service
// model's requestUri for each).
var unsupportedOperations = []struct{ path, name string }{
	{"/users", "PutUsers"},
	{"/items", "PutItems"},
	{"/actions", "PutActions"},
	{"/action-interactions", "PutActionInteractions"},
}

// serveUnsupported answers a call of another Personalize Events operation
// with a typed error an SDK surfaces by name, instead of an untyped 404,
// and reports whether path was one. A base path before the operation's
// ("/personalize/users") counts, as it does for PutEvents.
func serveUnsupported(w http.ResponseWriter, path string) bool {
	for _, op := range unsupportedOperations {
		if path == op.path || strings.HasSuffix(path, op.path) {
			WriteError(w, http.StatusBadRequest, CodeUnknownOperation,
				op.name+" is not supported: this collector implements only PutEvents (POST /events)")
			return true
		}
	}
	return false
}
