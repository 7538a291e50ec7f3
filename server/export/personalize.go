package export

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
)

// PersonalizeOptions configure WritePersonalize.
type PersonalizeOptions struct {
	// Columns are the metadata columns, from ParseColumns.
	Columns []Column
	// EventTypes, if not empty, exports only events of these types (to
	// stay within MaxTypesAndMetadata).
	EventTypes []string
	// Progress, if set, is called after every row written.
	Progress Progress
}

// PersonalizeResult is what WritePersonalize wrote and left out. It is
// never nil, even with an error.
type PersonalizeResult struct {
	// Rows is the number of interactions written.
	Rows int64
	// WithoutItemID counts, by eventType, the events left out for having no
	// itemId: Personalize requires ITEM_ID. At most maxCountedTypes types
	// are named; the rest count under OtherEventTypes.
	WithoutItemID map[string]int64
	// OtherTypes counts the events left out by PersonalizeOptions.EventTypes.
	OtherTypes int64
	// LeftOut counts, by field, values that were present but written as
	// empty cells because Personalize would refuse them: an EVENT_VALUE
	// beyond a 32-bit float, impression items containing "|" or beyond
	// MaxCategoricalLength, a metadata value that does not fit its
	// column's type or is a categorical value over MaxCategoricalLength.
	LeftOut map[string]int64
	// Schema is the Avro schema of the CSV written, as CreateSchema takes
	// it.
	Schema []byte
	// Warnings say why Personalize may not train on this data.
	Warnings []string
}

// OtherEventTypes is the WithoutItemID key for types beyond the first
// maxCountedTypes.
const OtherEventTypes = "(other event types)"

const (
	// maxCountedTypes bounds the event types WithoutItemID names, so that
	// a visitor inventing types cannot grow the export's memory.
	maxCountedTypes = 100
	// maxTrackedUsers bounds the users counted for MinRepeatUsers: a few
	// hundred KB at most, and enough users that the count is exact on any
	// data that has a real chance to pass.
	maxTrackedUsers = 10000
)

