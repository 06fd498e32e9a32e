package redact_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/redact"
)

// manualTimer is an AfterFunc whose pending call the test fires.
type manualTimer struct {
	mu      sync.Mutex
	pending func()
	delays  []time.Duration
}

func (m *manualTimer) after(d time.Duration, f func()) func() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.delays = append(m.delays, d)
	m.pending = f
	return func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.pending = nil
		return true
	}
}

// fire runs the pending call, if any; it reports whether there was one.
func (m *manualTimer) fire() bool {
	m.mu.Lock()
	f := m.pending
	m.pending = nil
	m.mu.Unlock()
	if f != nil {
		f()
	}
	return f != nil
}

const (
	streamToken = "tok_9Fq2LmX7ZpR4vT8sWc3Nb6Yd"
	streamAdmin = "tok_live_Adm1nK3y/Val+ue=="
)

func newStream(t *testing.T, secrets ...string) (*redact.Stream, *bytes.Buffer, *manualTimer) {
	t.Helper()
	m := redact.NewMasker()
	for _, s := range secrets {
		m.Add(s)
		m.AddExact(redact.EmbeddedBase64(s)...)
	}
	var out bytes.Buffer
	mt := &manualTimer{}
	return redact.NewStream(&out, m, redact.WithAfterFunc(mt.after)), &out, mt
}

func TestStream_Conceals(t *testing.T) {
	t.Parallel()
	b64 := base64.StdEncoding.EncodeToString([]byte(streamToken))
	long := strings.Repeat("x", 100_000)
	cases := []struct {
		name   string
		writes []string
		want   string
	}{
		{"raw", []string{"token=" + streamToken + "\n"}, "token=***\n"},
		{"base64", []string{"b64 " + b64 + "\n"}, "b64 ***\n"},
		{"base64_url_raw", []string{base64.RawURLEncoding.EncodeToString([]byte(streamAdmin)) + "\n"}, "***\n"},
		{"url_encoded", []string{"q=" + url.QueryEscape(streamAdmin) + "&x\n"}, "q=***&x\n"},
		{"split_across_two_writes", []string{"a " + streamToken[:10], streamToken[10:] + " b\n"}, "a *** b\n"},
		{"split_across_many_writes", splitEvery("<"+streamToken+">", 1), "<***>"},
		{"inside_long_line_without_newline", []string{long + streamToken + long}, long + "***" + long},
		{"admin_key", []string{"key " + streamAdmin}, "key ***"},
		{"two_adjacent", []string{streamToken + streamToken}, "***"},
		{"overlapping_forms", []string{streamAdmin + url.QueryEscape(streamAdmin)}, "***"},
		{"prefix_then_other_text", []string{"tok_9Fq", "2 nothing\n"}, "tok_9Fq2 nothing\n"},
		{"no_secret_unchanged", []string{"hello ", "world\n", "tok_"}, "hello world\ntok_"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, out, _ := newStream(t, streamToken, streamAdmin)
			for _, w := range tc.writes {
				if n, err := s.Write([]byte(w)); err != nil || n != len(w) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != tc.want {
				t.Fatalf("output differs (len %d vs %d): %s", len(got), len(tc.want), cmp.Diff(trunc(tc.want), trunc(got)))
			}
		})
	}
}

