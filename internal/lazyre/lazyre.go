// Package lazyre holds regular expressions that compile on first use.
//
// A package-level regexp.MustCompile runs at package initialisation, in
// every process, whether or not the process ever matches: with bounded
// repetitions such as {0,98} that costs tenths of a millisecond each, and
// every phase of the action pays it at start-up. A lazyre.Regexp keeps the
// expression and compiles it once, the first time a method is called.
package lazyre

import (
	"regexp"
	"sync"
)

// Regexp is a regular expression compiled on first use; safe for
// concurrent use.
type Regexp struct {
	expr string
	re   func() *regexp.Regexp
}

// New returns expr, to be compiled by regexp.MustCompile on first use
// (which panics there if expr is invalid; every expression is covered by
// its package's tests).
func New(expr string) *Regexp {
	return &Regexp{expr: expr, re: sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })}
}

// Regexp returns the compiled expression.
func (r *Regexp) Regexp() *regexp.Regexp { return r.re() }

// String returns the source text.
func (r *Regexp) String() string { return r.expr }

// MatchString is regexp.Regexp.MatchString.
func (r *Regexp) MatchString(s string) bool { return r.re().MatchString(s) }

// ReplaceAllString is regexp.Regexp.ReplaceAllString.
func (r *Regexp) ReplaceAllString(src, repl string) string { return r.re().ReplaceAllString(src, repl) }

// FindStringSubmatch is regexp.Regexp.FindStringSubmatch.
func (r *Regexp) FindStringSubmatch(s string) []string { return r.re().FindStringSubmatch(s) }