// WritePersonalize writes events to w as an Amazon Personalize Item
// interactions CSV: USER_ID (the userId, else the sessionId, as PutEvents
// does for anonymous events), ITEM_ID, TIMESTAMP (sentAt in whole
// seconds), EVENT_TYPE, EVENT_VALUE, IMPRESSION ("|"-separated),
// RECOMMENDATION_ID, then the columns asked for. It reads events once, in
// constant memory, and returns the matching schema, which depends on the
// values seen (inferred types, nullability). Values are written as they
// were sent, never rewritten: they must match the ids PutEvents sends.
//
// It imports no store: events can come from SQLite, D1 or a file.
func WritePersonalize(ctx context.Context, w io.Writer, events iter.Seq2[*server.StoredEvent, error], opts PersonalizeOptions) (*PersonalizeResult, error) {
	x := interactions{
		res:      &PersonalizeResult{WithoutItemID: map[string]int64{}, LeftOut: map[string]int64{}},
		trackers: map[string]*trackerCounts{},
		types:    map[string]bool{},
	}
	for _, c := range opts.Columns {
		x.cols = append(x.cols, &column{Column: c})
	}
	if len(opts.EventTypes) > 0 {
		x.only = make(map[string]bool, len(opts.EventTypes))
		for _, t := range opts.EventTypes {
			x.only[t] = true
		}
	}
	cw := csv.NewWriter(w)
	header := make([]string, 0, len(fixedFields)+len(x.cols))
	for _, f := range fixedFields {
		header = append(header, f.Name)
	}
	for _, c := range x.cols {
		header = append(header, c.Name)
	}
	if err := cw.Write(header); err != nil {
		return x.res, err
	}
	row := make([]string, len(header))
	for e, err := range events {
		if err != nil {
			return x.res, err
		}
		if err := ctx.Err(); err != nil {
			return x.res, err
		}
		ok, err := x.fill(row, e)
		if err != nil {
			return x.res, err
		}
		if !ok {
			continue
		}
		if err := cw.Write(row); err != nil {
			return x.res, err
		}
		x.res.Rows++
		if opts.Progress != nil {
			opts.Progress(x.res.Rows)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return x.res, err
	}
	var err error
	if x.res.Schema, err = schema(x.cols); err != nil {
		return x.res, err
	}
	x.warn()
	return x.res, nil
}

// interactions is the state of one WritePersonalize.
type interactions struct {
	res  *PersonalizeResult
	cols []*column
	only map[string]bool // eventTypes to export; nil: all
	// trackers counts interactions by trackingId: each tracker is a
	// site, and Personalize's minimums apply to each one's dataset.
	trackers map[string]*trackerCounts
	// types holds the distinct eventTypes written, up to one more than
	// MaxTypesAndMetadata allows.
	types map[string]bool
}

// fill writes e into row and reports whether e is an interaction to
// write.
func (x *interactions) fill(row []string, e *server.StoredEvent) (bool, error) {
	if x.only != nil && !x.only[e.EventType] {
		x.res.OtherTypes++
		return false, nil
	}
	var props map[string]any
	if e.Properties != nil {
		var err error
		if props, err = event.ParseProperties(*e.Properties); err != nil {
			return false, fmt.Errorf("event %d: %w", e.Seq, err)
		}
	}
	// Before itemId and eventValue were members of PutEvents' Event they
	// were sent in properties; such events still count.
	item := ""
	if e.ItemID != nil {
		item = *e.ItemID
	} else if v, ok := props["itemId"]; ok {
		item = scalar(v)
	}
	if item == "" {
		x.countWithoutItem(e.EventType)
		return false, nil
	}
	user := e.SessionID
	if e.UserID != nil {
		user = *e.UserID
	}
	row[0], row[1] = user, item
	row[2] = strconv.FormatInt(int64(math.Floor(float64(e.SentAt))), 10)
	row[3] = e.EventType
	row[4] = x.eventValue(e, props)
	row[5] = x.impression(e.Impression)
	row[6] = ""
	if e.RecommendationID != nil {
		row[6] = *e.RecommendationID
	}
	for i, c := range x.cols {
		cell, written := "", false
		if v, ok := props[c.Key]; ok {
			if cell, written = c.cell(v); !written {
				c.leftOut++
				x.res.LeftOut[c.Name]++
				cell = ""
			}
		}
		c.missing = c.missing || !written
		row[len(fixedFields)+i] = cell
	}
	x.count(e.TrackingID, user)
	if len(x.types) <= MaxTypesAndMetadata {
		x.types[e.EventType] = true
	}
	return true, nil
}

func (x *interactions) countWithoutItem(eventType string) {
	if _, ok := x.res.WithoutItemID[eventType]; !ok && len(x.res.WithoutItemID) >= maxCountedTypes {
		eventType = OtherEventTypes
	}
	x.res.WithoutItemID[eventType]++
}

// eventValue is EVENT_VALUE's cell: the event's value (or, for older
// events, properties' eventValue) if it fits the schema's float.
func (x *interactions) eventValue(e *server.StoredEvent, props map[string]any) string {
	var f float64
	if e.EventValue != nil {
		f = *e.EventValue
	} else if n, ok := props["eventValue"].(json.Number); ok {
		var err error
		if f, err = n.Float64(); err != nil {
			f = math.Inf(1) // beyond even a double
		}
	} else {
		return ""
	}
	if !event.FitsFloat32(f) {
		x.res.LeftOut["EVENT_VALUE"]++
		return ""
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// impression is IMPRESSION's cell: the item ids joined by "|", leaving out
// items that contain "|" themselves (they would read as two) and stopping
// before the value would pass MaxCategoricalLength.
func (x *interactions) impression(items []string) string {
	var b strings.Builder
	n := 0
	for i, item := range items {
		if strings.Contains(item, "|") {
			x.res.LeftOut["IMPRESSION"]++
			continue
		}
		add := utf8.RuneCountInString(item)
		if b.Len() > 0 {
			add++
		}
		if n+add > MaxCategoricalLength {
			x.res.LeftOut["IMPRESSION"] += int64(len(items) - i)
			break
		}
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString(item)
		n += add
	}
	return b.String()
}

// trackerCounts is what one tracker's interactions add up to, for the
// training minimums.
type trackerCounts struct {
	rows int64
	// users maps a USER_ID to whether it has two interactions or more,
	// until MinRepeatUsers have (then it is dropped) or it holds
	// maxTrackedUsers.
	users   map[string]bool
	repeats int
}

func (x *interactions) count(trackingID, user string) {
	tc := x.trackers[trackingID]
	if tc == nil {
		tc = &trackerCounts{users: map[string]bool{}}
		x.trackers[trackingID] = tc
	}
	tc.rows++
	if tc.users == nil {
		return // enough users repeat already
	}
	repeated, seen := tc.users[user]
	switch {
	case repeated:
	case seen:
		tc.users[user] = true
		if tc.repeats++; tc.repeats >= MinRepeatUsers {
			tc.users = nil
		}
	case len(tc.users) < maxTrackedUsers:
		tc.users[user] = false
	}
}

// warn notes where the data falls short of what Personalize needs to
// train, or breaks a limit the export cannot fix by itself.
func (x *interactions) warn() {
	res := x.res
	ids := make([]string, 0, len(x.trackers))
	for id := range x.trackers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		ids = append(ids, "") // nothing exported: still too few
		x.trackers[""] = &trackerCounts{users: map[string]bool{}}
	}
	for _, id := range ids {
		tc, prefix := x.trackers[id], ""
		if len(ids) > 1 {
			prefix = "trackingId " + strconv.Quote(id) + ": "
		}
		if tc.rows < MinInteractions {
			res.Warnings = append(res.Warnings, fmt.Sprintf(
				"%s%d interactions: Personalize needs at least %d to train (and a dataset import job at least %d records)",
				prefix, tc.rows, MinInteractions, MinInteractions))
		}
		if tc.users != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf(
				"%s%d users with 2 or more interactions: Personalize needs at least %d to train", prefix, tc.repeats, MinRepeatUsers))
		}
	}
	// EVENT_TYPE and EVENT_VALUE count as metadata fields here.
	if fields := 2 + len(x.cols); len(x.types)+fields > MaxTypesAndMetadata {
		qualifier := ""
		if len(x.types) > MaxTypesAndMetadata {
			qualifier = "more than "
		}
		res.Warnings = append(res.Warnings, fmt.Sprintf(
			"%s%d event types and %d metadata fields (EVENT_TYPE, EVENT_VALUE and %d columns): Personalize allows at most %d together; export fewer event types or columns",
			qualifier, min(len(x.types), MaxTypesAndMetadata), fields, len(x.cols), MaxTypesAndMetadata))
	}
}

// Report writes what an export left out and its warnings to w, one line
// each, in a stable order: what a person reading stderr needs.
func (res *PersonalizeResult) Report(w io.Writer) {
	for _, t := range sortedKeys(res.WithoutItemID) {
		fmt.Fprintf(w, "left out %d %s events without an itemId (Personalize requires ITEM_ID)\n", res.WithoutItemID[t], strconv.QuoteToASCII(t))
	}
	if res.OtherTypes > 0 {
		fmt.Fprintf(w, "left out %d events of other event types\n", res.OtherTypes)
	}
	for _, f := range sortedKeys(res.LeftOut) {
		fmt.Fprintf(w, "%s: %d values Personalize would refuse written as empty cells\n", f, res.LeftOut[f])
	}
	for _, warning := range res.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warning)
	}
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
