package action

import (
	"fmt"
	"sort"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"

	"github.com/tokenmint/tokenmint/internal/config"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// targetResult is one secret write of a rotation, for the summary.
type targetResult struct {
	Target string
	Result string
	OK     bool
}

// mdEscape escapes what would end a Markdown table cell or open HTML.
var mdEscape = strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "`", "'")

// mdCell makes server or user text safe inside a Markdown table cell.
func mdCell(s string) string { return mdEscape.Replace(redact.Neutralize(s)) }

// nameNote tells the summary's reader why the name ends in random
// characters (package ledger).
const nameNote = "The token name ends in random characters drawn for this step run: every name tokenmint sends is recorded first, " +
	"and it only ever revokes tokens whose exact name it recorded, never another job's."

// writeSummary appends the job summary table. It never holds a secret:
// every cell is built from non-secret fields and passed through the masker
// by the caller's writer as well.
func writeSummary(rt *Runtime, cfg *config.Config, tok *provider.Token, plan string, targets []targetResult) {
	expires := expiry(tok)
	t := table.NewWriter()
	t.AppendHeader(table.Row{"Token", "Value"})
	exported := "step output `token`"
	if cfg.ExportEnv != "" {
		exported += ", env " + cfg.ExportEnv
	}
	if cfg.Rotation() {
		exported += fmt.Sprintf(", secret %s (%d target(s))", cfg.SecretName, len(targets))
	}
	scopes := strings.Join(tok.Scopes, ", ")
	if scopes == "" {
		scopes = strings.Join(cfg.Scopes, ", ")
	}
	rows := [][2]string{
		{"Provider", cfg.Provider},
		{"Token name", tok.Name},
		{"Token ID", orNone(tok.ID)},
		{"Scopes", orNone(scopes)},
		{"Expires", orNever(expires)},
		{"Handed out as", exported},
		{"Revocation", plan},
	}
	keys := make([]string, 0, len(tok.Extra))
	for k := range tok.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		rows = append(rows, [2]string{k, tok.Extra[k]})
	}
	for _, r := range rows {
		t.AppendRow(table.Row{mdCell(r[0]), mdCell(r[1])})
	}
	md := "### tokenmint\n\n" + t.RenderMarkdown() + "\n\n" + nameNote + "\n"
	if len(targets) > 0 {
		tt := table.NewWriter()
		tt.AppendHeader(table.Row{"Secret target", "Result"})
		for _, tr := range targets {
			mark := "✅ "
			if !tr.OK {
				mark = "❌ "
			}
			tt.AppendRow(table.Row{mdCell(tr.Target), mark + mdCell(tr.Result)})
		}
		md += "\n" + tt.RenderMarkdown() + "\n"
	}
	md = rt.masker.Mask(md)
	if err := rt.files.Summary(md + "\n"); err != nil {
		rt.warnf("failed to write the job summary: %v", err)
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
