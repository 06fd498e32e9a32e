package providertest

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/redact"
)

func TestCommandProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want string
	}{
		{name: "plain", text: "Tooken API answered 400 Bad Request: bad scope", want: ""},
		{name: "raw_newline", text: "a\nb", want: "raw line break"},
		{name: "carriage_return", text: "a\rb", want: "raw line break"},
		{name: "starts_with_command", text: "::error::x", want: "line starts with ::"},
		{name: "hash_bracket", text: "x ##[group]y", want: "contains ##["},
		{name: "embedded_stop_commands", text: "x ::stop-commands::y", want: "contains a workflow command"},
		{name: "line_separator", text: "a\u2028b", want: "contains a Unicode line separator"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, commandProblem(tc.text)); diff != "" {
				t.Errorf("commandProblem() (-want +got):\n%s", diff)
			}
		})
	}
}

// Every hostile payload, once neutralized, passes the check: the suite
// asks of providers only what redact.Neutralize delivers.
func TestHostilePayloads_NeutralizedPass(t *testing.T) {
	t.Parallel()
	for _, p := range HostilePayloads {
		if commandProblem(p) == "" && !strings.Contains(p, "::") {
			t.Errorf("payload %q is not hostile to the check", p)
		}
		if got := commandProblem("failed: " + redact.Neutralize(p)); got != "" {
			t.Errorf("neutralized %q: %s", p, got)
		}
	}
}

func TestOp_String(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		op   Op
		want string
	}{
		{name: "none", op: Op{}, want: "0"},
		{name: "one_create", op: Op{Creates: 1, Total: 1}, want: "1"},
		{name: "one_revoke", op: Op{Revokes: 1, Total: 1}, want: "1"},
		{name: "lost_create", op: Op{Creates: 2, Lists: 1, Revokes: 1, Total: 4}, want: "4 (2C+1L+1R)"},
		{name: "other_route", op: Op{Creates: 1, Total: 2}, want: "2 (1C+1?)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, tc.op.String()); diff != "" {
				t.Errorf("String() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTable(t *testing.T) {
	t.Parallel()
	res := &Result{Provider: "p", Cases: []CaseResult{
		{Case: "a", Outcome: "pass", Mint: &Op{Creates: 1, Total: 1}, Revoke: &Op{Revokes: 1, Total: 1}, Waits: []time.Duration{time.Millisecond, time.Second}},
		{Case: "b", Outcome: "skip: cannot list"},
	}}
	want := "PROVIDER  CASE  RESULT             MINT REQUESTS  REVOKE REQUESTS  WAITS\n" +
		"p         a     pass               1              1                1s\n" +
		"p         b     skip: cannot list  -              -                -\n"
	if diff := cmp.Diff(want, Table(res)); diff != "" {
		t.Errorf("Table() (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("p: 1 pass, 1 skip, 0 fail\n", Summary(res)); diff != "" {
		t.Errorf("Summary() (-want +got):\n%s", diff)
	}
}

func TestCaseNames_Unique(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, n := range CaseNames() {
		if seen[n] {
			t.Errorf("case %q twice", n)
		}
		seen[n] = true
	}
	if len(seen) != 21 {
		t.Errorf("%d cases, want 21", len(seen))
	}
}
