package redact

import (
	"strings"
	"unicode"
)

// maxUntrusted bounds how much server text reaches a log line.
const maxUntrusted = 512

// Neutralize makes untrusted text (a server's error body, a token name or
// ID chosen by a server) safe to print in a GitHub Actions log: it cannot
// start or embed a workflow command ("::cmd::" at a line start, "##[cmd]"
// anywhere), cannot break the line (CR, LF and other control characters are
// escaped), and is cut to a bounded length.
func Neutralize(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n >= maxUntrusted {
			b.WriteString("…")
			break
		}
		n++
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\ufeff':
			b.WriteString(`\u` + strings.ToLower(hex4(r)))
		default:
			b.WriteRune(r)
		}
	}
	out := b.String()
	// A colon pair can open a command; a hash pair plus bracket can too.
	// ReplaceAll does not overlap matches (":::" would keep a pair), so
	// repeat until no pair is left.
	for strings.Contains(out, "::") {
		out = strings.ReplaceAll(out, "::", ":\u200b:")
	}
	out = strings.ReplaceAll(out, "##[", "#\u200b#[")
	return out
}

func hex4(r rune) string {
	const digits = "0123456789ABCDEF"
	v := uint32(r) //nolint:gosec // a rune from ranging over a string is never negative
	if v > 0xFFFF {
		v = 0xFFFD
	}
	return string([]byte{digits[v>>12&0xF], digits[v>>8&0xF], digits[v>>4&0xF], digits[v&0xF]})
}
