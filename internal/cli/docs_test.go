//go:build unix

package cli

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	fakehookbase "github.com/tokenmint/tokenmint/internal/fake/hookbase"
	faketooken "github.com/tokenmint/tokenmint/internal/fake/tooken"
)

const docsExec = "../../docs/exec.md"

// block is one fenced code block: its info string and text.
type block struct {
	info string
	line int
	text string
}

func fencedBlocks(t *testing.T, path string) []block {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []block
	var cur *block
	var body []string
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```") && len(line) > 3:
			cur = &block{info: strings.TrimSpace(line[3:]), line: i + 1}
			body = nil
		case cur != nil && line == "```":
			cur.text = strings.Join(body, "\n") + "\n"
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			body = append(body, line)
		}
	}
	return out
}

// execLines returns every `tokenmint exec …` command line of text.
var execLine = regexp.MustCompile(`tokenmint exec [^'"\n]*`)

// checkExecLine runs one documented `tokenmint exec` line against a fake
// Tooken, with COMMAND replaced by this binary exiting 0: the flags must
// parse and validate, one token is minted and revoked.
func checkExecLine(t *testing.T, where, line string, env map[string]string) {
	t.Helper()
	args := strings.Fields(line)[1:] // drop "tokenmint"
	dash := -1
	for i, a := range args {
		if a == "--" {
			dash = i
			break
		}
	}
	if dash < 0 {
		t.Errorf("%s: %q has no -- before COMMAND", where, line)
		return
	}
	args = append(args[:dash+1:dash+1], self(), "exit", "0")
	f, fenv := newFake(t)
	for k, v := range env {
		fenv[k] = v
	}
	r := &execRun{env: fenv}
	runExec(t, r, args...)
	if r.code != 0 {
		t.Errorf("%s: %q: exit %d: %s", where, line, r.code, r.stderr.String())
		return
	}
	if len(f.Store.All()) != 1 || len(f.Store.Live()) != 0 {
		t.Errorf("%s: %q: minted %d, live %d", where, line, len(f.Store.All()), len(f.Store.Live()))
	}
}

// TestDocs_ExecSnippets checks every snippet of docs/exec.md: YAML of the
// CI system's shape, the Jenkinsfile's structure, and each `tokenmint
// exec` line run for real against a fake (COMMAND replaced).
func TestDocs_ExecSnippets(t *testing.T) {
	t.Parallel()
	blocks := fencedBlocks(t, docsExec)
	seen := map[string]int{}
	for _, b := range blocks {
		where := fmt.Sprintf("%s:%d (%s)", filepath.Base(docsExec), b.line, b.info)
		seen[b.info]++
		env := map[string]string{}
		if strings.HasPrefix(b.info, "yaml") {
			var doc map[string]any
			if err := yaml.Unmarshal([]byte(b.text), &doc); err != nil {
				t.Errorf("%s: invalid YAML: %v", where, err)
				continue
			}
			switch b.info {
			case "yaml gitlab-ci":
				checkGitLab(t, where, doc, env)
			case "yaml buildkite":
				checkBuildkite(t, where, doc)
			case "yaml circleci":
				checkCircleCI(t, where, doc)
			case "yaml tokens":
				checkTokensFile(t, where, b.text)
			default:
				t.Errorf("%s: unknown yaml block kind", where)
			}
		}
		if b.info == "groovy" {
			checkJenkinsfile(t, where, b.text)
		}
		for _, l := range execLine.FindAllString(b.text, -1) {
			if strings.Contains(l, "--config") {
				continue // the file itself is run by checkTokensFile
			}
			checkExecLine(t, where, strings.TrimSpace(l), env)
		}
	}
	for _, kind := range []string{"sh", "yaml gitlab-ci", "groovy", "yaml buildkite", "yaml circleci", "yaml tokens"} {
		if seen[kind] == 0 {
			t.Errorf("docs/exec.md has no %s block", kind)
		}
	}
}

func checkGitLab(t *testing.T, where string, doc map[string]any, env map[string]string) {
	t.Helper()
	jobs := 0
	for name, v := range doc {
		job, ok := v.(map[string]any)
		if !ok {
			continue
		}
		script, ok := job["script"].([]any)
		if !ok {
			t.Errorf("%s: job %s has no script list", where, name)
			continue
		}
		jobs++
		for _, s := range script {
			if _, ok := s.(string); !ok {
				t.Errorf("%s: job %s: script items must be strings", where, name)
			}
		}
		if vars, ok := job["variables"].(map[string]any); ok {
			for k, v := range vars {
				env[k] = fmt.Sprint(v)
			}
		}
	}
	if jobs == 0 {
		t.Errorf("%s: no GitLab job (a mapping with script)", where)
	}
}

func checkBuildkite(t *testing.T, where string, doc map[string]any) {
	t.Helper()
	steps, ok := doc["steps"].([]any)
	if !ok || len(steps) == 0 {
		t.Errorf("%s: no steps list", where)
		return
	}
	for i, s := range steps {
		m, ok := s.(map[string]any)
		if !ok {
			t.Errorf("%s: step %d is not a mapping", where, i+1)
			continue
		}
		if _, ok := m["command"].(string); !ok {
			t.Errorf("%s: step %d has no command", where, i+1)
		}
	}
}

