package e2e

import (
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The detector itself: a planted leak in each form and each place must be
// found, and a clean job must report nothing.

const (
	plantedKey   = "tk_admin_Pl4nted+Key/With=Chars?"
	plantedToken = "tmk_live_0123456789abcdefABCDEF"
	plantedPEM   = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAplanted1\nline2ZZZZYYYYXXXX\n-----END RSA PRIVATE KEY-----"
)

// newScanJob returns a Job with the files a run leaves and nothing leaked.
func newScanJob(t *testing.T) *Job {
	t.Helper()
	j := &Job{
		Dir:     t.TempDir(),
		Printed: []string{"::add-mask::" + plantedKey + "\nMinted tooken token \"x\" (id tok_1)\n", "warning: nothing\n"},
		State:   map[string]string{"token-id": "tok_1", "provider": "tooken"},
		Outputs: map[string]string{"token": plantedToken},
		EnvOut:  map[string]string{"API_TOKEN": plantedToken},
		Summary: "### tokenmint\n| token | tok_1 |\n",
		written: map[string]bool{},
	}
	// The output and env files hold the token by purpose.
	for name, body := range map[string]string{"output": "token<<d\n" + plantedToken + "\nd\n", "env": "API_TOKEN<<d\n" + plantedToken + "\nd\n"} {
		writeJobFile(t, j, name, body)
	}
	return j
}

func writeJobFile(t *testing.T, j *Job, rel, body string) {
	t.Helper()
	path := filepath.Join(j.Dir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	j.written[rel] = true
}

func TestLeaks_CleanJob(t *testing.T) {
	t.Parallel()
	j := newScanJob(t)
	if diff := cmp.Diff([]string(nil), j.Leaks([]string{plantedKey, plantedToken, plantedPEM})); diff != "" {
		t.Fatalf("leaks in a clean job (-want +got):\n%s", diff)
	}
}

func TestLeaks_PlantedForms(t *testing.T) {
	t.Parallel()
	b := []byte(plantedKey)
	pemLine := strings.Split(plantedPEM, "\n")[1]
	cases := []struct {
		name   string
		secret string
		text   string
	}{
		{"value", plantedKey, "error: key " + plantedKey + " refused"},
		{"base64_std", plantedKey, "x " + base64.StdEncoding.EncodeToString(b)},
		{"base64_std_unpadded", plantedKey, "x " + base64.RawStdEncoding.EncodeToString(b) + " y"},
		{"base64_url", plantedKey, base64.URLEncoding.EncodeToString(b)},
		{"base64_url_unpadded", plantedKey, "(" + base64.RawURLEncoding.EncodeToString(b) + ")"},
		{"query_escaped", plantedKey, "GET /x?key=" + url.QueryEscape(plantedKey)},
		{"path_escaped", plantedKey, "GET /keys/" + url.PathEscape(plantedKey)},
		{"inside_basic_auth", plantedKey, "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("client-id:"+plantedKey))},
		{"inside_url_encoded_form", plantedKey, "body: grant=x&secret=" + url.QueryEscape(plantedKey) + "&y=1"},
		{"token_value", plantedToken, "token is " + plantedToken},
		{"multi_line_first_body_line", plantedPEM, "key line: " + pemLine},
		{"multi_line_second_body_line", plantedPEM, "  line2ZZZZYYYYXXXX  "},
		{"multi_line_whole", plantedPEM, plantedPEM},
		{"multi_line_base64", plantedPEM, base64.StdEncoding.EncodeToString([]byte(plantedPEM))},
	}
	places := []struct {
		name  string
		plant func(t *testing.T, j *Job, text string)
	}{
		{"stdout", func(t *testing.T, j *Job, text string) { j.Printed[0] += text + "\n" }},
		{"stderr", func(t *testing.T, j *Job, text string) { j.Printed[1] += text + "\n" }},
		{"state", func(t *testing.T, j *Job, text string) { j.State["token-name"] = text }},
		{"summary", func(t *testing.T, j *Job, text string) { j.Summary += text }},
		{"workspace_file", func(t *testing.T, j *Job, text string) { writeJobFile(t, j, "workspace/debug.log", text) }},
		{"home_file", func(t *testing.T, j *Job, text string) { writeJobFile(t, j, "home/.cache/tokenmint/x", text) }},
		{"tmp_file", func(t *testing.T, j *Job, text string) { writeJobFile(t, j, "tmp/req.json", text) }},
	}
	for _, tc := range cases {
		for _, pl := range places {
			t.Run(tc.name+"_in_"+pl.name, func(t *testing.T) {
				t.Parallel()
				j := newScanJob(t)
				pl.plant(t, j, tc.text)
				leaks := j.Leaks([]string{tc.secret})
				if len(leaks) == 0 {
					t.Fatalf("planted leak not found")
				}
				for _, l := range leaks {
					for _, f := range Forms(tc.secret) {
						if strings.Contains(l, f) {
							t.Fatalf("the leak report itself holds the secret: %q", l)
						}
					}
				}
			})
		}
	}
}

func TestLeaks_SecretsField(t *testing.T) {
	t.Parallel()
	j := newScanJob(t)
	j.Secrets = []string{plantedToken}
	j.Printed[0] += plantedToken + "\n"
	if len(j.Leaks(nil)) == 0 {
		t.Fatal("a secret in Job.Secrets was not scanned for")
	}
}

func TestLeaks_Allowed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		plant func(t *testing.T, j *Job)
		allow []string
		want  int
	}{
		{"add_mask_line", func(t *testing.T, j *Job) { j.Printed[0] += "::add-mask::" + plantedToken + "\n" }, nil, 0},
		{"state_allowed", func(t *testing.T, j *Job) { j.State["token"] = plantedToken }, []string{plantedToken}, 0},
		{"state_not_allowed", func(t *testing.T, j *Job) { j.State["token"] = plantedToken }, nil, 1},
		{"allowed_in_state_not_in_summary", func(t *testing.T, j *Job) { j.Summary += plantedToken }, []string{plantedToken}, 1},
		{"output_file", func(t *testing.T, j *Job) { writeJobFile(t, j, "output", "token="+plantedToken+"\n") }, nil, 0},
		{"env_file", func(t *testing.T, j *Job) { writeJobFile(t, j, "env", "T="+plantedToken+"\n") }, nil, 0},
		{"file_not_written_by_the_binary", func(t *testing.T, j *Job) {
			writeJobFile(t, j, "workspace/fixture", plantedToken)
			delete(j.written, "workspace/fixture")
		}, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j := newScanJob(t)
			tc.plant(t, j)
			if diff := cmp.Diff(tc.want, len(j.Leaks([]string{plantedToken}, tc.allow...))); diff != "" {
				t.Fatalf("leaks (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSnapshot_FindsWrittenFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, f := range []string{"a", "sub/b"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshot(dir)
	if err := os.WriteFile(filepath.Join(dir, "sub/b"), []byte("changed"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c"), []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	var changed []string
	after := snapshot(dir)
	for _, k := range sortedKeys(after) {
		if before[k] != after[k] {
			changed = append(changed, k)
		}
	}
	if diff := cmp.Diff([]string{"c", filepath.Join("sub", "b")}, changed); diff != "" {
		t.Fatalf("changed files (-want +got):\n%s", diff)
	}
}

func TestParseFileCommandEntries(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		in      string
		want    []FileCommand
		wantErr bool
	}{
		{name: "simple", in: "a=1\nb=2\n", want: []FileCommand{{"a", "1"}, {"b", "2"}}},
		{name: "heredoc", in: "a<<EOF\nx\ny\nEOF\n", want: []FileCommand{{"a", "x\ny"}}},
		{name: "empty_value", in: "a<<EOF\nEOF\n", want: []FileCommand{{"a", ""}}},
		{name: "cr_kept", in: "a<<EOF\nx\r\nEOF\n", want: []FileCommand{{"a", "x\r"}}},
		{name: "cr_delimiter_line_is_not_the_delimiter", in: "a<<EOF\nEOF\r\n", wantErr: true},
		{name: "equals_before_heredoc", in: "a=b<<c\n", want: []FileCommand{{"a", "b<<c"}}},
		{name: "missing_delimiter", in: "a<<EOF\nx\n", wantErr: true},
		{name: "empty_name", in: "=x\n", wantErr: true},
		{name: "empty_delimiter", in: "a<<\n", wantErr: true},
		{name: "no_separator", in: "garbage\n", wantErr: true},
		{name: "blank_lines_skipped", in: "\n\na=1\n\n", want: []FileCommand{{"a", "1"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseFileCommandEntries([]byte(tc.in))
			if diff := cmp.Diff(tc.wantErr, err != nil); diff != "" {
				t.Fatalf("error %v (-want +got):\n%s", err, diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("entries (-want +got):\n%s", diff)
			}
		})
	}
}
