package rest_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tokenmint/tokenmint/internal/config"
	"github.com/tokenmint/tokenmint/internal/provider/rest"
)

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// TestDocs_Snippets checks every YAML snippet of docs/rest-profile.md: a
// profile parses; a workflow step uses only declared inputs, and a profile
// it names exists; the Verdaccio example is the shipped profile.
func TestDocs_Snippets(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(workspace, "docs", "rest-profile.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := yamlBlock.FindAllStringSubmatch(string(data), -1)
	if len(blocks) < 5 {
		t.Fatalf("found %d yaml blocks", len(blocks))
	}
	profiles, steps := 0, 0
	for i, b := range blocks {
		text := b[1]
		switch {
		case strings.Contains(text, "uses: tokenmint/tokenmint"):
			steps++
			var doc []struct {
				Uses string            `yaml:"uses"`
				With map[string]string `yaml:"with"`
			}
			if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
				t.Errorf("block %d: not a workflow step list: %v", i, err)
				continue
			}
			for _, step := range doc {
				for k := range step.With {
					if _, ok := config.Lookup(k); !ok {
						t.Errorf("block %d: unknown input %q", i, k)
					}
				}
				if step.With["provider"] != "rest" {
					t.Errorf("block %d: provider %q", i, step.With["provider"])
				}
			}
		case strings.Contains(text, "\ncreate:") || strings.HasPrefix(text, "create:") || strings.Contains(text, "auth:"):
			if !strings.Contains(text, "revoke") {
				continue // a fragment (secrets:, create.body)
			}
			profiles++
			p, err := rest.Parse([]byte(text))
			if err != nil {
				t.Errorf("block %d does not parse: %v\n%s", i, err, text)
				continue
			}
			if strings.HasPrefix(text, "name: Verdaccio") {
				shipped, err := os.ReadFile(filepath.Join(workspace, "testdata", "profiles", "verdaccio.yaml"))
				if err != nil {
					t.Fatal(err)
				}
				sp, err := rest.Parse(shipped)
				if err != nil {
					t.Fatal(err)
				}
				if sp.State() != p.State() {
					t.Errorf("the documented Verdaccio profile differs from testdata/profiles/verdaccio.yaml:\n%s\n%s", p.State(), sp.State())
				}
			}
		}
	}
	if profiles < 3 || steps < 3 {
		t.Errorf("checked %d profiles and %d workflow steps, want at least 3 each", profiles, steps)
	}
}
