package relay

import (
	"crypto/sha256"
	"errors"
	"sync"
	"time"
)

// errReplay means a key of the delivery was seen within its window.
var errReplay = errors.New("webhook already received")

// errReplayFull means the cache is at capacity with unexpired entries: the
// relay cannot promise to recognise a replay, so it refuses (503) rather
// than forget one.
var errReplayFull = errors.New("replay cache full")

type replayKey [sha256.Size]byte

// replayCache remembers accepted deliveries (body hash, signature, delivery
// id) until each expires. It is bounded: at capacity it refuses new
// entries instead of evicting live ones.
type replayCache struct {
	mu       sync.Mutex
	entries  map[replayKey]time.Time
	max      int
	inserts  int
	sweepGap int
}

func newReplayCache(max int) *replayCache {
	gap := max / 4
	if gap < 1 {
		gap = 1
	}
	return &replayCache{entries: make(map[replayKey]time.Time), max: max, sweepGap: gap}
}

// add records keys until expiry unless one of them is already live. It is
// atomic: two concurrent deliveries of the same body cannot both succeed.
func (c *replayCache) add(keys []replayKey, now, expiry time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		if exp, ok := c.entries[k]; ok && now.Before(exp) {
			return errReplay
		}
	}
	c.inserts++
	if len(c.entries)+len(keys) > c.max || c.inserts >= c.sweepGap {
		c.inserts = 0
		for k, exp := range c.entries {
			if !now.Before(exp) {
				delete(c.entries, k)
			}
		}
	}
	if len(c.entries)+len(keys) > c.max {
		return errReplayFull
	}
	for _, k := range keys {
		c.entries[k] = expiry
	}
	return nil
}

// remove forgets keys (a delivery accepted by the cache but refused by the
// queue, so that the sender's retry is not taken for a replay).
func (c *replayCache) remove(keys []replayKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		delete(c.entries, k)
	}
}

// deliveryKeys derives the replay keys of a verified delivery. Each kind
// is domain-separated so a body can never collide with a signature.
func deliveryKeys(body, sig []byte, deliveryID string) []replayKey {
	h := func(kind string, b []byte) replayKey {
		d := sha256.New()
		d.Write([]byte(kind))
		d.Write([]byte{0})
		d.Write(b)
		var k replayKey
		copy(k[:], d.Sum(nil))
		return k
	}
	keys := []replayKey{h("body", body), h("sig", sig)}
	if deliveryID != "" {
		keys = append(keys, h("id", []byte(deliveryID)))
	}
	return keys
}
