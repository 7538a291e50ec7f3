package relay

import (
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
)

// request is the events of one PutEvents request: at most event.MaxEvents,
// of one sessionId and userId.
type request struct {
	sessionID string
	userID    *string
	events    []*server.StoredEvent
}

// group splits a window of events into requests: events of the same
// sessionId and userId together, in the order of their first event, at most
// event.MaxEvents a request. Events keep their order within a session.
func group(events []*server.StoredEvent) []*request {
	var out []*request
	open := map[string]*request{} // by session and user: the request being filled
	for _, e := range events {
		key := e.SessionID + "\x00"
		if e.UserID != nil {
			key += "u" + *e.UserID
		}
		r := open[key]
		if r == nil || len(r.events) == event.MaxEvents {
			r = &request{sessionID: e.SessionID, userID: e.UserID}
			open[key] = r
			out = append(out, r)
		}
		r.events = append(r.events, e)
	}
	return out
}

// split returns one request per event of r.
func (r *request) split() []*request {
	out := make([]*request, len(r.events))
	for i, e := range r.events {
		out[i] = &request{sessionID: r.sessionID, userID: r.userID, events: []*server.StoredEvent{e}}
	}
	return out
}

// wire is r as PutEvents for the Personalize event tracker trackingID.
// Each event's sentAt is when it happened on the collector's clock
// (StoredEvent.OccurredAt): a visitor's clock may be off by hours, and
// Personalize orders interactions by sentAt.
func (r *request) wire(trackingID string) event.Request {
	req := event.Request{TrackingID: trackingID, SessionID: r.sessionID, UserID: r.userID,
		EventList: make([]event.Event, len(r.events))}
	for i, e := range r.events {
		req.EventList[i] = e.Event
		req.EventList[i].SentAt = event.TimestampOf(e.OccurredAt)
	}
	return req
}

func (r *request) refusal(trackingID string, why *Refused, at time.Time) *Refusal {
	rf := &Refusal{TrackingID: trackingID, At: at, FirstSeq: r.events[0].Seq, LastSeq: r.events[len(r.events)-1].Seq,
		Status: why.Status, ErrorType: why.ErrorType, Message: why.Message}
	for _, e := range r.events {
		if e.EventID != nil {
			rf.EventIDs = append(rf.EventIDs, *e.EventID)
		}
	}
	return rf
}
