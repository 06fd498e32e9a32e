// Package fake is the shared core of tokenmint's fake token services: a
// token store that counts orphans, request counting per route, and
// switchable faults (statuses, Retry-After, dropped connections after the
// work was done, slow answers, malformed or huge bodies). The service fakes
// below it (tooken, hookbase, groo, …) follow ../shared/providers.md and are
// used by unit tests, end-to-end tests, the fake-server command and the
// benchmarks, so they live in non-test files.
package fake

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"
)

// Record is one token held by a fake service.
type Record struct {
	ID          string
	Name        string
	Secret      string
	Description string
	Scopes      []string
	CreatedAt   time.Time
	ExpiresAt   time.Time // zero: never
	Revoked     bool
	// Extra holds service-specific fields.
	Extra map[string]string
}

// Live reports whether the record is neither revoked nor expired at now.
func (r Record) Live(now time.Time) bool {
	return !r.Revoked && (r.ExpiresAt.IsZero() || now.Before(r.ExpiresAt))
}

// Store is an in-memory token store, safe for concurrent use.
type Store struct {
	mu      sync.Mutex
	records map[string]*Record
	order   []string
	byName  map[string][]string // name → IDs, so a create's uniqueness check is O(1)
	Now     func() time.Time
}

// NewStore returns an empty store on the real clock.
func NewStore() *Store {
	return &Store{records: map[string]*Record{}, byName: map[string][]string{}, Now: time.Now}
}

// Add stores r (its ID must be set) and returns a copy.
func (s *Store) Add(r Record) Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.Now().UTC()
	}
	cp := r
	s.records[r.ID] = &cp
	s.order = append(s.order, r.ID)
	s.byName[r.Name] = append(s.byName[r.Name], r.ID)
	return cp
}

// Get returns the record with id.
func (s *Store) Get(id string) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[id]
	if !ok {
		return Record{}, false
	}
	return *r, true
}

// Update applies f to the record with id under the lock.
func (s *Store) Update(id string, f func(*Record)) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[id]
	if !ok {
		return Record{}, false
	}
	old := r.Name
	f(r)
	if r.Name != old {
		s.unindex(old, id)
		s.byName[r.Name] = append(s.byName[r.Name], id)
	}
	return *r, true
}

func (s *Store) unindex(name, id string) {
	ids := s.byName[name]
	for i, v := range ids {
		if v == id {
			s.byName[name] = append(ids[:i:i], ids[i+1:]...)
			return
		}
	}
}

// Revoke marks id revoked; false when unknown.
func (s *Store) Revoke(id string) bool {
	_, ok := s.Update(id, func(r *Record) { r.Revoked = true })
	return ok
}

// Delete removes id entirely; false when unknown.
func (s *Store) Delete(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[id]
	if !ok {
		return false
	}
	s.unindex(r.Name, id)
	delete(s.records, id)
	for i, v := range s.order {
		if v == id {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	return true
}

// All returns every record in creation order.
func (s *Store) All() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Record, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, *s.records[id])
	}
	return out
}

// FindName returns the records whose name is exactly name (any status).
func (s *Store) FindName(name string) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, id := range s.byName[name] {
		out = append(out, *s.records[id])
	}
	return out
}

// Live returns the records that are neither revoked nor expired.
func (s *Store) Live() []Record {
	now := s.Now()
	var out []Record
	for _, r := range s.All() {
		if r.Live(now) {
			out = append(out, r)
		}
	}
	return out
}

// Orphans counts live tokens other than those whose IDs are in keep.
func (s *Store) Orphans(keep ...string) int {
	n := 0
	for _, r := range s.Live() {
		kept := false
		for _, k := range keep {
			if r.ID == k {
				kept = true
			}
		}
		if !kept {
			n++
		}
	}
	return n
}

// Secrets returns every secret the store ever issued (for leak scans).
func (s *Store) Secrets() []string {
	var out []string
	for _, r := range s.All() {
		if r.Secret != "" {
			out = append(out, r.Secret)
		}
	}
	return out
}

// RandomHex returns n random bytes as lowercase hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Fault changes how one request to a route is answered.
type Fault struct {
	// Status, when set, answers with it (and Body/Header) without doing the
	// work — unless After is set.
	Status int
	Body   string
	Header map[string]string
	// After does the work first (a create is performed), then applies the
	// fault: Status replaces the real answer, or Drop loses it.
	After bool
	// Drop closes the connection without an answer.
	Drop bool
	// Delay waits before answering (after the work when After is set).
	Delay time.Duration
	// RawBody replaces a successful answer's body (malformed JSON).
	RawBody string
	// HugeBody streams this many bytes of JSON-looking filler as the body
	// of a successful answer.
	HugeBody int64
	// Late holds the request without an answer until the client gives up
	// (its connection or context ends), waits Delay more, then does the
	// work: a create committed after its caller timed out and moved on.
	Late bool
}

