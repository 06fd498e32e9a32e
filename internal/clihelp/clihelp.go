// Package clihelp prints the one help style every tokenmint command uses
// (the CLI's own commands, relay, fake-server): a usage line, a summary,
// the flags with their value names, defaults and environment variables,
// then notes. Help goes to stdout; the caller exits 0.
package clihelp

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Page is one command's help.
type Page struct {
	Usage   string   // "tokenmint mint [flags]"
	Summary string   // what the command does, one paragraph
	Notes   []string // paragraphs after the flags
	// Short maps a one-letter alias to its flag ("o": "output"); the alias
	// is listed with its flag, not on its own.
	Short map[string]string
	// Env maps a flag to the environment variable it falls back to.
	Env map[string]string
	// Defaults overrides the default shown for a flag (for flags whose
	// default is applied after parsing).
	Defaults map[string]string
	// Values names a flag's value ("duration", "url"); default: the word
	// flag.UnquoteUsage finds.
	Values map[string]string
}

const width = 80

// Write prints p with the flags of fs.
func Write(w io.Writer, p Page, fs *flag.FlagSet) {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s\n", p.Usage)
	if p.Summary != "" {
		b.WriteString("\n")
		b.WriteString(wrap(p.Summary, "", width))
	}
	aliasOf := map[string]string{}
	for s, long := range p.Short {
		aliasOf[long] = s
	}
	var flags []*flag.Flag
	if fs != nil {
		fs.VisitAll(func(f *flag.Flag) {
			if _, isAlias := p.Short[f.Name]; !isAlias {
				flags = append(flags, f)
			}
		})
	}
	sort.Slice(flags, func(i, j int) bool { return flags[i].Name < flags[j].Name })
	if len(flags) > 0 {
		b.WriteString("\nFlags:\n")
	}
	for _, f := range flags {
		valueName, usage := flag.UnquoteUsage(f)
		if v, ok := p.Values[f.Name]; ok {
			valueName = v
		}
		if isBool(f) {
			valueName = ""
		}
		head := "  "
		if s, ok := aliasOf[f.Name]; ok {
			head += "-" + s + ", "
		}
		head += "--" + f.Name
		if valueName != "" {
			head += " " + valueName
		}
		b.WriteString(head + "\n")
		var extra []string
		def := f.DefValue
		if d, ok := p.Defaults[f.Name]; ok {
			def = d
		}
		if def != "" && !(isBool(f) && def == "false") && def != "0" && def != "0s" {
			extra = append(extra, "default "+def)
		}
		if e, ok := p.Env[f.Name]; ok && e != "" {
			extra = append(extra, "env "+e)
		}
		if len(extra) > 0 {
			usage = strings.TrimSpace(usage) + " (" + strings.Join(extra, "; ") + ")"
		}
		b.WriteString(wrap(usage, "      ", width))
	}
	for _, n := range p.Notes {
		b.WriteString("\n")
		b.WriteString(wrap(n, "", width))
	}
	_, _ = io.WriteString(w, b.String())
}

func isBool(f *flag.Flag) bool {
	bf, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && bf.IsBoolFlag()
}

// wrap breaks text into lines of at most width columns (words longer than
// that stay whole, and a parenthesized group such as "(env NAME)" is never
// split), each starting with indent. Lines of text that start
// with two spaces are kept as they are (examples).
func wrap(text, indent string, width int) string {
	var b strings.Builder
	for _, para := range strings.Split(text, "\n") {
		if strings.HasPrefix(para, "  ") || para == "" {
			b.WriteString(strings.TrimRight(indent+para, " ") + "\n")
			continue
		}
		line := indent
		for _, word := range units(para) {
			if len(line) > len(indent) && len(line)+1+len(word) > width {
				b.WriteString(line + "\n")
				line = indent
			}
			if len(line) > len(indent) {
				line += " "
			}
			line += word
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// units splits text into words, keeping a short parenthesized group of
// words ("(default 30s; env TOKENMINT_TIMEOUT)", at most 40 columns) as
// one, and "(env" or "(default" always with the word after it.
func units(text string) []string {
	words := strings.Fields(text)
	var out []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		if strings.HasPrefix(w, "(") && !strings.HasSuffix(w, ")") {
			// The whole group when it is short.
			j, n := i, len(w)
			for j+1 < len(words) && !strings.HasSuffix(words[j], ")") && n <= 40 {
				j++
				n += 1 + len(words[j])
			}
			if strings.HasSuffix(words[j], ")") && n <= 40 {
				out = append(out, strings.Join(words[i:j+1], " "))
				i = j
				continue
			}
			if (w == "(env" || w == "(default") && i+1 < len(words) {
				out = append(out, w+" "+words[i+1])
				i++
				continue
			}
		}
		out = append(out, w)
	}
	return out
}
