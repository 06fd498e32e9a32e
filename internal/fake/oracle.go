package fake

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
)

// GitHubOracle, when set, wraps the handler of every GitHub fake
// (internal/fake/ghapp, internal/fake/ghsecrets) so each request is
// checked against GitHub's REST description. Package
// internal/fake/ghoracle sets it in its init; every test package that
// serves a GitHub fake imports it (WrapGitHub panics in a test binary
// where it is missing, so no test can run a GitHub fake unchecked).
// prefix is the fake's route prefix ("" or "/api/v3").
var GitHubOracle func(prefix string, next http.Handler) http.Handler

// WrapGitHub returns next wrapped by GitHubOracle. Outside tests (the
// fake-server command, benchmarks' main) it returns next unchanged.
func WrapGitHub(prefix string, next http.Handler) http.Handler {
	if GitHubOracle != nil {
		return GitHubOracle(prefix, next)
	}
	if testing.Testing() {
		panic("fake: a GitHub fake was built in a test binary without the OpenAPI oracle: add `import _ \"github.com/tokenmint/tokenmint/internal/fake/ghoracle\"` to a _test.go file of this package")
	}
	return next
}

type faultMarkKey struct{}

// WithFaultMark returns r with a flag that Server sets when it answers r
// with a fault (an injected status, a dropped connection, a raw or huge
// body): such an answer is not the fake's own and is not checked.
func WithFaultMark(r *http.Request) (*http.Request, *atomic.Bool) {
	f := new(atomic.Bool)
	return r.WithContext(context.WithValue(r.Context(), faultMarkKey{}, f)), f
}

func markFault(r *http.Request) {
	if f, ok := r.Context().Value(faultMarkKey{}).(*atomic.Bool); ok {
		f.Store(true)
	}
}

// nextMarked is next, marking r (WithFaultMark) when its fault replaces
// the fake's own answer.
func (s *Server) nextMarked(route string, r *http.Request) (Fault, bool) {
	f, ok := s.next(route)
	if ok && (f.Drop || f.Status != 0 || f.RawBody != "" || f.HugeBody > 0) {
		markFault(r)
	}
	return f, ok
}
