package shipcheck

import (
	"os/exec"
	"strings"
	"testing"
)

// TestProductionLinksNoFake: the binary the image ships (and every phase
// starts) carries none of the fakes nor net/http/httptest; only a build
// with -tags fakes (the quick start, the self-test, the benchmarks) has
// fake-server.
func TestProductionLinksNoFake(t *testing.T) {
	for _, tc := range []struct {
		tags      string
		wantFakes bool
	}{{"", false}, {"fakes", true}} {
		out, err := exec.Command("go", "list", "-tags", tc.tags, "-deps", "../../cmd/tokenmint").CombinedOutput()
		if err != nil {
			t.Fatalf("go list -tags %q: %v\n%s", tc.tags, err, out)
		}
		var fakes []string
		for pkg := range strings.SplitSeq(string(out), "\n") {
			if strings.HasPrefix(pkg, "github.com/tokenmint/tokenmint/internal/fake") || pkg == "net/http/httptest" {
				fakes = append(fakes, pkg)
			}
		}
		if got := len(fakes) > 0; got != tc.wantFakes {
			t.Errorf("-tags %q: links fakes %v, want %v (%v)", tc.tags, got, tc.wantFakes, fakes)
		}
	}
}
