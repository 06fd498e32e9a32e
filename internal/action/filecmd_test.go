package action

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/e2e"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// goGitHubActionsDelimiter is the fixed delimiter go-githubactions uses: a
// value holding it on a line of its own would end its heredoc early.
const goGitHubActionsDelimiter = "_GitHubActionsFileCommandDelimeter_"

func TestFormat(t *testing.T) {
	t.Parallel()
	const delim = "ghadelimiter_fixed"
	cases := []struct {
		name      string
		key       string
		value     string
		want      string
		wantDelim bool // ErrDelimiter
		wantErr   bool
	}{
		{name: "simple", key: "token", value: "abc", want: "token<<ghadelimiter_fixed\nabc\nghadelimiter_fixed\n"},
		{name: "empty_value", key: "expires-at", value: "", want: "expires-at<<ghadelimiter_fixed\n\nghadelimiter_fixed\n"},
		{name: "multi_line", key: "k", value: "a\nb", want: "k<<ghadelimiter_fixed\na\nb\nghadelimiter_fixed\n"},
		{name: "value_holds_delimiter", key: "k", value: "x\nghadelimiter_fixed\nBASH_ENV=/tmp/x", wantDelim: true, wantErr: true},
		{name: "value_holds_delimiter_inline", key: "k", value: "aghadelimiter_fixedb", wantDelim: true, wantErr: true},
		{name: "key_holds_delimiter", key: "ghadelimiter_fixed", value: "x", wantDelim: true, wantErr: true},
		{name: "key_with_newline", key: "a\nBASH_ENV", value: "x", wantErr: true},
		{name: "key_with_equals", key: "a=b", value: "x", wantErr: true},
		{name: "key_with_heredoc", key: "a<<b", value: "x", wantErr: true},
		{name: "key_empty", key: "", value: "x", wantErr: true},
		{name: "key_leading_digit", key: "1a", value: "x", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Format(tc.key, tc.value, delim)
			if diff := cmp.Diff([]bool{tc.wantErr, tc.wantDelim}, []bool{err != nil, errors.Is(err, ErrDelimiter)}); diff != "" {
				t.Fatalf("error %v (-want error, delimiter +got):\n%s", err, diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("Format (-want +got):\n%s", diff)
			}
			if err != nil && len(tc.value) >= 4 && strings.Contains(err.Error(), tc.value) {
				t.Fatalf("error holds the value: %v", err)
			}
		})
	}
}

// roundTrip writes key=value with Format and parses it back by the
// runner's rules. It returns the entries or an error (from either side).
func roundTrip(key, value, delim string) ([]e2e.FileCommand, error) {
	entry, err := Format(key, value, delim)
	if err != nil {
		return nil, err
	}
	return e2e.ParseFileCommandEntries([]byte(entry))
}

