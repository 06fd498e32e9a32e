// Package e2e runs the tokenmint binary the way the GitHub Actions runner
// runs a container action (../shared/runner.md): it builds the binary and
// the entry-point shim, sets INPUT_* (dashes kept, action.yml defaults
// applied), the file-command files and the GITHUB_* context, runs the main
// phase through /entrypoint/main, parses the files by the runner's rules,
// hands the saved state to the post phase as STATE_*, and scans everything
// printed for secrets.
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/config"
)

// Binaries are the built executables.
type Binaries struct {
	Dir        string
	Tokenmint  string
	EntryMain  string
	EntryPost  string
	buildError error
}

var (
	buildOnce sync.Once
	built     Binaries
)

// moduleRoot finds the directory holding go.mod.
func moduleRoot() (string, error) {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found")
		}
		dir = parent
	}
}

// Build compiles tokenmint and the entry-point shim once per test binary.
// The shim is installed as .../entrypoint/main and .../entrypoint/post,
// as in the image, and execs the built tokenmint.
func Build(t testing.TB) Binaries {
	t.Helper()
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			built.buildError = err
			return
		}
		dir, err := os.MkdirTemp("", "tokenmint-e2e-")
		if err != nil {
			built.buildError = err
			return
		}
		built.Dir = dir
		built.Tokenmint = filepath.Join(dir, "tokenmint")
		built.EntryMain = filepath.Join(dir, "entrypoint", "main")
		built.EntryPost = filepath.Join(dir, "entrypoint", "post")
		run := func(args ...string) error {
			cmd := exec.Command("go", args...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			out, err := cmd.CombinedOutput()
			if err != nil {
				return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
			}
			return nil
		}
		if err := run("build", "-o", built.Tokenmint, "./cmd/tokenmint"); err != nil {
			built.buildError = err
			return
		}
		if err := run("build", "-ldflags", "-X main.target="+built.Tokenmint, "-o", built.EntryMain, "./entrypoint"); err != nil {
			built.buildError = err
			return
		}
		data, err := os.ReadFile(built.EntryMain)
		if err == nil {
			err = os.WriteFile(built.EntryPost, data, 0o755)
		}
		built.buildError = err
	})
	if built.buildError != nil {
		t.Fatalf("failed to build: %v", built.buildError)
	}
	return built
}

// Job is one step run: its inputs and the files the runner gives it.
type Job struct {
	Dir     string
	Inputs  map[string]string
	Env     map[string]string // extra environment (proxies, SSL_CERT_FILE…)
	Context map[string]string // GITHUB_* overrides
	// Secrets the test knows; every output is scanned for them.
	Secrets []string

	bins Binaries
	// signal is sent instead of SIGKILL by MainSignal.
	signal os.Signal
	// written holds every file under Dir that a phase created or changed
	// (paths relative to Dir).
	written map[string]bool
	// Printed is everything both phases printed, stdout and stderr, in
	// order per stream.
	Printed []string
	// Phases are the phases run so far, in order, each with its own
	// output: masking is checked per phase (see Phase.Unannounced).
	Phases  []Phase
	State   map[string]string
	Outputs map[string]string
	EnvOut  map[string]string
	Summary string
}

// Phase is the result of one phase.
type Phase struct {
	Name           string // "main" or "post"
	Stdout, Stderr string
	ExitCode       int
}

// NewJob prepares a job directory with empty file-command files.
func NewJob(t testing.TB, inputs map[string]string) *Job {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"output", "env", "state", "summary"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"workspace", "home", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &Job{Dir: dir, Inputs: inputs, Env: map[string]string{}, Context: map[string]string{}, bins: Build(t), written: map[string]bool{}}
}

