package http

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/tracklet/tracklet/server"
)

// SigV4 verifies AWS Signature Version 4 for trackers that require it
// (server.Tracker.SigV4). Package sigv4's Verifier implements it; it is an
// interface so that builds without it (the Cloudflare Worker) link no AWS
// SDK: they refuse every request for such a tracker.
type SigV4 interface {
	// Signed reports whether r carries a SigV4 Authorization header.
	Signed(r *http.Request) bool
	// BufferBody reads r's body as sent (up to limit+1 bytes) and puts
	// it back for reading again.
	BufferBody(r *http.Request, limit int64) ([]byte, error)
	// Verify returns nil or an error with ErrorType and ErrorMessage
	// methods, answered 403.
	Verify(ctx context.Context, r *http.Request, body []byte, key server.AccessKey, now time.Time) error
}

// awsError is an error that names its AWS error type.
type awsError interface {
	error
	ErrorType() string
	ErrorMessage() string
}

// signedBody keeps the body of a signed request as sent, before it is
// decompressed, for verifySigV4. It returns nil for unsigned requests.
func (h *Handler) signedBody(r *http.Request) ([]byte, error) {
	if h.cfg.SigV4 == nil || !h.cfg.SigV4.Signed(r) {
		return nil, nil
	}
	return h.cfg.SigV4.BufferBody(r, h.limits.MaxBodyBytes)
}

// verifySigV4 answers 403 and returns false if tracker t requires SigV4
// and r (with raw, its body as sent) is not signed with t's key within the
// allowed clock skew. Trackers that do not require it take any request.
func (h *Handler) verifySigV4(w *recorder, r *http.Request, rej *server.Rejection, t *server.Tracker, raw []byte, now time.Time) bool {
	if t.SigV4 == nil {
		return true
	}
	if h.cfg.SigV4 == nil {
		h.reject(w, rej, http.StatusForbidden, CodeAccessDenied,
			"trackingId "+t.ID+" requires AWS SigV4, which this collector cannot verify")
		return false
	}
	err := h.cfg.SigV4.Verify(r.Context(), r, raw, *t.SigV4, now)
	if err == nil {
		return true
	}
	var ae awsError
	if errors.As(err, &ae) {
		h.reject(w, rej, http.StatusForbidden, ae.ErrorType(), ae.ErrorMessage())
	} else {
		h.reject(w, rej, http.StatusForbidden, CodeAccessDenied, err.Error())
	}
	return false
}