func TestFormat_InjectionRoundTrips(t *testing.T) {
	t.Parallel()
	values := map[string]string{
		"go_githubactions_delimiter": "x\n" + goGitHubActionsDelimiter + "\nBASH_ENV=x",
		"plain_assignment":           "\nBASH_ENV=/tmp/pwn\n",
		"heredoc_start":              "a\nNODE_OPTIONS<<EOF\n--require /tmp/x\nEOF",
		"cr_lines":                   "a\r\nBASH_ENV=x\r\n",
		"delimiter_prefix":           "ghadelimiter_\nghadelimiter_0",
		"only_newlines":              "\n\n\n",
	}
	for name, value := range values {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := roundTrip("token", value, randomDelimiter())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]e2e.FileCommand{{Name: "token", Value: value}}, got); diff != "" {
				t.Fatalf("parsed back (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFileCommands_Write(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"GITHUB_OUTPUT": filepath.Join(dir, "output"), "GITHUB_ENV": filepath.Join(dir, "env"),
		"GITHUB_STATE": filepath.Join(dir, "state"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
	}
	fc := &FileCommands{Getenv: func(k string) string { return files[k] }}
	evil := "v\n" + goGitHubActionsDelimiter + "\nBASH_ENV=x"
	for _, err := range []error{
		fc.Output("token", evil), fc.Output("token-id", "id1"),
		fc.Env("API_TOKEN", evil), fc.State("token-name", "n"), fc.Summary("# hi\n"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := map[string][]e2e.FileCommand{}
	for _, f := range []string{"output", "env", "state"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if got[f], err = e2e.ParseFileCommandEntries(data); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	want := map[string][]e2e.FileCommand{
		"output": {{Name: "token", Value: evil}, {Name: "token-id", Value: "id1"}},
		"env":    {{Name: "API_TOKEN", Value: evil}},
		"state":  {{Name: "token-name", Value: "n"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("files (-want +got):\n%s", diff)
	}
	// Two writes never share a delimiter.
	out, _ := os.ReadFile(files["GITHUB_OUTPUT"])
	lines := strings.Split(string(out), "\n")
	if lines[0] == lines[4] {
		t.Fatalf("two writes used the same delimiter line %q", lines[0])
	}
}

func TestFileCommands_Unset(t *testing.T) {
	t.Parallel()
	fc := &FileCommands{Getenv: func(string) string { return "" }}
	if err := fc.Output("token", "secret-value-1234"); err == nil || strings.Contains(err.Error(), "secret-value-1234") {
		t.Fatalf("Output without GITHUB_OUTPUT = %v, want an error without the value", err)
	}
	if err := fc.Summary("x"); err != nil {
		t.Fatalf("Summary without GITHUB_STEP_SUMMARY = %v, want nil", err)
	}
}

func FuzzFileCommandFormat(f *testing.F) {
	f.Add("token", "plain")
	f.Add("token", "x\n"+goGitHubActionsDelimiter+"\nBASH_ENV=x")
	f.Add("API_TOKEN", "a\r\nB=c\r\n")
	f.Add("k", "ghadelimiter_0123\nEOF")
	f.Add("a-b", "\n\n")
	f.Add("x<<y", "z")
	f.Fuzz(func(t *testing.T, key, value string) {
		// A fixed delimiter lets the fuzzer aim at it; the random one is
		// what runs.
		for _, delim := range []string{"ghadelimiter_0123", randomDelimiter()} {
			entries, err := roundTrip(key, value, delim)
			if err != nil {
				continue // refused (or unparseable): no key was added
			}
			if len(entries) != 1 || entries[0].Name != key || entries[0].Value != value {
				t.Fatalf("Format(%q, %q) parsed back as %q", key, value, entries)
			}
		}
	})
}

func TestMaskingWriter(t *testing.T) {
	t.Parallel()
	const secret = "tk_admin_masking_writer_secret"
	m := redact.NewMasker()
	m.Add(secret)
	m.Add("line-one-of-pem\nline-two-of-pem")
	cases := []struct {
		name string
		in   string
		want string
	}{
		{"plain", "hello\n", "hello\n"},
		{"secret", "key " + secret + " refused\n", "key *** refused\n"},
		{"add_mask_kept", "::add-mask::" + secret + "\n", "::add-mask::" + secret + "\n"},
		{"add_mask_then_secret", "::add-mask::" + secret + "\nerror " + secret + "\n", "::add-mask::" + secret + "\nerror ***\n"},
		{"error_command_masked", "::error::bad " + secret + "\n", "::error::bad ***\n"},
		{"add_mask_not_at_start", "x ::add-mask::" + secret + "\n", "x ::add-mask::***\n"},
		{"no_trailing_newline", secret, "***"},
		{"multi_line_secret_lines", "a line-one-of-pem\nb line-two-of-pem\n", "a ***\nb ***\n"},
		{"base64_form", "dGtfYWRtaW5fbWFza2luZ193cml0ZXJfc2VjcmV0\n", "***\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			w := &maskingWriter{w: &buf, m: m}
			n, err := w.Write([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]any{len(tc.in), tc.want}, []any{n, buf.String()}); diff != "" {
				t.Fatalf("n, written (-want +got):\n%s", diff)
			}
		})
	}
}
