package tracker

// OptionList is every member of track's options as JavaScript names it,
// with the field of Options it sets: the one home of the option names.
// DecodeCalls reads options by it, its error lists the names in this
// order, and js/types_test.go holds tracklet.d.ts's TrackOptions to it.
//
// The field's type is the option's kind: *string a string, *float64 a
// number, []string an array of strings (item ids), time.Time a Date or
// epoch milliseconds.
var OptionList = [...]Option{
	{"eventId", func(o *Options) any { return &o.EventID }},
	{"itemId", func(o *Options) any { return &o.ItemID }},
	{"eventValue", func(o *Options) any { return &o.EventValue }},
	{"impression", func(o *Options) any { return &o.Impression }},
	{"recommendationId", func(o *Options) any { return &o.RecommendationID }},
	{"metricAttribution", func(o *Options) any { return &o.MetricAttribution }},
	{"sentAt", func(o *Options) any { return &o.SentAt }},
}

// An Option names one member of track's options and points at its field.
type Option struct {
	Name string
	// Field returns a pointer to the field of o the option sets.
	Field func(o *Options) any
}

// knownOptions is the list an unknown option's error gives.
func knownOptions() string {
	s := ""
	for i, opt := range OptionList {
		if i > 0 {
			s += ", "
		}
		s += opt.Name
	}
	return s
}