func checkCircleCI(t *testing.T, where string, doc map[string]any) {
	t.Helper()
	if v := fmt.Sprint(doc["version"]); v != "2.1" {
		t.Errorf("%s: version %s, want 2.1", where, v)
	}
	jobs, ok := doc["jobs"].(map[string]any)
	if !ok || len(jobs) == 0 {
		t.Errorf("%s: no jobs", where)
		return
	}
	for name, j := range jobs {
		job, _ := j.(map[string]any)
		if _, ok := job["docker"].([]any); !ok {
			t.Errorf("%s: job %s has no docker executor", where, name)
		}
		if steps, ok := job["steps"].([]any); !ok || len(steps) == 0 {
			t.Errorf("%s: job %s has no steps", where, name)
		}
	}
	wfs, ok := doc["workflows"].(map[string]any)
	if !ok {
		t.Errorf("%s: no workflows", where)
		return
	}
	for name, w := range wfs {
		wf, _ := w.(map[string]any)
		list, _ := wf["jobs"].([]any)
		for _, j := range list {
			var jobName string
			switch v := j.(type) {
			case string:
				jobName = v
			case map[string]any:
				for k := range v {
					jobName = k
				}
			}
			if _, ok := jobs[jobName]; !ok {
				t.Errorf("%s: workflow %s runs unknown job %q", where, name, jobName)
			}
		}
	}
}

func checkJenkinsfile(t *testing.T, where, text string) {
	t.Helper()
	// Outside strings and comments, braces and parentheses balance.
	pairs := map[rune]rune{'}': '{', ')': '(', ']': '['}
	var stack []rune
	inStr := rune(0)
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "//") {
			continue
		}
		for _, r := range line {
			switch {
			case inStr != 0:
				if r == inStr {
					inStr = 0
				}
			case r == '\'' || r == '"':
				inStr = r
			case r == '{' || r == '(' || r == '[':
				stack = append(stack, r)
			case pairs[r] != 0:
				if len(stack) == 0 || stack[len(stack)-1] != pairs[r] {
					t.Errorf("%s: unbalanced %c", where, r)
					return
				}
				stack = stack[:len(stack)-1]
			}
		}
		if inStr != 0 {
			t.Errorf("%s: unterminated string in %q", where, line)
			return
		}
	}
	if len(stack) != 0 {
		t.Errorf("%s: %d unclosed brackets", where, len(stack))
	}
	for _, want := range []string{"pipeline {", "agent ", "stages {", "stage('", "steps {", "withCredentials(", "sh '"} {
		if !strings.Contains(text, want) {
			t.Errorf("%s: a declarative pipeline needs %q", where, want)
		}
	}
	// The admin key reaches the shell through the environment, never
	// through Groovy interpolation.
	if strings.Contains(text, `sh "`) || strings.Contains(text, "${TOKENMINT_ADMIN_KEY}") {
		t.Errorf("%s: the admin key must not be interpolated by Groovy", where)
	}
}

// checkTokensFile runs the documented --config file against a fake
// Tooken and a fake Hookbase (api-url added per provider).
func checkTokensFile(t *testing.T, where, text string) {
	t.Helper()
	tk := faketooken.New(testKey, nil)
	const hbKey = "whr_live_docsadminkey00000000000000"
	hb := fakehookbase.New(hbKey, nil, fakehookbase.Options{})
	ts, hs := httptest.NewServer(tk), httptest.NewServer(hb)
	t.Cleanup(ts.Close)
	t.Cleanup(hs.Close)
	var doc struct {
		Tokens []map[string]any `yaml:"tokens"`
	}
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	env := map[string]string{}
	for _, tok := range doc.Tokens {
		switch tok["provider"] {
		case "tooken":
			tok["api-url"] = ts.URL + "/v1"
			env[fmt.Sprint(tok["admin-key-env"])] = testKey
		case "hookbase":
			tok["api-url"] = hs.URL
			env[fmt.Sprint(tok["admin-key-env"])] = hbKey
		default:
			t.Errorf("%s: the check knows no provider %v", where, tok["provider"])
		}
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	r := &execRun{env: env}
	runExec(t, r, "exec", "--config", writeConfig(t, string(out)), "--", self(), "exit", "0")
	if r.code != 0 {
		t.Fatalf("%s: exit %d: %s", where, r.code, r.stderr.String())
	}
	if len(tk.Store.All()) != 1 || len(tk.Store.Live()) != 0 || len(hb.Store.All()) != 1 || len(hb.Store.Live()) != 0 {
		t.Errorf("%s: tooken minted %d live %d, hookbase minted %d live %d", where, len(tk.Store.All()), len(tk.Store.Live()), len(hb.Store.All()), len(hb.Store.Live()))
	}
}
