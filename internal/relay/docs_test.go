package relay

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// TestDocs_RelayMD keeps docs/relay.md true to the code: its routes file
// parses, its workflow listens for the event_type the relay sends, and
// its flags table lists exactly the relay's flags with their variables.
func TestDocs_RelayMD(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "relay.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(doc, -1)
	var sawRoutes, sawWorkflow bool
	for _, b := range blocks {
		switch {
		case strings.HasPrefix(b[1], "routes:"):
			sawRoutes = true
			r, err := ParseRoutes([]byte(b[1]))
			if err != nil {
				t.Errorf("routes snippet: %v", err)
				continue
			}
			if got := r.Targets()["token.expiring"]; len(got) == 0 || got[0].EventType != "tooken.token.expiring" {
				t.Errorf("routes snippet: token.expiring targets %v", got)
			}
		case strings.HasPrefix(b[1], "name:"):
			sawWorkflow = true
			var wf struct {
				On struct {
					RepositoryDispatch struct {
						Types []string `yaml:"types"`
					} `yaml:"repository_dispatch"`
				} `yaml:"on"`
			}
			if err := yaml.Unmarshal([]byte(b[1]), &wf); err != nil {
				t.Errorf("workflow snippet: %v", err)
				continue
			}
			if diff := cmp.Diff([]string{"tooken.token.expiring"}, wf.On.RepositoryDispatch.Types); diff != "" {
				t.Errorf("workflow snippet types (-want +got):\n%s", diff)
			}
		}
	}
	if !sawRoutes || !sawWorkflow {
		t.Errorf("docs/relay.md lost its routes (%v) or workflow (%v) snippet", sawRoutes, sawWorkflow)
	}
	// Flags table rows: | `--flag` | `ENV` | … |
	rows := regexp.MustCompile("(?m)^\\| `--([a-z-]+)` \\| `([A-Z_]+)` \\|").FindAllStringSubmatch(doc, -1)
	var documented []string
	for _, r := range rows {
		documented = append(documented, r[1]+" "+r[2])
	}
	var stdout bytes.Buffer
	if _, err := parseFlags([]string{"--help"}, &stdout, envMap(nil)); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	var actual []string
	// Loose on layout (the CLI's help format may change): a flag name,
	// then its "(env NAME)" on the same line or an indented line of its
	// description.
	for _, m := range regexp.MustCompile(`--([a-z][a-z-]+)[^\n]*(?:\n {4,}[^\n]*?)*?\(env ([A-Z_]+)`).FindAllStringSubmatch(stdout.String(), -1) {
		actual = append(actual, m[1]+" "+m[2])
	}
	sort.Strings(documented)
	sort.Strings(actual)
	if len(actual) == 0 {
		t.Fatalf("no flags found in --help:\n%s", stdout.String())
	}
	if diff := cmp.Diff(actual, documented); diff != "" {
		t.Errorf("docs/relay.md flags table vs --help (-code +docs):\n%s", diff)
	}
}
