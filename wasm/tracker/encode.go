package tracker

import "github.com/tracklet/tracklet/event"

// The browser writes every event twice as JSON: into storage when it is
// tracked and into its request when it is sent (event.MarshalRequest).
// MarshalRecord writes the first without reflection, as event's encoders
// do, for the same reason: see event/encode.go.

// MarshalRecord is json.Marshal(r).
func MarshalRecord(r Record) ([]byte, error) {
	b := make([]byte, 0, 384)
	b = append(b, `{"s":`...)
	b = event.AppendJSONString(b, r.SessionID)
	if r.UserID != "" {
		b = append(b, `,"u":`...)
		b = event.AppendJSONString(b, r.UserID)
	}
	b = append(b, `,"e":`...)
	b, err := event.AppendEvent(b, &r.Event)
	if err != nil {
		return nil, err
	}
	// What QueuedAt.MarshalJSON writes, without its allocation.
	b = append(b, `,"q":"`...)
	if b, err = r.QueuedAt.AppendText(b); err != nil {
		return nil, err
	}
	return append(b, `"}`...), nil
}
