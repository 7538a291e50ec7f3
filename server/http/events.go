package http

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
)

const (
	sentAtHeader     = "X-Tracklet-Sent-At"
	corsMaxAge       = "7200" // what Chromium caps Access-Control-Max-Age at
	corsAllowMethods = "POST, OPTIONS"
	corsExpose       = "x-amzn-RequestId, x-amzn-ErrorType, Retry-After"
)

// serveEvents answers PutEvents.
func (h *Handler) serveEvents(w *recorder, r *http.Request) {
	received := h.now()
	origin := r.Header.Get("Origin")
	if origin != "" {
		// Let the page read our answer, errors included: a site owner
		// debugging in the console should see why. Whether the origin may
		// store events is decided per tracker below.
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Expose-Headers", corsExpose)
		w.Header().Add("Vary", "Origin")
	}
	rej := &server.Rejection{ReceivedAt: received, Origin: origin}

	h.warnUntrustedProxy(r)
	// The per-IP limit comes before reading the body: refusing a flood
	// should cost as little as possible.
	if ok, wait := h.ipLimits.allow(limitKey(h.clientIP(r)), 1, received); !ok {
		h.throttle(w, "ip", wait, "too many requests from your address; retry after the time in Retry-After")
		return
	}

	raw, err := h.signedBody(r)
	if err != nil {
		h.reject(w, rej, http.StatusBadRequest, CodeInvalidInput, "body: could not be read")
		return
	}
	body, status, err := h.readBody(r)
	if err != nil {
		h.reject(w, rej, status, errName(status), err.Error())
		return
	}
	w.body = body // copied into rej only if the request is refused

	req, err := event.DecodeRequest(body)
	if err == nil {
		err = req.Validate()
	}
	if req != nil {
		rej.TrackingID, w.trackingID, w.events = req.TrackingID, req.TrackingID, len(req.EventList)
	}
	if err != nil {
		h.reject(w, rej, http.StatusBadRequest, CodeInvalidInput, err.Error())
		return
	}
	clientSent, err := parseSentAtHeader(sentAtParam(r))
	if err != nil {
		h.reject(w, rej, http.StatusBadRequest, CodeInvalidInput, err.Error())
		return
	}

	tracker, err := h.cfg.Store.Tracker(r.Context(), req.TrackingID)
	switch {
	case errors.Is(err, server.ErrTrackerNotFound):
		h.reject(w, rej, http.StatusNotFound, CodeNotFound, fmt.Sprintf("trackingId %q: no such tracker", req.TrackingID))
		return
	case err != nil:
		h.storeError(w, r, "look up tracker", err)
		return
	case tracker.Disabled:
		h.reject(w, rej, http.StatusNotFound, CodeNotFound, fmt.Sprintf("trackingId %q: tracker is disabled", req.TrackingID))
		return
	case !tracker.AllowsOrigin(origin):
		h.reject(w, rej, http.StatusForbidden, CodeAccessDenied,
			fmt.Sprintf("origin %s may not send events for trackingId %q", origin, req.TrackingID))
		return
	case !h.verifySigV4(w, r, rej, tracker, raw, received):
		return
	}
	if ok, wait := h.trackerLimits.allow(req.TrackingID, len(req.EventList), received); !ok {
		h.throttle(w, "tracker", wait, fmt.Sprintf("trackingId %q is sending too fast; retry after the time in Retry-After", req.TrackingID))
		return
	}
	if err := server.AssignEventIDs(req); err != nil {
		h.internalError(w, r, "assign eventIds", err)
		return
	}

	batch := &server.Batch{Request: req, ReceivedAt: received, ClientSentAt: clientSent}
	res, err := h.cfg.Store.PutEvents(r.Context(), batch)
	if err != nil {
		if r.Context().Err() != nil && !errors.Is(err, server.ErrUnavailable) {
			return // the client left; nobody reads an answer
		}
		h.storeError(w, r, "store events", err)
		return
	}
	if res.Duplicates > 0 {
		h.dups.add(req.TrackingID, received, res.Duplicates)
	}
	if res.Accepted > 0 && h.cfg.Feed != nil {
		h.cfg.Feed.Stored()
	}
	h.stats.accepted.Add(int64(res.Accepted))
	h.stats.duplicates.Add(int64(res.Duplicates))
	if h.cfg.Observer != nil {
		h.cfg.Observer.Events(res.Accepted, res.Duplicates, 0)
	}
	w.Header().Set("X-Tracklet-Accepted", strconv.Itoa(res.Accepted))
	w.Header().Set("X-Tracklet-Duplicates", strconv.Itoa(res.Duplicates))
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, "{}")
}

