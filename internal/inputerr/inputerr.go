// Package inputerr is the error type for a bad input: it names the input and
// the rule it broke, never the input's value.
package inputerr

import (
	"errors"
	"fmt"
)

// Error is one bad input.
type Error struct {
	Input string // the input's name, as the user wrote it (action input name)
	Rule  string // what the value must be, said so the user knows what to change
	// File and Line locate the problem in a file the input names (a rest
	// profile), when known: File relative to the workspace, Line from 1.
	File string
	Line int
}

func (e *Error) Error() string { return fmt.Sprintf("input %q: %s", e.Input, e.Rule) }

// New returns an *Error for input with a formatted rule.
func New(input, format string, args ...any) *Error {
	return &Error{Input: input, Rule: fmt.Sprintf(format, args...)}
}

// List flattens err (joined or wrapped) into its *Error values, in order,
// each problem once: two checks that find the same problem (the same
// input and rule) yield one error, so the user sees one ::error:: line.
// Errors that are not input errors are returned in rest.
func List(err error) (inputs []*Error, rest []error) {
	all, rest := list(err)
	seen := map[Error]bool{}
	for _, e := range all {
		if !seen[*e] {
			seen[*e] = true
			inputs = append(inputs, e)
		}
	}
	return inputs, rest
}

func list(err error) (inputs []*Error, rest []error) {
	if err == nil {
		return nil, nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			i, r := list(e)
			inputs = append(inputs, i...)
			rest = append(rest, r...)
		}
		return inputs, rest
	}
	if ie, ok := err.(*Error); ok { //nolint:errorlint // this level only; wrappers are unwrapped below
		return []*Error{ie}, nil
	}
	// A wrapper around a join (fmt.Errorf("…: %w", errors.Join(…))) holds
	// every input error of the join, not only the first errors.As finds.
	if u := errors.Unwrap(err); u != nil {
		if inputs, rest := list(u); len(inputs) > 0 {
			return inputs, rest
		}
	}
	return nil, []error{err}
}
