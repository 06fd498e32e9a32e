// Package redact keeps secrets out of logs by type and by value.
//
// Secret is a string type whose every printing path (fmt verbs, slog, JSON)
// yields "[REDACTED]"; the value is reached only through Reveal. Masker is
// a registry of secret values that rewrites any text (or stream) so that
// none of them, nor their base64 and URL-encoded forms, survives.
package redact

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Placeholder is what a Secret prints as.
const Placeholder = "[REDACTED]"

// Secret holds a credential. Its zero value is the empty secret.
type Secret string

// Reveal returns the secret value. Call it only where the value is sent to
// the service that needs it.
func (s Secret) Reveal() string { return string(s) }

// Empty reports whether no secret is set.
func (s Secret) Empty() bool { return s == "" }

func (s Secret) String() string   { return Placeholder }
func (s Secret) GoString() string { return Placeholder }

// Format implements fmt.Formatter so that every verb (%s %v %q %x %d …)
// prints the placeholder.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Placeholder)) }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(Placeholder) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(Placeholder) }

// MarshalText implements encoding.TextMarshaler (used by YAML and others).
func (s Secret) MarshalText() ([]byte, error) { return []byte(Placeholder), nil }

// Forms returns the value itself, each of its non-empty lines (as they
// are and trimmed: the runner masks line by line), and the base64 (std and
// URL alphabets, with and without padding) and URL-encoded forms of the
// value. A PEM that came with escaped newlines (a literal backslash-n, as
// one-line secrets carry it) also yields every form of the PEM with real
// newlines, so each of its body lines is covered. Short fragments (under 4
// bytes) are left out: masking them would blank ordinary text.
func Forms(value string) []string {
	out := forms(value)
	if pem, ok := unescapePEM(value); ok {
		for _, f := range forms(pem) {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// unescapePEM turns a PEM written with escaped newlines (\n, \r\n) into
// one with real newlines. ok is false for anything else.
func unescapePEM(value string) (string, bool) {
	if !strings.Contains(value, "-----BEGIN ") || !strings.Contains(value, `\n`) {
		return "", false
	}
	s := strings.ReplaceAll(value, `\r\n`, "\n")
	return strings.ReplaceAll(s, `\n`, "\n"), true
}

func forms(value string) []string {
	if len(strings.TrimSpace(value)) < 4 {
		// Too short to be a secret: its encodings would blank ordinary text.
		return nil
	}
	seen := map[string]bool{}
	var out []string
	add := func(v string) {
		v = strings.TrimRight(v, "\r")
		if len(strings.TrimSpace(v)) < 4 || seen[v] {
			return
		}
		seen[v] = true
		out = append(out, v)
	}
	add(value)
	if strings.ContainsAny(value, "\r\n") {
		for _, line := range strings.FieldsFunc(value, func(r rune) bool { return r == '\n' || r == '\r' }) {
			add(line)
			add(strings.TrimSpace(line))
		}
	}
	add(base64.StdEncoding.EncodeToString([]byte(value)))
	add(base64.RawStdEncoding.EncodeToString([]byte(value)))
	add(base64.URLEncoding.EncodeToString([]byte(value)))
	add(base64.RawURLEncoding.EncodeToString([]byte(value)))
	add(url.QueryEscape(value))
	add(url.PathEscape(value))
	return out
}

// Masker rewrites text so that registered secrets do not appear in it.
// It is safe for concurrent use.
type Masker struct {
	mu     sync.RWMutex
	values []string // longest first, so a secret's prefix never masks first
	gen    int      // bumped whenever values change (Stream reloads)
}

// NewMasker returns an empty Masker.
func NewMasker() *Masker { return &Masker{} }

// Add registers a secret and all of its Forms with this local masker. It
// returns the forms that were new to it. That is not what the runner has
// been told: announcing ::add-mask:: is an Announcer's job, whatever this
// masker already holds.
func (m *Masker) Add(value string) []string {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var added []string
	for _, f := range Forms(value) {
		dup := false
		for _, v := range m.values {
			if v == f {
				dup = true
				break
			}
		}
		if !dup {
			m.values = append(m.values, f)
			added = append(added, f)
		}
	}
	m.sortLocked(len(added))
	return added
}

// AddExact registers values as they are, without deriving other forms
// (for example EmbeddedBase64's cores). Values under 4 bytes are ignored.
func (m *Masker) AddExact(values ...string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, v := range values {
		if len(strings.TrimSpace(v)) < 4 || slices.Contains(m.values, v) {
			continue
		}
		m.values = append(m.values, v)
		n++
	}
	m.sortLocked(n)
}

func (m *Masker) sortLocked(added int) {
	if added == 0 {
		return
	}
	m.gen++
	sort.SliceStable(m.values, func(i, j int) bool { return len(m.values[i]) > len(m.values[j]) })
}

// snapshot returns a copy of the values and their generation, or nil and
// gen when the generation is still gen.
func (m *Masker) snapshot(gen int) ([]string, int) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.gen == gen {
		return nil, gen
	}
	return append([]string(nil), m.values...), m.gen
}

// Mask replaces every registered secret in s with "***".
func (m *Masker) Mask(s string) string {
	if m == nil {
		return s
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, v := range m.values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, "***")
		}
	}
	return s
}

// Values returns a copy of the registered values (for tests and leak scans).
func (m *Masker) Values() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return append([]string(nil), m.values...)
}