// sentAtParam returns the client's send time from the X-Tracklet-Sent-At
// header or, for browsers, the sentAt query parameter: a custom header
// would turn the tracker's requests into CORS-preflighted ones.
func sentAtParam(r *http.Request) string {
	if v := r.Header.Get(sentAtHeader); v != "" {
		return v
	}
	return r.URL.Query().Get("sentAt")
}

// contentEncoding returns the body's encoding from Content-Encoding or, for
// browsers, the encoding query parameter: Content-Encoding is not a
// CORS-safelisted header, so the tracker names its gzip body in the URL.
func contentEncoding(r *http.Request) string {
	enc := r.Header.Get("Content-Encoding")
	if enc == "" {
		enc = r.URL.Query().Get("encoding")
	}
	return strings.ToLower(strings.TrimSpace(enc))
}

// parseSentAtHeader reads X-Tracklet-Sent-At: the client's clock, in epoch
// milliseconds, when it sent the request.
func parseSentAtHeader(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || ms <= 0 || ms >= event.MaxSentAt*1000 {
		return time.Time{}, errors.New("header " + sentAtHeader + ": must be a positive whole number of milliseconds since 1970")
	}
	return time.UnixMilli(ms), nil
}

// readBody reads the request body within the limits, decompressing gzip.
// On failure it returns the status to answer with.
func (h *Handler) readBody(r *http.Request) ([]byte, int, error) {
	if r.ContentLength > h.limits.MaxBodyBytes {
		return nil, http.StatusRequestEntityTooLarge, h.tooLarge(h.limits.MaxBodyBytes, false)
	}
	if ct := mediaType(r.Header.Get("Content-Type")); ct != "" && ct != "application/json" && ct != "text/plain" &&
		ct != "application/x-amz-json-1.1" && ct != "application/octet-stream" {
		return nil, http.StatusUnsupportedMediaType,
			fmt.Errorf("Content-Type %s: send application/json (or text/plain, as sendBeacon does)", ct)
	}
	var src io.Reader = http.MaxBytesReader(nil, r.Body, h.limits.MaxBodyBytes)
	limit, decoded := h.limits.MaxBodyBytes, false
	switch enc := contentEncoding(r); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(src)
		if err != nil {
			if isTooLarge(err) {
				return nil, http.StatusRequestEntityTooLarge, h.tooLarge(h.limits.MaxBodyBytes, false)
			}
			return nil, http.StatusBadRequest, errors.New("body: not valid gzip")
		}
		defer zr.Close()
		// Reading stops one byte past the limit: a bomb costs at most the
		// limit in memory, however far it would expand.
		src, limit, decoded = zr, h.limits.MaxDecodedBytes, true
	default:
		return nil, http.StatusUnsupportedMediaType,
			fmt.Errorf("Content-Encoding %s: send the body uncompressed or gzip", enc)
	}
	body, err := io.ReadAll(io.LimitReader(src, limit+1))
	switch {
	case isTooLarge(err):
		return nil, http.StatusRequestEntityTooLarge, h.tooLarge(h.limits.MaxBodyBytes, false)
	case err != nil && decoded:
		return nil, http.StatusBadRequest, errors.New("body: not valid gzip")
	case err != nil:
		return nil, http.StatusBadRequest, errors.New("body: could not be read")
	case int64(len(body)) > limit:
		return nil, http.StatusRequestEntityTooLarge, h.tooLarge(limit, decoded)
	}
	return body, 0, nil
}

func (h *Handler) tooLarge(limit int64, decoded bool) error {
	what := "body: larger than " + strconv.FormatInt(limit, 10) + " bytes"
	if decoded {
		what += " once decompressed"
	}
	return errors.New(what)
}

func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

func mediaType(ct string) string {
	t, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(t))
}

func errName(status int) string {
	switch status {
	case http.StatusRequestEntityTooLarge:
		return CodeTooLarge
	case http.StatusUnsupportedMediaType:
		return CodeUnsupported
	default:
		return CodeInvalidInput
	}
}

// reject answers a refused request and logs it for `tracklet rejected`.
func (h *Handler) reject(w *recorder, rej *server.Rejection, status int, errorType, message string) {
	rej.Status, rej.Reason = status, message
	if rej.Body == "" && w.body != nil {
		rej.Body = string(w.body[:min(len(w.body), server.MaxRejectedBody)])
	}
	h.stats.rejected.Add(1)
	if h.cfg.Observer != nil {
		h.cfg.Observer.Events(0, 0, w.events)
	}
	if h.cfg.Rejected != nil {
		h.cfg.Rejected.RecordRejected(rej)
	}
	WriteError(w, status, errorType, message)
}