// environ builds the container's environment for a phase.
func (j *Job) environ(state map[string]string) []string {
	env := map[string]string{
		"HOME":                filepath.Join(j.Dir, "home"), // /github/home in the container; here, scanned for leaks
		"TMPDIR":              filepath.Join(j.Dir, "tmp"),
		"GITHUB_ACTIONS":      "true",
		"CI":                  "true",
		"GITHUB_REPOSITORY":   "octo-org/octo-repo",
		"GITHUB_RUN_ID":       "4242",
		"GITHUB_RUN_ATTEMPT":  "1",
		"GITHUB_ACTION":       "mint",
		"GITHUB_JOB":          "build",
		"GITHUB_WORKSPACE":    filepath.Join(j.Dir, "workspace"),
		"GITHUB_OUTPUT":       filepath.Join(j.Dir, "output"),
		"GITHUB_ENV":          filepath.Join(j.Dir, "env"),
		"GITHUB_STATE":        filepath.Join(j.Dir, "state"),
		"GITHUB_STEP_SUMMARY": filepath.Join(j.Dir, "summary"),
		"RUNNER_TEMP":         j.Dir,
	}
	for k, v := range j.Context {
		env[k] = v
	}
	// Every declared input arrives, with action.yml's default when the
	// workflow gave none, named INPUT_ + upper-cased name, dashes kept.
	for _, in := range config.AllInputs() {
		v, ok := j.Inputs[in.Name]
		if !ok {
			v = in.Default
		}
		env["INPUT_"+strings.ToUpper(in.Name)] = v
	}
	// A with: key the action does not declare arrives too (the runner
	// warns and sets it anyway).
	for k, v := range j.Inputs {
		if _, ok := env["INPUT_"+strings.ToUpper(k)]; !ok {
			env["INPUT_"+strings.ToUpper(k)] = v
		}
	}
	for k, v := range state {
		env["STATE_"+k] = v
	}
	for k, v := range j.Env {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// Main runs the main phase through the entry-point shim.
func (j *Job) Main(t testing.TB) Phase { return j.run(t, "main", j.bins.EntryMain, nil, nil) }

// Post runs the post phase with the state main saved.
func (j *Job) Post(t testing.TB) Phase { return j.run(t, "post", j.bins.EntryPost, j.State, nil) }

// MainUntil starts main and kills it (SIGKILL) once until() is true.
func (j *Job) MainUntil(t testing.TB, until func() bool) Phase {
	return j.run(t, "main", j.bins.EntryMain, nil, until)
}

// MainSignal starts main and sends it sig once until() is true (the
// runner cancelling a step sends SIGINT, then SIGTERM), then waits for it.
func (j *Job) MainSignal(t testing.TB, sig os.Signal, until func() bool) Phase {
	j.signal = sig
	defer func() { j.signal = nil }()
	return j.run(t, "main", j.bins.EntryMain, nil, until)
}

func (j *Job) run(t testing.TB, name, bin string, state map[string]string, killWhen func() bool) Phase {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = j.environ(state)
	cmd.Dir = filepath.Join(j.Dir, "workspace")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	before := snapshot(j.Dir)
	if err := cmd.Start(); err != nil {
		t.Fatalf("failed to start %s: %v", bin, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	if killWhen != nil {
		tick := time.NewTicker(5 * time.Millisecond)
	loop:
		for {
			select {
			case err = <-done:
				break loop
			case <-tick.C:
				if killWhen() {
					if j.signal != nil {
						_ = cmd.Process.Signal(j.signal)
					} else {
						_ = cmd.Process.Kill()
					}
					err = <-done
					break loop
				}
			}
		}
		tick.Stop()
	} else {
		err = <-done
	}
	p := Phase{Name: name, Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		p.ExitCode = ee.ExitCode()
	default:
		t.Fatalf("failed to run %s: %v", bin, err)
	}
	j.Printed = append(j.Printed, p.Stdout, p.Stderr)
	j.Phases = append(j.Phases, p)
	for path, sum := range snapshot(j.Dir) {
		if before[path] != sum {
			if j.written == nil {
				j.written = map[string]bool{}
			}
			j.written[path] = true
		}
	}
	j.readFiles(t)
	return p
}

func (j *Job) readFiles(t testing.TB) {
	t.Helper()
	var err error
	if j.State, err = ParseFileCommands(filepath.Join(j.Dir, "state")); err != nil {
		t.Fatalf("GITHUB_STATE: %v", err)
	}
	if j.Outputs, err = ParseFileCommands(filepath.Join(j.Dir, "output")); err != nil {
		t.Fatalf("GITHUB_OUTPUT: %v", err)
	}
	if j.EnvOut, err = ParseFileCommands(filepath.Join(j.Dir, "env")); err != nil {
		t.Fatalf("GITHUB_ENV: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(j.Dir, "summary"))
	if err != nil {
		t.Fatal(err)
	}
	j.Summary = string(b)
}

// ParseFileCommands reads a GITHUB_OUTPUT/ENV/STATE file by the runner's
// rules (see ParseFileCommandEntries). Later entries override earlier ones.
func ParseFileCommands(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	entries, err := ParseFileCommandEntries(data)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range entries {
		out[e.Name] = e.Value
	}
	return out, nil
}

// FileCommand is one entry of a file-command file.
type FileCommand struct{ Name, Value string }

// ParseFileCommandEntries parses file-command text as the Linux runner
// does (Runner.Worker FileCommandManager): lines end at "\n" only (a "\r"
// stays part of the line); an empty line is skipped; NAME=VALUE when "="
// comes before any "<<"; otherwise NAME<<DELIM, then value lines up to a
// line that is exactly DELIM, joined with "\n". An empty name or
// delimiter, or a missing closing delimiter, is an error.
func ParseFileCommandEntries(data []byte) ([]FileCommand, error) {
	var out []FileCommand
	lines := strings.Split(string(data), "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1] // the text after the final "\n" is no line
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		eq := strings.Index(line, "=")
		hd := strings.Index(line, "<<")
		if eq >= 0 && (hd < 0 || eq < hd) {
			name := line[:eq]
			if name == "" {
				return nil, fmt.Errorf("invalid line %q: empty name", line)
			}
			out = append(out, FileCommand{name, line[eq+1:]})
			continue
		}
		if hd <= 0 {
			return nil, fmt.Errorf("invalid line %q", line)
		}
		name, delim := line[:hd], line[hd+2:]
		if delim == "" {
			return nil, fmt.Errorf("invalid delimiter for %s", name)
		}
		var value []string
		found := false
		for i++; i < len(lines); i++ {
			if lines[i] == delim {
				found = true
				break
			}
			value = append(value, lines[i])
		}
		if !found {
			return nil, fmt.Errorf("matching delimiter not found for %s", name)
		}
		out = append(out, FileCommand{name, strings.Join(value, "\n")})
	}
	return out, nil
}

// Forms returns a secret and the encodings a log could leak it in: the
// value, each of its lines (trimmed, 8 bytes or more: the runner masks line
// by line), base64 in the standard and URL alphabets with and without
// padding, and URL query and path escaping.
func Forms(secret string) []string {
	if strings.TrimSpace(secret) == "" {
		return nil
	}
	var forms []string
	seen := map[string]bool{}
	add := func(f string) {
		if f != "" && !seen[f] {
			seen[f] = true
			forms = append(forms, f)
		}
	}
	add(secret)
	for _, l := range strings.FieldsFunc(secret, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if l = strings.TrimSpace(l); len(l) >= 8 {
			add(l)
		}
	}
	b := []byte(secret)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		add(enc.EncodeToString(b))
	}
	add(url.QueryEscape(secret))
	add(url.PathEscape(secret))
	return forms
}

// base64Run finds text that may be base64 (either alphabet, padded or not).
var base64Run = regexp.MustCompile(`[A-Za-z0-9+/_-]{12,}={0,2}`)

// decodedViews returns text as it would read after decoding: each run of
// base64 decoded (so a secret inside an encoded blob such as a Basic
// auth header, where its own encoding does not appear, is found), and the
// URL-unescaped text.
func decodedViews(text string) []string {
	var out []string
	for _, run := range base64Run.FindAllString(text, -1) {
		raw := strings.TrimRight(run, "=")
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(raw); err == nil {
				out = append(out, string(b))
			}
		}
	}
	if u, err := url.QueryUnescape(text); err == nil && u != text {
		out = append(out, u)
	}
	if u, err := url.PathUnescape(text); err == nil && u != text {
		out = append(out, u)
	}
	return out
}

// findLeaks returns a description of each secret form found in text.
func findLeaks(where, text string, secrets []string) []string {
	var leaks []string
	for i, s := range secrets {
		for _, f := range Forms(s) {
			if strings.Contains(text, f) {
				leaks = append(leaks, fmt.Sprintf("%s: secret %d (form %s)", where, i, formName(s, f)))
			}
		}
		if strings.TrimSpace(s) == "" {
			continue
		}
		for _, v := range decodedViews(text) {
			if strings.Contains(v, s) {
				leaks = append(leaks, fmt.Sprintf("%s: secret %d inside encoded text", where, i))
				break
			}
		}
	}
	return leaks
}

// formName names a form without printing it.
func formName(secret, form string) string {
	b := []byte(secret)
	switch form {
	case secret:
		return "value"
	case base64.StdEncoding.EncodeToString(b):
		return "base64"
	case base64.RawStdEncoding.EncodeToString(b):
		return "base64 unpadded"
	case base64.URLEncoding.EncodeToString(b):
		return "base64url"
	case base64.RawURLEncoding.EncodeToString(b):
		return "base64url unpadded"
	case url.QueryEscape(secret):
		return "query-escaped"
	case url.PathEscape(secret):
		return "path-escaped"
	}
	return "line"
}

// Leaks returns every place a secret (in any of its Forms, or inside
// base64 or URL-encoded text) appears: in what the binary printed outside
// ::add-mask:: commands, in the summary and the state, and in every other
// file a phase created or changed under the job directory (workspace,
// HOME, TMPDIR, RUNNER_TEMP). The output and env files are not scanned:
// handing the token to later steps is their purpose. allowState lists
// secrets that state may hold (github-app's token, needed to revoke it).
// Secrets in j.Secrets are always scanned for.
func (j *Job) Leaks(secrets []string, allowState ...string) []string {
	secrets = append(append([]string{}, j.Secrets...), secrets...)
	var leaks []string
	for n, text := range j.Printed {
		stream := [2]string{"stdout", "stderr"}[n%2]
		for i, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "::add-mask::") {
				continue
			}
			leaks = append(leaks, findLeaks(fmt.Sprintf("printed (%s line %d)", stream, i+1), line, secrets)...)
		}
	}
	var stateSecrets []string
	for _, s := range secrets {
		if !slices.Contains(allowState, s) {
			stateSecrets = append(stateSecrets, s)
		}
	}
	for _, k := range sortedKeys(j.State) {
		leaks = append(leaks, findLeaks("state "+k, j.State[k], stateSecrets)...)
	}
	leaks = append(leaks, findLeaks("summary", j.Summary, secrets)...)
	for _, rel := range sortedKeys(j.written) {
		switch rel {
		case "output", "env", "state", "summary":
			continue // by purpose, or scanned above
		}
		data, err := os.ReadFile(filepath.Join(j.Dir, rel))
		if err != nil {
			continue // removed by a later phase
		}
		leaks = append(leaks, findLeaks("file "+rel, string(data), secrets)...)
	}
	return leaks
}

// snapshot maps every regular file under dir (relative path) to a digest
// of its content.
func snapshot(dir string) map[string][32]byte {
	out := map[string][32]byte{}
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil //nolint:nilerr // unreadable entries are skipped, not fatal
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil //nolint:nilerr // a file removed while walking
		}
		rel, err := filepath.Rel(dir, path)
		if err == nil {
			out[rel] = sha256.Sum256(data)
		}
		return nil
	})
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Unmasked returns (as short hints, never the values) the secrets the
// main phase never announced with ::add-mask::. Each phase is checked on
// its own output: a mask announced only by another phase does not count.
func (j *Job) Unmasked(secrets []string) []string {
	for _, p := range j.Phases {
		if p.Name == "main" {
			return p.Unmasked(secrets)
		}
	}
	return hints(secrets)
}

