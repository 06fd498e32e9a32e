package httpx

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"time"
)

// Sleep waits d, or until ctx ends (then it returns ctx.Err()).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Backoff is base doubled per attempt (attempt 1 → base), capped at max,
// plus up to 20% jitter so parallel jobs do not retry in step.
func Backoff(base, max time.Duration, attempt int) time.Duration {
	d := base << (attempt - 1)
	if d > max || d <= 0 {
		d = max
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return d + time.Duration(binary.LittleEndian.Uint64(b[:])%uint64(d/5+1)) //nolint:gosec // d is in (0, max]: positive, and the remainder is below d/5+1
}
