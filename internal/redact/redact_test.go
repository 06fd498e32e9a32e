package redact_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/redact"
)

const value = "tm_live_s3cr3t-Value/with+chars=="

func TestSecret_FmtVerbs(t *testing.T) {
	t.Parallel()
	s := redact.Secret(value)
	type holder struct {
		Key redact.Secret
	}
	cases := []struct {
		name   string
		format string
		arg    any
	}{
		{"s", "%s", s},
		{"v", "%v", s},
		{"plus_v", "%+v", s},
		{"sharp_v", "%#v", s},
		{"q", "%q", s},
		{"x", "%x", s},
		{"upper_x", "%X", s},
		{"d", "%d", s},
		{"width", "%40s", s},
		{"pointer", "%v", &s},
		{"struct_v", "%v", holder{s}},
		{"struct_plus_v", "%+v", holder{s}},
		{"struct_sharp_v", "%#v", holder{s}},
		{"struct_pointer", "%+v", &holder{s}},
		{"slice", "%v", []redact.Secret{s, s}},
		{"map_value", "%v", map[string]redact.Secret{"k": s}},
		{"any_slice", "%v", []any{s}},
		{"wrapped_error", "%v", fmt.Errorf("failed to use %v: %w", s, errors.New("boom"))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := fmt.Sprintf(tc.format, tc.arg)
			if strings.Contains(got, value) || strings.Contains(got, fmt.Sprintf("%x", value)) || strings.Contains(got, fmt.Sprintf("%X", value)) {
				t.Fatalf("%s of a Secret revealed it: %q", tc.format, got)
			}
			if !strings.Contains(got, redact.Placeholder) {
				t.Fatalf("%s of a Secret = %q, want the placeholder", tc.format, got)
			}
		})
	}
}

func TestSecret_PrintAndStringers(t *testing.T) {
	t.Parallel()
	s := redact.Secret(value)
	got := []string{s.String(), s.GoString(), fmt.Sprint(s), fmt.Sprintln(s), fmt.Sprint("x", s)}
	want := []string{redact.Placeholder, redact.Placeholder, redact.Placeholder, redact.Placeholder + "\n", "x" + redact.Placeholder}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("printing (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(value, s.Reveal()); diff != "" {
		t.Fatalf("Reveal (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{true, false}, []bool{redact.Secret("").Empty(), s.Empty()}); diff != "" {
		t.Fatalf("Empty (-want +got):\n%s", diff)
	}
}

func TestSecret_Slog(t *testing.T) {
	t.Parallel()
	s := redact.Secret(value)
	cases := []struct {
		name    string
		handler func(*bytes.Buffer) slog.Handler
	}{
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
		{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			log := slog.New(tc.handler(&buf))
			log.Info("minted", "key", s, slog.Any("any", s), slog.Group("g", "inner", s))
			log.With("with", s).Warn("again")
			out := buf.String()
			if strings.Contains(out, value) {
				t.Fatalf("slog revealed the secret: %s", out)
			}
			if got := strings.Count(out, redact.Placeholder); got != 4 {
				t.Fatalf("slog printed the placeholder %d times, want 4: %s", got, out)
			}
		})
	}
}

func TestSecret_JSONAndText(t *testing.T) {
	t.Parallel()
	s := redact.Secret(value)
	// Not covered (see SECURITY.md): encoding/json writes map keys of a
	// string kind as they are, so a map keyed by Secret would reveal it;
	// fmt cannot call methods on unexported struct fields, so %v of a
	// struct with an unexported Secret field prints the value.
	type doc struct {
		Key  redact.Secret            `json:"key"`
		Ptr  *redact.Secret           `json:"ptr"`
		Map  map[string]redact.Secret `json:"map"`
		List []redact.Secret          `json:"list"`
	}
	b, err := json.Marshal(doc{Key: s, Ptr: &s, Map: map[string]redact.Secret{"a": s}, List: []redact.Secret{s}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"key":"[REDACTED]","ptr":"[REDACTED]","map":{"a":"[REDACTED]"},"list":["[REDACTED]"]}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Fatalf("JSON (-want +got):\n%s", diff)
	}
	txt, err := s.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(redact.Placeholder, string(txt)); diff != "" {
		t.Fatalf("MarshalText (-want +got):\n%s", diff)
	}
}