func TestStream_EmbeddedBase64(t *testing.T) {
	t.Parallel()
	for shift := 0; shift < 3; shift++ {
		for trail := 0; trail < 3; trail++ {
			t.Run(fmt.Sprintf("shift_%d_trail_%d", shift, trail), func(t *testing.T) {
				t.Parallel()
				s, out, _ := newStream(t, streamToken)
				data := strings.Repeat("A", 30+shift) + streamToken + strings.Repeat("Z", 30+trail)
				enc := base64.StdEncoding.EncodeToString([]byte(data))
				if _, err := s.Write([]byte(enc)); err != nil {
					t.Fatal(err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				got := out.String()
				if !strings.Contains(got, "***") {
					t.Fatalf("the embedded token was not concealed: %s", got)
				}
				dec := decodeAround(got)
				if strings.Contains(dec, streamToken[4:12]) || strings.Contains(dec, streamToken[len(streamToken)-8:]) {
					t.Fatalf("decodable token part survived: %q", dec)
				}
			})
		}
	}
}

// decodeAround decodes the base64 runs of s around "***".
func decodeAround(s string) string {
	var b strings.Builder
	for _, part := range strings.Split(s, "***") {
		for off := 0; off < 4 && off < len(part); off++ {
			p := part[off:]
			p = p[:len(p)/4*4]
			d, _ := base64.StdEncoding.DecodeString(p)
			b.Write(d)
			b.WriteByte('|')
		}
	}
	return b.String()
}

func TestStream_HoldsOnlyAPossibleStart(t *testing.T) {
	t.Parallel()
	s, out, mt := newStream(t, streamToken)
	// A prompt is written at once: no timer, nothing held.
	mustWrite(t, s, "Password: ")
	if diff := cmp.Diff("Password: ", out.String()); diff != "" {
		t.Fatalf("prompt held back (-want +got):\n%s", diff)
	}
	if mt.fire() {
		t.Fatal("a timer was armed although nothing was held back")
	}
	// A short partial match waits for the timer, then goes out.
	mustWrite(t, s, "id tok_")
	if diff := cmp.Diff("Password: id ", out.String()); diff != "" {
		t.Fatalf("partial match not held (-want +got):\n%s", diff)
	}
	if !mt.fire() {
		t.Fatal("no timer for a held partial match")
	}
	if diff := cmp.Diff("Password: id tok_", out.String()); diff != "" {
		t.Fatalf("timed flush (-want +got):\n%s", diff)
	}
	// The rest of the token arriving later is still cut off.
	mustWrite(t, s, streamToken[4:]+" done\n")
	if diff := cmp.Diff("Password: id tok_*** done\n", out.String()); diff != "" {
		t.Fatalf("rest after a timed flush (-want +got):\n%s", diff)
	}
	// A long partial match is never flushed by the timer; Close conceals it.
	mustWrite(t, s, "x "+streamToken[:20])
	mt.fire()
	if strings.Contains(out.String(), streamToken[:20]) {
		t.Fatalf("significant partial flushed: %q", out.String())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("Password: id tok_*** done\nx ***", out.String()); diff != "" {
		t.Fatalf("close (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]time.Duration{redact.DefaultFlushAfter, redact.DefaultFlushAfter}, mt.delays); diff != "" {
		t.Errorf("timer delays (-want +got):\n%s", diff)
	}
}

// TestStream_Model feeds random text with secrets and their forms, split
// at random points, with timed flushes at random moments, and checks the
// invariants: no 8-byte window of any registered form reaches the output,
// text without secrets passes unchanged, and after each write at most the
// longest form minus one byte is held back.
func TestStream_Model(t *testing.T) {
	t.Parallel()
	seed := time.Now().UnixNano()
	if v := os.Getenv("STREAM_SEED"); v != "" {
		seed, _ = strconv.ParseInt(v, 10, 64)
	}
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	const filler = " .,;!?#@~\n\t"
	const secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-/+="
	for round := 0; round < 200; round++ {
		var secrets []string
		for i := 0; i < 1+rng.IntN(4); i++ {
			b := make([]byte, 8+rng.IntN(40))
			for j := range b {
				b[j] = secretChars[rng.IntN(len(secretChars))]
			}
			secrets = append(secrets, string(b))
		}
		m := redact.NewMasker()
		for _, s := range secrets {
			m.Add(s)
		}
		forms := m.Values()
		maxLen := 0
		for _, f := range forms {
			maxLen = max(maxLen, len(f))
		}
		var in strings.Builder
		plain := true
		for i := 0; i < 30; i++ {
			if rng.IntN(3) == 0 {
				in.WriteString(forms[rng.IntN(len(forms))])
				plain = false
			} else {
				for j := 0; j < rng.IntN(50); j++ {
					in.WriteByte(filler[rng.IntN(len(filler))])
				}
			}
		}
		input := in.String()
		var out bytes.Buffer
		mt := &manualTimer{}
		s := redact.NewStream(&out, m, redact.WithAfterFunc(mt.after))
		written := 0
		for rest := input; rest != ""; {
			n := 1 + rng.IntN(min(len(rest), 40))
			before := out.Len()
			mustWrite(t, s, rest[:n])
			if os.Getenv("STREAM_DEBUG") != "" {
				t.Logf("write %q -> %q", rest[:n], out.String()[before:])
			}
			written += n
			rest = rest[n:]
			if plain && written-out.Len() > maxLen-1 {
				t.Fatalf("seed %d: %d bytes held back, longest form %d", seed, written-out.Len(), maxLen)
			}
			if rng.IntN(4) == 0 {
				before := out.Len()
				mt.fire()
				if os.Getenv("STREAM_DEBUG") != "" {
					t.Logf("fire -> %q", out.String()[before:])
				}
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		if plain && got != input {
			t.Fatalf("seed %d: text without secrets changed:\n%q\n%q", seed, input, got)
		}
		for _, f := range forms {
			for i := 0; i+8 <= len(f); i++ {
				if strings.Contains(got, f[i:i+8]) {
					t.Fatalf("seed %d: 8 bytes of a form reached the output: %q in %q\ninput %q\nforms %q", seed, f[i:i+8], got, input, forms)
				}
			}
		}
	}
}

func TestStream_WriterError(t *testing.T) {
	t.Parallel()
	m := redact.NewMasker()
	m.Add(streamToken)
	s := redact.NewStream(failWriter{}, m)
	if _, err := s.Write([]byte("hello")); err == nil {
		t.Fatal("Write: no error from a failing writer")
	}
	if err := s.Close(); err == nil {
		t.Fatal("Close: no error after a failed write")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, fmt.Errorf("failed to write: closed") }

func TestEmbeddedBase64(t *testing.T) {
	t.Parallel()
	got := redact.EmbeddedBase64("abcdefgh")
	// Each core must appear in the encoding of the value at its alignment,
	// whatever surrounds it.
	for shift := 0; shift < 3; shift++ {
		for _, pre := range []string{"", "\x00\x00\x00", "zzz"} {
			data := pre + strings.Repeat("q", shift) + "abcdefgh" + "tail!"
			enc := base64.StdEncoding.EncodeToString([]byte(data))
			found := false
			for _, c := range got {
				found = found || strings.Contains(enc, c)
			}
			if !found {
				t.Errorf("shift %d prefix %q: no core of %v in %s", shift, pre, got, enc)
			}
		}
	}
	if redact.EmbeddedBase64("abc") != nil {
		t.Error("a 3-byte value has embedded forms")
	}
}

func mustWrite(t *testing.T, s *redact.Stream, p string) {
	t.Helper()
	if _, err := s.Write([]byte(p)); err != nil {
		t.Fatal(err)
	}
}

func splitEvery(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

func trunc(s string) string {
	if len(s) > 200 {
		return s[:100] + "…" + s[len(s)-100:]
	}
	return s
}

// benchMasker has 10 secrets (and every form of each, embedded base64
// included) and a 32 KiB chunk of ordinary output.
func benchMasker() (*redact.Masker, []byte) {
	m := redact.NewMasker()
	for i := 0; i < 10; i++ {
		s := fmt.Sprintf("tok_%02d_%s", i, strings.Repeat("Ab3dE", 6))
		m.Add(s)
		m.AddExact(redact.EmbeddedBase64(s)...)
	}
	return m, []byte(strings.Repeat("ordinary build output line with some words 0123456789\n", 600))
}

// BenchmarkStream is the concealment throughput with 10 registered
// secrets: bytes per second through Stream.Write. Compare with
// BenchmarkMaskerMask (the one-shot Masker on the same chunk) in one run.
func BenchmarkStream(b *testing.B) {
	m, chunk := benchMasker()
	s := redact.NewStream(discard{}, m, redact.WithAfterFunc(func(time.Duration, func()) func() bool { return func() bool { return true } }))
	b.SetBytes(int64(len(chunk)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMaskerMask is the one-shot Masker on BenchmarkStream's input.
func BenchmarkMaskerMask(b *testing.B) {
	m, chunk := benchMasker()
	text := string(chunk)
	b.SetBytes(int64(len(chunk)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = m.Mask(text)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
