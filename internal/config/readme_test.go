package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADME_DocumentsEveryInputAndOutput keeps the README's tables true:
// every input of the table (and every output) has a row, and every row
// names a real input.
func TestREADME_DocumentsEveryInputAndOutput(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	for _, in := range Inputs {
		if !strings.Contains(readme, "| `"+in.Name+"` |") {
			t.Errorf("README has no row for input %q", in.Name)
		}
	}
	for _, out := range Outputs {
		if !strings.Contains(readme, "| `"+out.Name+"` |") {
			t.Errorf("README has no row for output %q", out.Name)
		}
	}
	known := map[string]bool{}
	for _, in := range AllInputs() {
		known[in.Name] = true
	}
	for _, o := range Outputs {
		known[o.Name] = true
	}
	section := readme[strings.Index(readme, "## Inputs"):strings.Index(readme, "## What happens")]
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		name := strings.TrimPrefix(line, "| `")
		name = name[:strings.Index(name, "`")]
		if !known[name] {
			t.Errorf("README documents %q, which is not an input or output", name)
		}
	}
}

// TestREADME_ListsRefusedEnv keeps the README's export-env list equal to
// RefusedEnv: one line per family, its patterns in order, then its
// exceptions.
func TestREADME_ListsRefusedEnv(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	start, end := strings.Index(readme, "<!-- refused-env:start -->\n"), strings.Index(readme, "<!-- refused-env:end -->")
	if start < 0 || end < start {
		t.Fatal("README has no refused-env section")
	}
	got := readme[start+len("<!-- refused-env:start -->\n") : end]
	if want := RefusedEnvMarkdown(); got != want {
		t.Errorf("README's refused-env list differs from config.RefusedEnv; replace it with:\n%s", want)
	}
}