func TestForms(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		value string
		want  []string
	}{
		{
			name:  "plain",
			value: "abcd1234",
			want:  []string{"abcd1234", "YWJjZDEyMzQ=", "YWJjZDEyMzQ"},
		},
		{
			name:  "url_special",
			value: "a+b/c=d?e",
			want:  []string{"a+b/c=d?e", "YStiL2M9ZD9l", "a%2Bb%2Fc%3Dd%3Fe", "a+b%2Fc=d%3Fe"},
		},
		{
			name:  "multi_line",
			value: "line-one\r\nline-two\nab",
			want: []string{
				"line-one\r\nline-two\nab", "line-one", "line-two",
				"bGluZS1vbmUNCmxpbmUtdHdvCmFi", "line-one%0D%0Aline-two%0Aab",
			},
		},
		{name: "too_short", value: "ab", want: nil},
		{name: "blank", value: "    ", want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := redact.Forms(tc.value)
			if diff := cmp.Diff(tc.want, dedupe(got)); diff != "" {
				t.Fatalf("Forms(%q) (-want +got):\n%s", tc.value, diff)
			}
		})
	}
}

// dedupe keeps the first of equal strings (Forms already does; this keeps
// the expectations above short when encodings coincide).
func dedupe(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func TestMasker_EveryForm(t *testing.T) {
	t.Parallel()
	secret := "ghs_Multi+Line/Secret?\nsecond-line-of-it\n-----END KEY-----"
	b := []byte(secret)
	forms := map[string]string{
		"value":             secret,
		"line_1":            "ghs_Multi+Line/Secret?",
		"line_2":            "second-line-of-it",
		"line_3":            "-----END KEY-----",
		"base64_std":        base64.StdEncoding.EncodeToString(b),
		"base64_std_raw":    base64.RawStdEncoding.EncodeToString(b),
		"base64_url":        base64.URLEncoding.EncodeToString(b),
		"base64_url_raw":    base64.RawURLEncoding.EncodeToString(b),
		"url_query_escape":  url.QueryEscape(secret),
		"url_path_escape":   url.PathEscape(secret),
		"line_1_in_a_quote": `token "ghs_Multi+Line/Secret?" refused`,
	}
	m := redact.NewMasker()
	m.Add(secret)
	for name, form := range forms {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := m.Mask("before " + form + " after")
			for _, line := range strings.Split(secret, "\n") {
				if strings.Contains(got, line) {
					t.Fatalf("Mask left line %q of the secret in %q", line, got)
				}
			}
			for _, f := range redact.Forms(secret) {
				if strings.Contains(got, f) {
					t.Fatalf("Mask left form %q in %q", f, got)
				}
			}
			if !strings.HasPrefix(got, "before ") || !strings.HasSuffix(got, " after") {
				t.Fatalf("Mask damaged the surrounding text: %q", got)
			}
		})
	}
}

func TestMasker_LongestFirst(t *testing.T) {
	t.Parallel()
	m := redact.NewMasker()
	m.Add("abcd1234")     // a prefix of the next one, added first
	m.Add("abcd1234wxyz") // if the short one were replaced first, "***wxyz" would remain
	cases := []struct {
		name, in, want string
	}{
		{"long", "key=abcd1234wxyz;", "key=***;"},
		{"short", "key=abcd1234;", "key=***;"},
		{"both", "abcd1234 abcd1234wxyz", "*** ***"},
		{"none", "nothing here", "nothing here"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, m.Mask(tc.in)); diff != "" {
				t.Fatalf("Mask (-want +got):\n%s", diff)
			}
		})
	}
	vals := m.Values()
	for i := 1; i < len(vals); i++ {
		if len(vals[i-1]) < len(vals[i]) {
			t.Fatalf("Values not longest first: %q", vals)
		}
	}
}

func TestMasker_AddReturnsNewFormsOnly(t *testing.T) {
	t.Parallel()
	m := redact.NewMasker()
	first := m.Add("abcd1234")
	if diff := cmp.Diff(redact.Forms("abcd1234"), first); diff != "" {
		t.Fatalf("first Add (-want +got):\n%s", diff)
	}
	if got := m.Add("abcd1234"); len(got) != 0 {
		t.Fatalf("second Add returned %q, want nothing new", got)
	}
	if got := m.Add(""); len(got) != 0 {
		t.Fatalf("Add(\"\") returned %q", got)
	}
	if got := m.Mask("abc"); got != "abc" {
		t.Fatalf("short text masked: %q", got)
	}
}

func TestMasker_Nil(t *testing.T) {
	t.Parallel()
	var m *redact.Masker
	if got := m.Add("abcd1234"); got != nil {
		t.Fatalf("nil Add = %q", got)
	}
	if diff := cmp.Diff("abcd1234", m.Mask("abcd1234")); diff != "" {
		t.Fatalf("nil Mask (-want +got):\n%s", diff)
	}
}

func TestMasker_Concurrent(t *testing.T) {
	t.Parallel()
	m := redact.NewMasker()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := fmt.Sprintf("secret-number-%d", i)
			m.Add(s)
			if got := m.Mask("x " + s + " y"); got != "x *** y" {
				t.Errorf("Mask = %q", got)
			}
		}()
	}
	wg.Wait()
}
