package e2e

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	faketooken "github.com/tokenmint/tokenmint/internal/fake/tooken"
)

// The spec's main-phase step 2, checked on each phase's own output: every
// form of admin-key and github-token (the value, each line, base64 and
// URL-encoded; each body line of a PEM, also one given with escaped \n) is
// announced with ::add-mask:: before the phase's first other line. The
// forms are computed here (Forms, pemBodyForms), not by the code under test.

// maskKey has characters that base64 and URL encoding change.
const (
	maskKey         = "tok_live_Mask+Me/Please=42?&x"
	maskGitHubToken = "github_pat_11AAAAAAA0mask+token/with=chars"
)

// pemBodyForms returns what a PEM (either spelling) must have announced:
// the e2e Forms of the value as given and of the PEM with real newlines,
// whose Forms hold each trimmed body line.
func pemBodyForms(given string) []string {
	real := strings.ReplaceAll(strings.ReplaceAll(given, `\r\n`, "\n"), `\n`, "\n")
	out := Forms(given)
	for _, f := range Forms(real) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func TestMask_TookenEveryPhaseAnnouncesFirst(t *testing.T) {
	t.Parallel()
	f := faketooken.New(maskKey, nil)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cases := []struct {
		name     string
		inputs   map[string]string
		wantMain int
	}{
		{name: "clean_run", inputs: map[string]string{}},
		// An input error is a line too: the masks come before it.
		{name: "input_error", inputs: map[string]string{"ttl": "soon"}, wantMain: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := map[string]string{
				"provider": "tooken", "admin-key": maskKey, "api-url": srv.URL + "/v1",
				"scopes": "tokens:read", "github-token": maskGitHubToken,
			}
			for k, v := range tc.inputs {
				in[k] = v
			}
			j := NewJob(t, in)
			main := j.Main(t)
			if main.ExitCode != tc.wantMain {
				t.Fatalf("main exit %d, want %d:\n%s%s", main.ExitCode, tc.wantMain, main.Stdout, main.Stderr)
			}
			want := append(Forms(maskKey), Forms(maskGitHubToken)...)
			if missing := main.Unannounced(want); len(missing) > 0 {
				t.Errorf("main did not announce before its first other line: %v\n%s", missing, main.Stdout)
			}
			if !strings.Contains(main.Stdout, "\n") || strings.Count(main.Stdout, "::add-mask::") == strings.Count(main.Stdout, "\n") {
				t.Fatalf("main printed nothing but masks; the ordering check proves nothing:\n%s", main.Stdout)
			}
			if tc.wantMain != 0 {
				return
			}
			post := j.Post(t)
			if post.ExitCode != 0 {
				t.Fatalf("post exit %d:\n%s", post.ExitCode, post.Stdout)
			}
			if missing := post.Unannounced(want); len(missing) > 0 {
				t.Errorf("post did not announce before its first other line: %v\n%s", missing, post.Stdout)
			}
			if leaks := j.Leaks([]string{maskKey, maskGitHubToken}); len(leaks) > 0 {
				t.Errorf("leaks: %v", leaks)
			}
		})
	}
}

func TestMask_GitHubAppPEMBothSpellings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		spell func(pem string) string
	}{
		{"real_newlines", func(p string) string { return p }},
		{"escaped_newlines", func(p string) string { return strings.ReplaceAll(strings.TrimSpace(p), "\n", `\n`) }},
		{"escaped_crlf", func(p string) string { return strings.ReplaceAll(strings.TrimSpace(p), "\n", `\r\n`) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, _ := newGHApp(t, "", false)
			key := tc.spell(e.pem)
			j := NewJob(t, e.inputs(map[string]string{"admin-key": key, "github-token": maskGitHubToken}))
			j.Context["GITHUB_REPOSITORY"] = "octo-org/alpha"
			main := j.Main(t)
			if main.ExitCode != 0 {
				t.Fatalf("main exit %d: %v", main.ExitCode, errorLines(j))
			}
			want := append(pemBodyForms(strings.TrimSpace(key)), Forms(maskGitHubToken)...)
			bodyLines := 0
			for _, l := range strings.Split(strings.TrimSpace(e.pem), "\n") {
				if !slices.Contains(want, strings.TrimSpace(l)) {
					t.Fatalf("test bug: PEM line missing from the wanted forms")
				}
				bodyLines++
			}
			if bodyLines < 20 {
				t.Fatalf("test bug: only %d PEM lines", bodyLines)
			}
			if missing := main.Unannounced(want); len(missing) > 0 {
				t.Errorf("main did not announce %d of %d forms before its first other line: %v", len(missing), len(want), missing)
			}
			post := j.Post(t)
			if post.ExitCode != 0 {
				t.Fatalf("post exit %d:\n%s", post.ExitCode, post.Stdout)
			}
			if missing := post.Unannounced(want); len(missing) > 0 {
				t.Errorf("post did not announce %d of %d forms before its first other line: %v", len(missing), len(want), missing)
			}
			ghappHygiene(t, j, e, key, strings.ReplaceAll(strings.ReplaceAll(key, `\r\n`, "\n"), `\n`, "\n"), maskGitHubToken)
		})
	}
}

// TestPhase_Unannounced checks the checker: late, missing and partial
// announcements are found, a multi-line announcement covers its lines.
func TestPhase_Unannounced(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		phase  Phase
		forms  []string
		missed int
	}{
		{"announced_first", Phase{Stdout: "::add-mask::secret-one\nhello\n"}, []string{"secret-one"}, 0},
		{"announced_late", Phase{Stdout: "hello\n::add-mask::secret-one\n"}, []string{"secret-one"}, 1},
		{"never", Phase{Stdout: "hello\n"}, []string{"secret-one"}, 1},
		{"multi_line_covers_lines", Phase{Stdout: "::add-mask::line-one%0Aline-two\nx\n"}, []string{"line-one", "line-two", "line-one\nline-two"}, 0},
		{"percent_unescaped", Phase{Stdout: "::add-mask::a%25b-secret\n"}, []string{"a%b-secret"}, 0},
		{"stderr_first", Phase{Stdout: "::add-mask::secret-one\n", Stderr: "boom\n"}, []string{"secret-one"}, 1},
		{"prefix_is_not_cover", Phase{Stdout: "::add-mask::secret\n"}, []string{"secret-one"}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.phase.Unannounced(tc.forms); len(got) != tc.missed {
				t.Fatalf("Unannounced = %v, want %d misses", got, tc.missed)
			}
		})
	}
}
