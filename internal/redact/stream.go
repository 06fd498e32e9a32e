package redact

import (
	"bytes"
	"encoding/base64"
	"io"
	"sort"
	"sync"
	"time"
)

// Stream conceals a Masker's secrets in a byte stream (a child process's
// stdout or stderr) as it passes through, for `tokenmint exec`.
//
// Invariants:
//   - A registered value never reaches the underlying writer, whether it
//     arrives in one write, split across writes or lines, or inside a long
//     line without a newline: every occurrence (and every overlap of
//     occurrences) is written as one "***".
//   - Only the longest suffix that could still grow into a registered value
//     is held back; everything before it is written at once, so output
//     stays interactive and no whole line is ever buffered.
//   - A held-back suffix is written after FlushAfter without more input
//     only while it is too short to give a secret away (fewer than 8 bytes
//     and less than half of every value it starts): a longer partial match
//     waits for more input and, at Close, is written as "***".
//   - What was written last (up to the longest value) is remembered, so a
//     value whose start went out with a timed flush is still cut off
//     where the rest arrives.
type Stream struct {
	mu     sync.Mutex
	w      io.Writer
	m      *Masker
	flush  time.Duration
	after  AfterFunc
	gen    int
	values [][]byte
	maxLen int
	// index: each value by its first three bytes, behind a bitset filter,
	// so one pass over the input finds every occurrence.
	filter []uint64
	byKey  map[uint32][]int

	tail    []byte // the last bytes written, raw (context for the next write)
	scratch []byte // tail+buf, reused
	buf     []byte // held back: a possible start of a value
	timer   func() bool
	err     error
}

// AfterFunc calls f after d and returns a function that cancels the call
// (time.AfterFunc's shape, injectable for tests).
type AfterFunc func(d time.Duration, f func()) (stop func() bool)

// StreamOption configures a Stream.
type StreamOption func(*Stream)

// WithFlushAfter sets how long a held-back partial match may wait for more
// input before it is written (default 50ms).
func WithFlushAfter(d time.Duration) StreamOption { return func(s *Stream) { s.flush = d } }

// WithAfterFunc replaces time.AfterFunc (tests drive a fake clock).
func WithAfterFunc(f AfterFunc) StreamOption { return func(s *Stream) { s.after = f } }

// DefaultFlushAfter is how long a short partial match is held back.
const DefaultFlushAfter = 50 * time.Millisecond

// significantPartial is the length from which a held-back partial match is
// never written out by the timer.
const significantPartial = 8

// NewStream returns a Stream writing to w with m's secrets concealed. Call
// Close when the input ends.
func NewStream(w io.Writer, m *Masker, opts ...StreamOption) *Stream {
	s := &Stream{w: w, m: m, flush: DefaultFlushAfter, gen: -1}
	s.after = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	for _, o := range opts {
		o(s)
	}
	return s
}

// refresh reloads the masker's values when they changed.
func (s *Stream) refresh() {
	vals, gen := s.m.snapshot(s.gen)
	if gen == s.gen {
		return
	}
	s.gen = gen
	s.values = s.values[:0]
	s.maxLen = 0
	s.filter = make([]uint64, filterBits/64)
	s.byKey = map[uint32][]int{}
	for i, v := range vals {
		s.values = append(s.values, []byte(v))
		s.maxLen = max(s.maxLen, len(v))
		k := key3(s.values[i])
		s.filter[fhash(k)/64] |= 1 << (fhash(k) % 64)
		s.byKey[k] = append(s.byKey[k], i)
	}
}

const filterBits = 1 << 20

func key3(b []byte) uint32 { return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]) }

func fhash(k uint32) uint32 { return (k * 2654435761) >> 12 }

// Write conceals and writes p (or holds back its end). It reports len(p)
// unless the underlying writer failed.
func (s *Stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	s.stopTimer()
	s.refresh()
	s.buf = append(s.buf, p...)
	s.process(false)
	if s.err != nil {
		return 0, s.err
	}
	if len(s.buf) > 0 {
		s.timer = s.after(s.flush, s.timedFlush)
	}
	return len(p), nil
}

// Close writes what is held back (a significant partial match as "***").
func (s *Stream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopTimer()
	if s.err != nil {
		return s.err
	}
	s.refresh()
	s.process(true)
	if len(s.buf) > 0 {
		s.write([]byte("***"))
		s.buf = nil
	}
	return s.err
}

func (s *Stream) stopTimer() {
	if s.timer != nil {
		s.timer()
		s.timer = nil
	}
}

func (s *Stream) timedFlush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timer = nil
	if s.err != nil || len(s.buf) == 0 {
		return
	}
	work := append(append(make([]byte, 0, len(s.tail)+len(s.buf)), s.tail...), s.buf...)
	if s.significant(work) {
		return // wait for more input or Close
	}
	// Mask what is complete in the held-back part too: a short value can
	// sit whole at its start, inside the start of a longer one.
	s.emit(work, len(s.tail), len(work), s.occurrences(work, len(work)))
	s.buf = s.buf[:0]
}

