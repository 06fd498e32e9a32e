package clihelp_test

import (
	"bytes"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/clihelp"
)

func TestWrite(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var out string
	fs.StringVar(&out, "output", "table", "Output `format`: table, json.")
	fs.StringVar(&out, "o", "", "")
	fs.Bool("all", false, "Include everything.")
	fs.Duration("wait", 30*time.Second, "How long to wait.")
	fs.String("scopes", "", "Scopes of the token, a long description that has to wrap onto a second line because it is longer than eighty columns.")
	var b bytes.Buffer
	clihelp.Write(&b, clihelp.Page{
		Usage: "tokenmint x [flags]", Summary: "Do x.",
		Notes:  []string{"Example:\n  tokenmint x --all"},
		Short:  map[string]string{"o": "output"},
		Env:    map[string]string{"output": "TOKENMINT_OUTPUT"},
		Values: map[string]string{"scopes": "list"},
	}, fs)
	want := strings.Join([]string{
		"Usage: tokenmint x [flags]",
		"",
		"Do x.",
		"",
		"Flags:",
		"  --all",
		"      Include everything.",
		"  -o, --output format",
		"      Output format: table, json. (default table; env TOKENMINT_OUTPUT)",
		"  --scopes list",
		"      Scopes of the token, a long description that has to wrap onto a second",
		"      line because it is longer than eighty columns.",
		"  --wait duration",
		"      How long to wait. (default 30s)",
		"",
		"Example:",
		"  tokenmint x --all",
		"",
	}, "\n")
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if len(line) > 80 {
			t.Errorf("line longer than 80 columns: %q", line)
		}
	}
	// "(env NAME)" is never split, even where it would straddle the edge.
	fs2 := flag.NewFlagSet("y", flag.ContinueOnError)
	fs2.String("addr", "", "Groo application client ID; GitHub App client ID or numeric app ID.")
	var b2 bytes.Buffer
	clihelp.Write(&b2, clihelp.Page{Usage: "y", Env: map[string]string{"addr": "TOKENMINT_CLIENT_ID"}}, fs2)
	if !strings.Contains(b2.String(), "\n      (env TOKENMINT_CLIENT_ID)\n") {
		t.Errorf("the env group was split:\n%s", b2.String())
	}
}
