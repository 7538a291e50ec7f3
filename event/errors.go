package event

import (
	"strconv"
	"strings"
)

// FieldError says which member of a request broke which rule, in the words a
// site owner can act on: "eventList[3].properties: longer than 1024 characters".
type FieldError struct {
	// Field is the member's path in the wire form, e.g. "eventList[3].sentAt".
	// It is "body" when the request as a whole is unreadable.
	Field string
	// Rule says what is wrong, e.g. "longer than 256 characters".
	Rule string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Rule }

// Errors is every rule a request broke, in the order of its members.
type Errors []*FieldError

// maxReported bounds the message of an Errors: a body with thousands of bad
// events should still get a short answer.
const maxReported = 10

func (errs Errors) Error() string {
	var b strings.Builder
	for i, e := range errs {
		if i == maxReported {
			b.WriteString("; and " + strconv.Itoa(len(errs)-maxReported) + " more")
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.As find the first *FieldError.
func (errs Errors) Unwrap() []error {
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return out
}

// errOrNil returns nil for an empty list, so callers can compare with nil.
func (errs Errors) errOrNil() error {
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	if strings.HasPrefix(field, "[") {
		return path + field
	}
	return path + "." + field
}
