package shipcheck

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// snippet is one fenced ```yaml block of a document.
type snippet struct {
	file string
	line int // of the opening fence
	text string
}

func (s snippet) String() string { return fmt.Sprintf("%s:%d", s.file, s.line) }

// docSnippets returns every ```yaml / ```yml block of README.md and docs/*.md.
func docSnippets(t *testing.T) []snippet {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := extractYAML("README.md", read(t, "README.md"))
	for _, f := range docs {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, extractYAML(rel, read(t, rel))...)
	}
	return out
}

func extractYAML(file, md string) []snippet {
	var out []snippet
	var cur *snippet
	var body []string
	for i, line := range strings.Split(md, "\n") {
		trim := strings.TrimSpace(line)
		switch {
		case cur == nil && (trim == "```yaml" || trim == "```yml"):
			cur = &snippet{file: file, line: i + 1}
			body = nil
		case cur != nil && trim == "```":
			cur.text = strings.Join(body, "\n") + "\n"
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			body = append(body, line)
		}
	}
	return out
}

// workflowKind says what a parsed snippet is: a whole workflow (has
// jobs), a list of steps, one step, or something else (a routes file, a
// profile…).
func workflowKind(doc any) string {
	switch v := doc.(type) {
	case map[string]any:
		if _, ok := v["jobs"]; ok {
			return "workflow"
		}
		if _, ok := v["uses"]; ok {
			return "step"
		}
	case []any:
		if len(v) > 0 {
			if m, ok := v[0].(map[string]any); ok {
				if _, ok := m["uses"]; ok {
					return "steps"
				}
				if _, ok := m["run"]; ok {
					return "steps"
				}
			}
		}
	}
	return "other"
}

// tokenmintUses matches every way the docs refer to the action.
var tokenmintUses = regexp.MustCompile(`(?m)^(\s*(?:-\s+)?uses:\s*)(?:[A-Za-z0-9_.-]+/tokenmint@\S+|\./)(\s*#.*)?$`)

// asWorkflow makes a checkable workflow of s: steps are put into a job,
// and every reference to the action becomes `uses: ./` (this checkout's
// action.yml).
func asWorkflow(s snippet, kind string) string {
	text := tokenmintUses.ReplaceAllString(s.text, "${1}./")
	switch kind {
	case "step":
		text = "- " + strings.ReplaceAll(strings.TrimRight(text, "\n"), "\n", "\n  ") + "\n"
		fallthrough
	case "steps":
		var b strings.Builder
		b.WriteString("on: push\npermissions: {}\njobs:\n  snippet:\n    runs-on: ubuntu-latest\n    steps:\n")
		for line := range strings.SplitSeq(strings.TrimRight(text, "\n"), "\n") {
			b.WriteString("      " + line + "\n")
		}
		return b.String()
	}
	return text
}

// TestDocSnippets: every yaml block of the README and docs/ is valid YAML;
// every workflow or step snippet is actionlint clean with `uses: ./`, and
// every `with:` key of a tokenmint step is an input action.yml declares.
func TestDocSnippets(t *testing.T) {
	snips := docSnippets(t)
	if len(snips) < 5 {
		t.Fatalf("found only %d yaml snippets in README.md and docs/*.md", len(snips))
	}
	declared := loadAction(t).Inputs
	actionlint := findActionlint(t)
	checked := 0
	for _, s := range snips {
		var doc any
		if err := yaml.Unmarshal([]byte(s.text), &doc); err != nil {
			t.Errorf("%s: invalid YAML: %v", s, err)
			continue
		}
		kind := workflowKind(doc)
		if kind == "other" {
			continue
		}
		checked++
		wf := asWorkflow(s, kind)
		var parsed struct {
			Jobs map[string]struct {
				Steps []struct {
					Uses string         `yaml:"uses"`
					With map[string]any `yaml:"with"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		if err := yaml.Unmarshal([]byte(wf), &parsed); err != nil {
			t.Errorf("%s: invalid workflow: %v", s, err)
			continue
		}
		for _, job := range parsed.Jobs {
			for _, st := range job.Steps {
				if st.Uses != "./" {
					continue
				}
				for k := range st.With {
					if _, ok := declared[k]; !ok {
						t.Errorf("%s: with: %q is not an input of action.yml", s, k)
					}
				}
			}
		}
		if actionlint != "" {
			if msg := runActionlint(t, actionlint, wf); msg != "" {
				t.Errorf("%s: actionlint:\n%s\n--- workflow checked:\n%s", s, msg, wf)
			}
		}
	}
	if checked < 5 {
		t.Errorf("only %d workflow snippets recognised; the extraction is broken", checked)
	}
}

func TestSnippetWrapping(t *testing.T) {
	step := snippet{file: "x.md", line: 1, text: "uses: OWNER/tokenmint@v1 # pin\nwith:\n  provider: tooken\n"}
	got := asWorkflow(step, "step")
	want := "on: push\npermissions: {}\njobs:\n  snippet:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ./\n        with:\n          provider: tooken\n"
	if got != want {
		t.Errorf("asWorkflow(step) =\n%s\nwant\n%s", got, want)
	}
	if k := workflowKind(map[string]any{"routes": []any{}}); k != "other" {
		t.Errorf("a routes file is kind %q", k)
	}
	md := "text\n```yaml\na: 1\n```\n```sh\nx\n```\n  ```yml\nb: 2\n  ```\n"
	got2 := extractYAML("f.md", md)
	if len(got2) != 2 || got2[0].text != "a: 1\n" || got2[1].line != 8 {
		t.Errorf("extractYAML = %+v", got2)
	}
}

// findActionlint returns actionlint's path: PATH, then GOPATH/bin (.ci/run
// installs it there). Without it the lint part is skipped, or fails under CI.
func findActionlint(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("actionlint"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "actionlint")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("actionlint is not installed under CI (.ci/run installs it before the tests)")
	}
	t.Log("actionlint not installed: snippets are checked as YAML and against action.yml only")
	return ""
}

// runActionlint lints wf as a workflow of this repository (so `uses: ./`
// resolves to its action.yml), with the repository's actionlint config.
func runActionlint(t *testing.T, bin, wf string) string {
	t.Helper()
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-no-color", "-config-file", filepath.Join(abs, ".github", "actionlint.yaml"), "-stdin-filename", "snippet.yml", "-")
	cmd.Dir = abs
	cmd.Stdin = strings.NewReader(wf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		lines := slices.DeleteFunc(strings.Split(strings.TrimSpace(out.String()), "\n"), func(l string) bool { return l == "" })
		if len(lines) == 0 {
			return err.Error()
		}
		return strings.Join(lines, "\n")
	}
	return ""
}

// TestSnippetChecksCatch: the faults the README once had are caught: an
// unquoted ": " in a run: line, and a workflow without on:.
func TestSnippetChecksCatch(t *testing.T) {
	var doc any
	if err := yaml.Unmarshal([]byte("- run: curl -H \"Authorization: Bearer x\" https://api.example.com/\n"), &doc); err == nil {
		t.Error("an unquoted ': ' in a plain scalar parsed as YAML")
	}
	bin := findActionlint(t)
	if bin == "" {
		t.Skip("no actionlint")
	}
	noOn := "permissions: {}\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ./\n        with:\n          provider: tooken\n"
	if msg := runActionlint(t, bin, noOn); !strings.Contains(msg, `"on" section is missing`) {
		t.Errorf("actionlint on a workflow without on: said %q", msg)
	}
}