// throttle answers 429 with Retry-After. Throttled requests are not logged
// as rejected: they are not wrong, only early, and a flood of them must not
// flood the log.
func (h *Handler) throttle(w http.ResponseWriter, scope string, wait time.Duration, message string) {
	h.stats.limited.Add(1)
	if h.cfg.Observer != nil {
		h.cfg.Observer.RateLimited(scope)
	}
	retryAfter(w, wait)
	WriteError(w, http.StatusTooManyRequests, CodeThrottling, message)
}

// Retry-After values for a store that cannot take writes: shutting down
// (another instance takes over within a second), or unavailable (a full
// disk or a broken file: an operator has to act, so retrying every second
// would only load the collector).
const (
	retryAfterClosed      = "1"
	retryAfterUnavailable = "5"
)

// storeError answers a store's failure: 503 with Retry-After when the
// store says nothing was stored and a retry may work (shutting down, disk
// full, I/O errors, its file gone; the store logs those, once, not once
// per request), 500 otherwise.
func (h *Handler) storeError(w http.ResponseWriter, r *http.Request, what string, err error) {
	switch {
	case errors.Is(err, server.ErrClosed):
		w.Header().Set("Retry-After", retryAfterClosed)
		WriteError(w, http.StatusServiceUnavailable, CodeUnavailable, "the collector is shutting down; retry")
	case errors.Is(err, server.ErrUnavailable):
		h.log.DebugContext(r.Context(), what, "err", err, "request_id", w.Header().Get("x-amzn-RequestId"))
		w.Header().Set("Retry-After", retryAfterUnavailable)
		WriteError(w, http.StatusServiceUnavailable, CodeUnavailable,
			"the collector cannot store events now; nothing was stored; retry after the time in Retry-After")
	default:
		h.internalError(w, r, what, err)
	}
}

func (h *Handler) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.log.ErrorContext(r.Context(), what, "err", err, "request_id", w.Header().Get("x-amzn-RequestId"))
	WriteError(w, http.StatusInternalServerError, CodeInternal, "internal error; retry later")
}

// preflight answers a browser's CORS preflight for POST /events. It has no
// body and so no trackingId; the tracker's script may name it in the query
// (?trackingId=), otherwise the origin must be allowed by some tracker.
func (h *Handler) preflight(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" || r.Header.Get("Access-Control-Request-Method") == "" {
		w.Header().Set("Allow", corsAllowMethods)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var allowed bool
	if id := r.URL.Query().Get("trackingId"); id != "" {
		t, err := h.cfg.Store.Tracker(r.Context(), id)
		if err != nil && !errors.Is(err, server.ErrTrackerNotFound) {
			h.internalError(w, r, "look up tracker", err)
			return
		}
		allowed = err == nil && !t.Disabled && t.AllowsOrigin(origin)
	} else {
		var err error
		if allowed, err = h.cfg.Store.OriginAllowed(r.Context(), origin); err != nil {
			h.internalError(w, r, "check origin", err)
			return
		}
	}
	w.Header().Add("Vary", "Origin")
	if !allowed {
		WriteError(w, http.StatusForbidden, CodeAccessDenied, "origin "+origin+" may not send events here")
		return
	}
	if m := r.Header.Get("Access-Control-Request-Method"); m != http.MethodPost {
		WriteError(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "use POST to send events, not "+m)
		return
	}
	headers, ok := allowedHeaders(r.Header.Get("Access-Control-Request-Headers"))
	if !ok {
		WriteError(w, http.StatusForbidden, CodeAccessDenied, "request headers not allowed: "+headers)
		return
	}
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", origin)
	hd.Set("Access-Control-Allow-Methods", corsAllowMethods)
	if headers != "" {
		hd.Set("Access-Control-Allow-Headers", headers)
	}
	hd.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
}

// allowedHeaders checks the headers a preflight asks for: Content-Type and
// Content-Encoding, our own x-tracklet-* headers, and what the AWS SDK for
// JavaScript sends (authorization, x-amz-*, amz-sdk-*). It returns the list
// to allow, or the offending headers and false.
func allowedHeaders(requested string) (string, bool) {
	var ok, bad []string
	for h := range strings.SplitSeq(requested, ",") {
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case h == "":
		case h == "content-type", h == "content-encoding", h == "authorization",
			strings.HasPrefix(h, "x-tracklet-"), strings.HasPrefix(h, "x-amz-"), strings.HasPrefix(h, "amz-sdk-"):
			ok = append(ok, h)
		default:
			bad = append(bad, h)
		}
	}
	if len(bad) > 0 {
		return strings.Join(bad, ", "), false
	}
	return strings.Join(ok, ", "), true
}
