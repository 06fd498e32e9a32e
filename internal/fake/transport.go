package fake

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
)

// Transport returns an http.RoundTripper that serves requests to s in
// process: no listener, no real waits, so model-based tests can run
// thousands of schedules. Each queued Fault is applied as the client would
// see it:
//
//   - Status (without After): that answer, nothing done.
//   - After: the work is done first, then Status, Drop or Delay applies.
//   - Drop: a connection reset after the request was sent (ErrDropped).
//   - Delay > 0: the client's timeout (ErrTimedOut); with After, after
//     the work was done.
//   - RawBody, Header: as the real server applies them.
//
// The route key is the pattern the request matches, as for Push.
func (s *Server) Transport() http.RoundTripper { return transport{s} }

// Errors the in-process transport returns in place of a network failure.
var (
	ErrDropped  = errors.New("fake: connection reset after the request was sent")
	ErrTimedOut = timeoutError{}
)

type timeoutError struct{}

func (timeoutError) Error() string   { return "fake: timeout awaiting response" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

type transport struct{ s *Server }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	s := t.s
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	_, pattern := s.mux.Handler(req)
	if pattern == "" {
		return answer(req, http.StatusNotFound, nil, []byte(`{"error":"not_found"}`)), nil
	}
	run := func() *httptest.ResponseRecorder {
		r2 := req.Clone(req.Context())
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.ContentLength = int64(len(body))
		r2.RequestURI = req.URL.RequestURI()
		rec := httptest.NewRecorder()
		s.raw.ServeHTTP(rec, r2)
		return rec
	}
	f, ok := s.next(pattern)
	if !ok {
		rec := run()
		return answer(req, rec.Code, rec.Header(), rec.Body.Bytes()), nil
	}
	var rec *httptest.ResponseRecorder
	if f.After {
		rec = run()
	}
	switch {
	case f.Drop:
		return nil, ErrDropped
	case f.Delay > 0:
		return nil, ErrTimedOut
	case f.Status != 0:
		hdr := http.Header{}
		for k, v := range f.Header {
			hdr.Set(k, v)
		}
		return answer(req, f.Status, hdr, []byte(f.Body)), nil
	}
	if rec == nil {
		rec = run()
	}
	hdr := rec.Header().Clone()
	for k, v := range f.Header {
		hdr.Set(k, v)
	}
	b := rec.Body.Bytes()
	if f.RawBody != "" {
		b = []byte(f.RawBody)
	}
	return answer(req, rec.Code, hdr, b), nil
}

func answer(req *http.Request, status int, h http.Header, body []byte) *http.Response {
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return &http.Response{
		Status: strconv.Itoa(status) + " " + http.StatusText(status), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}
}

// Route returns the route key (the pattern) a request matches, "" when
// none does.
func (s *Server) Route(r *http.Request) string {
	_, pattern := s.mux.Handler(r)
	return pattern
}
