package cli

import (
	"fmt"
	"io"

	"github.com/jedib0t/go-pretty/v6/table"
)

// tableWriter renders the CLI's tables: boxed for a terminal; for a pipe
// or file, as gh does, tab-separated rows without header, title or footer
// (one record per line, ready for cut and awk).
type tableWriter struct{ tty bool }

func (c *cmd) tableWriter() tableWriter {
	is := isTerminal
	if c.env.Terminal != nil {
		is = c.env.Terminal
	}
	return tableWriter{tty: is(c.env.Stdout)}
}

// render writes the table. title and footer are shown on a terminal only.
func (tw tableWriter) render(w io.Writer, header []string, rows [][]string, footer string, title ...string) error {
	t := table.NewWriter()
	if !tw.tty {
		for _, r := range rows {
			t.AppendRow(toRow(r))
		}
		if len(rows) == 0 {
			return nil
		}
		if _, err := io.WriteString(w, t.RenderTSV()+"\n"); err != nil {
			return fmt.Errorf("failed to write the table: %w", err)
		}
		return nil
	}
	t.SetStyle(table.StyleLight)
	if len(title) > 0 {
		t.SetTitle(title[0])
	}
	t.AppendHeader(toRow(header))
	for _, r := range rows {
		t.AppendRow(toRow(r))
	}
	if len(rows) == 0 {
		// An empty body: one row of dashes keeps the header's columns
		// aligned and says there is nothing.
		empty := make([]string, len(header))
		for i := range empty {
			empty[i] = "-"
		}
		t.AppendRow(toRow(empty))
	}
	out := t.Render() + "\n"
	if footer != "" {
		out += footer + "\n"
	}
	if _, err := io.WriteString(w, out); err != nil {
		return fmt.Errorf("failed to write the table: %w", err)
	}
	return nil
}

func toRow(r []string) table.Row {
	row := make(table.Row, len(r))
	for i, v := range r {
		row[i] = v
	}
	return row
}