// significant reports whether a suffix of b (what was written last and
// what is held back) starts a value far enough to give it away.
func (s *Stream) significant(b []byte) bool {
	for i := max(len(b)-s.maxLen+1, 0); i < len(b); i++ {
		k := len(b) - i
		for _, v := range s.values {
			if k < len(v) && bytes.HasPrefix(v, b[i:]) && (k >= significantPartial || 2*k >= len(v)) {
				return true
			}
		}
	}
	return false
}

// process writes the concealed part of tail+buf that can no longer grow
// into a value and keeps the rest in buf. final: the input ended, hold
// back only what is a significant partial match.
func (s *Stream) process(final bool) {
	e := len(s.tail)
	s.scratch = append(append(s.scratch[:0], s.tail...), s.buf...)
	work := s.scratch
	hold := s.partial(work)
	if hold > len(work)-e {
		hold = len(work) - e
	}
	if final && !s.significant(work) {
		hold = 0
	}
	cut := len(work) - hold
	ivs := s.occurrences(work, cut)
	for _, iv := range ivs {
		if iv[1] > cut {
			cut = iv[1] // a complete value straddles the cut: include it
		}
	}
	s.emit(work, e, cut, ivs)
	s.buf = append(s.buf[:0], work[cut:]...)
}

// emit writes work[from:to] with the merged intervals ivs replaced by
// "***", and remembers the raw bytes written as the next tail.
func (s *Stream) emit(work []byte, from, to int, ivs [][2]int) {
	if to <= from {
		return
	}
	var out []byte
	pos := from
	for _, iv := range ivs {
		if iv[1] <= from || iv[0] >= to {
			continue
		}
		if iv[0] > pos {
			out = append(out, work[pos:iv[0]]...)
		}
		out = append(out, "***"...)
		pos = max(pos, iv[1])
	}
	if out == nil {
		s.write(work[from:to]) // nothing concealed: no copy
	} else {
		s.write(append(out, work[min(pos, to):to]...))
	}
	// Keep the context: the last maxLen-1 raw bytes written.
	keep := max(s.maxLen-1, 0)
	start := max(to-keep, 0)
	s.tail = append(s.tail[:0:0], work[start:to]...)
}

func (s *Stream) write(b []byte) {
	if len(b) == 0 || s.err != nil {
		return
	}
	if _, err := s.w.Write(b); err != nil {
		s.err = err
	}
}

// partial returns the length of the longest suffix of b that is a proper
// prefix of a value.
func (s *Stream) partial(b []byte) int {
	from := max(len(b)-s.maxLen+1, 0)
	for i := from; i < len(b); i++ {
		suf := b[i:]
		for _, v := range s.values {
			if len(suf) < len(v) && bytes.HasPrefix(v, suf) {
				return len(b) - i
			}
		}
	}
	return 0
}

// occurrences returns the merged intervals of every complete value in b
// that starts before cut, sorted.
func (s *Stream) occurrences(b []byte, cut int) [][2]int {
	var ivs [][2]int
	for i := 0; i < cut && i+3 <= len(b); i++ {
		k := uint32(b[i])<<16 | uint32(b[i+1])<<8 | uint32(b[i+2])
		h := fhash(k)
		if s.filter[h/64]&(1<<(h%64)) == 0 {
			continue
		}
		for _, vi := range s.byKey[k] {
			if v := s.values[vi]; bytes.HasPrefix(b[i:], v) {
				ivs = append(ivs, [2]int{i, i + len(v)})
			}
		}
	}
	if len(ivs) < 2 {
		return ivs
	}
	sort.Slice(ivs, func(i, j int) bool { return ivs[i][0] < ivs[j][0] })
	merged := ivs[:1]
	for _, iv := range ivs[1:] {
		last := &merged[len(merged)-1]
		if iv[0] <= last[1] {
			last[1] = max(last[1], iv[1])
			continue
		}
		merged = append(merged, iv)
	}
	return merged
}

// EmbeddedBase64 returns the base64 forms of value as it appears inside a
// longer base64 stream: for each of the three byte alignments (the value
// starting at an offset of 0, 1 or 2 bytes mod 3 into the encoded data),
// the characters that depend on the value alone, in the standard and URL
// alphabets. Cores shorter than 4 characters are left out.
func EmbeddedBase64(value string) []string {
	if len(value) < 4 {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for shift := 0; shift < 3; shift++ {
			data := append(make([]byte, shift), value...)
			s := enc.EncodeToString(data)
			// Leading characters mixed with the bytes before the value.
			lead := [3]int{0, 2, 3}[shift]
			// Trailing characters mixed with the bytes after it (and padding).
			n := len(data)
			full := n / 3 * 4
			if n%3 != 0 {
				// The last group's first n%3 characters: all but the last
				// depend on the value alone.
				full += n % 3
			}
			core := s[lead:full]
			if len(core) >= 4 && !seen[core] {
				seen[core] = true
				out = append(out, core)
			}
		}
	}
	return out
}
