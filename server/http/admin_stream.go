package http

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
)

// Feed is the live feed that /v1/stream follows: every event stored from
// the moment a subscription opens. The collector's is package live's; the
// Worker has none, and so links none of it.
type Feed interface {
	// Subscribe opens a subscription to the events f selects. An error
	// that is server.ErrUnavailable (too many streams, shutting down) is
	// answered 503 with Retry-After.
	Subscribe(ctx context.Context, f server.StreamFilter) (Subscription, error)
	// Stored tells the feed that events were stored. It must not block:
	// ingest calls it after each write.
	Stored()
}

// Subscription is one open stream of a Feed.
type Subscription interface {
	// Events delivers the events, in Seq order; it is closed when the
	// feed stops.
	Events() <-chan *server.StoredEvent
	// Missed is signalled when events were dropped for this subscriber,
	// who fell behind; TakeMissed says how many, and resets the count.
	Missed() <-chan struct{}
	TakeMissed() int64
	Close()
}

// The live stream's limits and rhythm.
const (
	// streamBacklog is how many recent events a new stream starts with,
	// unless ?backlog= says otherwise (up to streamMaxBacklog, which also
	// bounds what a resumed stream catches up on).
	streamBacklog    = 50
	streamMaxBacklog = 500
	// streamBacklogAge is how far back a stream's backlog reaches.
	streamBacklogAge = time.Hour
	// streamKeepAlive is how often an idle stream sends a comment, so
	// that proxies and the browser keep the connection.
	streamKeepAlive = 15 * time.Second
	// streamWriteTimeout cuts off a client that stops reading.
	streamWriteTimeout = 10 * time.Second
)

// streamEvent is the data of one "event" message of the stream: the event
// in wire form and what the collector knows about it.
type streamEvent struct {
	Seq        int64        `json:"seq"`
	ReceivedAt int64        `json:"receivedAt"` // epoch ms
	TrackingID string       `json:"trackingId"`
	SessionID  string       `json:"sessionId"`
	UserID     *string      `json:"userId,omitempty"`
	Event      *event.Event `json:"event"`
}

// serveStream answers GET /v1/stream?trackingId=T[&eventType=&userId=&sessionId=&backlog=N]
// with Server-Sent Events: first up to N recent events that pass the
// filter, then each one as it is stored. Each message is
//
//	id: <seq>
//	event: event
//	data: {"seq":..., "receivedAt":..., "trackingId":..., "sessionId":..., "userId":..., "event": {...}}
//
// A client that reconnects with Last-Event-ID gets what it missed (up to
// streamMaxBacklog events of the last hour) instead of the backlog. When
// the client falls behind, events are dropped for it alone and it gets
// "event: dropped" with data {"missed": n}.
func (h *Handler) serveStream(w http.ResponseWriter, r *http.Request) {
	tid, ok := TrackingIDParam(w, r, true)
	if !ok {
		return
	}
	q := r.URL.Query()
	filter := server.StreamFilter{TrackingID: tid, EventType: q.Get("eventType"), UserID: q.Get("userId"), SessionID: q.Get("sessionId")}
	backlog, ok := intParam(w, r, "backlog", streamBacklog, streamMaxBacklog)
	if !ok {
		return
	}
	var after int64
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n < 0 {
			WriteError(w, http.StatusBadRequest, CodeInvalidInput, "Last-Event-ID: not an event's seq")
			return
		}
		after, backlog = n, streamMaxBacklog
	}

	ctx := r.Context()
	// Subscribe before reading the backlog: an event stored in between is
	// then in both, and is skipped the second time, rather than in neither.
	sub, err := h.cfg.Feed.Subscribe(ctx, filter)
	switch {
	case errors.Is(err, server.ErrUnavailable):
		w.Header().Set("Retry-After", retryAfterUnavailable)
		WriteError(w, http.StatusServiceUnavailable, CodeUnavailable, err.Error())
		return
	case err != nil:
		h.internalError(w, r, "open stream", err)
		return
	}
	defer sub.Close()
	recent, err := h.cfg.Dashboard.RecentEvents(ctx, filter, h.now().Add(-streamBacklogAge), after, backlog)
	if err != nil {
		h.internalError(w, r, "read recent events", err)
		return
	}

	// The server's write timeout is for ordinary responses; a stream lives
	// on, bounded per write instead. (Its request is read: no read
	// deadline is needed either.)
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer
	w.WriteHeader(http.StatusOK)
	out := bufio.NewWriter(w)
	flush := func() bool {
		rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		return out.Flush() == nil && rc.Flush() == nil
	}

	out.WriteString("retry: 2000\n\n")
	last := after
	for _, e := range recent {
		writeStreamEvent(out, e)
		last = e.Seq
	}
	if !flush() {
		return
	}
	keepAlive := time.NewTicker(streamKeepAlive)
	defer keepAlive.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-sub.Events():
			if !ok {
				return // the collector is shutting down
			}
			// Take whatever else is waiting too, then flush once.
			for more := true; more; {
				if e.Seq > last { // else it was in the backlog
					writeStreamEvent(out, e)
					last = e.Seq
				}
				select {
				case e, more = <-sub.Events():
				default:
					more = false
				}
			}
		case <-sub.Missed():
			out.WriteString("event: dropped\ndata: {\"missed\":" + strconv.FormatInt(sub.TakeMissed(), 10) + "}\n\n")
		case <-keepAlive.C:
			out.WriteString(": keep-alive\n\n")
		}
		if !flush() {
			return
		}
	}
}

// writeStreamEvent writes e as one "event" message. JSON never contains a
// raw newline, so the data fits on one line.
func writeStreamEvent(w *bufio.Writer, e *server.StoredEvent) {
	data, err := json.Marshal(streamEvent{Seq: e.Seq, ReceivedAt: e.ReceivedAt.UnixMilli(), TrackingID: e.TrackingID,
		SessionID: e.SessionID, UserID: e.UserID, Event: &e.Event})
	if err != nil {
		return // a stored event always encodes; nothing sensible to send otherwise
	}
	w.WriteString("id: " + strconv.FormatInt(e.Seq, 10) + "\nevent: event\ndata: ")
	w.Write(data)
	w.WriteString("\n\n")
}