// Unmasked returns the secrets this phase's stdout never covered with an
// ::add-mask:: command (anywhere in the phase).
func (p Phase) Unmasked(secrets []string) []string {
	all, _ := p.announcements()
	var missing []string
	for _, s := range secrets {
		if !covered(all, s) {
			missing = append(missing, hint(s))
		}
	}
	return missing
}

// Unannounced checks the spec's main-phase step 2 on this phase alone:
// every one of forms must be covered by an ::add-mask:: command printed
// before the phase's first other line, on stdout or stderr (the runner
// reads the streams separately, so a line on stderr has no order against
// stdout: any stderr output counts as printed first). It returns a hint
// per form not covered in time, never the form itself.
func (p Phase) Unannounced(forms []string) []string {
	_, early := p.announcements()
	var missing []string
	if strings.TrimSpace(p.Stderr) != "" {
		missing = append(missing, "stderr has output, which no ::add-mask:: on stdout is ordered before")
	}
	for _, f := range forms {
		if !covered(early, f) {
			missing = append(missing, hint(f))
		}
	}
	return missing
}

// announcements returns what the runner would mask after reading this
// phase's stdout: every ::add-mask:: value (unescaped), and those printed
// before the first line that is not an ::add-mask:: command.
func (p Phase) announcements() (all, early []string) {
	first := true
	for _, line := range strings.Split(strings.TrimSuffix(p.Stdout, "\n"), "\n") {
		v, ok := strings.CutPrefix(line, "::add-mask::")
		if !ok {
			if line != "" {
				first = false
			}
			continue
		}
		v = unescapeData(v)
		all = append(all, v)
		if first {
			early = append(early, v)
		}
	}
	return all, early
}

