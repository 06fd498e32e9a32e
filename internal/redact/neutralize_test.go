package redact_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/redact"
)

// maxNeutralized bounds Neutralize's output in runes: 512 input runes, each
// escaped to at most 6 runes (\uXXXX), a zero-width space per pair of
// colons or hashes, and the ellipsis.
const maxNeutralized = 512*6 + 512 + 1

// checkNeutral fails when out could start or embed a workflow command, break
// the line, or exceed the bound. The runner trims leading whitespace before
// it looks for "::" and finds "##[" anywhere in a line.
func checkNeutral(t *testing.T, in, out string) {
	t.Helper()
	if strings.ContainsAny(out, "\r\n\u0085\u2028\u2029") {
		t.Fatalf("Neutralize(%q) = %q: holds a line break", in, out)
	}
	for _, r := range out {
		if unicode.IsControl(r) {
			t.Fatalf("Neutralize(%q) = %q: holds control character %U", in, out, r)
		}
	}
	if strings.HasPrefix(strings.TrimLeftFunc(out, unicode.IsSpace), "::") {
		t.Fatalf("Neutralize(%q) = %q: starts a workflow command", in, out)
	}
	if strings.Contains(out, "::") {
		t.Fatalf("Neutralize(%q) = %q: holds a colon pair", in, out)
	}
	if strings.Contains(out, "##[") {
		t.Fatalf("Neutralize(%q) = %q: holds ##[", in, out)
	}
	if n := utf8.RuneCountInString(out); n > maxNeutralized {
		t.Fatalf("Neutralize(%.40q…) is %d runes long, want at most %d", in, n, maxNeutralized)
	}
}

func TestNeutralize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, want string
	}{
		{"plain", "invalid scope", "invalid scope"},
		{"empty", "", ""},
		{"command_at_start", "::add-mask::x", ":\u200b:add-mask:\u200b:x"},
		{"stop_commands", "::stop-commands::tok", ":\u200b:stop-commands:\u200b:tok"},
		{"command_after_newline", "oops\n::error::pwned", `oops\n:` + "\u200b" + `:error:` + "\u200b" + `:pwned`},
		{"command_after_cr", "oops\r::warning::x", `oops\r:` + "\u200b" + `:warning:` + "\u200b" + `:x`},
		{"hash_bracket", "a ##[group]b", "a #\u200b#[group]b"},
		{"triple_colon", ":::x", ":\u200b:\u200b:x"},
		{"four_colons", "::::", ":\u200b:\u200b:\u200b:"},
		{"triple_hash", "###[x", "##\u200b#[x"},
		{"tab", "a\tb", `a\tb`},
		{"nul", "a\x00b", `a\u0000b`},
		{"escape", "a\x1b[31mb", `a\u001b[31mb`},
		{"line_separator", "a\u2028::x", `a\u2028:` + "\u200b" + `:x`},
		{"bom", "\ufeff::x", `\ufeff:` + "\u200b" + `:x`},
		{"nel", "a\u0085b", `a\u0085b`},
		{"unicode_kept", "naïve – ok", "naïve – ok"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := redact.Neutralize(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("Neutralize(%q) (-want +got):\n%s", tc.in, diff)
			}
			checkNeutral(t, tc.in, got)
		})
	}
}

func TestNeutralize_Bounded(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   string
		want int // runes
	}{
		{"long_ascii", strings.Repeat("a", 5000), 513},
		{"exactly_the_limit", strings.Repeat("a", 512), 512},
		{"long_controls", strings.Repeat("\x01", 5000), 512*6 + 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := redact.Neutralize(tc.in)
			if diff := cmp.Diff(tc.want, utf8.RuneCountInString(got)); diff != "" {
				t.Fatalf("length (-want +got):\n%s", diff)
			}
			checkNeutral(t, tc.in, got)
		})
	}
}

func FuzzNeutralize(f *testing.F) {
	for _, s := range []string{
		"", "::add-mask::x", "a\n::error::b", "##[group]", ":::", "::::::", "###[[",
		"\r\n::x::", " \t::set-output name=a::b", "\u2028::x", strings.Repeat(":", 600),
		"\xff\xfe::x", "a\u200b::b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkNeutral(t, in, redact.Neutralize(in))
	})
}