// Server is the fault-injecting, request-counting shell around a service's
// routes.
type Server struct {
	Store *Store
	mux   *http.ServeMux

	mu       sync.Mutex
	faults   map[string][]Fault
	counts   map[string]int
	requests []string
	lateDone int
	// raw serves the routes' own handlers, without faults (Transport).
	raw *http.ServeMux
}

// NewServer returns a Server with an empty store.
func NewServer() *Server {
	return &Server{Store: NewStore(), mux: http.NewServeMux(), faults: map[string][]Fault{}, counts: map[string]int{}, raw: http.NewServeMux()}
}

// Handle registers h for pattern ("POST /v1/tokens"); the pattern is also
// the route key for faults and counts.
func (s *Server) Handle(pattern string, h http.HandlerFunc) {
	s.raw.HandleFunc(pattern, h)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s.serve(pattern, h, w, r)
	})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Push queues faults for the next requests to route, in order.
func (s *Server) Push(route string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[route] = append(s.faults[route], faults...)
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = map[string][]Fault{}
}

// Count returns how many requests route has received.
func (s *Server) Count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[route]
}

// Total returns how many requests all routes have received.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// Requests returns the route keys of every request, in order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// ResetCounts forgets the request log.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[string]int{}
	s.requests = nil
}

func (s *Server) next(route string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[route]++
	s.requests = append(s.requests, route)
	q := s.faults[route]
	if len(q) == 0 {
		return Fault{}, false
	}
	s.faults[route] = q[1:]
	return q[0], true
}

func (s *Server) serve(route string, h http.HandlerFunc, w http.ResponseWriter, r *http.Request) {
	f, ok := s.nextMarked(route, r)
	if !ok {
		h(w, r)
		return
	}
	if f.Late {
		s.late(w, r, h, f)
		return
	}
	if !f.After {
		if f.Delay > 0 {
			sleepOrDone(r, f.Delay)
		}
		switch {
		case f.Drop:
			drop(w)
		case f.Status != 0:
			writeRaw(w, f.Status, f.Header, f.Body)
		default:
			s.replay(w, r, h, f)
		}
		return
	}
	s.replay(w, r, h, f)
}

// late reads the request, waits until the client is gone, then runs the
// handler into a recorder (the work is done, nobody hears of it).
func (s *Server) late(w http.ResponseWriter, r *http.Request, h http.HandlerFunc, f Fault) {
	body, _ := io.ReadAll(r.Body)
	sleepOrDone(r, 5*time.Minute)
	if f.Delay > 0 {
		time.Sleep(f.Delay)
	}
	r2 := r.Clone(context.WithoutCancel(r.Context()))
	r2.Body = io.NopCloser(bytes.NewReader(body))
	h(httptest.NewRecorder(), r2)
	s.mu.Lock()
	s.lateDone++
	s.mu.Unlock()
	drop(w)
}

// LateCommits counts Late faults whose work was done.
func (s *Server) LateCommits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lateDone
}

// replay runs the real handler into a recorder, then answers as f says.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, h http.HandlerFunc, f Fault) {
	rec := httptest.NewRecorder()
	h(rec, r)
	if f.Delay > 0 && f.After {
		sleepOrDone(r, f.Delay)
	}
	switch {
	case f.Drop:
		drop(w)
		return
	case f.Status != 0:
		writeRaw(w, f.Status, f.Header, f.Body)
		return
	}
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	for k, v := range f.Header {
		w.Header().Set(k, v)
	}
	switch {
	case f.RawBody != "":
		w.WriteHeader(rec.Code)
		_, _ = w.Write([]byte(f.RawBody))
	case f.HugeBody > 0:
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		writeHuge(w, f.HugeBody)
	default:
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}
}

func sleepOrDone(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("fake: response writer cannot hijack")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

func writeRaw(w http.ResponseWriter, status int, header map[string]string, body string) {
	for k, v := range header {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" && strings.HasPrefix(strings.TrimSpace(body), "{") {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func writeHuge(w http.ResponseWriter, n int64) {
	chunk := []byte(`{"pad":"` + strings.Repeat("x", 4096) + `"},`)
	_, _ = w.Write([]byte(`{"data":[`))
	var written int64
	for written < n {
		m, err := w.Write(chunk)
		if err != nil {
			return
		}
		written += int64(m)
	}
	_, _ = w.Write([]byte(`{}]}`))
}

// JSON writes v as a JSON answer with status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// BearerToken returns the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// SortedKeys returns m's keys sorted.
func SortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
