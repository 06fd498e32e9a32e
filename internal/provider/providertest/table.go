package providertest

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

// Table renders results as a text table: provider, case, outcome, requests
// of the case's first mint and first revoke (C create, L list, R revoke,
// T rotate), and the back-off waits the client asked for.
func Table(results ...*Result) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "PROVIDER\tCASE\tRESULT\tMINT REQUESTS\tREVOKE REQUESTS\tWAITS")
	for _, r := range results {
		for _, c := range r.Cases {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Provider, c.Case, c.Outcome, opString(c.Mint), opString(c.Revoke), waits(c))
		}
	}
	_ = w.Flush()
	return b.String()
}

// Summary renders one line per result: passes, skips, failures.
func Summary(results ...*Result) string {
	var b strings.Builder
	for _, r := range results {
		pass, skip, fail := 0, 0, 0
		for _, c := range r.Cases {
			switch {
			case c.Outcome == "pass":
				pass++
			case strings.HasPrefix(c.Outcome, "skip"):
				skip++
			default:
				fail++
			}
		}
		fmt.Fprintf(&b, "%s: %d pass, %d skip, %d fail\n", r.Provider, pass, skip, fail)
	}
	return b.String()
}

func opString(o *Op) string {
	if o == nil {
		return "-"
	}
	return o.String()
}

func waits(c CaseResult) string {
	var parts []string
	for _, d := range c.Waits {
		if d >= 100_000_000 { // only waits a server asked for (≥ 100ms), not the test backoff
			parts = append(parts, d.String())
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ",")
}
