package redact_test

import (
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/redact"
)

const testPEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAbodyline1\n  bodyline2ZZZZYYYYXXXX  \nbodyline3=\n-----END RSA PRIVATE KEY-----"

// TestAnnouncer_IndependentOfMasker is the regression the Announcer exists
// for: a secret the local masker already holds must still be announced.
func TestAnnouncer_IndependentOfMasker(t *testing.T) {
	t.Parallel()
	m := redact.NewMasker()
	m.Add("tk_admin_secret_value")
	var emitted []string
	a := redact.NewAnnouncer(func(f string) { emitted = append(emitted, f) })
	a.Announce("tk_admin_secret_value")
	if diff := cmp.Diff(redact.Forms("tk_admin_secret_value"), emitted); diff != "" {
		t.Fatalf("announced forms (-want +got):\n%s", diff)
	}
	// A second announcement of the same value says nothing new; a second
	// Announcer (another phase) says everything again.
	a.Announce("tk_admin_secret_value")
	if diff := cmp.Diff(redact.Forms("tk_admin_secret_value"), emitted); diff != "" {
		t.Fatalf("repeated announcement (-want +got):\n%s", diff)
	}
	var other []string
	redact.NewAnnouncer(func(f string) { other = append(other, f) }).Announce("tk_admin_secret_value")
	if diff := cmp.Diff(emitted, other); diff != "" {
		t.Fatalf("a new phase's announcer (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(emitted, a.Announced()); diff != "" {
		t.Fatalf("Announced (-want +got):\n%s", diff)
	}
	if got := a.Announce("   "); got != nil {
		t.Fatalf("blank value announced %q", got)
	}
}

// TestForms_PEM checks, against forms computed here by hand, that both PEM
// spellings (real and escaped newlines) yield every body line, trimmed,
// and the encodings of the PEM itself.
func TestForms_PEM(t *testing.T) {
	t.Parallel()
	var lines []string
	for _, l := range strings.Split(testPEM, "\n") {
		lines = append(lines, strings.TrimSpace(l))
	}
	escaped := strings.ReplaceAll(testPEM, "\n", `\n`)
	crlfEscaped := strings.ReplaceAll(testPEM, "\n", `\r\n`)
	cases := []struct {
		name, value string
	}{
		{"real_newlines", testPEM},
		{"escaped_newlines", escaped},
		{"escaped_crlf", crlfEscaped},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forms := redact.Forms(tc.value)
			want := append(slices.Clone(lines), tc.value, testPEM,
				base64.StdEncoding.EncodeToString([]byte(tc.value)), url.QueryEscape(tc.value),
				base64.StdEncoding.EncodeToString([]byte(testPEM)), url.QueryEscape(testPEM))
			for _, w := range want {
				if !slices.Contains(forms, w) {
					t.Errorf("Forms misses %.20q…", w)
				}
			}
		})
	}
}

func TestForms_NoPEMUnescapingForOtherValues(t *testing.T) {
	t.Parallel()
	// A literal backslash-n in an ordinary key is part of the key.
	v := `tk_admin_abc\ndef_ghi`
	for _, f := range redact.Forms(v) {
		if f == "tk_admin_abc" || f == "def_ghi" {
			t.Fatalf("Forms split a non-PEM value on an escaped newline: %q", f)
		}
	}
}