// covered applies the runner's add-mask rule: a value masks itself and
// each of its lines (split on CR and LF).
func covered(announced []string, form string) bool {
	for _, a := range announced {
		if a == form {
			return true
		}
		for _, l := range strings.FieldsFunc(a, func(r rune) bool { return r == '\n' || r == '\r' }) {
			if l == form {
				return true
			}
		}
	}
	return false
}

func hint(s string) string { return fmt.Sprintf("%.6s… (%d bytes)", s, len(s)) }

func hints(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = hint(s)
	}
	return out
}

// unescapeData reverses the runner's command escaping of a message.
func unescapeData(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(s)
}

// nonceName matches a name the ledger sent: <prefix>-<13 base32
// characters>, optionally -<n> for a retry.
var nonceName = regexp.MustCompile(`^(.+)-[a-z2-7]{13}(-[2-9]|-[1-9][0-9])?$`)

// NamePrefix returns the readable prefix of a token name the ledger sent
// (the name without -<nonce>[-n]), or "" when name has no nonce.
func NamePrefix(name string) string {
	m := nonceName.FindStringSubmatch(name)
	if m == nil {
		return ""
	}
	return m[1]
}

// Commands returns the workflow commands printed (the word after "::").
func (j *Job) Commands() []string {
	var out []string
	for _, text := range j.Printed {
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "::") {
				rest := line[2:]
				end := strings.IndexAny(rest, " :")
				if end < 0 {
					end = len(rest)
				}
				out = append(out, rest[:end])
			}
			if strings.Contains(line, "##[") {
				out = append(out, "##[")
			}
		}
	}
	return out
}
