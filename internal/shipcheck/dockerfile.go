package shipcheck

import (
	"bufio"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
)

// Instruction is one Dockerfile instruction, continuation lines joined.
type Instruction struct {
	Line int
	Cmd  string // upper-cased keyword
	Args string // the rest, trimmed
}

// Stage is one FROM … section.
type Stage struct {
	Name         string // AS name, lower-cased; "" when unnamed
	Image        string // the FROM image reference
	Platform     string // --platform value
	Instructions []Instruction
}

// ParseDockerfile splits a Dockerfile into stages. It understands what a
// reviewer needs to follow files into the final stage: comments, line
// continuations, FROM [--platform=…] IMAGE [AS name], and the rest kept as
// keyword + arguments. Instructions before the first FROM (ARG) are
// returned in a stage with Image "".
func ParseDockerfile(src string) ([]Stage, error) {
	var stages []Stage
	cur := &Stage{}
	sc := bufio.NewScanner(strings.NewReader(src))
	var buf strings.Builder
	start, n := 0, 0
	flush := func() error {
		text := strings.TrimSpace(buf.String())
		buf.Reset()
		if text == "" {
			return nil
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := Instruction{Line: start, Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)}
		if in.Cmd != "FROM" {
			cur.Instructions = append(cur.Instructions, in)
			return nil
		}
		if cur.Image != "" || len(cur.Instructions) > 0 {
			stages = append(stages, *cur)
		}
		cur = &Stage{}
		fields := strings.Fields(in.Args)
		for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
			if v, ok := strings.CutPrefix(fields[0], "--platform="); ok {
				cur.Platform = v
			}
			fields = fields[1:]
		}
		switch {
		case len(fields) == 1:
		case len(fields) == 3 && strings.EqualFold(fields[1], "AS"):
			cur.Name = strings.ToLower(fields[2])
		default:
			return fmt.Errorf("line %d: cannot read FROM %q", in.Line, in.Args)
		}
		cur.Image = fields[0]
		return nil
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if buf.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if buf.Len() > 0 && strings.HasPrefix(trimmed, "#") {
			continue // comment lines inside a continued instruction are dropped
		}
		if buf.Len() == 0 {
			start = n
		}
		if cont, ok := strings.CutSuffix(trimmed, `\`); ok {
			buf.WriteString(cont)
			buf.WriteString(" ")
			continue
		}
		buf.WriteString(trimmed)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if buf.Len() > 0 {
		return nil, fmt.Errorf("line %d: instruction continues past the end of the file", start)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	stages = append(stages, *cur)
	if len(stages) == 0 || stages[len(stages)-1].Image == "" {
		return nil, fmt.Errorf("no FROM instruction")
	}
	return stages, nil
}

// Find returns the stage's instructions with keyword cmd.
func (s Stage) Find(cmd string) []Instruction {
	var out []Instruction
	for _, in := range s.Instructions {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// ExecForm parses a JSON-array (exec form) argument list; ok is false for
// the shell form.
func ExecForm(args string) ([]string, bool) {
	var out []string
	if err := json.Unmarshal([]byte(args), &out); err != nil || len(out) == 0 {
		return nil, false
	}
	return out, true
}

// BuildOutputs returns the files a stage's RUN lines create with
// `go build … -o PATH PKG` (mapped to PKG) and `cp SRC DST` (mapped to
// SRC's package), the way this repository's Dockerfile builds.
func BuildOutputs(s Stage) map[string]string {
	out := map[string]string{}
	for _, in := range s.Find("RUN") {
		for _, part := range strings.Split(in.Args, "&&") {
			f := shellFields(part)
			switch {
			case len(f) >= 2 && f[0] == "go" && f[1] == "build":
				var o, pkg string
				for i := 2; i < len(f); i++ {
					switch {
					case f[i] == "-o" && i+1 < len(f):
						o = f[i+1]
						i++
					case f[i] == "-ldflags" || f[i] == "-tags" || f[i] == "-gcflags":
						i++
					case !strings.HasPrefix(f[i], "-"):
						pkg = f[i]
					}
				}
				if o != "" {
					out[path.Clean(o)] = pkg
				}
			case len(f) == 3 && f[0] == "cp":
				if pkg, ok := out[path.Clean(f[1])]; ok {
					out[path.Clean(f[2])] = pkg
				}
			}
		}
	}
	return out
}

// shellFields splits a simple shell command on blanks, keeping "…"
// quoted words together (no escapes: enough for RUN lines we write).
func shellFields(s string) []string {
	var out []string
	var cur strings.Builder
	inQuote, have := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote = !inQuote
			have = true
		case (r == ' ' || r == '\t') && !inQuote:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}

// FinalFiles follows the final stage's COPY --from=STAGE lines and returns
// each file it holds mapped to the Go package built into it. Files copied
// from the build context or another image are mapped to "".
func FinalFiles(stages []Stage) (map[string]string, error) {
	byName := map[string]Stage{}
	for _, s := range stages {
		if s.Name != "" {
			byName[s.Name] = s
		}
	}
	final := stages[len(stages)-1]
	files := map[string]string{}
	for _, in := range final.Instructions {
		if in.Cmd != "COPY" && in.Cmd != "ADD" {
			continue
		}
		f := strings.Fields(in.Args)
		from := ""
		for len(f) > 0 && strings.HasPrefix(f[0], "--") {
			if v, ok := strings.CutPrefix(f[0], "--from="); ok {
				from = strings.ToLower(v)
			}
			f = f[1:]
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("line %d: expected one source and one destination in %s %s", in.Line, in.Cmd, in.Args)
		}
		src, dst := f[0], f[1]
		st, ok := byName[from]
		if !ok {
			files[dst] = ""
			continue
		}
		built := BuildOutputs(st)
		if pkg, ok := built[path.Clean(src)]; ok && !strings.HasSuffix(src, "/") {
			if strings.HasSuffix(dst, "/") {
				dst += path.Base(src)
			}
			files[path.Clean(dst)] = pkg
			continue
		}
		dir := path.Clean(src) + "/"
		found := false
		for p, pkg := range built {
			if rel, ok := strings.CutPrefix(p, dir); ok {
				files[path.Join(dst, rel)] = pkg
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("line %d: %s is not built in stage %q", in.Line, src, from)
		}
	}
	return files, nil
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
