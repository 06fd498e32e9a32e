package relay

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"time"
)

// The replay store's answers to claim.
var (
	// errReplay: a key of the delivery was already dispatched (done)
	// within its window: 409.
	errReplay = errors.New("webhook already delivered")
	// errBusy: another handler (here or on another replica) holds the
	// delivery right now: 503 with a short Retry-After, never 409, so the
	// sender's retry is not refused.
	errBusy = errors.New("delivery in progress")
	// errReplayFull: the in-memory store is at capacity with live entries:
	// the relay cannot promise to recognise a replay, so it refuses (503)
	// rather than forget one.
	errReplayFull = errors.New("replay cache full")
)

// StoreError is a replay store that could not be reached or answered
// badly (Redis down, timeout). The relay fails closed: 503, nothing
// dispatched without the cache.
type StoreError struct {
	Op  string
	Err error
}

func (e *StoreError) Error() string {
	return "failed to " + e.Op + " in the replay store: " + e.Err.Error()
}
func (e *StoreError) Unwrap() error { return e.Err }

type replayKey [sha256.Size]byte

// deliveryRef names one delivery in the store: its replay keys (body hash,
// signature, envelope id) and its primary key (the id when Tooken sends
// one, else the body hash), under which dispatched targets are recorded so
// that a retry sends only what is missing.
type deliveryRef struct {
	keys    []replayKey
	primary replayKey
}

// store is the replay cache and the record of pending dispatches.
//
// A delivery goes claim → (markDispatched per target) → finish, or
// claim → release when it was not answered 2xx. Only finish makes it a
// replay; a claim only keeps concurrent copies apart and expires by
// itself (claimTTL) when its holder dies.
type store interface {
	// claim takes the delivery for one attempt identified by token. It
	// returns errReplay when any key is done, errBusy when any key is
	// claimed by another attempt, errReplayFull or a *StoreError, or the
	// targets a previous attempt already dispatched.
	claim(ctx context.Context, d deliveryRef, token string, now time.Time, claimTTL time.Duration) (map[string]bool, error)
	// markDispatched records that target was dispatched for d, until
	// expiry.
	markDispatched(ctx context.Context, d deliveryRef, target string, now, expiry time.Time) error
	// finish records every key of d as done until expiry and drops the
	// claim and the target record.
	finish(ctx context.Context, d deliveryRef, token string, now, expiry time.Time) error
	// release drops token's claim without marking d done (keeping the
	// targets already dispatched), so the sender's retry is accepted.
	release(ctx context.Context, d deliveryRef, token string) error
	close() error
}

// newDeliveryRef derives the replay keys of a verified delivery. Each kind
// is domain-separated so a body can never collide with a signature.
func newDeliveryRef(body, sig []byte, deliveryID string) deliveryRef {
	h := func(kind string, b []byte) replayKey {
		d := sha256.New()
		d.Write([]byte(kind))
		d.Write([]byte{0})
		d.Write(b)
		var k replayKey
		copy(k[:], d.Sum(nil))
		return k
	}
	ref := deliveryRef{keys: []replayKey{h("body", body), h("sig", sig)}}
	ref.primary = ref.keys[0]
	if deliveryID != "" {
		id := h("id", []byte(deliveryID))
		ref.keys = append(ref.keys, id)
		ref.primary = id
	}
	return ref
}

// newToken returns a random attempt token.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// memStore is the in-memory store of a single replica. It is bounded: at
// capacity it refuses new deliveries instead of evicting live entries.
type memStore struct {
	mu       sync.Mutex
	entries  map[replayKey]memEntry
	targets  map[replayKey]memTargets
	max      int
	inserts  int
	sweepGap int
}

type memEntry struct {
	done   bool
	token  string // claim holder
	expiry time.Time
}

type memTargets struct {
	set    map[string]bool
	expiry time.Time
}

func newMemStore(limit int) *memStore {
	return &memStore{entries: map[replayKey]memEntry{}, targets: map[replayKey]memTargets{}, max: limit, sweepGap: max(limit/4, 1)}
}

func (s *memStore) size() int { return len(s.entries) + len(s.targets) }

func (s *memStore) sweep(now time.Time) {
	for k, e := range s.entries {
		if !now.Before(e.expiry) {
			delete(s.entries, k)
		}
	}
	for k, t := range s.targets {
		if !now.Before(t.expiry) {
			delete(s.targets, k)
		}
	}
}

func (s *memStore) claim(_ context.Context, d deliveryRef, token string, now time.Time, ttl time.Duration) (map[string]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	busy := false
	for _, k := range d.keys {
		e, ok := s.entries[k]
		if !ok || !now.Before(e.expiry) {
			continue
		}
		if e.done {
			return nil, errReplay
		}
		busy = true
	}
	if busy {
		return nil, errBusy
	}
	s.inserts++
	if s.size()+len(d.keys)+1 > s.max || s.inserts >= s.sweepGap {
		s.inserts = 0
		s.sweep(now)
	}
	if s.size()+len(d.keys)+1 > s.max {
		return nil, errReplayFull
	}
	for _, k := range d.keys {
		s.entries[k] = memEntry{token: token, expiry: now.Add(ttl)}
	}
	done := map[string]bool{}
	if t, ok := s.targets[d.primary]; ok && now.Before(t.expiry) {
		for k := range t.set {
			done[k] = true
		}
	}
	return done, nil
}

func (s *memStore) markDispatched(_ context.Context, d deliveryRef, target string, _, expiry time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.targets[d.primary]
	if !ok {
		t = memTargets{set: map[string]bool{}}
	}
	t.set[target] = true
	t.expiry = expiry
	s.targets[d.primary] = t
	return nil
}

func (s *memStore) finish(_ context.Context, d deliveryRef, _ string, _, expiry time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range d.keys {
		s.entries[k] = memEntry{done: true, expiry: expiry}
	}
	delete(s.targets, d.primary)
	return nil
}

func (s *memStore) release(_ context.Context, d deliveryRef, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range d.keys {
		if e, ok := s.entries[k]; ok && !e.done && e.token == token {
			delete(s.entries, k)
		}
	}
	return nil
}

func (s *memStore) close() error { return nil }
